//! The `eval` command: arguments typed by the export's signature (from the
//! server, kept per instance), `--input` files read or streamed, and the
//! results formatted.

use super::{Session, quoted_list};
use crate::call_args::{CallOptions, arity, with_input};
use crate::commands;
use crate::outcome::{CallReport, CommandError, Outcome, usage};
use sandcall::text::{format_value, parse_value};
use sandcall::wave;
use sandcall_protocol::{Eval, ExportKind, Value, WitType};

impl Session {
    /// Call `export` with `texts` as its arguments (the `eval` command).
    ///
    /// # Errors
    /// Bad arguments, what the server refused, or a result that does not fit
    /// the function's WIT result type (kind `protocol`).
    pub async fn eval(
        &mut self,
        name: &str,
        export: &str,
        texts: &[&str],
        options: &CallOptions,
    ) -> Result<Outcome, CommandError> {
        let (export, kind) = self.export(name, export).await?;
        let args = match &kind {
            ExportKind::CoreFunc(ty) => {
                let contents = self.read_input(options)?;
                let texts = with_input(texts, options, contents.as_deref())?;
                arity(&export, ty.params.len(), ty, &texts)?;
                ty.params
                    .iter()
                    .zip(&texts)
                    .map(|(t, text)| parse_value(t, text))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(usage)?
            }
            ExportKind::ComponentFunc(func) => {
                let last = func.params.last().map(|(_, ty)| ty);
                let streamed = match (last, &options.input) {
                    (Some(WitType::List(elem)), Some(input))
                        if texts.len() + 1 == func.params.len() =>
                    {
                        elem.num_type().map(|num| (num, input))
                    }
                    _ => None,
                };
                let mut values = Vec::with_capacity(func.params.len());
                let contents;
                let texts = match streamed {
                    Some(_) => texts.to_vec(),
                    None => {
                        contents = self.read_input(options)?;
                        with_input(texts, options, contents.as_deref())?
                    }
                };
                if streamed.is_none() {
                    arity(&export, func.params.len(), func, &texts)?;
                }
                for ((param, ty), text) in func.params.iter().zip(&texts) {
                    let value = wave::parse(ty, text).map_err(|e| match func.params.len() {
                        1 => usage(e),
                        _ => usage(format!("argument `{param}`: {e}")),
                    })?;
                    values.push(value);
                }
                if let Some((num, input)) = streamed {
                    let packed = self.stream_input(input, num)?;
                    values.push(Value::Packed(packed));
                }
                values
            }
            _ => return Err(usage(format!("`{export}` is not a function of `{name}`"))),
        };
        crate::outcome::check_frame(&self.conn, &args)?;
        let eval = Eval {
            name: name.to_string(),
            export: export.clone(),
            args,
            fuel: options.fuel,
            deadline_ms: options.deadline_ms,
            cpu_ms: options.cpu_ms,
        };
        let limits = self.conn.server_info().limits.clone();
        let result = self
            .conn
            .eval_with(eval)
            .await
            .map_err(|e| CommandError::from(e).with_call_hints(&limits))?;
        let results = match &kind {
            ExportKind::ComponentFunc(func) => {
                let fast = match (&func.result, result.results.as_slice()) {
                    (Some(WitType::List(elem)), [Value::Packed(p)])
                        if elem.num_type() == Some(p.elem) =>
                    {
                        crate::outcome::format_packed_ints(p)
                    }
                    _ => None,
                };
                let text = fast.map_or_else(|| wave::format_result(func, &result.results), Ok);
                let text = text.map_err(|e| CommandError {
                    kind: "protocol".into(),
                    message: format!("the answer to `{export}`: {e}"),
                    output: None,
                })?;
                if text.is_empty() { vec![] } else { vec![text] }
            }
            _ => result.results.iter().map(format_value).collect(),
        };
        Ok(Outcome {
            call: Some(CallReport {
                results,
                fuel_used: result.fuel_used,
                cpu_ns: result.cpu_ns,
                guest_ns: result.guest_ns,
            }),
            output: Some(result.output),
            ..Outcome::default()
        })
    }

    /// The full name and kind of `name`'s export `export`, asking the server
    /// if `name` is not known yet. A function inside an exported interface
    /// may be named by what follows its `#` when no other export shares it.
    pub(super) async fn export(
        &mut self,
        name: &str,
        export: &str,
    ) -> Result<(String, ExportKind), CommandError> {
        if !self.exports.contains_key(name) {
            let list = self.conn.namespace().await?;
            self.exports = list.into_iter().map(|i| (i.name.clone(), i)).collect();
        }
        let Some(info) = self.exports.get(name) else {
            let names: Vec<&str> = self.exports.keys().map(String::as_str).collect();
            let hint = match commands::did_you_mean(name, names.iter().copied()) {
                Some(close) => format!(" (did you mean `{close}`?)"),
                None if names.is_empty() => " (it is empty: `execute NAME PATH` first)".into(),
                None => format!(" (it holds {})", quoted_list(&names)),
            };
            return Err(CommandError::new(
                "not-found",
                format!("no instance named `{name}` in this namespace{hint}"),
            ));
        };
        let short = |full: &str| full.rsplit_once('#').is_some_and(|(_, f)| f == export);
        let found: Vec<_> = match info.exports.iter().find(|e| e.name == export) {
            Some(exact) => vec![exact],
            None => info.exports.iter().filter(|e| short(&e.name)).collect(),
        };
        match found.as_slice() {
            [one] => Ok((one.name.clone(), one.kind.clone())),
            [] => {
                let names: Vec<&str> = info.exports.iter().map(|e| e.name.as_str()).collect();
                let hint = match commands::did_you_mean(export, names.iter().copied()) {
                    Some(close) => format!(" (did you mean `{close}`?)"),
                    None => format!("; it exports {}", quoted_list(&names)),
                };
                Err(CommandError::new(
                    "not-found",
                    format!("instance `{name}` has no export named `{export}`{hint}"),
                ))
            }
            many => Err(usage(format!(
                "`{export}` may be any of {}; give the full name",
                quoted_list(&many.iter().map(|e| e.name.as_str()).collect::<Vec<_>>())
            ))),
        }
    }

    /// The text of the `--input` file, if any (`-`: standard input).
    fn read_input(&self, options: &CallOptions) -> Result<Option<String>, CommandError> {
        let Some(path) = &options.input else {
            return Ok(None);
        };
        if path == "-" {
            return std::io::read_to_string(std::io::stdin())
                .map(Some)
                .map_err(|e| CommandError::new("io", format!("cannot read standard input: {e}")));
        }
        let path = self.resolve(path);
        std::fs::read_to_string(&path)
            .map(Some)
            .map_err(|e| CommandError::new("io", format!("cannot read {}: {e}", path.display())))
    }

    /// The `--input` file as one packed list of numbers, read as it streams.
    fn stream_input(
        &self,
        input: &str,
        num: sandcall_protocol::NumType,
    ) -> Result<sandcall_protocol::Packed, CommandError> {
        let (read, shown) = if input == "-" {
            (
                crate::input::read_packed(std::io::stdin().lock(), num),
                "standard input".to_string(),
            )
        } else {
            let path = self.resolve(input);
            let file = std::fs::File::open(&path).map_err(|e| {
                CommandError::new("io", format!("cannot read {}: {e}", path.display()))
            })?;
            (
                crate::input::read_packed(file, num),
                path.display().to_string(),
            )
        };
        read.map_err(|e| usage(format!("{shown}: {e}")))
    }
}
