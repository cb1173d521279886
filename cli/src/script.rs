//! The commands of `sandcall run` and `sandcall shell`, one per line:
//!
//! ```text
//! execute NAME PATH [--replace]      eval NAME EXPORT [ARGS...] [--fuel N] [--deadline-ms N] [--input FILE]
//! ns                                 drop NAME
//! reset NAME                         info
//! get NAME GLOBAL                    set NAME GLOBAL VALUE
//! read NAME OFFSET LEN               write NAME OFFSET HEXBYTES
//! register NAME AS
//! ```
//!
//! Arguments are typed by the export's signature: core values as in
//! [`sandcall::text`], component values as WAVE text typed by the function's WIT
//! signature ([`sandcall::wave`]), e.g. `eval sorter quick-sort [5, 3, 9, 1]`.
//! A function inside an exported interface (`pkg:name/iface#f`) may be called
//! by its short name `f` when no other export ends in `#f`. `--input FILE`
//! reads more argument words from a file (path relative to the base folder),
//! split like a command line but across lines, so a large list needs no
//! giant line. Signatures are learned from the server once per instance and
//! kept until that name is executed, reset, dropped or listed again.

use crate::words::split_words;
use sandcall::ClientError;
use sandcall::Connection;
use sandcall::text::{format_results, format_value, parse_value};
use sandcall::wave;
use sandcall_protocol::{Eval, ExportKind, InstanceInfo, InstanceKind, ServerInfo};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A failed command, printed as `error: KIND: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The server's error kind, or `usage`, `io`, `connection`.
    pub kind: String,
    pub message: String,
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
            },
            other => CommandError {
                kind: "connection".into(),
                message: other.to_string(),
            },
        }
    }
}

fn usage(message: impl Into<String>) -> CommandError {
    CommandError {
        kind: "usage".into(),
        message: message.into(),
    }
}

/// Runs command lines on one connection.
pub struct Shell {
    conn: Connection,
    /// Where relative module paths are resolved.
    base: PathBuf,
    /// What each instance exports, as last reported by the server.
    exports: HashMap<String, InstanceInfo>,
}

impl Shell {
    /// A shell on `conn`, resolving relative paths against `base`.
    pub fn new(conn: Connection, base: impl Into<PathBuf>) -> Self {
        Shell {
            conn,
            base: base.into(),
            exports: HashMap::new(),
        }
    }

    /// The connection, for anything the commands do not cover. The shell
    /// does not see instances executed, reset or dropped through it until
    /// the next `ns`.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Run one line; returns what to print. Blank lines and `#` comments do nothing.
    ///
    /// # Errors
    /// A usage error or what the server refused.
    pub async fn run_line(&mut self, line: &str) -> Result<String, CommandError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(String::new());
        }
        let words = split_words(line).map_err(usage)?;
        let (command, args) = words.split_first().ok_or_else(|| usage("empty command"))?;
        match (*command, args) {
            ("info", []) => Ok(format_info(&self.conn.info().await?)),
            ("execute", [name, path, flags @ ..]) => self.execute(name, path, flags).await,
            ("eval", [name, export, rest @ ..]) => self.eval(name, export, rest).await,
            ("ns", []) => {
                let list = self.conn.namespace().await?;
                self.exports = list.iter().map(|i| (i.name.clone(), i.clone())).collect();
                Ok(list
                    .iter()
                    .map(format_instance)
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
            ("drop", [name]) => {
                self.conn.drop_instance(name).await?;
                self.exports.remove(*name);
                Ok(String::new())
            }
            ("reset", [name]) => {
                let info = self.conn.reset(name).await?;
                let out = format_instance(&info);
                self.exports.insert(name.to_string(), info);
                Ok(out)
            }
            ("get", [name, global]) => Ok(format_value(&self.conn.get_global(name, global).await?)),
            ("set", [name, global, value]) => {
                let ty = match self.export(name, global).await?.1 {
                    ExportKind::Global { ty, .. } => ty,
                    _ => return Err(usage(format!("`{global}` is not a global of `{name}`"))),
                };
                let value = parse_value(&ty, value).map_err(usage)?;
                self.conn.set_global(name, global, value).await?;
                Ok(String::new())
            }
            ("read", [name, offset, len]) => {
                let bytes = self
                    .conn
                    .read_memory(name, None, number(offset)?, number(len)?)
                    .await?;
                Ok(bytes.iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02x}");
                    s
                }))
            }
            ("write", [name, offset, hex]) => {
                let bytes = parse_hex(hex)?;
                self.conn
                    .write_memory(name, None, number(offset)?, bytes)
                    .await?;
                Ok(String::new())
            }
            ("register", [name, as_name]) => {
                self.conn.register(name, as_name).await?;
                Ok(String::new())
            }
            (cmd, _) => Err(usage(format!(
                "cannot read `{cmd}` with {} argument(s); commands: execute NAME PATH, \
                 eval NAME EXPORT [ARGS...] [--input FILE], ns, drop NAME, reset NAME, \
                 get NAME GLOBAL, set NAME GLOBAL VALUE, read NAME OFFSET LEN, \
                 write NAME OFFSET HEX, register NAME AS, info",
                args.len()
            ))),
        }
    }

    async fn execute(
        &mut self,
        name: &str,
        path: &str,
        flags: &[&str],
    ) -> Result<String, CommandError> {
        let replace = match flags {
            [] => false,
            ["--replace"] => true,
            _ => return Err(usage(format!("unknown flags {flags:?} (only --replace)"))),
        };
        self.execute_file(name, &self.resolve(path), replace).await
    }

    /// Upload the module at `path` as `name` (the `execute` command).
    ///
    /// # Errors
    /// The file cannot be read, or the server refuses the module.
    pub async fn execute_file(
        &mut self,
        name: &str,
        path: &Path,
        replace: bool,
    ) -> Result<String, CommandError> {
        let bytes = std::fs::read(path).map_err(|e| CommandError {
            kind: "io".into(),
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        let info = self.conn.execute_with(name, bytes, replace).await?;
        self.exports.insert(name.to_string(), info);
        Ok(String::new())
    }

    /// Call `export` with arguments and flags as words (the `eval` command):
    /// `ARGS... [--fuel N] [--deadline-ms N] [--input FILE]`, the words of
    /// FILE following the others.
    ///
    /// # Errors
    /// Bad arguments, what the server refused, or a result that does not fit
    /// the function's WIT result type (kind `protocol`).
    pub async fn eval(
        &mut self,
        name: &str,
        export: &str,
        rest: &[&str],
    ) -> Result<String, CommandError> {
        let mut fuel = None;
        let mut deadline_ms = None;
        let mut input = None;
        let mut texts = Vec::new();
        let mut words = rest.iter().copied();
        while let Some(word) = words.next() {
            let mut value = |what: &str| words.next().ok_or_else(|| usage(what.to_string()));
            match word {
                "--fuel" => fuel = Some(number(value("--fuel N")?)?),
                "--deadline-ms" => deadline_ms = Some(number(value("--deadline-ms N")?)?),
                "--input" if input.is_none() => input = Some(value("--input FILE")?),
                "--input" => return Err(usage("--input FILE may be given once")),
                text => texts.push(text),
            }
        }
        let contents = input.map(|path| self.read_input(path)).transpose()?;
        if let (Some(path), Some(contents)) = (input, &contents) {
            texts.extend(split_words(contents).map_err(|e| usage(format!("{path}: {e}")))?);
        }
        let (export, kind) = self.export(name, export).await?;
        let args = match &kind {
            ExportKind::CoreFunc(ty) => {
                arity(&export, ty.params.len(), ty, texts.len())?;
                ty.params
                    .iter()
                    .zip(&texts)
                    .map(|(t, text)| parse_value(t, text))
                    .collect::<Result<Vec<_>, _>>()
            }
            ExportKind::ComponentFunc(func) => {
                arity(&export, func.params.len(), func, texts.len())?;
                wave::parse_args(func, &texts)
            }
            _ => return Err(usage(format!("`{export}` is not a function of `{name}`"))),
        }
        .map_err(usage)?;
        let eval = Eval {
            name: name.to_string(),
            export: export.clone(),
            args,
            fuel,
            deadline_ms,
        };
        let result = self.conn.eval_with(eval).await?;
        match &kind {
            ExportKind::ComponentFunc(func) => {
                wave::format_result(func, &result.results).map_err(|e| CommandError {
                    kind: "protocol".into(),
                    message: format!("the answer to `{export}`: {e}"),
                })
            }
            _ => Ok(format_results(&result.results)),
        }
    }

    /// The full name and kind of `name`'s export `export`, asking the server
    /// if `name` is not known yet. A function inside an exported interface
    /// may be named by what follows its `#` when no other export shares it.
    async fn export(
        &mut self,
        name: &str,
        export: &str,
    ) -> Result<(String, ExportKind), CommandError> {
        if !self.exports.contains_key(name) {
            let list = self.conn.namespace().await?;
            self.exports = list.into_iter().map(|i| (i.name.clone(), i)).collect();
        }
        let info = self.exports.get(name).ok_or_else(|| CommandError {
            kind: "not-found".into(),
            message: format!("no instance named `{name}` in this namespace"),
        })?;
        let short = |full: &str| full.rsplit_once('#').is_some_and(|(_, f)| f == export);
        let found: Vec<_> = match info.exports.iter().find(|e| e.name == export) {
            Some(exact) => vec![exact],
            None => info.exports.iter().filter(|e| short(&e.name)).collect(),
        };
        match found.as_slice() {
            [one] => Ok((one.name.clone(), one.kind.clone())),
            [] => Err(CommandError {
                kind: "not-found".into(),
                message: format!("instance `{name}` has no export named `{export}`"),
            }),
            many => Err(usage(format!(
                "`{export}` may be any of {}; give the full name",
                many.iter()
                    .map(|e| format!("`{}`", e.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The text of an `--input` file.
    fn read_input(&self, path: &str) -> Result<String, CommandError> {
        let path = self.resolve(path);
        std::fs::read_to_string(&path).map_err(|e| CommandError {
            kind: "io".into(),
            message: format!("cannot read {}: {e}", path.display()),
        })
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }
}

/// A usage error unless a function with `params` parameters got as many texts.
fn arity(
    export: &str,
    params: usize,
    signature: &dyn std::fmt::Display,
    got: usize,
) -> Result<(), CommandError> {
    if params == got {
        return Ok(());
    }
    Err(usage(format!(
        "`{export}` takes {params} argument(s), {signature}; got {got}"
    )))
}

fn number(text: &str) -> Result<u64, CommandError> {
    text.parse()
        .map_err(|_| usage(format!("`{text}` is not a non-negative whole number")))
}

fn parse_hex(text: &str) -> Result<Vec<u8>, CommandError> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return Err(usage("hex bytes need an even number of digits"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| usage(format!("`{text}` is not hex bytes")))
}

/// `info` as lines of `key: value`.
pub fn format_info(info: &ServerInfo) -> String {
    let l = &info.limits;
    let opt = |v: Option<u64>| v.map_or("none".to_string(), |v| v.to_string());
    let ms = |v: Option<u64>| v.map_or("none".to_string(), |v| format!("{v} ms"));
    format!(
        "server: sandcall-server {}\nwasmtime: {}\nprotocol: {}\nmode: {}\n\
         fuel per call: {} (max {})\ndeadline: {} (max {})\n\
         memory per instance: {} bytes\nmemory per connection: {} bytes\n\
         memory per server: {} bytes\nmemories per module: {}\ntables per module: {}\n\
         table elements: {}\ninstances per connection: {}\n\
         module size: {} bytes\nWAT size: {} bytes\noperators per function: {}\n\
         operators per module: {}\nblocks per function: {}\nblocks per module: {}\nconcurrent compiles: {}\ncompile cache: {} bytes\n\
         connections: {}\nframe size: {} bytes\nwasm stack: {} bytes\n\
         features: {}",
        info.server_version,
        info.wasmtime_version,
        info.protocol_version,
        info.mode,
        opt(l.default_fuel),
        opt(l.max_fuel),
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
        "{} ({kind} {}…, memory {} bytes, fuel used {}",
        info.name,
        info.module_hash.chars().take(12).collect::<String>(),
        info.memory_bytes,
        info.fuel_used
    );
    if !info.registered_as.is_empty() {
        let _ = write!(out, ", registered as {}", info.registered_as.join(", "));
    }
    out.push(')');
    for export in &info.exports {
        let _ = write!(out, "\n  {}: {}", export.name, export.kind);
    }
    out
}
