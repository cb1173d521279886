//! Opaque references to GC objects and exceptions that stay on the server.
//!
//! A non-null `anyref` (a struct, an array, an `i31`), `exnref`, or an
//! `externref` the guest made from an `anyref`, cannot be copied across the
//! wire: its identity is the point of it. The server keeps
//! the object alive in the store of the instance family that made it and
//! sends a [`HeldRef`] instead; a later call, global write or table write in
//! the same family may pass it back and the guest sees the same object. The
//! server holds a bounded number per family (the oldest handles expire
//! first) and frees them with the family.

use crate::value::RefKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A handle to a GC or exception reference held by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeldRef {
    /// What the object is.
    pub class: RefClass,
    /// The server's number for it: unique on the server, never reused.
    pub id: u64,
}

/// What a held reference points at, for display and for checks such as a
/// spec script's `(ref.struct)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefClass {
    /// An unboxed 31-bit integer (`i31ref`).
    I31,
    /// A GC struct.
    Struct,
    /// A GC array.
    Array,
    /// Another `anyref`: an external reference converted with `any.convert_extern`.
    Any,
    /// An exception (`exnref`).
    Exn,
    /// An `externref` the guest made itself, with `extern.convert_any`
    /// (one a client sent comes back as its number, [`crate::Value::ExternRef`]).
    Extern,
}

impl RefClass {
    /// Every class, in declaration order.
    pub const ALL: [RefClass; 6] = [
        RefClass::I31,
        RefClass::Struct,
        RefClass::Array,
        RefClass::Any,
        RefClass::Exn,
        RefClass::Extern,
    ];

    /// The heap type's name in the text format: `i31`, `struct`, `array`, `any`, `exn`.
    pub fn name(self) -> &'static str {
        match self {
            RefClass::I31 => "i31",
            RefClass::Struct => "struct",
            RefClass::Array => "array",
            RefClass::Any => "any",
            RefClass::Exn => "exn",
            RefClass::Extern => "extern",
        }
    }

    /// The hierarchy the class belongs to.
    pub fn kind(self) -> RefKind {
        match self {
            RefClass::Exn => RefKind::Exn,
            RefClass::Extern => RefKind::Extern,
            _ => RefKind::Any,
        }
    }

    /// Whether a value of this class is an `eqref` (comparable with `ref.eq`).
    pub fn is_eq(self) -> bool {
        matches!(self, RefClass::I31 | RefClass::Struct | RefClass::Array)
    }
}

impl HeldRef {
    /// Read the text spelling [`HeldRef`]'s `Display` writes: `ref.held struct 17`.
    pub fn parse(text: &str) -> Option<HeldRef> {
        let mut words = text.strip_prefix("ref.held")?.split_whitespace();
        let class = words.next()?;
        let class = RefClass::ALL.into_iter().find(|c| c.name() == class)?;
        let id = words.next()?.parse().ok()?;
        words.next().is_none().then_some(HeldRef { class, id })
    }

    /// The type a value of this class has at the least, as wasm spells it.
    /// (`(ref any)` for an `any`, `(ref extern)` for an `extern` …)
    pub fn type_name(self) -> String {
        format!("(ref {})", self.class.name())
    }
}

impl fmt::Display for HeldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ref.held {} {}", self.class.name(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_spelling_reads_back() {
        for class in RefClass::ALL {
            let held = HeldRef { class, id: 1 << 40 };
            assert_eq!(HeldRef::parse(&held.to_string()), Some(held));
        }
        for bad in [
            "ref.held",
            "ref.held struct",
            "ref.held cat 1",
            "ref.held any x",
            "ref.held any 1 2",
            "ref.extern 1",
        ] {
            assert_eq!(HeldRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn classes_name_their_hierarchy() {
        assert_eq!(RefClass::Exn.kind(), RefKind::Exn);
        assert_eq!(RefClass::Struct.kind(), RefKind::Any);
        assert_eq!(RefClass::Extern.kind(), RefKind::Extern);
        assert!(RefClass::I31.is_eq() && !RefClass::Any.is_eq() && !RefClass::Exn.is_eq());
    }
}
