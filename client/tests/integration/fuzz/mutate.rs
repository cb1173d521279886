//! Byte-level mutations of a valid input (a module, a component, a WAVE
//! text): flips, overwrites, insertions, removals, cuts and repeats. The
//! same generator as the protocol's fuzzing (`protocol/tests/fuzz/`).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// One change to a byte string.
#[derive(Clone, Debug)]
pub enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Cut(Index),
    /// Repeat a stretch (a length or count followed by more of the same).
    Repeat(Index, Index),
}

pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        4 => (any::<Index>(), 0..8u8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        4 => (any::<Index>(), prop_oneof![Just(0u8), Just(0xff), Just(0xfb), Just(0xfc), Just(0xfd), any::<u8>()])
            .prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<Index>().prop_map(Mutation::Remove),
        1 => any::<Index>().prop_map(Mutation::Cut),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Repeat(a, b)),
    ];
    vec(one, 1..4)
}

/// `bytes` after `mutations`.
pub fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match *m {
            _ if len == 0 => bytes.push(0xff),
            Mutation::Flip(ref i, bit) => bytes[i.index(len)] ^= 1 << bit,
            Mutation::Set(ref i, b) => bytes[i.index(len)] = b,
            Mutation::Insert(ref i, b) => bytes.insert(i.index(len + 1), b),
            Mutation::Remove(ref i) => {
                bytes.remove(i.index(len));
            }
            Mutation::Cut(ref i) => bytes.truncate(i.index(len)),
            Mutation::Repeat(ref a, ref b) => {
                let (a, b) = (a.index(len), b.index(len));
                let (from, to) = (a.min(b), a.max(b) + 1);
                let stretch = bytes[from..to.min(from + 64)].to_vec();
                bytes.splice(to.min(len)..to.min(len), stretch);
            }
        }
    }
    bytes
}
