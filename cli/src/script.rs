//! The commands of `sandcall run` and `sandcall shell`, one per line, run
//! on one [`Session`] (their table, for `help`, is [`crate::commands`]):
//!
//! ```text
//! execute NAME PATH [--replace]      eval NAME EXPORT [ARGS...] [--fuel N] [--cpu-ms N] [--deadline-ms N] [--input FILE] [-- ARGS...]
//! ns                                 drop NAME
//! reset NAME                         info
//! get NAME GLOBAL                    set NAME GLOBAL VALUE
//! read NAME OFFSET LEN               write NAME OFFSET HEXBYTES
//! register NAME AS                   help [COMMAND]
//! ```
//!
//! Arguments are typed by the export's signature: core values as in
//! [`sandcall::text`], component values as WAVE text typed by the function's WIT
//! signature ([`sandcall::wave`]), e.g. `eval sorter quick-sort [5, 3, 9, 1]`.
//! A function inside an exported interface (`pkg:name/iface#f`) may be called
//! by its short name `f` when no other export ends in `#f`. `--input FILE`
//! reads more argument words from a file (path relative to the base folder,
//! `-` for standard input), split like a command line but across lines; a
//! file holding the last argument, a list of numbers, is streamed straight
//! into the request ([`crate::input`]). Signatures are learned from the
//! server once per instance and kept until that name is executed, reset,
//! dropped or listed again.

use crate::call_args::number;
use crate::commands;
use crate::outcome::{CommandError, Outcome, usage};
use crate::words::split_words;
use sandcall::Connection;
use sandcall::text::{format_value, parse_value};
use sandcall_protocol::{ExportKind, InstanceInfo};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod eval;

pub use crate::call_args::{CallOptions, eval_words};
pub use crate::outcome::{format_info, format_instance, summary};

/// Runs command lines on one connection.
pub struct Session {
    conn: Connection,
    /// Where relative module paths are resolved.
    base: PathBuf,
    /// What each instance exports, as last reported by the server.
    exports: HashMap<String, InstanceInfo>,
}

impl Session {
    /// A session on `conn`, resolving relative paths against `base`.
    pub fn new(conn: Connection, base: impl Into<PathBuf>) -> Self {
        Session {
            conn,
            base: base.into(),
            exports: HashMap::new(),
        }
    }

    /// The connection, for anything the commands do not cover. The session
    /// does not see instances executed, reset or dropped through it until
    /// the next `ns`.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The instances this session knows of, with their export names (for
    /// the shell's completion).
    pub fn known(&self) -> Vec<(String, Vec<String>)> {
        self.exports
            .values()
            .map(|i| {
                let names = i.exports.iter().map(|e| e.name.clone()).collect();
                (i.name.clone(), names)
            })
            .collect()
    }

    /// Run one line. Blank lines and `#` comments do nothing.
    ///
    /// # Errors
    /// A usage error or what the server refused.
    pub async fn run_line(&mut self, line: &str) -> Result<Outcome, CommandError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(Outcome::default());
        }
        let words = split_words(line).map_err(usage)?;
        let (command, args) = words.split_first().ok_or_else(|| usage("empty command"))?;
        let text = |s: String| Ok(Outcome::text(s));
        match (*command, args) {
            ("help", []) => text(commands::help(None).map_err(usage)?),
            ("help", [topic]) => text(commands::help(Some(topic)).map_err(usage)?),
            ("info", []) => text(format_info(&self.conn.info().await?)),
            ("execute", [name, path, flags @ ..]) => self.execute(name, path, flags).await,
            ("eval", [name, export, rest @ ..]) => {
                let (texts, options) = eval_words(rest)?;
                self.eval(name, export, &texts, &options).await
            }
            ("ns", []) => {
                let list = self.conn.namespace().await?;
                self.exports = list.iter().map(|i| (i.name.clone(), i.clone())).collect();
                let lines: Vec<String> = list.iter().map(format_instance).collect();
                text(lines.join("\n"))
            }
            ("drop", [name]) => {
                self.conn.drop_instance(name).await?;
                self.exports.remove(*name);
                Ok(Outcome::default())
            }
            ("reset", [name]) => {
                let info = self.conn.reset(name).await?;
                self.exports.insert(name.to_string(), info.clone());
                Ok(Outcome::instance(format_instance(&info), info))
            }
            ("get", [name, global]) => {
                text(format_value(&self.conn.get_global(name, global).await?))
            }
            ("set", [name, global, value]) => {
                let ty = match self.export(name, global).await?.1 {
                    ExportKind::Global { ty, .. } => ty,
                    _ => return Err(usage(format!("`{global}` is not a global of `{name}`"))),
                };
                let value = parse_value(&ty, value).map_err(usage)?;
                self.conn.set_global(name, global, value).await?;
                Ok(Outcome::default())
            }
            ("read", [name, offset, len]) => {
                let bytes = self
                    .conn
                    .read_memory(name, None, number(offset)?, number(len)?)
                    .await?;
                text(bytes.iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02x}");
                    s
                }))
            }
            ("write", [name, offset, hex]) => {
                let bytes = parse_hex(hex)?;
                self.conn
                    .write_memory(name, None, number(offset)?, bytes)
                    .await?;
                Ok(Outcome::default())
            }
            ("register", [name, as_name]) => {
                self.conn.register(name, as_name).await?;
                Ok(Outcome::default())
            }
            (cmd, _) => Err(usage(match commands::find(cmd) {
                Some(c) => format!("usage: {} (`help {}` for more)", c.usage, c.name),
                None => commands::unknown_command(cmd),
            })),
        }
    }

    async fn execute(
        &mut self,
        name: &str,
        path: &str,
        flags: &[&str],
    ) -> Result<Outcome, CommandError> {
        let replace = match flags {
            [] => false,
            ["--replace"] => true,
            [flag, ..] => {
                let hint = commands::did_you_mean(flag, ["--replace"])
                    .map_or(String::new(), |f| format!(" (did you mean `{f}`?)"));
                return Err(usage(format!(
                    "unknown option `{flag}`{hint}; usage: execute NAME PATH [--replace]"
                )));
            }
        };
        self.execute_file(name, &self.resolve(path), replace).await
    }

    /// Upload the module at `path` as `name` (the `execute` command). WAT
    /// text is compiled here first, so that its errors name the file.
    ///
    /// # Errors
    /// The file cannot be read or parsed, or the server refuses the module.
    pub async fn execute_file(
        &mut self,
        name: &str,
        path: &Path,
        replace: bool,
    ) -> Result<Outcome, CommandError> {
        let module = crate::module::load(path)?;
        let info = self
            .conn
            .execute_with(name, module.bytes, replace)
            .await
            .map_err(|e| CommandError::from(e).with_replace_hint(name))?;
        self.exports.insert(name.to_string(), info.clone());
        Ok(Outcome {
            summary: Some(summary(&info)),
            output: Some(info.output.clone()),
            instance: Some(info),
            note: module.note,
            ..Outcome::default()
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

fn quoted_list(names: &[&str]) -> String {
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    sorted
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_hex(text: &str) -> Result<Vec<u8>, CommandError> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    // Digits only: a multi-byte character would split mid-char below (a
    // crash the fuzzing found), and `from_str_radix` would take a `+`.
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(usage(format!("`{text}` is not hex bytes")));
    }
    if !text.len().is_multiple_of(2) {
        return Err(usage("hex bytes need an even number of digits"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| usage(format!("`{text}` is not hex bytes")))
}
