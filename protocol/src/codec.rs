//! Framing: a frame is a 4-byte big-endian length, then an 8-byte request id,
//! then one bincode (serde, standard config) message.
//!
//! The length is checked against the configured maximum *before* anything is
//! buffered for the frame (tokio-util's `LengthDelimitedCodec` does this), so
//! a peer announcing 4 GiB costs nothing.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec, LengthDelimitedCodecError};

/// Default maximum frame length: 64 MiB.
pub const DEFAULT_MAX_FRAME: usize = 64 << 20;

const HEADER: usize = 4;
const ID: usize = 8;

/// A frame whose body has not been decoded yet.
#[derive(Clone, Debug)]
pub struct RawFrame {
    /// The request id (echoed by responses).
    pub id: u64,
    /// The bincode-encoded message.
    pub body: Bytes,
}

impl RawFrame {
    /// Decode the body as a `T`.
    ///
    /// # Errors
    /// [`CodecError::Decode`] when the body is not a valid `T` (or has bytes left over).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, CodecError> {
        decode_body(&self.body)
    }
}

/// Decode a message body.
///
/// Decoding is bounded by the body, not by trust in it. What it decodes to
/// is counted in values, depth and bytes of memory against a budget
/// proportional to its size ([`crate::nesting`]). And every length it claims
/// is checked against the bytes left before anything is allocated for it
/// ([`crate::exact`]): a string, byte buffer or list claiming one byte more
/// than is left is refused. (bincode's own decoding allocates a string or
/// byte buffer at the claimed length, zeroed, and only then reads it: a
/// 1 MiB hello claiming a 3.75 GiB name once reserved that much.)
///
/// # Errors
/// [`CodecError::Decode`] when the body is not a valid `T`, breaks a bound,
/// or has bytes left over.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    crate::nesting::budget(body.len(), || decode_unbudgeted(body))
}

/// Bodies above this size are worth decoding on a blocking thread: they
/// take milliseconds.
pub const LARGE_BODY: usize = 64 << 10;

fn decode_unbudgeted<T: DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    let (value, used) = crate::exact::decode_from_slice(body).map_err(|e| match e {
        bincode::error::DecodeError::UnexpectedEnd { additional } => CodecError::Decode(format!(
            "the message claims {additional} byte{} more than its {} bytes hold",
            if additional == 1 { "" } else { "s" },
            body.len()
        )),
        // A bound of [`crate::exact`] or [`crate::nesting`], in its own words.
        bincode::error::DecodeError::OtherString(reason) => CodecError::Decode(reason),
        e => CodecError::Decode(e.to_string()),
    })?;
    if used != body.len() {
        return Err(CodecError::Decode(format!(
            "{} trailing bytes after the message",
            body.len() - used
        )));
    }
    Ok(value)
}

/// Errors of the framing layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("frame of {0} bytes is too short to hold a request id")]
    ShortFrame(usize),
    #[error("cannot decode message: {0}")]
    Decode(String),
    #[error("cannot encode message: {0}")]
    Encode(String),
}

/// Length-delimited frames of `(id, message)` with a bounded length.
#[derive(Debug)]
pub struct MessageCodec {
    inner: LengthDelimitedCodec,
    max_frame: usize,
}

impl MessageCodec {
    /// A codec accepting and producing frames of at most `max_frame` bytes
    /// (length header excluded).
    pub fn new(max_frame: usize) -> Self {
        let inner = LengthDelimitedCodec::builder()
            .length_field_length(HEADER)
            .max_frame_length(max_frame)
            .new_codec();
        MessageCodec { inner, max_frame }
    }

    /// The largest frame this codec accepts.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Accept and produce frames of at most `max_frame` bytes from now on
    /// (a client adopts the server's limit after the handshake); a frame
    /// being read keeps the limit it was started under.
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.inner.set_max_frame_length(max_frame);
        self.max_frame = max_frame;
    }
}

impl Default for MessageCodec {
    fn default() -> Self {
        MessageCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for MessageCodec {
    type Item = RawFrame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RawFrame>, CodecError> {
        let mut frame = match self.inner.decode(src) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(None),
            // The inner codec refuses an oversized length while the header is
            // still unconsumed at the front of `src`: read it for the message.
            Err(e) if is_too_large(&e) && src.len() >= HEADER => {
                let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
                return Err(CodecError::FrameTooLarge {
                    len,
                    max: self.max_frame,
                });
            }
            Err(e) => return Err(e.into()),
        };
        if frame.len() < ID {
            return Err(CodecError::ShortFrame(frame.len()));
        }
        let id = frame.get_u64();
        Ok(Some(RawFrame {
            id,
            body: frame.freeze(),
        }))
    }
}

fn is_too_large(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<LengthDelimitedCodecError>())
}

