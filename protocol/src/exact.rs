//! Decoding in which every claimed length is checked against the bytes left
//! before anything is allocated for it.
//!
//! bincode's owned decoding reads a string's or byte buffer's length, then
//! allocates a zeroed buffer of that length, and only then reads into it: a
//! 1 MiB hello claiming a 3.75 GiB name reserved 3.75 GiB (and where that
//! fails, the process aborts). Its *borrowed* decoding instead takes the
//! bytes as a slice of the body, which fails ("unexpected end") without
//! allocating when the claim exceeds the bytes left. But for an owned
//! `String` or `Vec<u8>` serde asks for `deserialize_string` /
//! `deserialize_byte_buf`, which bincode serves through the owned path.
//!
//! `Exact` wraps bincode's borrowed deserializer and asks it for
//! `deserialize_str` / `deserialize_bytes` instead: serde's `String` visitor
//! and `serde_bytes`' `ByteBuf` visitor accept borrowed text and bytes and
//! copy exactly the bytes that are there. Every nested access (options,
//! newtypes, sequences, maps, enums and their variants) is wrapped too, so a
//! string deep inside a value goes the same way.
//!
//! The other claimed length is a sequence's (or map's) element count: serde
//! and [`crate::nesting`] reserve room for some elements before they arrive.
//! Every element of every list in this protocol takes at least one byte on
//! the wire (a sequence of zero-byte elements would also be a CPU bomb:
//! 2^64 rounds of nothing), so a count above the bytes left is refused
//! before the visitor sees it. For that, `Exact` keeps a lower bound of
//! the bytes read so far: each value at the least its encoding can take
//! (bincode's varints are at least their canonical size), and exactly up to
//! the end of each string or byte buffer, which is a slice of the body.
//!
//! So decoding needs no decoding limit of bincode's (which counted claims
//! against a multiple of the body, at one instantiation of the decoder per
//! limit): nothing is allocated for a claim beyond the bytes left.

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, Error, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

/// Decodes a `T` from the start of `body` (bincode, standard config) with
/// every claimed length checked against the bytes left; returns it with the
/// number of bytes read.
///
/// # Errors
/// bincode's errors: `UnexpectedEnd` when a string or buffer claims more
/// bytes than are left, `OtherString` for a list claiming more elements
/// than bytes are left (and for the bounds of [`crate::nesting`]).
pub fn decode_from_slice<'de, T: serde::Deserialize<'de>>(
    body: &'de [u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    let read = Read::new(body);
    decode_tracked(body, &read)
}

fn decode_tracked<'de, T: serde::Deserialize<'de>>(
    body: &'de [u8],
    read: &Read,
) -> Result<(T, usize), bincode::error::DecodeError> {
    let seed = Seed {
        seed: PhantomData::<T>,
        read,
    };
    bincode::serde::seed_decode_from_slice(seed, body, bincode::config::standard())
}

/// What is known of the reader's position in the body: at least `at` bytes
/// have been read.
struct Read {
    start: usize,
    len: usize,
    at: Cell<usize>,
}

impl Read {
    fn new(body: &[u8]) -> Read {
        Read {
            start: body.as_ptr() as usize,
            len: body.len(),
            at: Cell::new(0),
        }
    }

    /// `n` more bytes were read (at least).
    fn read(&self, n: usize) {
        self.at.set(self.at.get().saturating_add(n).min(self.len));
    }

    /// `bytes` were just read: when they are a slice of the body, the reader
    /// stands right after them.
    fn seen(&self, bytes: &[u8]) {
        let offset = (bytes.as_ptr() as usize).wrapping_sub(self.start);
        if offset <= self.len && bytes.len() <= self.len - offset {
            self.at.set(self.at.get().max(offset + bytes.len()));
        }
    }

    /// Refuses a `what` claiming more elements than bytes are left.
    fn claim<E: Error>(&self, what: &str, claimed: Option<usize>) -> Result<(), E> {
        let claimed = claimed.unwrap_or(0);
        self.read(varint(claimed as u128));
        let left = self.len - self.at.get();
        if claimed > left {
            return Err(E::custom(format_args!(
                "a {what} claims {claimed} elements with only {left} bytes of the message left"
            )));
        }
        Ok(())
    }
}

/// The fewest bytes bincode's varint of `n` takes.
fn varint(n: u128) -> usize {
    match n {
        0..=250 => 1,
        251..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        0x1_0000_0000..=0xffff_ffff_ffff_ffff => 9,
        _ => 17,
    }
}

/// The fewest bytes bincode's (zigzag) varint of a signed `n` takes.
fn signed(n: i128) -> usize {
    let zigzag = if n < 0 {
        ((!n) as u128) << 1 | 1
    } else {
        (n as u128) << 1
    };
    varint(zigzag)
}

/// A deserializer whose strings and byte buffers are borrowed, never
/// allocated at a claimed length, and whose nested values are `Exact` too.
struct Exact<'r, D> {
    inner: D,
    read: &'r Read,
}

/// A seed whose deserializer is wrapped in [`Exact`].
struct Seed<'r, S> {
    seed: S,
    read: &'r Read,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, inner: D) -> Result<S::Value, D::Error> {
        let read = self.read;
        self.seed.deserialize(Exact { inner, read })
    }
}

