//! What a line command produced ([`Outcome`]) or why it failed
//! ([`CommandError`]), and how each is written for people: `info`, `ns`,
//! the line after `execute`, the guest's output marked as the guest's, and
//! errors that name the flag that would fix them.

use sandcall::ClientError;
use sandcall_protocol::{
    CodecError, GuestOutput, InstanceInfo, InstanceKind, Limits, NumType, Number, Packed,
    ServerInfo, Value,
};
use std::fmt::Write as _;

/// What a command produced.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// What to print on stdout (may be empty); a call's results are in
    /// `call` instead.
    pub text: String,
    /// `eval`: the results, fuel and time.
    pub call: Option<CallReport>,
    /// `execute` and `reset`: the instance.
    pub instance: Option<InstanceInfo>,
    /// `execute`: one line about the instance, for the shell.
    pub summary: Option<String>,
    /// What the guest wrote during the call or instantiation.
    pub output: Option<GuestOutput>,
    /// Advice for stderr (e.g. a core module that should be a component).
    pub note: Option<String>,
}

impl Outcome {
    /// Only text to print.
    pub fn text(text: String) -> Self {
        Outcome {
            text,
            ..Outcome::default()
        }
    }

    /// An instance answer (`reset`), printed as `text`.
    pub fn instance(text: String, info: InstanceInfo) -> Self {
        Outcome {
            text,
            output: Some(info.output.clone()),
            instance: Some(info),
            ..Outcome::default()
        }
    }
}

/// One call's answer: results in WAVE syntax, fuel used, time in the guest.
#[derive(Debug, Default, Clone)]
pub struct CallReport {
    pub results: Vec<String>,
    pub fuel_used: u64,
    /// CPU time the call used, in ns (0 without a CPU-time budget).
    pub cpu_ns: u64,
    pub guest_ns: u64,
}

impl CallReport {
    /// The results as printed: nothing for none, the value for one (not
    /// copied: it may be a list of millions), a tuple `(a, b)` for more.
    pub fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        match self.results.as_slice() {
            [] => Ok(()),
            [one] => writeln!(out, "{one}"),
            many => writeln!(out, "({})", many.join(", ")),
        }
    }
}

/// A failed command, printed as `error: KIND: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The server's error kind, or `usage`, `io`, `connection`.
    pub kind: String,
    pub message: String,
    /// What the guest wrote before it failed.
    pub output: Option<GuestOutput>,
}

impl CommandError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        CommandError {
            kind: kind.into(),
            message: message.into(),
            output: None,
        }
    }

    /// `already-exists` names `--replace`.
    pub fn with_replace_hint(mut self, name: &str) -> Self {
        if self.kind == "already-exists" && !self.message.contains("--replace") {
            let _ = write!(
                self.message,
                " (`execute {name} PATH --replace` replaces it; `sandcall call` \
                 always uploads afresh)"
            );
        }
        self
    }

    /// Out of fuel and past the deadline name the flag that gives more, and
    /// the server's maximum.
    pub fn with_call_hints(mut self, limits: &Limits) -> Self {
        let (flag, max) = match self.kind.as_str() {
            "out-of-fuel" => ("--fuel", limits.max_fuel),
            "cpu-time-exceeded" => ("--cpu-ms", limits.max_cpu_ms),
            "deadline-exceeded" => ("--deadline-ms", limits.max_deadline_ms),
            _ => return self,
        };
        if !self.message.contains(flag) {
            let _ = write!(self.message, " (give more with {flag} N");
            if let Some(max) = max {
                let _ = write!(self.message, "; this server allows up to {max}");
            }
            self.message.push(')');
        }
        self
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl From<ClientError> for CommandError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Remote(r) => CommandError {
                kind: r.kind.to_string(),
                message: r.message,
                output: r.output,
            },
            ClientError::Codec(CodecError::FrameTooLarge { len, max }) => CommandError::new(
                "resource-limit",
                format!(
                    "a frame of {len} bytes is more than the limit of {max} bytes; the server \
                     sets it: start sandcall-server with a larger --frame-bytes"
                ),
            ),
            other => CommandError::new("connection", other.to_string()),
        }
    }
}

