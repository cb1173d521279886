//! The line commands of `sandcall run` and `sandcall shell`, as a table:
//! their usage and a sentence each. `help`, the shell's completion, the
//! usage errors and "did you mean" all read it, so they cannot disagree.

/// One line command.
#[derive(Debug, Clone, Copy)]
pub struct CommandHelp {
    pub name: &'static str,
    /// The usage line, starting with the name.
    pub usage: &'static str,
    /// What it does, for `help COMMAND`.
    pub about: &'static str,
}

/// Every line command, in the order `help` lists them.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "execute",
        usage: "execute NAME PATH [--replace]",
        about: "Upload PATH (a core module or a component, binary or WAT text) and \
                instantiate it as NAME. --replace replaces an instance of that name. \
                A relative PATH is relative to the script's folder.",
    },
    CommandHelp {
        name: "eval",
        usage: "eval NAME EXPORT [ARGS...] [--fuel N] [--cpu-ms N] [--deadline-ms N] [--input FILE] [-- ARGS...]",
        about: "Call EXPORT of NAME with ARGS in WAVE syntax, typed by the export's \
                signature (`42`, `-1.5`, `[5, 3, 9, 1]`, `{x: 1}`, `\"text\"`). \
                --input FILE (`-`: standard input) reads more arguments from a file, \
                where a value may span lines. Words after `--` are arguments even \
                when they start with `--`.",
    },
    CommandHelp {
        name: "ns",
        usage: "ns",
        about: "List this session's instances with their exports and costs.",
    },
    CommandHelp {
        name: "drop",
        usage: "drop NAME",
        about: "Drop instance NAME (and its registrations).",
    },
    CommandHelp {
        name: "reset",
        usage: "reset NAME",
        about: "Instantiate NAME afresh from its compiled module: its state is lost. \
                The way back for a component that trapped (`poisoned`).",
    },
    CommandHelp {
        name: "get",
        usage: "get NAME GLOBAL",
        about: "Print the value of an exported global.",
    },
    CommandHelp {
        name: "set",
        usage: "set NAME GLOBAL VALUE",
        about: "Set an exported mutable global; VALUE must fit its type.",
    },
    CommandHelp {
        name: "read",
        usage: "read NAME OFFSET LEN",
        about: "Print LEN bytes of NAME's memory at OFFSET, in hex.",
    },
    CommandHelp {
        name: "write",
        usage: "write NAME OFFSET HEXBYTES",
        about: "Write bytes given in hex (`0a0b…`) into NAME's memory at OFFSET.",
    },
    CommandHelp {
        name: "register",
        usage: "register NAME AS",
        about: "Let later uploads import NAME's exports from module AS.",
    },
    CommandHelp {
        name: "info",
        usage: "info",
        about: "Print the server's versions, mode, limits and wasm features.",
    },
    CommandHelp {
        name: "help",
        usage: "help [COMMAND]",
        about: "List the commands, or explain one.",
    },
];

/// The shell's own words, beside [`COMMANDS`].
pub const SHELL_ONLY: &[&str] = &["quit", "exit"];

/// The entry for `name`.
pub fn find(name: &str) -> Option<&'static CommandHelp> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// `help` and `help COMMAND`.
///
/// # Errors
/// An unknown command, as [`unknown_command`] words it.
pub fn help(topic: Option<&str>) -> Result<String, String> {
    match topic {
        None => {
            let width = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0);
            let mut out = String::from("commands (`help COMMAND` for more):\n");
            for c in COMMANDS {
                let rest = c.usage.strip_prefix(c.name).unwrap_or("");
                out.push_str(&format!("  {:width$}{rest}\n", c.name));
            }
            out.push_str("  quit (or Ctrl-D) leaves the shell; Ctrl-C cancels a running call");
            Ok(out)
        }
        Some(name) => match find(name) {
            Some(c) => Ok(format!("usage: {}\n{}", c.usage, c.about)),
            None => Err(unknown_command(name)),
        },
    }
}

/// "unknown command `frobnicate`; try `help`", with a suggestion when a
/// command is one or two edits away.
pub fn unknown_command(name: &str) -> String {
    let names = COMMANDS
        .iter()
        .map(|c| c.name)
        .chain(SHELL_ONLY.iter().copied());
    match did_you_mean(name, names) {
        Some(close) => format!("unknown command `{name}` (did you mean `{close}`?); try `help`"),
        None => format!("unknown command `{name}`; try `help`"),
    }
}

/// The candidate closest to `word`, if one is close (the same measure as
/// the server's "did you mean", [`sandcall_protocol::hint::closest`]).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    sandcall_protocol::hint::closest(word, candidates).filter(|c| *c != word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_words_only() {
        assert_eq!(did_you_mean("evl", ["eval", "ns"]), Some("eval"));
        assert_eq!(
            did_you_mean("exectue", ["execute", "eval"]),
            Some("execute")
        );
        assert_eq!(did_you_mean("frobnicate", ["execute", "eval"]), None);
        assert_eq!(
            unknown_command("frobnicate"),
            "unknown command `frobnicate`; try `help`"
        );
        assert!(unknown_command("regster").contains("did you mean `register`?"));
    }

    #[test]
    fn help_lists_every_command() {
        let all = help(None).unwrap();
        for c in COMMANDS {
            assert!(all.contains(c.name), "{}", c.name);
        }
        assert!(
            help(Some("eval"))
                .unwrap()
                .starts_with("usage: eval NAME EXPORT")
        );
        assert!(help(Some("nope")).is_err());
    }
}
