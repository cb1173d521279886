//! Noticing that a client has left while its upload is still being
//! compiled: the connection loop may read no frames then (its inbox full of
//! pipelined requests), so it would only notice after a compile the client
//! no longer waits for.
//!
//! A watcher holds a duplicate of the socket's descriptor (registered apart
//! from the connection's own, TCP or TLS, so it reads nothing of the
//! stream) and cancels a token when the peer's FIN or an error arrives. It
//! stops, closing the duplicate, as soon as the request it watches for is
//! answered. Watchers are made only for the requests that compile
//! (`execute`, `validate`): a duplicate held for a connection's whole life
//! would cost every idle connection a second descriptor, halving the
//! connections a given open-file limit allows.

use std::os::fd::{BorrowedFd, RawFd};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio_util::sync::{CancellationToken, DropGuard};

/// The descriptor of a connection's socket, to watch later.
#[derive(Clone, Copy, Debug)]
pub struct Socket(RawFd);

impl Socket {
    /// The descriptor of `socket`, which must stay open for as long as this
    /// value is used: the connection owns both.
    pub fn of(socket: &TcpStream) -> Socket {
        use std::os::fd::AsRawFd;
        Socket(socket.as_raw_fd())
    }
}

/// A token cancelled when the client of `socket` leaves, and a guard that
/// stops the watcher (and closes its descriptor) when dropped. If the
/// descriptor cannot be duplicated, the token is never cancelled.
pub fn watch(socket: Socket) -> (CancellationToken, DropGuard) {
    let departed = CancellationToken::new();
    let ended = CancellationToken::new();
    // SAFETY: `Socket::of` took the descriptor of the connection's own
    // socket, which the connection's transport owns and keeps open until
    // the connection ends; watchers are made and dropped within it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(socket.0) };
    let duplicate = borrowed
        .try_clone_to_owned()
        .map(std::net::TcpStream::from)
        .and_then(|s| {
            s.set_nonblocking(true)?;
            TcpStream::from_std(s)
        });
    if let Ok(duplicate) = duplicate {
        let (departed, ended) = (departed.clone(), ended.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = left(&duplicate) => departed.cancel(),
                () = ended.cancelled() => {}
            }
        });
    }
    (departed, ended.drop_guard())
}

/// Wait for the peer to close its side (or the socket to fail). Data that
/// arrives meanwhile is left to the connection: this registration's
/// readiness is cleared without reading.
async fn left(socket: &TcpStream) {
    loop {
        match socket.ready(Interest::READABLE).await {
            Ok(ready) if ready.is_read_closed() || ready.is_error() => return,
            Ok(_) => {
                // Clear this registration's readiness; wait for the next edge.
                let _ = socket.try_io(Interest::READABLE, || {
                    Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
                });
            }
            Err(_) => return,
        }
    }
}
