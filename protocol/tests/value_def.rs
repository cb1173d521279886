//! `Value`'s `Deserialize` goes through `ValueDef`, a hand-kept mirror of
//! `Value` (src/value.rs) that serde's derive reads: every variant must be in
//! it, in the same place, or values stop round-tripping.

use sandcall_protocol::codec::decode_body;
use sandcall_protocol::{HeldRef, RefClass, RefKind, Value};
use serde::Deserialize;

/// A sample of the variant declared after `value`'s; `None` after the last.
/// The match names every variant, so a variant added to [`Value`] does not
/// compile here until it joins the chain of samples.
fn next_sample(value: &Value) -> Option<Value> {
    let boxed = |v: Value| Some(Box::new(v));
    Some(match value {
        Value::I32(_) => Value::I64(i64::MIN),
        Value::I64(_) => Value::F32(0x7fa0_0001),
        Value::F32(_) => Value::F64(0x7ff0_0000_0000_0001),
        Value::F64(_) => Value::V128(u128::MAX - 1),
        Value::V128(_) => Value::NullRef(RefKind::Extern),
        Value::NullRef(_) => Value::FuncRef,
        Value::FuncRef => Value::ExternRef(9),
        Value::ExternRef(_) => Value::Bool(true),
        Value::Bool(_) => Value::S8(-8),
        Value::S8(_) => Value::U8(8),
        Value::U8(_) => Value::S16(-16),
        Value::S16(_) => Value::U16(16),
        Value::U16(_) => Value::U32(32),
        Value::U32(_) => Value::U64(u64::MAX),
        Value::U64(_) => Value::Char('λ'),
        Value::Char(_) => Value::String("s".into()),
        Value::String(_) => Value::List(vec![Value::Bool(false), Value::U8(1)]),
        Value::List(_) => Value::list_of(&[1.5f64, -0.0]),
        Value::Packed(_) => Value::Record(vec![("x".into(), Value::I32(1))]),
        Value::Record(_) => Value::Tuple(vec![Value::U8(1), Value::Char('a')]),
        Value::Tuple(_) => Value::Variant("v".into(), boxed(Value::Enum("e".into()))),
        Value::Variant(..) => Value::Enum("e".into()),
        Value::Enum(_) => Value::Option(boxed(Value::Option(None))),
        Value::Option(_) => Value::Result(Err(boxed(Value::Result(Ok(None))))),
        Value::Result(_) => Value::Flags(vec!["a".into(), "b".into()]),
        Value::Flags(_) => Value::Held(HeldRef {
            class: RefClass::Struct,
            id: 1 << 40,
        }),
        Value::Held(_) => return None,
    })
}

/// The variant names that `Value`'s `Deserialize` (that is, `ValueDef`)
/// knows, in order: serde's derive hands them to the deserializer.
fn deserialized_variants() -> &'static [&'static str] {
    struct Names<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Names<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not an enum"))
        }
        fn deserialize_enum<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = variants;
            Err(serde::de::Error::custom("only the names were wanted"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            struct identifier ignored_any
        }
    }
    let mut names: &'static [&'static str] = &[];
    let _ = Value::deserialize(Names(&mut names));
    names
}

#[test]
fn every_variant_round_trips_through_the_value_def_mirror() {
    let samples: Vec<Value> = std::iter::successors(Some(Value::I32(-7)), next_sample).collect();
    // `Value`'s variant names, as its derived Debug spells them.
    let names: Vec<String> = samples
        .iter()
        .map(|v| format!("{v:?}").split('(').next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        deserialized_variants(),
        "ValueDef mirrors Value, variant for variant, in the same order"
    );
    for (index, value) in samples.iter().enumerate() {
        let body = bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap();
        assert_eq!(usize::from(body[0]), index, "{value:?} is variant {index}");
        assert_eq!(
            &decode_body::<Value>(&body).unwrap(),
            value,
            "{value:?} round-trips"
        );
    }
}
