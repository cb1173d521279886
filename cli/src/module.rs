//! A module file as `execute` and `call` upload it: WAT text is compiled
//! here, so that its errors name the file (the server only sees bytes and
//! would say `<anon>`); a core module that wit-bindgen made but nobody
//! turned into a component gets a note saying how.

use crate::outcome::CommandError;
use std::path::Path;
use wasmparser::{Encoding, Parser, Payload};

/// A module ready to upload.
pub struct Module {
    /// Wasm binary (a core module or a component).
    pub bytes: Vec<u8>,
    /// Advice to print before uploading, if any.
    pub note: Option<String>,
}

/// Read `path`: wasm as it is, WAT compiled to wasm.
///
/// # Errors
/// `io` when the file cannot be read; `invalid-module` for WAT that does
/// not parse, with the file, line and column.
pub fn load(path: &Path) -> Result<Module, CommandError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CommandError::new("io", format!("cannot read {}: {e}", path.display())))?;
    if !bytes.starts_with(b"\0asm") {
        let wasm = wat::Parser::new()
            .parse_bytes(Some(path), &bytes)
            .map_err(|e| CommandError::new("invalid-module", e.to_string()))?
            .into_owned();
        return Ok(Module {
            bytes: wasm,
            note: None,
        });
    }
    let note = has_component_type(&bytes).then(|| {
        format!(
            "note: {} is a core module carrying component-type metadata (built with \
             wit-bindgen); its exports use the canonical ABI. Make it a component with \
             `sandcall build` (in the guest's crate), then upload the component.",
            path.display()
        )
    });
    Ok(Module { bytes, note })
}

/// Whether `bytes` is a core module with a `component-type*` custom
/// section: the sign of wit-bindgen output that was never componentized.
pub fn has_component_type(bytes: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::Version {
                encoding: Encoding::Component,
                ..
            }) => return false,
            Ok(Payload::CustomSection(section)) if section.name().starts_with("component-type") => {
                return true;
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}
