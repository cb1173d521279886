//! Protocol values into WAVE values, checked against their WIT types on
//! the way: a server's answer that does not fit its signature is reported
//! with the path to the first misfit (`[3].label`), never a panic.

use sandcall_protocol::{NumType, Number, Packed, Value, WitType};
use std::borrow::Cow;
use wasm_wave::value::{Type, Value as Wave};
use wasm_wave::wasm::{WasmType, WasmValue};

/// Where in a value it stops fitting its type (`[3].label`), and how.
pub(super) struct Mismatch {
    pub(super) path: String,
    pub(super) message: String,
}

impl Mismatch {
    fn new(message: impl Into<String>) -> Self {
        Mismatch {
            path: String::new(),
            message: message.into(),
        }
    }

    /// The same mismatch, one level further out.
    fn at(mut self, step: impl std::fmt::Display) -> Self {
        self.path = format!("{step}{}", self.path);
        self
    }
}

fn made(result: Result<Wave, wasm_wave::wasm::WasmValueError>) -> Result<Wave, Mismatch> {
    result.map_err(|e| Mismatch::new(e.to_string()))
}

/// A protocol value as a WAVE value of `wave_ty` (the WAVE form of `ty`).
pub(super) fn to_wave(ty: &WitType, wave_ty: &Type, value: &Value) -> Result<Wave, Mismatch> {
    let wrong = || {
        Mismatch::new(format!(
            "found a {} where a {ty} belongs",
            value.kind_name()
        ))
    };
    Ok(match (ty, value) {
        (WitType::Bool, Value::Bool(v)) => Wave::make_bool(*v),
        (WitType::S8, Value::S8(v)) => Wave::make_s8(*v),
        (WitType::U8, Value::U8(v)) => Wave::make_u8(*v),
        (WitType::S16, Value::S16(v)) => Wave::make_s16(*v),
        (WitType::U16, Value::U16(v)) => Wave::make_u16(*v),
        (WitType::S32, Value::I32(v)) => Wave::make_s32(*v),
        (WitType::U32, Value::U32(v)) => Wave::make_u32(*v),
        (WitType::S64, Value::I64(v)) => Wave::make_s64(*v),
        (WitType::U64, Value::U64(v)) => Wave::make_u64(*v),
        (WitType::F32, Value::F32(bits)) => Wave::make_f32(f32::from_bits(*bits)),
        (WitType::F64, Value::F64(bits)) => Wave::make_f64(f64::from_bits(*bits)),
        (WitType::Char, Value::Char(c)) => Wave::make_char(*c),
        (WitType::String, Value::String(s)) => Wave::make_string(Cow::Borrowed(s)),
        (WitType::List(elem), Value::Packed(p)) => {
            made(Wave::make_list(wave_ty, unpack(elem, p)?))?
        }
        (WitType::List(elem), Value::List(items)) => {
            let elem_ty = wave_ty.list_element_type().ok_or_else(wrong)?;
            let items = items
                .iter()
                .enumerate()
                .map(|(i, v)| to_wave(elem, &elem_ty, v).map_err(|m| m.at(format_args!("[{i}]"))))
                .collect::<Result<Vec<_>, _>>()?;
            made(Wave::make_list(wave_ty, items))?
        }
        (WitType::Record(fields), Value::Record(values)) => {
            if values.len() != fields.len() {
                let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
                return Err(Mismatch::new(format!(
                    "found a record with fields {{{}}} where a {ty} belongs",
                    names.join(", ")
                )));
            }
            let mut out = Vec::with_capacity(fields.len());
            for ((name, t), (_, field_ty)) in fields.iter().zip(wave_ty.record_fields()) {
                let v = values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .ok_or_else(|| Mismatch::new(format!("field `{name}` is missing")))?;
                let v = to_wave(t, &field_ty, v).map_err(|m| m.at(format_args!(".{name}")))?;
                out.push((name.as_str(), v));
            }
            made(Wave::make_record(wave_ty, out))?
        }
        (WitType::Tuple(types), Value::Tuple(values)) if types.len() == values.len() => {
            let items = types
                .iter()
                .zip(wave_ty.tuple_element_types())
                .zip(values)
                .enumerate()
                .map(|(i, ((t, wt), v))| to_wave(t, &wt, v).map_err(|m| m.at(format_args!(".{i}"))))
                .collect::<Result<Vec<_>, _>>()?;
            made(Wave::make_tuple(wave_ty, items))?
        }
        (WitType::Variant(cases), Value::Variant(case, payload)) => {
            let i = cases
                .iter()
                .position(|(n, _)| n == case)
                .ok_or_else(|| Mismatch::new(format!("`{case}` is not a case of {ty}")))?;
            let payload_ty = wave_ty.variant_cases().nth(i).and_then(|(_, t)| t);
            let payload = to_payload(case, cases[i].1.as_ref(), payload_ty, payload.as_deref())?;
            made(Wave::make_variant(wave_ty, case, payload))?
        }
        (WitType::Enum(names), Value::Enum(case)) => {
            if !names.contains(case) {
                return Err(Mismatch::new(format!("`{case}` is not a case of {ty}")));
            }
            made(Wave::make_enum(wave_ty, case))?
        }
        (WitType::Option(t), Value::Option(v)) => {
            let v = match v {
                Some(v) => to_payload("some", Some(t), wave_ty.option_some_type(), Some(v))?,
                None => None,
            };
            made(Wave::make_option(wave_ty, v))?
        }
        (WitType::Result { ok, err }, Value::Result(r)) => {
            let (ok_ty, err_ty) = wave_ty.result_types().ok_or_else(wrong)?;
            let r = match r {
                Ok(v) => Ok(to_payload("ok", ok.as_deref(), ok_ty, v.as_deref())?),
                Err(v) => Err(to_payload("err", err.as_deref(), err_ty, v.as_deref())?),
            };
            made(Wave::make_result(wave_ty, r))?
        }
        (WitType::Flags(names), Value::Flags(set)) => {
            if let Some(unknown) = set.iter().find(|f| !names.contains(f)) {
                return Err(Mismatch::new(format!("`{unknown}` is not a flag of {ty}")));
            }
            made(Wave::make_flags(wave_ty, set.iter().map(String::as_str)))?
        }
        _ => return Err(wrong()),
    })
}