macro_rules! forward {
    ($($method:ident $(as $inner:ident)?;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            let wrapped = Wrap::new(visitor, self.read);
            forward!(@call self.inner, $method $($inner)?, wrapped)
        }
    )*};
    (@call $d:expr, $method:ident, $v:expr) => { $d.$method($v) };
    (@call $d:expr, $method:ident $inner:ident, $v:expr) => { $d.$inner($v) };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Exact<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any; deserialize_bool; deserialize_i8; deserialize_i16; deserialize_i32;
        deserialize_i64; deserialize_i128; deserialize_u8; deserialize_u16; deserialize_u32;
        deserialize_u64; deserialize_u128; deserialize_f32; deserialize_f64; deserialize_char;
        deserialize_str; deserialize_bytes; deserialize_option; deserialize_unit;
        deserialize_identifier; deserialize_ignored_any;
        // The point of it all: borrowed, so checked before any allocation.
        deserialize_string as deserialize_str;
        deserialize_byte_buf as deserialize_bytes;
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_seq(Wrap::counted(visitor, self.read))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner
            .deserialize_map(Wrap::counted(visitor, self.read))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        (self.inner).deserialize_unit_struct(name, Wrap::new(visitor, self.read))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        (self.inner).deserialize_newtype_struct(name, Wrap::new(visitor, self.read))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_tuple(len, Wrap::new(v, self.read))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        (self.inner).deserialize_tuple_struct(name, len, Wrap::new(visitor, self.read))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        (self.inner).deserialize_struct(name, fields, Wrap::new(visitor, self.read))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        (self.inner).deserialize_enum(name, variants, Wrap::new(visitor, self.read))
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor that counts what was read for it and wraps what it is handed.
/// `counted`: it visits a sequence or map that claimed its element count.
struct Wrap<'r, V> {
    visitor: V,
    read: &'r Read,
    counted: bool,
}

impl<'r, V> Wrap<'r, V> {
    fn new(visitor: V, read: &'r Read) -> Self {
        Wrap {
            visitor,
            read,
            counted: false,
        }
    }

    fn counted(visitor: V, read: &'r Read) -> Self {
        Wrap {
            visitor,
            read,
            counted: true,
        }
    }
}

macro_rules! visit {
    ($($method:ident($t:ty) reads |$v:ident| $bytes:expr;)*) => {$(
        fn $method<E: Error>(self, $v: $t) -> Result<V::Value, E> {
            self.read.read($bytes);
            self.visitor.$method($v)
        }
    )*};
}

macro_rules! visit_slice {
    ($($method:ident($t:ty) as $bytes:ident;)*) => {$(
        fn $method<E: Error>(self, v: $t) -> Result<V::Value, E> {
            self.read.seen(v.$bytes());
            self.visitor.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    visit! {
        visit_bool(bool) reads |v| 1;
        visit_i8(i8) reads |v| 1;
        visit_u8(u8) reads |v| 1;
        visit_i16(i16) reads |v| signed(v.into());
        visit_i32(i32) reads |v| signed(v.into());
        visit_i64(i64) reads |v| signed(v.into());
        visit_i128(i128) reads |v| signed(v);
        visit_u16(u16) reads |v| varint(v.into());
        visit_u32(u32) reads |v| varint(v.into());
        visit_u64(u64) reads |v| varint(v.into());
        visit_u128(u128) reads |v| varint(v);
        visit_f32(f32) reads |v| 4;
        visit_f64(f64) reads |v| 8;
        visit_char(char) reads |v| v.len_utf8();
        visit_string(String) reads |v| 0;
        visit_byte_buf(Vec<u8>) reads |v| 0;
    }

    fn visit_unit<E: Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_none<E: Error>(self) -> Result<V::Value, E> {
        self.read.read(1); // the option's tag
        self.visitor.visit_none()
    }

    visit_slice! {
        visit_str(&str) as as_bytes;
        visit_borrowed_str(&'de str) as as_bytes;
        visit_bytes(&[u8]) as as_ref;
        visit_borrowed_bytes(&'de [u8]) as as_ref;
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<V::Value, D::Error> {
        self.read.read(1); // the option's tag
        self.visitor.visit_some(Exact {
            inner,
            read: self.read,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, inner: D) -> Result<V::Value, D::Error> {
        (self.visitor).visit_newtype_struct(Exact {
            inner,
            read: self.read,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if self.counted {
            self.read.claim("list", seq.size_hint())?;
        }
        let read = self.read;
        self.visitor.visit_seq(Access { inner: seq, read })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        if self.counted {
            self.read.claim("map", map.size_hint())?;
        }
        let read = self.read;
        self.visitor.visit_map(Access { inner: map, read })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let read = self.read;
        self.visitor.visit_enum(Access { inner: data, read })
    }
}

/// A sequence, map, enum or variant whose elements are decoded [`Exact`]ly.
struct Access<'r, A> {
    inner: A,
    read: &'r Read,
}

impl<'r, A> Access<'r, A> {
    fn seed<S>(&self, seed: S) -> Seed<'r, S> {
        Seed {
            seed,
            read: self.read,
        }
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        let seed = self.seed(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error>
    where
        K: DeserializeSeed<'de>,
    {
        let seed = self.seed(seed);
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<S>(&mut self, seed: S) -> Result<S::Value, A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        let seed = self.seed(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, 'r, A: EnumAccess<'de>> EnumAccess<'de> for Access<'r, A> {
    type Error = A::Error;
    type Variant = Access<'r, A::Variant>;

    fn variant_seed<S>(self, seed: S) -> Result<(S::Value, Self::Variant), A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        // The variant's index is not a value of the body's: its seed reads
        // a number bincode already decoded (a varint, at least one byte).
        let (value, variant) = self.inner.variant_seed(seed)?;
        self.read.read(1);
        let read = self.read;
        Ok((
            value,
            Access {
                inner: variant,
                read,
            },
        ))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Access<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<S>(self, seed: S) -> Result<S::Value, A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        let seed = self.seed(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner.tuple_variant(len, Wrap::new(visitor, self.read))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner
            .struct_variant(fields, Wrap::new(visitor, self.read))
    }
}

#[cfg(test)]
mod tests;
