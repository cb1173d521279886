//! Words for error messages that say what to do, shared by the server and
//! the client so both spell them alike: the names a lookup may have meant
//! ("did you mean"), a bounded list of what exists, and the ranges of the
//! number types.

use std::fmt::Write as _;

/// Most names [`unknown`] lists before "and N more".
pub const LISTED: usize = 20;

/// Longest signature quoted, in bytes (a 10,000-case enum spells to 70 KB).
const SIGNATURE: usize = 300;

/// Longest name [`closest`] compares: the distance costs the product of the
/// two lengths, and a client may send a name of any length.
const COMPARED: usize = 256;

/// The edit distance (Levenshtein: insertions, deletions, substitutions)
/// between `a` and `b`, by character.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The candidate `name` most likely stands for: one that differs only in
/// case, or is within an edit distance of a third of the name's length (at
/// least 1, at most 3), or (for component exports) whose last `#` or `/`
/// part is `name`. `None` when nothing is that close, or when several are
/// equally close (a guess among them would mislead).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.is_empty() || name.len() > COMPARED {
        return None;
    }
    let allowed = (name.chars().count() / 3).clamp(1, 3);
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    let mut tied = false;
    for candidate in candidates {
        if candidate.len() > COMPARED || candidate == name {
            continue;
        }
        let tail = candidate.rsplit(['#', '/']).next().unwrap_or(candidate);
        let score = if candidate.to_lowercase() == lower || tail == name {
            0
        } else {
            distance(&lower, &candidate.to_lowercase())
        };
        if score > allowed {
            continue;
        }
        match best {
            Some((s, _)) if score == s => tied = true,
            Some((s, _)) if score > s => {}
            _ => {
                best = Some((score, candidate));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, c)| c)
}

/// The end of a "not found" message: what there is (at most [`LISTED`]
/// names, then "and N more") and a "did you mean" for a close name, e.g.
/// "; its function exports: `add`, `sub`; did you mean `add`?". `what`
/// names the list ("its function exports", "instances in this namespace").
pub fn unknown(name: &str, what: &str, candidates: &[&str]) -> String {
    let mut out = String::new();
    if candidates.is_empty() {
        let _ = write!(out, "; {what}: none");
        return out;
    }
    let _ = write!(out, "; {what}: ");
    for (i, c) in candidates.iter().take(LISTED).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "`{}`", crate::value::preview(c, 80));
    }
    if candidates.len() > LISTED {
        let _ = write!(out, " and {} more", candidates.len() - LISTED);
    }
    if let Some(close) = closest(name, candidates.iter().copied()) {
        let _ = write!(out, "; did you mean `{close}`?");
    }
    out
}