impl<T: Serialize> Encoder<(u64, &T)> for MessageCodec {
    type Error = CodecError;

    fn encode(&mut self, (id, message): (u64, &T), dst: &mut BytesMut) -> Result<(), CodecError> {
        let start = dst.len();
        dst.put_u32(0); // length, patched below
        dst.put_u64(id);
        let mut writer = dst.writer();
        let written = bincode::serde::encode_into_std_write(
            message,
            &mut writer,
            bincode::config::standard(),
        );
        let dst = writer.into_inner();
        if let Err(e) = written {
            dst.truncate(start);
            return Err(CodecError::Encode(e.to_string()));
        }
        let len = dst.len() - start - HEADER;
        if len > self.max_frame {
            dst.truncate(start);
            return Err(CodecError::FrameTooLarge {
                len,
                max: self.max_frame,
            });
        }
        dst[start..start + HEADER].copy_from_slice(&(len as u32).to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Request;

    #[test]
    fn round_trip_and_partial_frames() {
        let mut codec = MessageCodec::new(1024);
        let mut buf = BytesMut::new();
        codec.encode((7, &Request::Namespace), &mut buf).unwrap();
        codec.encode((8, &Request::Info), &mut buf).unwrap();
        // Feed the two frames a byte at a time: a partial frame is not an
        // error, and a header read earlier is not taken for a new one.
        let mut src = BytesMut::new();
        let mut frames = Vec::new();
        for byte in buf.iter() {
            src.put_u8(*byte);
            if let Some(frame) = codec.decode(&mut src).unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].id, 7);
        assert_eq!(frames[0].decode::<Request>().unwrap(), Request::Namespace);
        assert_eq!(frames[1].id, 8);
        assert_eq!(frames[1].decode::<Request>().unwrap(), Request::Info);
    }

    #[test]
    fn oversized_frames_are_refused_on_both_sides() {
        let mut codec = MessageCodec::new(16);
        let mut buf = BytesMut::new();
        buf.put_u32(u32::MAX);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(CodecError::FrameTooLarge { len, max: 16 }) if len == u32::MAX as usize
        ));
        let big = Request::Validate {
            module: vec![0; 64],
        };
        let mut out = BytesMut::new();
        assert!(matches!(
            codec.encode((1, &big), &mut out),
            Err(CodecError::FrameTooLarge { .. })
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn claimed_lengths_beyond_the_body_are_refused_before_allocating() {
        // A register request whose first string claims u64::MAX bytes, and
        // one claiming 2^40: bincode would allocate before reading.
        for claim in [u64::MAX, 1 << 40] {
            let mut body = vec![9u8, 0xff]; // Request::Register, varint u64 tag
            body.extend_from_slice(&claim.to_le_bytes());
            assert!(matches!(
                decode_body::<Request>(&body),
                Err(CodecError::Decode(_))
            ));
        }
    }

    #[test]
    fn garbage_bodies_are_decode_errors() {
        let mut codec = MessageCodec::new(1024);
        let mut buf = BytesMut::new();
        buf.put_u32(10);
        buf.put_u64(3);
        buf.put_slice(&[0xff, 0xff]);
        let frame = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(frame.id, 3);
        assert!(matches!(
            frame.decode::<Request>(),
            Err(CodecError::Decode(_))
        ));
    }

    #[test]
    fn mutated_requests_with_nested_values_never_panic() {
        use crate::value::Value;
        let nested = Value::List(vec![
            Value::Record(vec![
                (
                    "a".into(),
                    Value::Option(Some(Box::new(Value::String("x".into())))),
                ),
                ("b".into(), Value::list_of(&[1i32, 2, 3])),
            ]),
            Value::Variant(
                "v".into(),
                Some(Box::new(Value::Tuple(vec![Value::U64(7)]))),
            ),
            Value::Result(Err(Some(Box::new(Value::Flags(vec!["f".into()]))))),
        ]);
        let request = Request::Eval(crate::Eval {
            name: "n".into(),
            export: "e".into(),
            args: vec![nested.clone(), nested],
            fuel: Some(5),
            deadline_ms: None,
            cpu_ms: None,
        });
        let body = bincode::serde::encode_to_vec(&request, bincode::config::standard()).unwrap();
        assert_eq!(decode_body::<Request>(&body).unwrap(), request);
        // Every single-byte change, a few values each, and every cut: each
        // decodes to something or fails cleanly.
        let mut decoded = 0;
        for i in 0..body.len() {
            for byte in [0u8, 1, 0x11, 0x7f, 0xfb, 0xfc, 0xfd, 0xff] {
                let mut mutated = body.clone();
                mutated[i] = byte;
                decoded += usize::from(decode_body::<Request>(&mutated).is_ok());
            }
            assert!(decode_body::<Request>(&body[..i]).is_err());
        }
        assert!(decoded > 0, "some mutations still decode");
    }
}
