//! Lists of numbers through the buffer protocol: an `array.array`, a numpy
//! array, `bytes` or any buffer of the right item type is copied into one
//! [`Packed`] list with a single copy (no Python object per element), and a
//! packed result comes back as the same kind of container.

use pyo3::buffer::{ElementType, PyBuffer, PyUntypedBuffer};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList};
use sandcall_protocol::{NumType, Packed};

/// What container a packed result comes back as: the kind of the first
/// argument that was sent through the buffer protocol, else a `list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    List,
    Array,
    Numpy,
    Bytes,
}

impl Container {
    /// The container kind of a buffer-providing `obj`.
    pub fn of(obj: &Bound<'_, PyAny>) -> Container {
        let ty = obj.get_type();
        let module = ty.module().map(|m| m.to_string()).unwrap_or_default();
        let name = ty.name().map(|n| n.to_string()).unwrap_or_default();
        match (module.as_str(), name.as_str()) {
            ("array", "array") => Container::Array,
            ("numpy", _) => Container::Numpy,
            ("builtins", "bytes" | "bytearray") => Container::Bytes,
            _ => Container::Array,
        }
    }
}

/// Whether `obj` offers the buffer protocol (and is not a `str`, which
/// does not, or a list).
pub fn is_buffer(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: a plain query of the object's type slots.
    unsafe { pyo3::ffi::PyObject_CheckBuffer(obj.as_ptr()) == 1 }
}

/// The WIT spelling of a buffer's item type, for messages.
fn describe(format: &std::ffi::CStr, item_size: usize) -> String {
    match ElementType::from_format(format) {
        ElementType::SignedInteger { bytes } => format!("s{}", bytes * 8),
        ElementType::UnsignedInteger { bytes } => format!("u{}", bytes * 8),
        ElementType::Float { bytes } => format!("f{}", bytes * 8),
        ElementType::Bool => "bool".into(),
        ElementType::Unknown => format!("{item_size}-byte items of format {format:?}"),
    }
}

/// Whether a buffer of `format` holds items of `elem`.
fn matches(format: &std::ffi::CStr, elem: NumType) -> bool {
    let want = match elem {
        NumType::S8 | NumType::S16 | NumType::S32 | NumType::S64 => {
            ElementType::SignedInteger { bytes: elem.size() }
        }
        NumType::U8 | NumType::U16 | NumType::U32 | NumType::U64 => {
            ElementType::UnsignedInteger { bytes: elem.size() }
        }
        NumType::F32 | NumType::F64 => ElementType::Float { bytes: elem.size() },
    };
    let got = ElementType::from_format(format);
    // Bytes (`B`) and `c` chars are u8; signed bytes are not.
    got == want
}

/// Copy the buffer of `obj` into a packed list of `elem`; `Err` names what
/// did not fit (the caller adds which argument).
pub fn from_buffer(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    elem: NumType,
) -> Result<Packed, String> {
    let buffer = PyUntypedBuffer::get(obj).map_err(|e| e.to_string())?;
    let format = buffer.format();
    let big_endian = matches!(format.to_bytes().first(), Some(b'>' | b'!'));
    if big_endian && elem.size() > 1 {
        return Err(format!(
            "a big-endian buffer ({format:?}); wasm lists are little-endian"
        ));
    }
    if buffer.item_size() != elem.size() || !matches(format, elem) {
        return Err(format!(
            "a buffer of {} for a list<{elem}>",
            describe(format, buffer.item_size())
        ));
    }
    if buffer.is_c_contiguous() {
        // SAFETY: the buffer is held (not released) until the end of this
        // function, C-contiguous, and `len_bytes` long; the GIL is held,
        // so no Python code can resize it meanwhile.
        let bytes = unsafe {
            std::slice::from_raw_parts(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes())
        };
        return Ok(Packed {
            elem,
            bytes: bytes.to_vec(),
        });
    }
    // A strided view (`a[::2]`): Python gathers it element by element.
    macro_rules! gather {
        ($t:ty) => {{
            let typed: &PyBuffer<$t> = buffer.as_typed().map_err(|e| e.to_string())?;
            Packed::from_slice(&typed.to_vec(py).map_err(|e| e.to_string())?)
        }};
    }
    Ok(match elem {
        NumType::S8 => gather!(i8),
        NumType::U8 => gather!(u8),
        NumType::S16 => gather!(i16),
        NumType::U16 => gather!(u16),
        NumType::S32 => gather!(i32),
        NumType::U32 => gather!(u32),
        NumType::S64 => gather!(i64),
        NumType::U64 => gather!(u64),
        NumType::F32 => gather!(f32),
        NumType::F64 => gather!(f64),
    })
}

