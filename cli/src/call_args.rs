//! The words of a call: `eval`'s options (`--fuel N`, `--cpu-ms N`,
//! `--deadline-ms N`, `--input FILE`, `--` ending them) and arguments, the `--input` file's
//! words after them, and the argument count checked against the
//! signature, with a hint when a shell split a value at its spaces.

use crate::commands;
use crate::outcome::{CommandError, usage};
use crate::words::split_words;
use std::fmt::Write as _;

/// The options of one call, apart from its arguments.
#[derive(Debug, Default, Clone)]
pub struct CallOptions {
    pub fuel: Option<u64>,
    pub deadline_ms: Option<u64>,
    /// CPU time for the call in ms (sessions metered by CPU time).
    pub cpu_ms: Option<u64>,
    /// More arguments from this file (`-`: standard input).
    pub input: Option<String>,
}

/// The flags `eval` knows, for "did you mean".
const EVAL_FLAGS: [&str; 4] = ["--fuel", "--cpu-ms", "--deadline-ms", "--input"];

/// The arguments and options of an `eval` line: `--fuel N`, `--cpu-ms N`,
/// `--deadline-ms N`, `--input FILE` (also as `--fuel=N`); `--` ends the
/// options; any other word starting with `--` is an error.
///
/// # Errors
/// An unknown option, or one without its value.
pub fn eval_words<'a>(words: &[&'a str]) -> Result<(Vec<&'a str>, CallOptions), CommandError> {
    let mut options = CallOptions::default();
    let mut texts = Vec::new();
    let mut rest = words.iter().copied();
    while let Some(word) = rest.next() {
        if word == "--" {
            texts.extend(rest.by_ref());
            break;
        }
        if !word.starts_with("--") {
            texts.push(word);
            continue;
        }
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (word, None),
        };
        let mut value = |what: &str| {
            inline
                .or_else(|| rest.next())
                .ok_or_else(|| usage(format!("{flag} needs a value: {flag} {what}")))
        };
        match flag {
            "--fuel" => options.fuel = Some(number(value("N")?)?),
            "--deadline-ms" => options.deadline_ms = Some(number(value("N")?)?),
            "--cpu-ms" => options.cpu_ms = Some(number(value("N")?)?),
            "--input" if options.input.is_none() => options.input = Some(value("FILE")?.into()),
            "--input" => return Err(usage("--input FILE may be given once")),
            other => {
                let hint = commands::did_you_mean(other, EVAL_FLAGS)
                    .map_or(String::new(), |f| format!(" (did you mean `{f}`?)"));
                return Err(usage(format!(
                    "unknown option `{other}`{hint}; options: --fuel N, --cpu-ms N, \
                     --deadline-ms N, --input FILE; put an argument that starts with `--` after `--`"
                )));
            }
        }
    }
    Ok((texts, options))
}

/// The texts followed by the words of the `--input` contents.
pub fn with_input<'a>(
    texts: &[&'a str],
    options: &CallOptions,
    contents: Option<&'a str>,
) -> Result<Vec<&'a str>, CommandError> {
    let mut all = texts.to_vec();
    if let (Some(path), Some(contents)) = (&options.input, contents) {
        all.extend(split_words(contents).map_err(|e| usage(format!("{path}: {e}")))?);
    }
    Ok(all)
}

/// A usage error unless a function with `params` parameters got as many
/// texts; when a shell split a list or record at its spaces, says to quote it.
pub fn arity(
    export: &str,
    params: usize,
    signature: &dyn std::fmt::Display,
    texts: &[&str],
) -> Result<(), CommandError> {
    let got = texts.len();
    if params == got {
        return Ok(());
    }
    let mut message = format!("`{export}` takes {params} argument(s), {signature}; got {got}");
    let split = texts.iter().any(|t| split_words(t).is_err());
    let joined = texts.join(" ");
    if got > params && split && split_words(&joined).is_ok_and(|w| w.len() == params) {
        let _ = write!(
            message,
            " (the shell split a value at its spaces: quote it, '{joined}')"
        );
    }
    Err(usage(message))
}

/// `text` as a whole number.
///
/// # Errors
/// Anything else, as a usage error.
pub fn number(text: &str) -> Result<u64, CommandError> {
    text.parse()
        .map_err(|_| usage(format!("`{text}` is not a non-negative whole number")))
}
