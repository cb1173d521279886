//! Large inputs: a WAVE list of numbers (`[5, 3, 9, 1]`, spanning any
//! number of lines, with `//` comments) read from a file or standard input
//! straight into the little-endian bytes of a [`Packed`] list.
//!
//! The general path reads the whole text, parses it into `wasm-wave` values
//! and then packs them: several copies of a large list at once (a 20M-int
//! file grew the client past 1.9 GB). Here the text is read in 1 MiB
//! chunks and each number is appended to the packed bytes as it is read, so
//! the list is held once, as the bytes that go on the wire.

use sandcall_protocol::hint::{is_integer, range_note};
use sandcall_protocol::{NumType, Packed};
use std::io::{BufRead, BufReader, Read};

/// The longest number token accepted (digits, sign, point, exponent).
const MAX_TOKEN: usize = 64;

/// Read one WAVE list of `elem` numbers from `reader`, and nothing else.
///
/// # Errors
/// An i/o error, or the first thing that is not part of such a list, with
/// its line and column; numbers that do not fit `elem` are "out of range".
pub fn read_packed(reader: impl Read, elem: NumType) -> Result<Packed, String> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut list = ListReader::new(elem);
    loop {
        let chunk = reader.fill_buf().map_err(|e| format!("cannot read: {e}"))?;
        if chunk.is_empty() {
            break;
        }
        for &b in chunk {
            list.step(b)?;
        }
        let n = chunk.len();
        reader.consume(n);
    }
    list.finish()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Before the `[`.
    Start,
    /// After `[` or `,`: a number or `]`.
    Item,
    /// Inside a number token.
    Number,
    /// After a number: `,` or `]`.
    Separator,
    /// After the `]`: only whitespace and comments.
    Done,
}

/// The state machine behind [`read_packed`], fed one byte at a time.
struct ListReader {
    elem: NumType,
    bytes: Vec<u8>,
    state: State,
    token: Vec<u8>,
    /// Inside a `//` comment, up to the end of the line.
    comment: bool,
    /// Saw one `/`; a second starts a comment.
    slash: bool,
    line: usize,
    column: usize,
    /// Where the current token started.
    token_at: (usize, usize),
}

impl ListReader {
    fn new(elem: NumType) -> Self {
        ListReader {
            elem,
            bytes: Vec::new(),
            state: State::Start,
            token: Vec::with_capacity(MAX_TOKEN),
            comment: false,
            slash: false,
            line: 1,
            column: 0,
            token_at: (1, 1),
        }
    }

