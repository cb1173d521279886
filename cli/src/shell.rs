//! `sandcall shell`: the line commands typed one at a time, on one session.
//!
//! On a terminal, lines are read with `rustyline` (editing, history, tab
//! completion of commands, instance names, export names and paths); from a
//! pipe, plainly. Lines are read on a thread of their own and only between
//! commands, so that while a call runs the terminal is in its normal mode
//! and Ctrl-C reaches this process as SIGINT: the call's future is then
//! dropped, which cancels it on the server, and the session goes on.
//! Ctrl-C at the prompt (or Ctrl-D, or `quit`) leaves.

use crate::commands::{COMMANDS, SHELL_ONLY};
use crate::report::Printer;
use crate::script::Session;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What the shell knows of the namespace, for completion: each instance
/// with its export names.
type Known = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// One line from the reader thread, or why there is none.
enum Input {
    Line(String),
    /// Ctrl-C at a rustyline prompt.
    Interrupted,
    /// Ctrl-D, or the end of a pipe.
    End,
}

/// Run the shell until `quit`, Ctrl-D, Ctrl-C at the prompt or the end of
/// standard input.
pub async fn run(mut session: Session, printer: Printer) {
    let known: Known = Arc::default();
    let interactive = std::io::stdin().is_terminal();
    let (ask, mut lines) = reader(interactive, known.clone());
    if interactive {
        eprintln!(
            "sandcall shell: `help` lists the commands; Tab completes; Ctrl-C cancels a \
             running call; Ctrl-D or `quit` leaves"
        );
    }
    loop {
        if ask.send(()).is_err() {
            break;
        }
        let input = tokio::select! {
            input = lines.recv() => input.unwrap_or(Input::End),
            _ = tokio::signal::ctrl_c() => Input::Interrupted,
        };
        let line = match input {
            Input::Line(line) => line,
            Input::Interrupted | Input::End => break,
        };
        if matches!(line.trim(), "quit" | "exit") {
            break;
        }
        tokio::select! {
            result = session.run_line(&line) => printer.report(None, &line, &result, true),
            _ = tokio::signal::ctrl_c() => {
                // Dropping `run_line` dropped the call's future: the
                // library cancels the call and keeps the connection.
                eprintln!(
                    "cancelled: `{}` was stopped; the session and its instances are kept \
                     (Ctrl-C at the prompt leaves)",
                    line.trim()
                );
            }
        }
        *known.lock().unwrap_or_else(|e| e.into_inner()) = session.known();
    }
}

/// The reader thread: reads one line each time it is asked (so never
/// while a command runs) and sends it back.
fn reader(interactive: bool, known: Known) -> (std::sync::mpsc::Sender<()>, mpsc::Receiver<Input>) {
    let (ask, asked) = std::sync::mpsc::channel::<()>();
    let (send, lines) = mpsc::channel(1);
    std::thread::spawn(move || {
        let mut editor = if interactive {
            Editor::<ShellHelper, DefaultHistory>::new()
                .ok()
                .map(|mut e| {
                    e.set_helper(Some(ShellHelper {
                        known,
                        files: FilenameCompleter::new(),
                    }));
                    e
                })
        } else {
            None
        };
        while asked.recv().is_ok() {
            let input = match &mut editor {
                Some(editor) => match editor.readline("sandcall> ") {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        Input::Line(line)
                    }
                    Err(ReadlineError::Interrupted) => Input::Interrupted,
                    Err(_) => Input::End,
                },
                // Locked per line, so that `--input -` can read the rest.
                None => {
                    let mut line = String::new();
                    match std::io::stdin().read_line(&mut line) {
                        Ok(n) if n > 0 => Input::Line(line.trim_end_matches(['\n', '\r']).into()),
                        _ => Input::End,
                    }
                }
            };
            let end = !matches!(input, Input::Line(_));
            if send.blocking_send(input).is_err() || end {
                break;
            }
        }
    });
    (ask, lines)
}

/// Completion for the shell: commands, then instance names, export names
/// and paths, by position.
struct ShellHelper {
    known: Known,
    files: FilenameCompleter,
}

impl ShellHelper {
    fn candidates(&self, before: &[&str], word: &str) -> Vec<String> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let instances = || {
            known
                .iter()
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        };
        let exports = |name: &str| {
            known
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, exports)| exports.clone())
                .unwrap_or_default()
        };
        let all: Vec<String> = match before {
            [] => COMMANDS
                .iter()
                .map(|c| c.name.to_string())
                .chain(SHELL_ONLY.iter().map(|s| s.to_string()))
                .collect(),
            ["help"] => COMMANDS.iter().map(|c| c.name.to_string()).collect(),
            ["eval" | "drop" | "reset" | "get" | "set" | "read" | "write" | "register"] => {
                instances()
            }
            ["eval" | "get" | "set", name] => exports(name),
            ["eval", ..] if word.starts_with('-') => {
                ["--fuel", "--cpu-ms", "--deadline-ms", "--input"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }
            ["execute", _, _] => vec!["--replace".into()],
            _ => vec![],
        };
        let mut matching: Vec<String> = all.into_iter().filter(|c| c.starts_with(word)).collect();
        matching.sort();
        matching.dedup();
        matching
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let before: Vec<&str> = head[..start].split_whitespace().collect();
        // Paths: `execute NAME PATH` and `--input PATH`.
        if matches!(before.as_slice(), ["execute", _]) || before.last() == Some(&"--input") {
            return self.files.complete(line, pos, ctx);
        }
        let word = &head[start..];
        let pairs = self
            .candidates(&before, word)
            .into_iter()
            .map(|c| Pair {
                replacement: format!("{c} "),
                display: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_follows_the_position_in_the_line() {
        let helper = ShellHelper {
            known: Arc::new(Mutex::new(vec![
                (
                    "sorter".into(),
                    vec!["quick-sort".into(), "sort-unstable".into()],
                ),
                ("scores".into(), vec!["Foo".into()]),
            ])),
            files: FilenameCompleter::new(),
        };
        assert_eq!(helper.candidates(&[], "ex"), ["execute", "exit"]);
        assert_eq!(helper.candidates(&["eval"], "so"), ["sorter"]);
        assert_eq!(helper.candidates(&["eval", "sorter"], "q"), ["quick-sort"]);
        assert_eq!(helper.candidates(&["get", "scores"], ""), ["Foo"]);
        assert_eq!(
            helper.candidates(&["eval", "sorter", "quick-sort"], "--f"),
            ["--fuel"]
        );
        assert_eq!(
            helper.candidates(&["help"], "re"),
            ["read", "register", "reset"]
        );
        assert!(helper.candidates(&["ns"], "").is_empty());
    }
}
