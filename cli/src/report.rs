//! Where a command's outcome goes: results on stdout, the guest's output,
//! notes and errors on stderr; or, with `--json`, one object per command
//! on stdout. Also `sandcall run`, which reports each line of a script.

use crate::outcome::{CommandError, Outcome, format_guest_output};
use crate::script::Session;
use std::io::Write;

/// How outcomes are written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    /// One JSON object per command instead of text.
    pub json: bool,
}

impl Printer {
    /// Report one command. `at` prefixes errors (`script:3: `); `line` is
    /// the command as typed (JSON names it); `chatty` prints the line after
    /// `execute` (the shell and `run -v`).
    pub fn report(
        &self,
        at: Option<&str>,
        line: &str,
        result: &Result<Outcome, CommandError>,
        chatty: bool,
    ) {
        if self.json {
            if !line.trim().is_empty() && !line.trim().starts_with('#') {
                println!("{}", crate::json::outcome(Some(line), result));
            }
            return;
        }
        let mut stderr = std::io::stderr().lock();
        match result {
            Ok(out) => {
                if let Some(note) = &out.note {
                    let _ = writeln!(stderr, "{note}");
                }
                if let Some(output) = &out.output {
                    let _ = stderr.write_all(format_guest_output(output, None).as_bytes());
                }
                drop(stderr);
                if let (true, Some(summary)) = (chatty, &out.summary) {
                    println!("{summary}");
                }
                if !out.text.is_empty() {
                    println!("{}", out.text);
                }
                if let Some(call) = &out.call {
                    let _ = call.write_to(&mut std::io::stdout().lock());
                }
            }
            Err(e) => {
                if let Some(output) = &e.output {
                    let quoted = Some(e.message.as_str());
                    let _ = stderr.write_all(format_guest_output(output, quoted).as_bytes());
                }
                let _ = writeln!(stderr, "{}error: {e}", at.unwrap_or(""));
            }
        }
        let _ = std::io::stdout().flush();
    }
}

/// `sandcall run`: each line of `text` in turn; stops at the first error
/// unless `keep_going`. With `verbose`, each command is echoed first (as
/// `sandcall> LINE`). Returns whether every line succeeded.
pub async fn run_script(
    session: &mut Session,
    printer: Printer,
    name: &str,
    text: &str,
    keep_going: bool,
    verbose: bool,
) -> bool {
    let mut ok = true;
    for (n, line) in text.lines().enumerate() {
        let command = line.trim();
        if verbose && !printer.json && !command.is_empty() && !command.starts_with('#') {
            println!("sandcall> {command}");
        }
        let result = session.run_line(line).await;
        let failed = result.is_err();
        printer.report(Some(&format!("{name}:{}: ", n + 1)), line, &result, verbose);
        if failed {
            ok = false;
            if !keep_going {
                break;
            }
        }
    }
    ok
}
