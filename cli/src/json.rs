//! `--json`: one JSON object per command, on one line of stdout, for
//! programs that drive the CLI. Values stay in WAVE syntax (strings), as
//! the text output prints them; guest output is text (lossy UTF-8).
//!
//! ```text
//! {"ok":true,"command":"eval m add 1 2","results":["3"],"fuel_used":0,"cpu_ns":2100,"guest_ns":1200,"stdout":"","stderr":"","output_dropped":0}
//! {"ok":false,"command":"eval m nothing","error":{"kind":"not-found","message":"…"}}
//! ```

use crate::outcome::{CommandError, Outcome};
use sandcall_protocol::{GuestOutput, InstanceKind, ServerInfo};
use serde_json::{Map, Value as Json, json};

/// A command's result as one object; `command` is the script line, if any.
pub fn outcome(command: Option<&str>, result: &Result<Outcome, CommandError>) -> Json {
    let mut object = Map::new();
    object.insert("ok".into(), Json::Bool(result.is_ok()));
    if let Some(command) = command {
        object.insert("command".into(), Json::String(command.trim().into()));
    }
    match result {
        Ok(out) => {
            if let Some(call) = &out.call {
                object.insert("results".into(), json!(call.results));
                object.insert("fuel_used".into(), json!(call.fuel_used));
                object.insert("cpu_ns".into(), json!(call.cpu_ns));
                object.insert("guest_ns".into(), json!(call.guest_ns));
            } else if !out.text.is_empty() {
                object.insert("output".into(), Json::String(out.text.clone()));
            }
            if let Some(info) = &out.instance {
                object.insert(
                    "instance".into(),
                    json!({
                        "name": info.name,
                        "kind": match info.kind {
                            InstanceKind::Core => "core",
                            InstanceKind::Component => "component",
                        },
                        "module_hash": info.module_hash,
                        "exports": info.exports.iter()
                            .map(|e| json!({"name": e.name, "type": e.kind.to_string()}))
                            .collect::<Vec<_>>(),
                        "memory_bytes": info.memory_bytes,
                        "fuel_used": info.fuel_used,
                        "cpu_ns": info.cpu_ns,
                        "cache_hit": info.cache_hit,
                        "compile_ns": info.compile_ns,
                    }),
                );
            }
            if let Some(note) = &out.note {
                object.insert("note".into(), Json::String(note.clone()));
            }
            if let Some(output) = &out.output {
                guest(&mut object, output);
            }
        }
        Err(e) => {
            object.insert(
                "error".into(),
                json!({"kind": e.kind, "message": e.message}),
            );
            if let Some(output) = &e.output {
                guest(&mut object, output);
            }
        }
    }
    Json::Object(object)
}

/// `info` as an object: the server's own description, field by field.
pub fn info(info: &ServerInfo) -> Json {
    let mut value = serde_json::to_value(info).unwrap_or(Json::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("ok".into(), Json::Bool(true));
        object.insert("mode".into(), Json::String(info.mode.to_string()));
    }
    value
}

fn guest(object: &mut Map<String, Json>, output: &GuestOutput) {
    let text = |b: &[u8]| Json::String(String::from_utf8_lossy(b).into_owned());
    object.insert("stdout".into(), text(&output.stdout));
    object.insert("stderr".into(), text(&output.stderr));
    object.insert("output_dropped".into(), json!(output.dropped));
}