/// A usage error.
pub fn usage(message: impl Into<String>) -> CommandError {
    CommandError::new("usage", message)
}

/// Refuse arguments that cannot fit in one of the server's frames before
/// encoding them, with the flag that raises the limit.
///
/// # Errors
/// `resource-limit` when the arguments alone are larger than a frame.
pub fn check_frame(conn: &sandcall::Connection, args: &[Value]) -> Result<(), CommandError> {
    let max = conn.server_info().limits.frame_bytes;
    let size: u64 = args.iter().map(approx_size).sum();
    if size > max {
        return Err(CommandError::new(
            "resource-limit",
            format!(
                "the arguments take {size} bytes, more than the server's frame limit of {max} \
                 bytes; start sandcall-server with a larger --frame-bytes"
            ),
        ));
    }
    Ok(())
}

/// At least the bytes `value` takes on the wire.
fn approx_size(value: &Value) -> u64 {
    let boxed = |v: &Option<Box<Value>>| v.as_deref().map_or(1, approx_size);
    match value {
        Value::Packed(p) => p.bytes.len() as u64,
        Value::String(s) => s.len() as u64,
        Value::List(items) | Value::Tuple(items) => items.iter().map(approx_size).sum(),
        Value::Record(fields) => fields.iter().map(|(_, v)| approx_size(v)).sum(),
        Value::Variant(_, payload) | Value::Option(payload) => boxed(payload),
        Value::Result(Ok(payload) | Err(payload)) => boxed(payload),
        _ => 1,
    }
}

/// A packed list of integers in WAVE syntax (`[1, 3, 5, 9]`), written
/// straight from its bytes: a 20M-element answer is not first turned into
/// 20M WAVE values. `None` for floats (WAVE's float spelling is left to
/// `wasm-wave`) and for a ragged buffer.
pub fn format_packed_ints(p: &Packed) -> Option<String> {
    fn write<T: Number + std::fmt::Display>(p: &Packed, widest: usize) -> String {
        // Room for the widest element: no reallocation (and no second copy)
        // on the way; untouched room costs no memory.
        let mut out = String::with_capacity(p.len() * (widest + 2) + 2);
        out.push('[');
        for (i, chunk) in p.bytes.chunks_exact(size_of::<T>()).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}", T::get(chunk));
        }
        out.push(']');
        out
    }
    if !p.is_whole() {
        return None;
    }
    Some(match p.elem {
        NumType::S8 => write::<i8>(p, 4),
        NumType::U8 => write::<u8>(p, 3),
        NumType::S16 => write::<i16>(p, 6),
        NumType::U16 => write::<u16>(p, 5),
        NumType::S32 => write::<i32>(p, 11),
        NumType::U32 => write::<u32>(p, 10),
        NumType::S64 => write::<i64>(p, 20),
        NumType::U64 => write::<u64>(p, 20),
        NumType::F32 | NumType::F64 => return None,
    })
}

