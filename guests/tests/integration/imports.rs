//! The built guests are components that import nothing the host would have to
//! supply, so an empty linker instantiates them, and they export what their
//! WIT promises.

use wasmparser::{ComponentTypeRef, Parser, Payload, TypeBounds};

/// What a component imports and exports at its top level (not the core
/// modules and instances nested inside it).
#[derive(Default)]
struct Surface {
    /// Imports that need a definition from the host: functions, instances,
    /// modules, components, values, resources.
    imports: Vec<String>,
    /// `(import "name" (type (eq T)))`: a name for a type the component
    /// defines itself. The host supplies nothing for these.
    type_names: Vec<String>,
    exports: Vec<String>,
}

fn surface(bytes: &[u8]) -> Surface {
    let mut surface = Surface::default();
    // `parse_all` walks nested modules too, each between its own `Version`
    // and `End`: depth 1 is the outer component.
    let mut depth = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.expect("a well-formed component") {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.expect("an import");
                    let name = import.name.name.to_string();
                    match import.ty {
                        ComponentTypeRef::Type(TypeBounds::Eq(_)) => surface.type_names.push(name),
                        _ => surface.imports.push(name),
                    }
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    surface
                        .exports
                        .push(export.expect("an export").name.name.to_string());
                }
            }
            _ => {}
        }
    }
    surface
}

#[test]
fn both_guests_are_components() {
    assert!(
        Parser::is_component(&sandcall_guests::sort()),
        "{}",
        sandcall_guests::SORT
    );
    assert!(
        Parser::is_component(&sandcall_guests::values()),
        "{}",
        sandcall_guests::VALUES
    );
}

#[test]
fn sort_imports_nothing_and_exports_three_sorts() {
    let sort = surface(&sandcall_guests::sort());
    assert_eq!(
        sort.imports,
        Vec::<String>::new(),
        "sort.wasm must import nothing"
    );
    assert_eq!(
        sort.type_names,
        Vec::<String>::new(),
        "sort.wasm must import nothing"
    );
    for name in ["bubble-sort", "quick-sort", "sort-unstable"] {
        assert!(
            sort.exports.iter().any(|e| e == name),
            "no `{name}` in {:?}",
            sort.exports
        );
    }
}

/// wit-component names the types of top-level exported functions by
/// importing them as `(type (eq T))`, with `T` defined inside the component.
/// Those four are the only imports allowed: wasmtime drops them from the
/// component's import list, so an empty linker still instantiates it.
#[test]
fn values_imports_only_its_own_type_names() {
    let values = surface(&sandcall_guests::values());
    assert_eq!(
        values.imports,
        Vec::<String>::new(),
        "values.wasm must import nothing"
    );
    assert_eq!(values.type_names, ["point", "shape", "color", "perms"]);
    for name in [
        "echo-bool",
        "echo-nested",
        "many",
        "sum",
        "bump",
        "crash",
        "spin",
        "grow",
        "repeat",
    ] {
        assert!(
            values.exports.iter().any(|e| e == name),
            "no `{name}` in {:?}",
            values.exports
        );
    }
    let text = "sandcall:values/text@0.1.0";
    assert!(
        values.exports.iter().any(|e| e == text),
        "no `{text}` in {:?}",
        values.exports
    );
}
