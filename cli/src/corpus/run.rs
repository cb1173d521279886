//! Running one attack and judging what happened.

use super::modules::{self, ENV_SIZE, ENV_STRINGS, FILE_BUFFER, SECRET_FILE};
use super::{Attack, Outcome, Settings, Verdict, probes};
use sandcall::text::thousands;
use sandcall::{ClientError, Connection, ErrorKind, Eval, Value};
use sandcall_protocol::Mode;
use std::time::{Duration, Instant};

/// The instance name every attack uploads under (replaced each time).
pub(super) const NAME: &str = "attack";

/// Run `attack` on `conn`, in the connection's mode, and judge it.
///
/// Never fails: a broken connection is an [`Verdict::Unexpected`] outcome.
pub async fn run(conn: &mut Connection, attack: Attack, settings: &Settings) -> Outcome {
    let start = Instant::now();
    let sandboxed = conn.server_info().mode == Mode::Sandboxed;
    let (verdict, detail) = match attempt(conn, attack, settings, sandboxed).await {
        Ok(judged) => judged,
        Err(e) => stopped_by(&e, start.elapsed()),
    };
    let _ = conn.drop_instance(NAME).await;
    Outcome {
        verdict,
        detail,
        elapsed: start.elapsed(),
    }
}

pub(super) type Judged = (Verdict, String);

async fn attempt(
    conn: &mut Connection,
    attack: Attack,
    s: &Settings,
    sandboxed: bool,
) -> Result<Judged, ClientError> {
    let start = Instant::now();
    Ok(match attack {
        Attack::InfiniteLoop => {
            conn.execute_with(NAME, modules::INFINITE_LOOP, true)
                .await?;
            if sandboxed {
                conn.call(NAME, "run", vec![]).await?;
                unexpected("returned")
            } else {
                match conn
                    .eval_with(eval("run", vec![], s.client_deadline_ms))
                    .await
                {
                    Err(e) if e.kind() == Some(ErrorKind::DeadlineExceeded) => (
                        Verdict::Bounded,
                        format!(
                            "bounded: ran until the client's own {} ms deadline; the server \
                             sets none and would spin forever",
                            s.client_deadline_ms
                        ),
                    ),
                    other => unexpected(&format!("{other:?}")),
                }
            }
        }
        Attack::HeavyLoop => {
            conn.execute_with(NAME, modules::HEAVY_LOOP, true).await?;
            let n = s.heavy_iterations;
            // Sessions metered by CPU time give the loop at most
            // `HEAVY_CPU_MS` (the quick sizes run for less than the default
            // budget, though longer than the default fuel lasts).
            let limits = &conn.server_info().limits;
            let cpu_ms = limits.default_cpu_ms.map(|d| d.min(HEAVY_CPU_MS));
            let call = Eval {
                cpu_ms,
                deadline_ms: None,
                ..eval("run", vec![Value::I64(n as i64)], 0)
            };
            let answer = conn.eval_with(call).await?;
            if answer.results == [Value::I64(modules::lcg(n))] {
                let verdict = if sandboxed {
                    Verdict::Unexpected
                } else {
                    Verdict::Succeeded
                };
                (
                    verdict,
                    format!("ran to completion: {} of CPU", secs(start.elapsed())),
                )
            } else {
                unexpected("returned a wrong result")
            }
        }
        Attack::MemoryBomb => {
            conn.execute_with(NAME, modules::MEMORY_BOMB, true).await?;
            let answer = conn.call(NAME, "run", vec![]).await?;
            let Some(&Value::I64(bytes)) = answer.results.first() else {
                return Ok(unexpected("returned no i64"));
            };
            let cap = conn.server_info().limits.memory_bytes;
            let bytes = bytes as u64;
            match cap {
                Some(cap) if bytes <= cap => (
                    Verdict::Denied,
                    format!("capped: memory.grow refused at {} (the limit)", size(bytes)),
                ),
                None if bytes == 4 << 30 => (
                    Verdict::Succeeded,
                    format!("grew to {}: wasm32's own maximum", size(bytes)),
                ),
                _ => unexpected(&format!("grew to {bytes} bytes")),
            }
        }
        Attack::TableBomb => {
            let limit = if sandboxed { u32::MAX } else { s.table_bound };
            let args = vec![Value::I32(limit as i32)];
            let Some(got) = run_for_i32(conn, modules::TABLE_BOMB, args).await? else {
                return Ok(unexpected("returned no i32"));
            };
            let got = got as u32;
            let cap = conn.server_info().limits.table_elements;
            match cap {
                Some(cap) if u64::from(got) <= cap => (
                    Verdict::Denied,
                    format!("capped: table.grow refused at {} elements", thousands(got)),
                ),
                None if got >= s.table_bound => (
                    Verdict::Bounded,
                    format!(
                        "bounded: stopped itself at {} elements ({}); unbounded, it grows \
                         until the host runs out of memory",
                        thousands(got),
                        size(u64::from(got) * 8)
                    ),
                ),
                _ => unexpected(&format!("grew to {got} elements")),
            }
        }
        Attack::Recursion => {
            conn.execute_with(NAME, modules::RECURSION, true).await?;
            conn.call(NAME, "run", vec![Value::I64(0)]).await?;
            unexpected("returned")
        }
        Attack::EndlessStart => {
            if sandboxed {
                conn.execute_with(NAME, modules::ENDLESS_START, true)
                    .await?;
                unexpected("instantiated")
            } else {
                let module = modules::bounded_start(s.start_iterations);
                conn.execute_with(NAME, module, true).await?;
                (
                    Verdict::Bounded,
                    format!(
                        "bounded: a start of {} steps instantiated after {}; an endless one \
                         holds the connection forever",
                        thousands(s.start_iterations),
                        secs(start.elapsed())
                    ),
                )
            }
        }
        Attack::ReadFile => read_file(conn).await?,
        Attack::ReadEnv => read_env(conn).await?,
        Attack::Sleeper => sleeper(conn, s, sandboxed).await?,
        Attack::OutputBomb => {
            conn.execute_with(NAME, sandcall_guests::VALUES_WASM, true)
                .await?;
            let n = s.output_bytes;
            conn.call(NAME, "repeat", vec![Value::U32(n)]).await?;
            unexpected("returned its output")
        }
        Attack::CompileBomb => compile_bomb(conn, s, sandboxed).await?,
        Attack::ManyMemories => probes::many_memories_probe(conn, s, sandboxed).await?,
        Attack::BlockBomb => probes::block_bomb(conn, s, sandboxed, false).await?,
        Attack::WatBomb => probes::block_bomb(conn, s, sandboxed, true).await?,
        Attack::ManyExports => {
            let module = modules::many_exports(s.exports);
            let info = match conn.execute_with(NAME, module, true).await {
                Err(e) if sandboxed && e.kind() == Some(ErrorKind::ResourceLimit) => {
                    return Ok(refused(&e, start.elapsed()));
                }
                other => other?,
            };
            let last = format!("f{}", s.exports - 1);
            let answer = conn.call(NAME, &last, vec![]).await?;
            if info.exports.len() == s.exports as usize
                && answer.results == [Value::I32(s.exports as i32 - 1)]
            {
                (
                    Verdict::Succeeded,
                    format!(
                        "compiled and instantiated in {}: both cores busy; all {} exports \
                         listed and callable",
                        secs(start.elapsed()),
                        thousands(s.exports)
                    ),
                )
            } else {
                unexpected("exports missing")
            }
        }
    })
}

