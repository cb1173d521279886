//! Guest output: what guest code writes to its WASI stdout and stderr,
//! captured into bounded buffers and returned with the answer of the
//! request that ran it ([`GuestOutput`]).
//!
//! Each stream keeps its first `limit` bytes per request; what comes after
//! is counted in `dropped` and thrown away, and the guest's writes succeed
//! all the same: a guest is never trapped, blocked or told "full" for
//! printing, and a guest printing a gigabyte costs the server `limit` bytes
//! twice plus the copying. The last kilobyte of stderr is kept apart, so a
//! trap's message can quote the guest's last words (a panic message) even
//! when stderr ran over its limit.

use bytes::Bytes;
use sandcall_protocol::GuestOutput;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes of stderr kept for [`OutputCapture::last_stderr_lines`].
const TAIL: usize = 1024;

/// How much a guest may write in one go: writes are accepted whole, so
/// this only sets the size of the chunks WASI hands over.
const WRITE_PERMIT: usize = 1 << 20;

/// The stdout and stderr of one connection's guests, for the request under
/// way. Shared by every store of the connection (its requests run one at a
/// time).
#[derive(Clone, Debug)]
pub struct OutputCapture(Arc<Mutex<Captured>>);

#[derive(Debug, Default)]
struct Captured {
    limit: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    dropped: u64,
    tail: Vec<u8>,
}

/// Which stream a [`CapturePipe`] writes to.
#[derive(Clone, Copy, Debug)]
enum Stream {
    Stdout,
    Stderr,
}

impl Captured {
    fn push(&mut self, stream: Stream, bytes: &[u8]) {
        let limit = self.limit;
        let buffer = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        let kept = bytes.len().min(limit.saturating_sub(buffer.len()));
        buffer.extend_from_slice(&bytes[..kept]);
        self.dropped = self.dropped.saturating_add((bytes.len() - kept) as u64);
        if let Stream::Stderr = stream {
            if bytes.len() >= TAIL {
                self.tail.clear();
                self.tail.extend_from_slice(&bytes[bytes.len() - TAIL..]);
            } else {
                self.tail.extend_from_slice(bytes);
                let over = self.tail.len().saturating_sub(TAIL);
                self.tail.drain(..over);
            }
        }
    }
}

impl OutputCapture {
    /// An empty capture keeping `limit` bytes of each stream per request.
    pub fn new(limit: u64) -> Self {
        OutputCapture(Arc::new(Mutex::new(Captured {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            ..Captured::default()
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A panic while holding this lock cannot leave it half-updated in a
        // way that matters: keep capturing.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The guests' stdout.
    pub fn stdout(&self) -> CapturePipe {
        CapturePipe {
            capture: self.clone(),
            stream: Stream::Stdout,
        }
    }

    /// The guests' stderr.
    pub fn stderr(&self) -> CapturePipe {
        CapturePipe {
            capture: self.clone(),
            stream: Stream::Stderr,
        }
    }

    /// Forget what was captured: a new request starts.
    pub fn clear(&self) {
        drop(self.take());
    }

    /// What was captured since the last `take` or `clear`, leaving the
    /// capture empty.
    pub fn take(&self) -> GuestOutput {
        let mut captured = self.lock();
        captured.tail.clear();
        GuestOutput {
            stdout: std::mem::take(&mut captured.stdout),
            stderr: std::mem::take(&mut captured.stderr),
            dropped: std::mem::take(&mut captured.dropped),
        }
    }

    /// The last non-empty lines the guest wrote to stderr (at most `lines`,
    /// from its last kilobyte, invalid UTF-8 replaced), if any.
    pub fn last_stderr_lines(&self, lines: usize) -> Option<String> {
        let captured = self.lock();
        let text = String::from_utf8_lossy(&captured.tail);
        let mut last: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .rev()
            .take(lines)
            .collect();
        last.reverse();
        (!last.is_empty()).then(|| last.join("\n"))
    }
}

/// One of the captured streams, as WASI (preview 1 and 0.2) writes to it.
#[derive(Clone, Debug)]
pub struct CapturePipe {
    capture: OutputCapture,
    stream: Stream,
}

impl IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturePipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturePipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.capture.lock().push(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for CapturePipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.capture.lock().push(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_keeps_its_limit_and_counts_the_rest() {
        let capture = OutputCapture::new(8);
        let (mut out, mut err) = (capture.stdout(), capture.stderr());
        out.write(Bytes::from_static(b"hello ")).unwrap();
        out.write(Bytes::from_static(b"world\n")).unwrap();
        err.write(Bytes::from_static(b"thread panicked at x.rs\n"))
            .unwrap();
        err.write(Bytes::from_static(b"oops\n\n")).unwrap();
        assert_eq!(
            capture.last_stderr_lines(2).as_deref(),
            Some("thread panicked at x.rs\noops")
        );
        let output = capture.take();
        assert_eq!(output.stdout, b"hello wo");
        assert_eq!(output.stderr, b"thread p");
        assert_eq!(output.dropped, 4 + 16 + 6);
        assert!(capture.take().is_empty(), "a take empties the capture");
        assert_eq!(capture.last_stderr_lines(2), None);
    }

    #[test]
    fn the_stderr_tail_follows_the_last_kilobyte() {
        let capture = OutputCapture::new(16);
        let mut err = capture.stderr();
        err.write(Bytes::from(vec![b'x'; 5000])).unwrap();
        for i in 0..100 {
            err.write(Bytes::from(format!("line {i}\n"))).unwrap();
        }
        assert_eq!(capture.last_stderr_lines(1).as_deref(), Some("line 99"));
    }
}