/// The guest's output as lines for stderr, each marked as the guest's.
/// With `quoted` (an error message that already quotes the guest's last
/// stderr lines, as the server's trap messages do), stderr is left out.
pub fn format_guest_output(output: &GuestOutput, quoted: Option<&str>) -> String {
    let mut out = String::new();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    let stderr_quoted = matches!((quoted, last), (Some(m), Some(l)) if m.contains(l));
    let streams = [("stdout", &output.stdout), ("stderr", &output.stderr)];
    for (stream, bytes) in streams {
        if stream == "stderr" && stderr_quoted {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for line in text.trim_start_matches(['\n', '\r']).lines() {
            let _ = writeln!(out, "[guest {stream}] {line}");
        }
    }
    if output.dropped > 0 {
        let _ = writeln!(
            out,
            "[guest] {} more bytes of output dropped (the server's output limit)",
            output.dropped
        );
    }
    out
}

/// The line after `execute`: kind, exports, compile time or cache hit.
pub fn summary(info: &InstanceInfo) -> String {
    let kind = match info.kind {
        InstanceKind::Core => "core module",
        InstanceKind::Component => "component",
    };
    let names: Vec<&str> = info.exports.iter().map(|e| e.name.as_str()).collect();
    let shown = match names.len() {
        0 => "no exports".to_string(),
        n if n <= 6 => format!("exports {}", names.join(", ")),
        n => format!("exports {}, … ({n} in all)", names[..6].join(", ")),
    };
    let ms = info.compile_ns as f64 / 1e6;
    let compile = if info.cache_hit {
        format!("cache hit ({ms:.1} ms)")
    } else {
        format!("compiled in {ms:.1} ms")
    };
    format!("{}: {kind}, {shown}; {compile}", info.name)
}

/// `info` as lines of `key: value`.
pub fn format_info(info: &ServerInfo) -> String {
    let l = &info.limits;
    let opt = |v: Option<u64>| v.map_or("none".to_string(), |v| v.to_string());
    let ms = |v: Option<u64>| v.map_or("none".to_string(), |v| format!("{v} ms"));
    format!(
        "server: sandcall-server {}\nwasmtime: {}\nprotocol: {}\nmode: {}\n\
         metering: {}\nfuel per call: {} (max {})\ncpu time per call: {} (max {})\n\
         deadline: {} (max {})\n\
         memory per instance: {} bytes\nmemory per connection: {} bytes\n\
         memory per server: {} bytes\nmemories per module: {}\ntables per module: {}\n\
         table elements: {}\ninstances per connection: {}\n\
         module size: {} bytes\nWAT size: {} bytes\noperators per function: {}\n\
         operators per module: {}\nblocks per function: {}\nblocks per module: {}\nconcurrent compiles: {}\ncompile cache: {} bytes\n\
         connections: {}\nframe size: {} bytes\nwasm stack: {} bytes\n\
         guest output: {} bytes per stream\nfeatures: {}",
        info.server_version,
        info.wasmtime_version,
        info.protocol_version,
        info.mode,
        l.metering.map_or("none".to_string(), |m| m.to_string()),
        opt(l.default_fuel),
        opt(l.max_fuel),
        ms(l.default_cpu_ms),
        ms(l.max_cpu_ms),
        ms(l.default_deadline_ms),
        ms(l.max_deadline_ms),
        opt(l.memory_bytes),
        opt(l.connection_memory_bytes),
        opt(l.server_memory_bytes),
        opt(l.memories_per_module),
        opt(l.tables_per_module),
        opt(l.table_elements),
        l.instances_per_connection,
        l.module_bytes,
        l.wat_bytes,
        opt(l.operators_per_function),
        opt(l.operators_per_module),
        opt(l.blocks_per_function),
        opt(l.blocks_per_module),
        l.concurrent_compiles,
        l.cache_bytes,
        l.connections,
        l.frame_bytes,
        l.wasm_stack_bytes,
        l.output_bytes,
        info.features.join(", ")
    )
}

/// One instance of `ns`: a heading line, then one line per export.
pub fn format_instance(info: &InstanceInfo) -> String {
    let kind = match info.kind {
        InstanceKind::Core => "core module",
        InstanceKind::Component => "component",
    };
    let mut out = format!(
        "{} ({kind} {}…, memory {} bytes",
        info.name,
        info.module_hash.chars().take(12).collect::<String>(),
        info.memory_bytes,
    );
    // What bounds its calls: CPU time (the default) or fuel; nothing is
    // shown before a call, or where nothing is metered (unrestricted).
    if info.cpu_ns > 0 {
        let _ = write!(out, ", CPU time {:.3} ms", info.cpu_ns as f64 / 1e6);
    }
    if info.fuel_used > 0 {
        let _ = write!(out, ", fuel used {}", info.fuel_used);
    }
    if !info.registered_as.is_empty() {
        let _ = write!(out, ", registered as {}", info.registered_as.join(", "));
    }
    out.push(')');
    for export in &info.exports {
        let _ = write!(out, "\n  {}: {}", export.name, export.kind);
    }
    out
}
