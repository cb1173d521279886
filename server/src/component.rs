//! A compiled component and what is worked out once for it: whether it
//! imports anything, its callable exports with their WIT signatures, and an
//! index for each so calls skip the string lookups.

use crate::store::StoreData;
use crate::wit_types::{fast_list, wit_func};
use sandcall_protocol::{ErrorKind, ExportInfo, ExportKind, NumType, RemoteError, WitFunc};
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};

/// Type nodes the exported functions of one component may spell out in
/// all. Wasmtime shares repeated types, but their WIT descriptions do not:
/// a ~900-byte component of doubling tuple types describes ~21 MB of types.
pub const MAX_EXPORT_TYPE_NODES: usize = 100_000;

/// Bytes one described type node is counted as in the compile cache: a
/// `WitType` (~32 bytes) with its share of vectors and names.
const TYPE_NODE_BYTES: usize = 64;

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
    /// Type nodes the exports' descriptions hold.
    type_nodes: usize,
}

impl ComponentCode {
    /// Describe `component` and prepare it against `linker` (WASI 0.2).
    ///
    /// # Errors
    /// [`ErrorKind::ResourceLimit`] when its exported functions' types spell
    /// out more than [`MAX_EXPORT_TYPE_NODES`] nodes (counted before any is
    /// built).
    pub fn new(
        engine: &Engine,
        linker: &Linker<StoreData>,
        component: Component,
    ) -> Result<Self, RemoteError> {
        let ty = component.component_type();
        let mut nodes = 0usize;
        let mut count = |f: &ComponentFunc| -> Result<(), RemoteError> {
            for ty in f.params().map(|(_, t)| t).chain(f.results()) {
                if !type_nodes(&ty, &mut nodes) {
                    return Err(RemoteError::new(
                        ErrorKind::ResourceLimit,
                        format!(
                            "the component's exported functions spell out more than \
                             {MAX_EXPORT_TYPE_NODES} type nodes; describing them would take \
                             memory out of proportion to the upload"
                        ),
                    ));
                }
            }
            Ok(())
        };
        let (pre, unlinked) = match linker.instantiate_pre(&component) {
            Ok(pre) => (Some(pre), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        let mut exports = Vec::new();
        for (name, item) in ty.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(f) => {
                    if let Some(index) = component.get_export_index(None, name) {
                        count(&f)?;
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
                            count(&f)?;
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
            pre,
            unlinked,
            exports,
            type_nodes: nodes,
        })
    }

    /// Bytes the exports' descriptions are counted as in the compile cache.
    pub fn type_bytes(&self) -> usize {
        self.type_nodes.saturating_mul(TYPE_NODE_BYTES)
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

/// Count the nodes of `ty` into `nodes`, stopping (`false`) as soon as the
/// total passes [`MAX_EXPORT_TYPE_NODES`]: the walk costs at most that many
/// steps, however large the type would be spelled out.
fn type_nodes(ty: &Type, nodes: &mut usize) -> bool {
    *nodes += 1;
    if *nodes > MAX_EXPORT_TYPE_NODES {
        return false;
    }
    match ty {
        Type::List(l) => type_nodes(&l.ty(), nodes),
        Type::Option(o) => type_nodes(&o.ty(), nodes),
        Type::Record(r) => r.fields().all(|f| type_nodes(&f.ty, nodes)),
        Type::Tuple(t) => t.types().all(|t| type_nodes(&t, nodes)),
        Type::Variant(v) => v
            .cases()
            .all(|c| c.ty.as_ref().is_none_or(|t| type_nodes(t, nodes))),
        Type::Result(r) => {
            r.ok().is_none_or(|t| type_nodes(&t, nodes))
                && r.err().is_none_or(|t| type_nodes(&t, nodes))
        }
        Type::Enum(e) => {
            *nodes = nodes.saturating_add(e.names().count());
            *nodes <= MAX_EXPORT_TYPE_NODES
        }
        Type::Flags(f) => {
            *nodes = nodes.saturating_add(f.names().count());
            *nodes <= MAX_EXPORT_TYPE_NODES
        }
        _ => true,
    }
}
