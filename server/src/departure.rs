//! Noticing that a client has left while its request is still being
//! worked on: the connection loop reads no frames then, so it would only
//! notice after a compile the client no longer waits for.
//!
//! A watcher holds a duplicate of the socket's descriptor (registered apart
//! from the connection's own, TCP or TLS, so it reads nothing of the
//! stream) and cancels a token when the peer's FIN or an error arrives. It
//! stops, closing the duplicate, as soon as the connection ends.

use std::os::fd::AsFd;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio_util::sync::{CancellationToken, DropGuard};

/// A token cancelled when the client of `socket` leaves, and a guard that
/// stops the watcher (and closes its descriptor) when the connection ends.
/// If the descriptor cannot be duplicated, the token is never cancelled.
pub fn watch(socket: &TcpStream) -> (CancellationToken, DropGuard) {
    let departed = CancellationToken::new();
    let ended = CancellationToken::new();
    let duplicate = socket
        .as_fd()
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
