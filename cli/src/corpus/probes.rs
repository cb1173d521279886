//! Issue 18's resource probes as attacks: many memories in one instance, a
//! function of many blocks (a compile-CPU bomb when fuel metering is
//! compiled in), and the same function as WAT text. Each was measured to
//! take the server to gigabytes or tens of seconds of CPU before it was
//! bounded.

use super::run::{Judged, NAME, refused, secs, size, unexpected};
use super::{Settings, Verdict};
use sandcall::text::thousands;
use sandcall::{ClientError, Connection, ErrorKind, Value};
use std::time::Instant;

/// Memories in the many-memories probe.
pub const MEMORIES: u32 = 8;

/// Pages (64 KiB) each memory reaches for: 256 MiB, 2 GiB in all.
pub const PAGES: u32 = 4096;

/// `MEMORIES` memories of no pages; `fill(pages)` grows each by `pages`
/// (stopping at the first refusal) and writes one byte to every page it
/// got; returns the pages it got in all.
fn many_memories() -> String {
    let mut wat = String::from("(module\n");
    for m in 0..MEMORIES {
        wat += &format!("(memory $m{m} 0)\n");
    }
    wat +=
        "(func (export \"run\") (param $pages i32) (result i32) (local $p i32) (local $got i32)\n";
    for m in 0..MEMORIES {
        wat += &format!(
            "(if (i32.eq (memory.grow $m{m} (local.get $pages)) (i32.const -1))
               (then (return (local.get $got))))
             (local.set $p (i32.const 0))
             (block $done (loop $next
               (br_if $done (i32.ge_u (local.get $p) (memory.size $m{m})))
               (i32.store8 $m{m} (i32.mul (local.get $p) (i32.const 65536)) (i32.const 1))
               (local.set $p (i32.add (local.get $p) (i32.const 1)))
               (br $next)))
             (local.set $got (i32.add (local.get $got) (memory.size $m{m})))\n"
        );
    }
    wat += "(local.get $got)))";
    wat
}

/// One function of `count` `(block (drop (local.get 0)))`, as WAT.
pub fn blocks_wat(count: u32) -> String {
    let body = "(block (drop (local.get 0)))".repeat(count as usize);
    format!("(module (func (export \"run\") (param i32) {body}))")
}

/// Eight memories, each grown to 256 MiB and every page touched: when
/// sandboxed the instance's memory total (`--memory-bytes`) refuses the
/// growth that would pass it; unrestricted, in a bounded form (16 pages a
/// memory), as the full one would hold 2 GiB of the shared machine.
pub async fn many_memories_probe(
    conn: &mut Connection,
    s: &Settings,
    sandboxed: bool,
) -> Result<Judged, ClientError> {
    conn.execute_with(NAME, many_memories(), true).await?;
    let pages = if sandboxed { PAGES } else { s.memory_pages };
    let got = conn
        .call(NAME, "run", vec![Value::I32(pages as i32)])
        .await?;
    let [Value::I32(got)] = got.results[..] else {
        return Ok(unexpected("no page count"));
    };
    let got = u64::from(got as u32) * 65536;
    let asked = u64::from(pages) * 65536 * u64::from(MEMORIES);
    Ok(if sandboxed && got < asked {
        (
            Verdict::Denied,
            format!(
                "denied: got {} of the {} it reached for (the instance's memory total)",
                size(got),
                size(asked)
            ),
        )
    } else if !sandboxed && got == asked {
        (
            Verdict::Bounded,
            format!(
                "bounded: {MEMORIES} memories of {} touched; unrestricted caps nothing, \
                 so the full {} would be granted",
                size(asked / u64::from(MEMORIES)),
                size(u64::from(PAGES) * 65536 * u64::from(MEMORIES))
            ),
        )
    } else {
        unexpected(&format!("got {got} of {asked} bytes"))
    })
}

/// One function of `s.blocks` blocks, as a binary (`wat` false) or as WAT
/// text: refused before compiling when sandboxed (blocks per function, or
/// WAT over `--wat-bytes`); unrestricted compiles it without fuel
/// metering, fast.
pub async fn block_bomb(
    conn: &mut Connection,
    s: &Settings,
    sandboxed: bool,
    as_wat: bool,
) -> Result<Judged, ClientError> {
    let text = blocks_wat(s.blocks);
    let upload = if as_wat {
        text.into_bytes()
    } else {
        match wat::parse_str(&text) {
            Ok(binary) => binary,
            Err(e) => return Ok(unexpected(&e.to_string())),
        }
    };
    let bytes = upload.len() as u64;
    let start = Instant::now();
    match conn.execute_with(NAME, upload, true).await {
        Err(e) if sandboxed && e.kind() == Some(ErrorKind::ResourceLimit) => {
            Ok(refused(&e, start.elapsed()))
        }
        Ok(_) if !sandboxed => {
            conn.call(NAME, "run", vec![Value::I32(1)]).await?;
            Ok((
                Verdict::Succeeded,
                format!(
                    "{} blocks ({}) compiled without fuel metering in {} and ran",
                    thousands(u64::from(s.blocks)),
                    size(bytes),
                    secs(start.elapsed())
                ),
            ))
        }
        other => Ok(unexpected(&format!("{:?}", other.map(|_| ())))),
    }
}