/// The range of an integer type by its name (`s32`/`i32`, `u8` …), as
/// `(min, max)`.
pub fn integer_range(ty: &str) -> Option<(i128, i128)> {
    Some(match ty {
        "s8" => (i8::MIN.into(), i8::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "s16" => (i16::MIN.into(), i16::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "s32" | "i32" => (i32::MIN.into(), i32::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "s64" | "i64" => (i64::MIN.into(), i64::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        _ => return None,
    })
}

/// "out of range for s32 (-2147483648..=2147483647)": why an integer does
/// not fit the integer type `ty`; for a float type, its largest finite value.
pub fn range_note(ty: &str) -> String {
    match (integer_range(ty), ty) {
        (Some((min, max)), _) => format!("out of range for {ty} ({min}..={max})"),
        (None, "f32") => format!("out of range for f32 (largest finite ±{:e})", f32::MAX),
        (None, "f64") => format!("out of range for f64 (largest finite ±{:e})", f64::MAX),
        (None, _) => format!("out of range for {ty}"),
    }
}

/// Whether `text` is an integer literal (an optional sign, then digits).
pub fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the integer literal `text` fits the integer type `ty`: `None`
/// when `text` is no integer literal or `ty` no integer type. A literal
/// longer than any integer's digits does not fit.
pub fn fits(text: &str, ty: &str) -> Option<bool> {
    let (min, max) = integer_range(ty)?;
    if !is_integer(text) {
        return None;
    }
    Some(text.parse::<i128>().is_ok_and(|n| (min..=max).contains(&n)))
}

/// Why a number of another type than `ty` would not even fit `ty`: "; 4294967295
/// is out of range for i32 (-2147483648..=2147483647)". Empty when `value`
/// is no number or fits. The server converts no numbers, so a value of the
/// wrong type is refused either way; this says what a client that wrapped
/// or widened it got wrong.
pub fn value_range_note(value: &crate::Value, ty: &str) -> String {
    use crate::Value as V;
    let integer: Option<i128> = match value {
        V::I32(v) => Some((*v).into()),
        V::I64(v) => Some((*v).into()),
        V::S8(v) => Some((*v).into()),
        V::U8(v) => Some((*v).into()),
        V::S16(v) => Some((*v).into()),
        V::U16(v) => Some((*v).into()),
        V::U32(v) => Some((*v).into()),
        V::U64(v) => Some((*v).into()),
        _ => None,
    };
    if let (Some(n), Some((min, max))) = (integer, integer_range(ty))
        && !(min..=max).contains(&n)
    {
        return format!("; {n} is {}", range_note(ty));
    }
    if let V::F64(bits) = value {
        let f = f64::from_bits(*bits);
        if ty == "f32" && f.is_finite() && (f as f32).is_infinite() {
            return format!("; {f:e} is {}", range_note(ty));
        }
    }
    String::new()
}

/// A core signature as people read it: `(i32, i64) -> f32`, `() -> ()`,
/// several results as a tuple.
pub fn core_signature(ty: &crate::FuncType) -> String {
    let list = |v: &[crate::ValType]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = match ty.results.as_slice() {
        [one] => format!("({}) -> {one}", list(&ty.params)),
        many => format!("({}) -> ({})", list(&ty.params), list(many)),
    };
    crate::value::preview(&text, SIGNATURE)
}

/// A component signature without its `func` keyword:
/// `(data: list<s32>) -> list<s32>`.
pub fn wit_signature(func: &crate::WitFunc) -> String {
    let text = crate::value::preview(func, SIGNATURE + 4);
    text.strip_prefix("func")
        .map(str::to_string)
        .unwrap_or(text)
}

/// A call with the wrong number of arguments: "`add` takes 2 arguments:
/// (i32, i32) -> i32; got 3".
pub fn arity(export: &str, params: usize, signature: &str, got: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "`{export}` takes {params} argument{}: {signature}; got {got}",
        plural(params)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested() {
        let names = ["add", "sub", "quick-sort", "pkg:sort/api#bubble-sort"];
        assert_eq!(closest("ad", names), Some("add"));
        assert_eq!(closest("quik-sort", names), Some("quick-sort"));
        assert_eq!(closest("ADD", names), Some("add"));
        assert_eq!(
            closest("bubble-sort", names),
            Some("pkg:sort/api#bubble-sort")
        );
        assert_eq!(closest("frobnicate", names), None);
        assert_eq!(closest("f2", ["f1", "f3"]), None, "a tie is no guess");
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..25).map(|i| format!("f{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let m = unknown("f24x", "its exports", &names);
        assert!(m.contains("`f19`") && !m.contains("`f20`"), "{m}");
        assert!(m.contains("and 5 more"), "{m}");
        assert!(m.contains("did you mean `f24`?"), "{m}");
        assert_eq!(unknown("x", "its exports", &[]), "; its exports: none");
    }

    #[test]
    fn ranges_are_spelled() {
        assert_eq!(
            range_note("s32"),
            "out of range for s32 (-2147483648..=2147483647)"
        );
        assert_eq!(fits("4294967295", "s32"), Some(false));
        assert_eq!(fits("4294967295", "u32"), Some(true));
        assert_eq!(fits("1.5", "u32"), None);
        assert_eq!(fits("-1", "u8"), Some(false));
    }
}