/// The compile bomb: refused for size 1 byte over the limit in both modes;
/// at the limit, refused for its function count when sandboxed, compiled in
/// a bounded size when unrestricted.
async fn compile_bomb(
    conn: &mut Connection,
    s: &Settings,
    sandboxed: bool,
) -> Result<Judged, ClientError> {
    let limit = conn.server_info().limits.module_bytes as usize;
    let over = conn
        .execute_with(NAME, modules::compile_bomb(limit + 1), true)
        .await;
    if over.as_ref().err().and_then(ClientError::kind) != Some(ErrorKind::ResourceLimit) {
        return Ok(unexpected("a module over the size limit was not refused"));
    }
    let start = Instant::now();
    if sandboxed {
        return Ok(
            match conn
                .execute_with(NAME, modules::compile_bomb(limit), true)
                .await
            {
                Err(e) if e.kind() == Some(ErrorKind::ResourceLimit) => {
                    refused(&e, start.elapsed())
                }
                other => unexpected(&format!("{:?}", other.map(|_| ()))),
            },
        );
    }
    let bytes = (s.compile_bytes as usize).min(limit);
    conn.execute_with(NAME, modules::compile_bomb(bytes), true)
        .await?;
    let took = start.elapsed();
    Ok((
        Verdict::Bounded,
        format!(
            "bounded: {} ({} functions) compiled in {} on both cores; the {} allowed \
             would take ~{}× as long",
            size(bytes as u64),
            thousands(modules::compile_bomb_functions(bytes) as u64),
            secs(took),
            size(limit as u64),
            limit / bytes.max(1)
        ),
    ))
}

/// A guest asleep in WASI for 60 s: cut at the deadline (the server's when
/// sandboxed, with the client's own as well; only the client's when
/// unrestricted), not when it wakes.
async fn sleeper(
    conn: &mut Connection,
    s: &Settings,
    sandboxed: bool,
) -> Result<Judged, ClientError> {
    conn.execute_with(NAME, modules::SLEEPER, true).await?;
    let start = Instant::now();
    let asked = eval(
        "run",
        vec![Value::I64(60_000_000_000)],
        s.client_deadline_ms,
    );
    let e = match conn.eval_with(asked).await {
        Ok(_) => return Ok(unexpected("slept for 60 s")),
        Err(e) => e,
    };
    let took = start.elapsed();
    if e.kind() != Some(ErrorKind::DeadlineExceeded)
        || took > Duration::from_millis(s.client_deadline_ms + 2_000)
    {
        return Ok(unexpected(&format!("{e} after {}", secs(took))));
    }
    Ok(if sandboxed {
        (
            Verdict::Stopped,
            format!("stopped: deadline after {}, asleep in WASI", secs(took)),
        )
    } else {
        (
            Verdict::Bounded,
            format!(
                "bounded: cut at the client's own {} ms deadline; the server sets none",
                s.client_deadline_ms
            ),
        )
    })
}