    fn step(&mut self, b: u8) -> Result<(), String> {
        if b == b'\n' {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
        if self.comment {
            self.comment = b != b'\n';
            return Ok(());
        }
        if self.slash {
            self.slash = false;
            if b != b'/' {
                return Err(self.unexpected(b'/'));
            }
            self.comment = true;
            return Ok(());
        }
        if self.state == State::Number {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.' | b'_') {
                if self.token.len() == MAX_TOKEN {
                    return Err(format!(
                        "a number of more than {MAX_TOKEN} characters {}",
                        at(self.token_at)
                    ));
                }
                self.token.push(b);
                return Ok(());
            }
            self.push_number()?;
            self.state = State::Separator;
        }
        match (self.state, b) {
            (_, b' ' | b'\t' | b'\r' | b'\n') => {}
            (_, b'/') => self.slash = true,
            (State::Start, b'[') => self.state = State::Item,
            (State::Item, b']') | (State::Separator, b']') => self.state = State::Done,
            (State::Separator, b',') => self.state = State::Item,
            (State::Item, _) if b.is_ascii_alphanumeric() || b == b'-' || b == b'+' => {
                self.token.clear();
                self.token.push(b);
                self.token_at = (self.line, self.column);
                self.state = State::Number;
            }
            _ => return Err(self.unexpected(b)),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Packed, String> {
        if self.slash {
            return Err(self.unexpected(b'/'));
        }
        match self.state {
            State::Done => Ok(Packed {
                elem: self.elem,
                bytes: std::mem::take(&mut self.bytes),
            }),
            State::Start => Err(format!(
                "no list: expected a list<{}> like `[1, 2]`",
                self.elem
            )),
            _ => Err("the list is never closed (by a `]`)".into()),
        }
    }

    fn unexpected(&self, b: u8) -> String {
        let what = match self.state {
            State::Start => format!("a list<{}> starting with `[`", self.elem),
            State::Item => format!("a {} or `]`", self.elem),
            State::Separator => "`,` or `]`".to_string(),
            State::Done | State::Number => "nothing after the list".to_string(),
        };
        let shown = if b.is_ascii_graphic() {
            format!("`{}`", b as char)
        } else {
            format!("byte 0x{b:02x}")
        };
        format!(
            "expected {what}, found {shown} {}",
            at((self.line, self.column))
        )
    }

    fn push_number(&mut self) -> Result<(), String> {
        let text = std::str::from_utf8(&self.token).unwrap_or("");
        let bad = |why: &str| format!("`{text}` {why} {}", at(self.token_at));
        let out = &mut self.bytes;
        let name = self.elem.to_string();
        macro_rules! int {
            ($t:ty) => {{
                let v: $t = parse_int::<$t>(text, &name).map_err(|why| bad(&why))?;
                out.extend_from_slice(&v.to_le_bytes());
            }};
        }
        match self.elem {
            NumType::S8 => int!(i8),
            NumType::U8 => int!(u8),
            NumType::S16 => int!(i16),
            NumType::U16 => int!(u16),
            NumType::S32 => int!(i32),
            NumType::U32 => int!(u32),
            NumType::S64 => int!(i64),
            NumType::U64 => int!(u64),
            NumType::F32 => {
                let v = parse_float(text, &name).map_err(|why| bad(&why))? as f32;
                out.extend_from_slice(&v.to_le_bytes());
            }
            NumType::F64 => {
                let v = parse_float(text, &name).map_err(|why| bad(&why))?;
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        Ok(())
    }
}

/// An integer in WAVE's spelling (decimal, optional `-`), range-checked
/// against the type named `name` (`s32` …).
fn parse_int<T: TryFrom<i128>>(text: &str, name: &str) -> Result<T, String> {
    if !is_integer(text) || text.starts_with('+') {
        return Err(format!("is not a {name}"));
    }
    text.parse::<i128>()
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("is {}", range_note(name)))
}

/// A float in WAVE's spelling: decimal with optional exponent, `nan`,
/// `inf`, `-inf`. A finite literal too large for the type named `name`
/// (`f32`, `f64`) is out of range, not infinity.
fn parse_float(text: &str, name: &str) -> Result<f64, String> {
    match text {
        "nan" => return Ok(f64::NAN),
        "inf" => return Ok(f64::INFINITY),
        "-inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    let finite = |v: f64| match name {
        "f32" => (v as f32).is_finite(),
        _ => v.is_finite(),
    };
    match text.parse::<f64>() {
        Ok(v) if plain && finite(v) => Ok(v),
        Ok(_) if plain => Err(format!("is {}; write `inf` for infinity", range_note(name))),
        _ => Err(format!("is not a {name}")),
    }
}

fn at((line, column): (usize, usize)) -> String {
    format!("at line {line}, column {column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, elem: NumType) -> Result<Packed, String> {
        read_packed(text.as_bytes(), elem)
    }

    #[test]
    fn lists_of_numbers_pack_as_they_are_read() {
        let p = read("// data\n[5, -3,\n 9, 1, ] // end\n", NumType::S32).unwrap();
        assert_eq!(p.to_vec::<i32>().unwrap(), [5, -3, 9, 1]);
        let p = read("[1.5, -inf, nan, 2e3]", NumType::F64).unwrap();
        let v = p.to_vec::<f64>().unwrap();
        assert_eq!(v[0], 1.5);
        assert_eq!(v[1], f64::NEG_INFINITY);
        assert!(v[2].is_nan());
        assert_eq!(v[3], 2000.0);
        assert!(read("[]", NumType::U8).unwrap().is_empty());
    }

    #[test]
    fn what_does_not_fit_says_where_and_why() {
        let e = read("[1,\n 4294967295]", NumType::S32).unwrap_err();
        assert_eq!(
            e,
            "`4294967295` is out of range for s32 (-2147483648..=2147483647) at line 2, column 2"
        );
        let e = read("[1e400]", NumType::F64).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let e = read("[1e39]", NumType::F32).unwrap_err();
        assert!(e.contains("out of range for f32"), "{e}");
        assert!(
            read("[1, x]", NumType::S32)
                .unwrap_err()
                .contains("is not a s32")
        );
        assert!(
            read("[1 2]", NumType::S32)
                .unwrap_err()
                .contains("expected `,` or `]`")
        );
        assert!(
            read("[1, 2", NumType::S32)
                .unwrap_err()
                .contains("never closed")
        );
        assert!(
            read("[1] [2]", NumType::S32)
                .unwrap_err()
                .contains("nothing after")
        );
        assert!(read("[+1]", NumType::S32).is_err());
        assert!(read("[infinity]", NumType::F64).is_err());
    }
}
