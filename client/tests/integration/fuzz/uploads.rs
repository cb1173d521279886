//! Uploads of mutated valid modules and components to a real server: the
//! sort component (mutated at test time from the built guest, nothing built
//! is kept in the corpus), the seed modules `fuzz/seeds/modules/*.wat` as
//! binaries and as WAT text. Each upload is answered within a bound with an
//! instance or a typed error (`invalid-module`, `link-error`, a trap in a
//! start function, a limit); an instance that came up is called. Afterwards
//! the server still runs a normal call, on the same connection and on a new
//! one.

use super::harness::{fuzz, lock, take};
use super::mutate::{mutate, mutations};
use super::{runtime, seed_file};
use crate::common::{TOOLS, connect, server};
use proptest::prelude::*;
use sandcall::{ClientError, Connection, Value};
use sandcall_protocol::{ExportKind, InstanceInfo};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The longest an upload or a call may take before it counts as a hang
/// (compiles of a mutated component on a busy 2-core machine take well
/// under a second; calls are bounded by fuel and the deadline).
const HANG: Duration = Duration::from_secs(60);

/// How each upload ended, by outcome: `instance` or the error kind.
type Tally = Mutex<BTreeMap<String, u32>>;

fn count(tally: &Tally, outcome: &Result<InstanceInfo, ClientError>) {
    let key = match outcome {
        Ok(_) => "instance".to_string(),
        Err(e) => e.kind().map_or_else(|| format!("{e}"), |k| k.to_string()),
    };
    *lock(tally).entry(key).or_default() += 1;
}

/// Uploads `module` as `m` (replacing the last), then calls each function
/// it exports that takes no arguments or one list: every answer a value
/// or a remote error, within [`HANG`].
async fn upload(conn: &mut Connection, module: Vec<u8>, tally: &Tally) -> Result<(), String> {
    let outcome = tokio::time::timeout(HANG, conn.execute_with("m", module, true))
        .await
        .map_err(|_| "the upload hung".to_string())?;
    count(tally, &outcome);
    let info = match outcome {
        Ok(info) => info,
        Err(e) if e.remote().is_some() => return Ok(()),
        Err(e) => return Err(format!("not a remote error: {e}")),
    };
    for export in &info.exports {
        // The values guest's `spin` runs until the CPU budget stops it:
        // proven elsewhere, and seconds per case here.
        if export.name == "spin" {
            continue;
        }
        let args = match &export.kind {
            ExportKind::CoreFunc(f) if f.params.is_empty() => vec![],
            ExportKind::CoreFunc(f) if f.params == [sandcall_protocol::ValType::I32] => {
                vec![Value::I32(1000)]
            }
            ExportKind::ComponentFunc(f) if f.params.is_empty() => vec![],
            ExportKind::ComponentFunc(f) if f.params.len() == 1 => {
                vec![Value::list_of(&[5i32, 3, 9, 1])]
            }
            _ => continue,
        };
        let answer = tokio::time::timeout(HANG, conn.eval("m", &export.name, &args))
            .await
            .map_err(|_| format!("a call of {} hung", export.name))?;
        if let Err(e) = answer
            && e.remote().is_none()
        {
            return Err(format!("{}: not a remote error: {e}", export.name));
        }
    }
    Ok(())
}

/// The server still answers: a fresh upload and call on `conn` and on a
/// new connection.
async fn still_serves(server: &sandcall_server::EmbeddedServer, conn: &mut Connection) {
    for conn in [conn, &mut connect(server).await] {
        conn.execute_with("tools", TOOLS, true).await.unwrap();
        let sum = conn.eval("tools", "add", &[Value::I32(2), Value::I32(40)]);
        assert_eq!(sum.await.unwrap(), [Value::I32(42)]);
    }
}

fn report(target: &str, tally: Tally) {
    eprintln!("fuzz {target}: outcomes {:?}", take(tally));
}

#[test]
fn mutated_components_upload_or_fail_cleanly() {
    let rt = runtime();
    let server = rt.block_on(server());
    let conn = Mutex::new(rt.block_on(connect(&server)));
    let sort = sandcall_guests::sort();
    let tally = Tally::default();
    fuzz("mutated components", 400, mutations(), |mutations| {
        let module = mutate(sort.clone(), &mutations);
        let mut conn = lock(&conn);
        let uploaded = rt.block_on(upload(&mut conn, module, &tally));
        prop_assert!(uploaded.is_ok(), "{uploaded:?}");
        Ok(())
    });
    rt.block_on(still_serves(&server, &mut take(conn)));
    report("mutated components", tally);
}

#[test]
fn mutated_values_components_upload_or_fail_cleanly() {
    // The values guest: twice the size of the sort guest, and every WIT
    // type in its signatures.
    let rt = runtime();
    let server = rt.block_on(server());
    let conn = Mutex::new(rt.block_on(connect(&server)));
    let values = sandcall_guests::values();
    let tally = Tally::default();
    fuzz("mutated values components", 300, mutations(), |mutations| {
        let module = mutate(values.clone(), &mutations);
        let mut conn = lock(&conn);
        let uploaded = rt.block_on(upload(&mut conn, module, &tally));
        prop_assert!(uploaded.is_ok(), "{uploaded:?}");
        Ok(())
    });
    rt.block_on(still_serves(&server, &mut take(conn)));
    report("mutated values components", tally);
}

/// The seed modules, as (name, WAT text).
fn seed_modules() -> Vec<(String, String)> {
    ["tools", "loops", "features"]
        .iter()
        .map(|name| (name.to_string(), seed_file(&format!("modules/{name}.wat"))))
        .collect()
}

#[test]
fn mutated_modules_upload_or_fail_cleanly() {
    let rt = runtime();
    let server = rt.block_on(server());
    let conn = Mutex::new(rt.block_on(connect(&server)));
    let seeds = seed_modules();
    {
        // The seeds themselves are valid.
        let mut conn = lock(&conn);
        for (name, wat) in &seeds {
            let info = rt.block_on(conn.execute(name, wat.as_bytes()));
            assert!(info.is_ok(), "seed {name}: {info:?}");
        }
    }
    let binaries: Vec<Vec<u8>> = seeds
        .iter()
        .map(|(name, wat)| wat::parse_str(wat).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    let tally = Tally::default();
    let cases = (0..seeds.len(), any::<bool>(), mutations());
    fuzz("mutated modules", 2000, cases, |(i, as_text, mutations)| {
        // WAT text goes through the server's text parser first.
        let module = match as_text {
            true => mutate(seeds[i].1.clone().into_bytes(), &mutations),
            false => mutate(binaries[i].clone(), &mutations),
        };
        let mut conn = lock(&conn);
        let uploaded = rt.block_on(upload(&mut conn, module, &tally));
        prop_assert!(uploaded.is_ok(), "{uploaded:?}");
        Ok(())
    });
    rt.block_on(still_serves(&server, &mut take(conn)));
    report("mutated modules", tally);
}
