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
    /// `None` when the component imports something besides WASI 0.2: no
    /// other host capability is granted, so it cannot be instantiated here.
    pub pre: Option<InstancePre<StoreData>>,
    /// Why it cannot be linked (wasmtime's message names the import).
    pub unlinked: Option<String>,
    pub exports: Vec<ComponentExport>,
}

impl ComponentCode {
    /// Describe `component` and prepare it against `linker` (WASI 0.2).
    pub fn new(engine: &Engine, linker: &Linker<StoreData>, component: Component) -> Self {
        let ty = component.component_type();
        let (pre, unlinked) = match linker.instantiate_pre(&component) {
            Ok(pre) => (Some(pre), None),
            Err(e) => (None, Some(format!("{e:#}"))),
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
        ComponentCode {
            pre,
            unlinked,
            exports,
        }
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
                kind: ExportKind::ComponentFunc(e.func.clone()),
            })
            .collect()
    }

    /// Why this component cannot be instantiated, if it can't.
    pub fn link_error(&self) -> Option<RemoteError> {
        self.unlinked.as_ref().map(|why| {
            RemoteError::new(
                sandcall_protocol::ErrorKind::LinkError,
                format!(
                    "{why}: not granted; components get WASI 0.2 (with nothing behind it \
                     when sandboxed) and no other host capability"
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
