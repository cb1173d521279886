//! `--metrics ADDR`: a small HTTP/1.x endpoint for Prometheus and load
//! balancers. `GET /metrics` gives [`crate::metrics`] in the text format,
//! `GET /healthz` 200 while the server accepts sessions and 503 once it
//! drains or shuts down (HAProxy's `option httpchk` takes it out of
//! rotation), any other path 404.
//!
//! Hand-written on tokio rather than hyper or axum: two GETs need no more,
//! and every crate that links into the server costs compile time on a
//! 2-core machine. Bounded like the rest of the server: a request head of
//! at most [`MAX_HEAD`] bytes, read within [`READ_TIMEOUT`], at most
//! [`MAX_CLIENTS`] at once, one request per connection (`Connection: close`).

use crate::runtime::Runtimes;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The largest request head read (request line and headers).
pub const MAX_HEAD: usize = 8 << 10;
/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Scrapers and health checkers served at once; more wait in the backlog.
pub const MAX_CLIENTS: usize = 16;

/// When `/healthz` says the server no longer takes sessions: once either
/// token is cancelled.
#[derive(Clone)]
pub struct Health {
    pub drain: CancellationToken,
    pub shutdown: CancellationToken,
}

impl Health {
    fn accepting(&self) -> bool {
        !self.drain.is_cancelled() && !self.shutdown.is_cancelled()
    }
}

/// Answer HTTP requests on `listener` until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    runtimes: Runtimes,
    health: Health,
    stop: CancellationToken,
) {
    let clients = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok(permit) = clients.clone().acquire_owned().await else {
            return;
        };
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return,
        };
        let (runtimes, health) = (runtimes.clone(), health.clone());
        tokio::spawn(async move {
            answer(socket, &runtimes, &health).await;
            drop(permit);
        });
    }
}

/// Read one request head and answer it; any i/o error just ends the
/// connection.
async fn answer(mut socket: TcpStream, runtimes: &Runtimes, health: &Health) {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut socket)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            let _ = respond(&mut socket, 431, "text/plain", "request head too large\n").await;
            return;
        }
        Ok(Err(_)) | Err(_) => return,
    };
    let (status, kind, body) = route(&head, runtimes, health);
    let _ = respond(&mut socket, status, kind, &body).await;
}

/// What to answer to `head`: status, content type and body.
fn route(head: &[u8], runtimes: &Runtimes, health: &Health) -> (u16, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let line = head
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(&[]);
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        return (400, TEXT, "bad request\n".into());
    }
    if method != Some("GET") {
        return (405, TEXT, "only GET\n".into());
    }
    let path = target.unwrap_or("").split('?').next().unwrap_or("");
    match path {
        "/metrics" => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            crate::metrics::get().render(runtimes),
        ),
        "/healthz" if health.accepting() => (200, TEXT, "ok\n".into()),
        "/healthz" => (503, TEXT, "draining\n".into()),
        _ => (404, TEXT, "not found: try /metrics or /healthz\n".into()),
    }
}

/// Read up to the blank line ending the head: `None` when it does not come
/// within [`MAX_HEAD`] bytes.
async fn read_head(socket: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

async fn respond(
    socket: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body.as_bytes()).await?;
    socket.shutdown().await
}
