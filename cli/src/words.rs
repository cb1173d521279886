//! The words of a command line or of an `--input` file: split at
//! whitespace, with WAVE values (`[1, 2]`, `"a b"`, `{x: 1}`) kept whole.

/// Split a command line, or a file of arguments, into words at whitespace,
/// keeping WAVE values whole: `[..]`, `(..)` and `{..}` nest and may span
/// lines; strings `"…"`, multi-line strings `"""…"""` and chars `'x'` hold
/// anything (with `\` escapes); `//` starts a comment to the end of the line,
/// as in WAVE, at the start of a word or inside brackets. A `'` inside a word
/// (`it's`) is an ordinary character. Linear in the length of `text`.
///
/// # Errors
/// An unbalanced bracket or an unterminated quote, with where it is.
pub fn split_words(text: &str) -> Result<Vec<&str>, String> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    // The closers still expected, innermost last, with their openers' offsets.
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                start.get_or_insert(i);
                i = skip_quoted(text, i)?;
                continue;
            }
            b'\'' if i == 0 || b" \t\r\n([{,:".contains(&bytes[i - 1]) => {
                start.get_or_insert(i);
                i = skip_quoted(text, i)?;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') && (start.is_none() || !open.is_empty()) => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'(' | b'[' | b'{' => {
                start.get_or_insert(i);
                let close = match b {
                    b'(' => b')',
                    b'[' => b']',
                    _ => b'}',
                };
                open.push((close, i));
            }
            b')' | b']' | b'}' => {
                start.get_or_insert(i);
                match open.pop() {
                    Some((close, _)) if close == b => {}
                    Some((_, at)) => {
                        return Err(format!(
                            "`{}` {} does not close `{}` {}",
                            b as char,
                            position(text, i),
                            bytes[at] as char,
                            position(text, at)
                        ));
                    }
                    None => {
                        return Err(format!("unbalanced `{}` {}", b as char, position(text, i)));
                    }
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' if open.is_empty() => {
                if let Some(s) = start.take() {
                    words.push(&text[s..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
        i += 1;
    }
    if let Some(&(close, at)) = open.last() {
        return Err(format!(
            "`{}` {} is never closed (by a `{}`)",
            bytes[at] as char,
            position(text, at),
            close as char
        ));
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    Ok(words)
}

/// The offset just past the quoted string, multi-line string or char that
/// starts at `at`.
fn skip_quoted(text: &str, at: usize) -> Result<usize, String> {
    let bytes = text.as_bytes();
    let (quote, mut i): (&[u8], usize) = if bytes[at..].starts_with(b"\"\"\"") {
        (b"\"\"\"", at + 3)
    } else {
        (&bytes[at..at + 1], at + 1)
    };
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i..].starts_with(quote) {
            return Ok(i + quote.len());
        } else {
            i += 1;
        }
    }
    Err(format!(
        "`{}` {} is never closed",
        String::from_utf8_lossy(quote),
        position(text, at)
    ))
}

/// `at column C`, or `at line L, column C` in text of several lines.
fn position(text: &str, at: usize) -> String {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = before[line_start..].chars().count() + 1;
    match before.bytes().filter(|&b| b == b'\n').count() {
        0 if !text.contains('\n') => format!("at column {column}"),
        lines => format!("at line {}, column {column}", lines + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_whitespace() {
        assert_eq!(
            split_words(r#"eval s f [1, 2] "a b" 3"#).unwrap(),
            vec!["eval", "s", "f", "[1, 2]", "\"a b\"", "3"]
        );
        assert!(split_words("eval s f [1, 2").is_err());
    }

    #[test]
    fn words_keep_tricky_wave_values_whole() {
        let text = r#"eval v f [{x: 1, label: "a ] b"}, (2, ')')] '"' '[' it's "q\" ]" -5"#;
        assert_eq!(
            split_words(text).unwrap(),
            [
                "eval",
                "v",
                "f",
                r#"[{x: 1, label: "a ] b"}, (2, ')')]"#,
                r#"'"'"#,
                "'['",
                "it's",
                r#""q\" ]""#,
                "-5",
            ]
        );
        // Several lines, nested brackets, comments and a multi-line string.
        let file = "// the data\n[\n  [1, 2], // first\n  [3]\n]\n\"\"\"\nsay \"hi\" ]\n\"\"\"\n  some(\n'x')\n";
        assert_eq!(
            split_words(file).unwrap(),
            [
                "[\n  [1, 2], // first\n  [3]\n]",
                "\"\"\"\nsay \"hi\" ]\n\"\"\"",
                "some(\n'x')"
            ]
        );
        assert_eq!(
            split_words("execute m ./a//b.wasm").unwrap()[2],
            "./a//b.wasm"
        );
        assert_eq!(split_words("  \n\t ").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn unbalanced_words_say_where() {
        let e = split_words("eval m f [1, 2)").unwrap_err();
        assert_eq!(e, "`)` at column 15 does not close `[` at column 10");
        let e = split_words("eval m f 1]").unwrap_err();
        assert_eq!(e, "unbalanced `]` at column 11");
        let e = split_words("[1,\n \"ab").unwrap_err();
        assert_eq!(e, "`\"` at line 2, column 2 is never closed");
        let e = split_words("x\n(1, [2]").unwrap_err();
        assert_eq!(e, "`(` at line 2, column 1 is never closed (by a `)`)");
        assert!(split_words("f '\\''").is_ok());
        assert!(split_words("f 'a").is_err());
    }

    #[test]
    fn splitting_a_large_file_is_linear() {
        let mut text = String::from("[");
        for i in 0..1_000_000 {
            text.push_str(&format!("{i}, "));
        }
        text.push_str("]\n\"x\"");
        let words = split_words(&text).unwrap();
        assert_eq!(words.len(), 2);
        assert_eq!(words[0].len(), text.len() - 4);
    }
}
