//! Lists of numbers as one byte buffer.
//!
//! A `list<s32>` of a million elements travels as 4 MB of little-endian
//! bytes, not as a million tagged values: that is what makes sending data by
//! value cheap.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The element type of a packed list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NumType {
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
}

impl NumType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            NumType::S8 | NumType::U8 => 1,
            NumType::S16 | NumType::U16 => 2,
            NumType::S32 | NumType::U32 | NumType::F32 => 4,
            NumType::S64 | NumType::U64 | NumType::F64 => 8,
        }
    }
}

impl fmt::Display for NumType {
    /// The WIT spelling (`s32`, `f64` …).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumType::S8 => "s8",
            NumType::U8 => "u8",
            NumType::S16 => "s16",
            NumType::U16 => "u16",
            NumType::S32 => "s32",
            NumType::U32 => "u32",
            NumType::S64 => "s64",
            NumType::U64 => "u64",
            NumType::F32 => "f32",
            NumType::F64 => "f64",
        })
    }
}

/// A list of numbers of one type, little endian, back to back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packed {
    pub elem: NumType,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Packed({} × {}, {} bytes)",
            self.len(),
            self.elem,
            self.bytes.len()
        )
    }
}

impl Packed {
    /// Packs a slice of numbers.
    pub fn from_slice<T: Number>(items: &[T]) -> Packed {
        // Sized chunks written in place: the loop compiles to a plain copy.
        let mut bytes = vec![0u8; std::mem::size_of_val(items)];
        for (dst, item) in bytes.chunks_exact_mut(size_of::<T>()).zip(items) {
            item.put(dst);
        }
        Packed {
            elem: T::TYPE,
            bytes,
        }
    }

    /// The elements, if they are of type `T` and the buffer holds whole elements.
    pub fn to_vec<T: Number>(&self) -> Option<Vec<T>> {
        if self.elem != T::TYPE || !self.is_whole() {
            return None;
        }
        // An exact-size iterator: collected without zeroing the buffer first.
        Some(
            self.bytes
                .chunks_exact(size_of::<T>())
                .map(T::get)
                .collect(),
        )
    }

    /// How many elements the list holds (whole elements only).
    pub fn len(&self) -> usize {
        self.bytes.len() / self.elem.size()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether the buffer's length is a multiple of the element size; a peer
    /// may send anything, so receivers check before use.
    pub fn is_whole(&self) -> bool {
        self.bytes.len().is_multiple_of(self.elem.size())
    }
}

/// A number type that packs: `i8` … `u64`, `f32`, `f64`.
pub trait Number: Copy + Sized {
    const TYPE: NumType;
    /// Writes the little-endian bytes into exactly `size_of::<Self>()` bytes.
    fn put(self, out: &mut [u8]);
    /// Reads one element from exactly `size_of::<Self>()` bytes.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! number {
    ($($t:ty => $kind:ident);* $(;)?) => {$(
        impl Number for $t {
            const TYPE: NumType = NumType::$kind;
            #[inline]
            fn put(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn get(bytes: &[u8]) -> Self {
                let mut le = [0u8; size_of::<$t>()];
                le.copy_from_slice(bytes);
                <$t>::from_le_bytes(le)
            }
        }
    )*};
}

number! {
    i8 => S8;
    u8 => U8;
    i16 => S16;
    u16 => U16;
    i32 => S32;
    u32 => U32;
    i64 => S64;
    u64 => U64;
    f32 => F32;
    f64 => F64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks_every_type() {
        let p = Packed::from_slice(&[i32::MIN, -1, 0, i32::MAX]);
        assert_eq!(p.bytes.len(), 16);
        assert_eq!(p.to_vec::<i32>().unwrap(), [i32::MIN, -1, 0, i32::MAX]);
        assert_eq!(p.to_vec::<u32>(), None, "element type is checked");
        let f = Packed::from_slice(&[f64::NAN, -0.0]);
        let back = f.to_vec::<f64>().unwrap();
        assert!(back[0].is_nan() && back[1].to_bits() == (-0.0f64).to_bits());
        let ragged = Packed {
            elem: NumType::S16,
            bytes: vec![1, 2, 3],
        };
        assert!(!ragged.is_whole());
        assert_eq!(ragged.to_vec::<i16>(), None);
    }
}