/// The payload of case `case`, present exactly when the type has one.
fn to_payload(
    case: &str,
    ty: Option<&WitType>,
    wave_ty: Option<Type>,
    value: Option<&Value>,
) -> Result<Option<Wave>, Mismatch> {
    match (ty, wave_ty, value) {
        (Some(t), Some(wt), Some(v)) => Ok(Some(
            to_wave(t, &wt, v).map_err(|m| m.at(format_args!(".{case}")))?,
        )),
        (None, _, None) => Ok(None),
        (Some(t), _, None) => Err(Mismatch::new(format!("`{case}` lacks its {t} payload"))),
        (_, _, Some(v)) => Err(Mismatch::new(format!(
            "`{case}` carries a {} but has no payload",
            v.kind_name()
        ))),
    }
}

/// The elements of a packed list as WAVE numbers, if they are `elem`s.
fn unpack(elem: &WitType, p: &Packed) -> Result<Vec<Wave>, Mismatch> {
    fn items<T: Number>(p: &Packed, make: fn(T) -> Wave) -> Vec<Wave> {
        p.bytes
            .chunks_exact(T::TYPE.size())
            .map(|b| make(T::get(b)))
            .collect()
    }
    if elem.num_type() != Some(p.elem) {
        return Err(Mismatch::new(format!(
            "found a packed list of {} where a list<{elem}> belongs",
            p.elem
        )));
    }
    if !p.is_whole() {
        return Err(Mismatch::new(format!(
            "a packed list of {} holds {} bytes, not a whole number of elements",
            p.elem,
            p.bytes.len()
        )));
    }
    Ok(match p.elem {
        NumType::S8 => items(p, Wave::make_s8),
        NumType::U8 => items(p, Wave::make_u8),
        NumType::S16 => items(p, Wave::make_s16),
        NumType::U16 => items(p, Wave::make_u16),
        NumType::S32 => items(p, Wave::make_s32),
        NumType::U32 => items(p, Wave::make_u32),
        NumType::S64 => items(p, Wave::make_s64),
        NumType::U64 => items(p, Wave::make_u64),
        NumType::F32 => items(p, Wave::make_f32),
        NumType::F64 => items(p, Wave::make_f64),
    })
}