/// `array.array` type codes and numpy dtypes of each element type.
fn codes(elem: NumType) -> (&'static str, &'static str) {
    match elem {
        NumType::S8 => ("b", "i1"),
        NumType::U8 => ("B", "u1"),
        NumType::S16 => ("h", "<i2"),
        NumType::U16 => ("H", "<u2"),
        NumType::S32 => ("i", "<i4"),
        NumType::U32 => ("I", "<u4"),
        NumType::S64 => ("q", "<i8"),
        NumType::U64 => ("Q", "<u8"),
        NumType::F32 => ("f", "<f4"),
        NumType::F64 => ("d", "<f8"),
    }
}

/// A packed list as a Python container of kind `container`.
pub fn to_container<'py>(
    py: Python<'py>,
    packed: &Packed,
    container: Container,
) -> PyResult<Bound<'py, PyAny>> {
    if !packed.is_whole() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "the server sent {} bytes as a list<{}>, not a whole number of elements",
            packed.bytes.len(),
            packed.elem
        )));
    }
    let whole = &packed.bytes[..];
    let (typecode, dtype) = codes(packed.elem);
    match container {
        Container::Bytes if packed.elem == NumType::U8 => Ok(PyBytes::new(py, whole).into_any()),
        Container::Array | Container::Bytes => {
            // `frombytes` copies straight from the answer's bytes, through a
            // read-only view of them: one copy, not two through a `bytes`.
            let array = py.import("array")?.getattr("array")?.call1((typecode,))?;
            let view = borrowed_view(py, whole)?;
            let filled = array.call_method1("frombytes", (&view,));
            // The view must not outlive `packed`: released here, whatever
            // `frombytes` did with it.
            view.call_method0("release")?;
            filled?;
            Ok(array)
        }
        Container::Numpy => {
            // One copy into a bytearray, which numpy then uses in place
            // (writable, unlike a view of `bytes`).
            let storage = PyByteArray::new(py, whole);
            py.import("numpy")?
                .getattr("frombuffer")?
                .call1((storage, dtype))
        }
        Container::List => to_list(py, packed),
    }
}

/// A read-only `memoryview` of `bytes`, without copying them. The caller
/// must `release()` it before `bytes` is dropped.
fn borrowed_view<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = pyo3::ffi::Py_ssize_t::try_from(bytes.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("answer too large"))?;
    // SAFETY: a read-only view of `len` valid bytes (Python never writes
    // through a `PyBUF_READ` view); the caller releases it while `bytes` is
    // still borrowed, after which any use of the view raises ValueError.
    unsafe {
        let view = pyo3::ffi::PyMemoryView_FromMemory(
            bytes.as_ptr().cast_mut().cast(),
            len,
            pyo3::ffi::PyBUF_READ,
        );
        Bound::from_owned_ptr_or_err(py, view)
    }
}

/// A packed list as a `list` of `int` or `float`.
fn to_list<'py>(py: Python<'py>, packed: &Packed) -> PyResult<Bound<'py, PyAny>> {
    macro_rules! list {
        ($t:ty) => {
            PyList::new(py, packed.to_vec::<$t>().unwrap_or_default())?.into_any()
        };
    }
    Ok(match packed.elem {
        NumType::S8 => list!(i8),
        NumType::U8 => list!(u8),
        NumType::S16 => list!(i16),
        NumType::U16 => list!(u16),
        NumType::S32 => list!(i32),
        NumType::U32 => list!(u32),
        NumType::S64 => list!(i64),
        NumType::U64 => list!(u64),
        NumType::F32 => PyList::new(
            py,
            packed
                .to_vec::<f32>()
                .unwrap_or_default()
                .into_iter()
                .map(f64::from),
        )?
        .into_any(),
        NumType::F64 => list!(f64),
    })
}

/// The bytes of any buffer (`bytes`, `bytearray`, `memoryview`, an array),
/// whatever its item type.
pub fn raw_bytes(obj: &Bound<'_, PyAny>) -> Result<Vec<u8>, String> {
    if !is_buffer(obj) {
        return Err(format!(
            "expected bytes or another buffer, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ));
    }
    let buffer = PyUntypedBuffer::get(obj).map_err(|e| e.to_string())?;
    if !buffer.is_c_contiguous() {
        return Err("the buffer is not contiguous".into());
    }
    // SAFETY: as in `from_buffer`: held, contiguous, `len_bytes` long.
    let bytes =
        unsafe { std::slice::from_raw_parts(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes()) };
    Ok(bytes.to_vec())
}