/// The verdict on an upload the server refused before compiling.
pub(super) fn refused(e: &ClientError, after: Duration) -> Judged {
    let message = e.remote().map_or(e.to_string(), |r| r.message.clone());
    (
        Verdict::Refused,
        format!("refused in {}: {}", secs(after), clip(&message)),
    )
}

/// Upload `module` as the attack and call its `run` with `args`: the i32 it
/// returns, if it returns one.
async fn run_for_i32(
    conn: &mut Connection,
    module: &str,
    args: Vec<Value>,
) -> Result<Option<i32>, ClientError> {
    conn.execute_with(NAME, module, true).await?;
    let answer = conn.call(NAME, "run", args).await?;
    Ok(match answer.results.first() {
        Some(&Value::I32(n)) => Some(n),
        _ => None,
    })
}

/// The WASI file read: denied without a preopened directory, or the bytes.
async fn read_file(conn: &mut Connection) -> Result<Judged, ClientError> {
    let Some(n) = run_for_i32(conn, modules::READ_FILE, vec![]).await? else {
        return Ok(unexpected("returned no i32"));
    };
    if n < 0 {
        return Ok((
            Verdict::Denied,
            format!(
                "denied: path_open failed with WASI errno {} ({}): no directory is preopened",
                -n,
                errno_name(-n)
            ),
        ));
    }
    let bytes = conn.read_memory(NAME, None, FILE_BUFFER, n as u64).await?;
    let text = String::from_utf8_lossy(&bytes);
    let shown: String = text.trim().chars().take(40).collect();
    Ok((
        Verdict::Succeeded,
        format!("read {n} bytes of ./{SECRET_FILE}: \"{shown}\""),
    ))
}

/// The WASI environment read: how many variables, and the first names
/// (never their values).
async fn read_env(conn: &mut Connection) -> Result<Judged, ClientError> {
    let Some(n) = run_for_i32(conn, modules::READ_ENV, vec![]).await? else {
        return Ok(unexpected("returned no i32"));
    };
    if n < 0 {
        return Ok(unexpected(&format!("WASI errno {}", -n)));
    }
    if n == 0 {
        return Ok((Verdict::Denied, "denied: the environment is empty".into()));
    }
    let size = conn.read_memory(NAME, None, ENV_SIZE, 4).await?;
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
    let strings = conn
        .read_memory(NAME, None, ENV_STRINGS, u64::from(size))
        .await?;
    let names: Vec<String> = strings
        .split(|&b| b == 0)
        .filter_map(|var| var.split(|&b| b == b'=').next())
        .filter(|name| !name.is_empty())
        .take(3)
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    Ok((
        Verdict::Succeeded,
        format!("read {n} variables ({}, …)", names.join(", ")),
    ))
}

/// The CPU time, in ms, the heavy loop may have in a session metered by CPU
/// time (when the server's default is larger).
const HEAVY_CPU_MS: u64 = 200;

/// The verdict on an attack that the server answered with an error.
fn stopped_by(e: &ClientError, after: Duration) -> Judged {
    let Some(remote) = e.remote() else {
        return unexpected(&format!("the connection failed: {e}"));
    };
    let why = match remote.kind {
        ErrorKind::OutOfFuel => format!("out of fuel after {}", secs(after)),
        ErrorKind::CpuTimeExceeded => format!("out of CPU time after {}", secs(after)),
        ErrorKind::DeadlineExceeded => format!("deadline after {}", secs(after)),
        ErrorKind::Trap => format!(
            "trap `{}` after {}",
            remote.trap.as_deref().unwrap_or("?"),
            secs(after)
        ),
        // The first clause says why; the rest is advice (poisoning, reset).
        ErrorKind::ResourceLimit => format!(
            "resource limit: {}",
            clip(remote.message.split(';').next().unwrap_or_default())
        ),
        _ => return unexpected(&format!("{}: {}", remote.kind, clip(&remote.message))),
    };
    (Verdict::Stopped, format!("stopped: {why}"))
}

fn eval(export: &str, args: Vec<Value>, deadline_ms: u64) -> Eval {
    Eval {
        name: NAME.to_string(),
        export: export.to_string(),
        args,
        fuel: None,
        deadline_ms: Some(deadline_ms),
        cpu_ms: None,
    }
}

pub(super) fn unexpected(what: &str) -> Judged {
    (Verdict::Unexpected, format!("unexpected: {}", clip(what)))
}

fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(120).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

fn errno_name(errno: i32) -> &'static str {
    match errno {
        2 => "acces",
        8 => "badf",
        44 => "noent",
        63 => "perm",
        76 => "notcapable",
        _ => "other",
    }
}

/// Seconds with two decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Bytes in MiB or GiB.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes < 1 << 20 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.0} MiB", bytes as f64 / f64::from(1 << 20))
    }
}
