//! Frames a connection read while one of its requests was running: they
//! wait here in order, so that a `Cancel` behind them can be seen at once
//! ([`crate::connection`]). A cancel takes effect at once, but every answer
//! keeps its place: a withdrawn request is answered `cancelled` at its
//! turn, and the cancel's own answer waits at the cancel's place, so a
//! client reads its answers in the order it sent the requests. The inbox is
//! bounded: reading pauses while it holds [`MAX_QUEUED`] entries or
//! [`QUEUED_BYTES`] (one frame of any size is always taken, as before), and
//! the socket's own buffers hold the rest.

use sandcall_protocol::codec::{CodecError, RawFrame};
use sandcall_protocol::{ErrorKind, RemoteError, Request, Response};
use std::collections::VecDeque;

/// Frames held at most while a request runs.
pub const MAX_QUEUED: usize = 256;

/// Bytes of frames held at most while a request runs (beyond the first).
pub const QUEUED_BYTES: usize = 1 << 20;

/// The longest body a `Cancel` has (a tag and a varint id: 10 bytes);
/// longer frames are not looked into while a request runs.
const CANCEL_BODY: usize = 16;

/// Why no more frames will come.
#[derive(Debug)]
pub enum End {
    /// The client closed its side (or a write to it failed).
    Closed,
    /// A frame could not be read; the client is told once the frames
    /// before it are answered.
    Broken(CodecError),
}

/// One place in the order of answers.
#[derive(Debug)]
pub enum Waiting {
    /// A request still to run.
    Frame(RawFrame),
    /// An answer already decided (a withdrawn request, a cancel), sent at
    /// its turn.
    Answered {
        id: u64,
        reply: Box<Result<Response, RemoteError>>,
    },
}

/// Requests waiting behind the one under way.
#[derive(Debug, Default)]
pub struct Inbox {
    frames: VecDeque<Waiting>,
    bytes: usize,
    /// Set when the stream ended while a request ran.
    pub end: Option<End>,
}

/// What a frame read while a request runs asks for.
pub enum Arrival {
    /// A `Cancel` of request `target`, sent as request `id`.
    Cancel { id: u64, target: u64 },
    /// Anything else: queued, or the end of the stream, noted.
    Queued,
}

impl Inbox {
    /// Whether to read more frames now.
    pub fn open(&self) -> bool {
        self.end.is_none()
            && self.frames.len() < MAX_QUEUED
            && (self.frames.is_empty() || self.bytes < QUEUED_BYTES)
    }

    /// The oldest waiting request or answer.
    pub fn pop(&mut self) -> Option<Waiting> {
        let waiting = self.frames.pop_front()?;
        if let Waiting::Frame(frame) = &waiting {
            self.bytes -= frame.body.len();
        }
        Some(waiting)
    }

    /// Answer `id` with `reply` once the requests before it are answered.
    pub fn answer_later(&mut self, id: u64, reply: Result<Response, RemoteError>) {
        self.frames.push_back(Waiting::Answered {
            id,
            reply: Box::new(reply),
        });
    }

    /// Take what the stream gave while a request runs: a cancel is
    /// returned to be acted on at once, anything else waits its turn.
    pub fn arrive(&mut self, next: Option<Result<RawFrame, CodecError>>) -> Arrival {
        let frame = match next {
            None => {
                self.end = Some(End::Closed);
                return Arrival::Queued;
            }
            Some(Err(e)) => {
                self.end = Some(End::Broken(e));
                return Arrival::Queued;
            }
            Some(Ok(frame)) => frame,
        };
        if frame.body.len() <= CANCEL_BODY
            && let Ok(Request::Cancel { id: target }) = frame.decode::<Request>()
        {
            return Arrival::Cancel {
                id: frame.id,
                target,
            };
        }
        self.bytes += frame.body.len();
        self.frames.push_back(Waiting::Frame(frame));
        Arrival::Queued
    }

    /// Withdraw request `id` if it waits here, cancelled by request `by`:
    /// it will not run, and is answered `cancelled` at its turn. Whether it
    /// was waiting.
    pub fn withdraw(&mut self, id: u64, by: u64) -> bool {
        let Some(place) = self
            .frames
            .iter_mut()
            .find(|w| matches!(w, Waiting::Frame(f) if f.id == id))
        else {
            return false;
        };
        if let Waiting::Frame(frame) = place {
            self.bytes -= frame.body.len();
        }
        let cancelled = RemoteError::new(
            ErrorKind::Cancelled,
            format!("request {id} was cancelled (by request {by}) before it started"),
        );
        *place = Waiting::Answered {
            id,
            reply: Box::new(Err(cancelled)),
        };
        true
    }
}
