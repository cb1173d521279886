//! A compiled component and what is worked out once for it: whether it
//! imports anything, its callable exports with their WIT signatures, and an
//! index for each so calls skip the string lookups.

use crate::store::StoreData;
use crate::wit_types::{fast_list, wit_func};
use sandcall_protocol::{ExportInfo, ExportKind, NumType, RemoteError, WitFunc};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};

/// One callable export of a component.
pub struct ComponentExport {
    /// `function`, or `interface#function` inside an exported interface.
    pub name: String,
    pub index: ComponentExportIndex,
    pub func: WitFunc,
    /// `Some(t)` when the signature is `func(x: list<t>) -> list<t>` for a
    /// number type `t`: such calls take the typed path, one copy each way.
    pub fast: Option<NumType>,
}

/// A compiled component, ready to instantiate.
pub struct ComponentCode {
    pub component: Component,
    /// `None` when the component imports something: sandboxed guests get no
    /// host capability, so it cannot be instantiated here.
    pub pre: Option<InstancePre<StoreData>>,
    /// The first import, for the link error.
    pub first_import: Option<String>,
    pub exports: Vec<ComponentExport>,
}

impl ComponentCode {
    /// Describe and prepare `component`.
    ///
    /// # Errors
    /// A link error from wasmtime's pre-instantiation (not expected for a
    /// component that imports nothing).
    pub fn new(engine: &Engine, component: Component) -> Result<Self, wasmtime::Error> {
        let ty = component.component_type();
        let first_import = ty.imports(engine).next().map(|(name, _)| name.to_string());
        let pre = match first_import {
            None => Some(Linker::new(engine).instantiate_pre(&component)?),
            Some(_) => None,
        };
        let mut exports = Vec::new();
        for (name, item) in ty.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(f) => {
                    if let Some(index) = component.get_export_index(None, name) {
                        exports.push(export(name.to_string(), index, wit_func(&f)));
                    }
                }
                ComponentItem::ComponentInstance(inst) => {
                    let Some(outer) = component.get_export_index(None, name) else {
                        continue;
                    };
                    for (func_name, item) in inst.exports(engine) {
                        if let ComponentItem::ComponentFunc(f) = item.ty
                            && let Some(index) = component.get_export_index(Some(&outer), func_name)
                        {
                            exports.push(export(
                                format!("{name}#{func_name}"),
                                index,
                                wit_func(&f),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(ComponentCode {
            component,
            pre,
            first_import,
            exports,
        })
    }

    /// The export called `name`.
    pub fn export(&self, name: &str) -> Option<&ComponentExport> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// The exports as `namespace` lists them.
    pub fn describe(&self) -> Vec<ExportInfo> {
        self.exports
            .iter()
            .map(|e| ExportInfo {
                name: e.name.clone(),
                kind: ExportKind::Function(e.func.clone()),
            })
            .collect()
    }

    /// Why this component cannot be instantiated in a sandbox, if it can't.
    pub fn link_error(&self) -> Option<RemoteError> {
        self.first_import.as_ref().map(|import| {
            RemoteError::new(
                sandcall_protocol::ErrorKind::LinkError,
                format!(
                    "import `{import}` is not granted: sandboxed components get no host \
                     capability, so a component must import nothing"
                ),
            )
        })
    }
}

fn export(name: String, index: ComponentExportIndex, func: WitFunc) -> ComponentExport {
    let fast = fast_list(&func);
    ComponentExport {
        name,
        index,
        func,
        fast,
    }
}
