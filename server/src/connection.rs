//! Serving one client: the handshake, then requests in order, each answered
//! with its id. Guest calls are async and yield to the scheduler at every
//! epoch tick (every 2 ms, [`crate::runtime::EPOCH_TICK`]), so a spinning
//! guest never holds up other clients.
//!
//! While a request runs, the connection keeps reading: a `Cancel` of that
//! request cancels its token ([`crate::call_context`]), which stops its
//! guest at the next epoch tick; a `Cancel` of a request still waiting
//! withdraws it (it never runs). Other frames wait in the [`Inbox`] and run
//! in order after it. Every answer, a cancel's included, goes out in the
//! order the requests came.

use crate::access::Access;
use crate::handshake::{Admitted, PendingSlot, Transport, handshake};
use crate::inbox::{Arrival, End, Inbox, Waiting};
use crate::runtime::Runtimes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use sandcall_protocol::codec::{CodecError, RawFrame};
use sandcall_protocol::{CONNECTION_ID, CancelOutcome, ErrorKind, RemoteError, Request, Response};
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How long answers may still take to reach a client once the server shuts
/// down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serve `socket` until the client leaves, breaks the protocol, is idle
/// too long, or `shutdown` fires (the request under way is finished and
/// answered first). `pending` is its handshake slot, given back once the
/// hello is answered; `sessions` are the `--connections` slots.
pub async fn serve(
    socket: TcpStream,
    runtimes: Runtimes,
    access: Arc<Access>,
    pending: PendingSlot,
    sessions: Arc<Semaphore>,
    shutdown: CancellationToken,
) {
    let peer = socket.peer_addr().ok();
    let _ = socket.set_nodelay(true);
    // Compiles of a client that has left are dropped (issue 18): watched
    // per compiling request, on this descriptor.
    let descriptor = crate::departure::Socket::of(&socket);
    let admitted = handshake(
        socket, peer, &runtimes, &access, pending, &sessions, &shutdown,
    );
    let Some(Admitted {
        mut transport,
        mut session,
        ceilings,
        slot: _slot,
    }) = admitted.await
    else {
        return;
    };
    let context = session.context().clone();
    let idle = access.idle_timeout;
    let seen = OnceLock::new();
    let grace = (&shutdown, &seen);
    let mut inbox = Inbox::default();
    loop {
        // A client that left (or stopped taking answers) gets none: what
        // waits in the inbox is dropped.
        if matches!(inbox.end, Some(End::Closed)) {
            break;
        }
        let frame = match inbox.pop() {
            Some(Waiting::Frame(frame)) => frame,
            Some(Waiting::Answered { id, reply }) => {
                if !answer(&mut transport, grace, peer, id, *reply).await {
                    break;
                }
                continue;
            }
            None => {
                if let Some(End::Broken(e)) = inbox.end.take() {
                    refuse_frame(&mut transport, e).await;
                    break;
                }
                // Answer everything already received before flushing, so
                // pipelined requests share writes; flush only when the
                // client must be waiting.
                let next = match transport.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        if until_shutdown(grace, flush(&mut transport)).await.is_err() {
                            break;
                        }
                        tokio::select! {
                            next = transport.next() => next,
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(idle) => {
                                idle_close(&mut transport, peer, idle).await;
                                break;
                            }
                        }
                    }
                };
                match next {
                    None => break,
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => {
                        refuse_frame(&mut transport, e).await;
                        break;
                    }
                }
            }
        };
        let id = frame.id;
        let reply = match decode(frame).await {
            // Nothing runs now: the target waits in the inbox, or is unknown.
            Ok(Request::Cancel { id: target }) => {
                Ok(Response::Cancel(if inbox.withdraw(target, id) {
                    CancelOutcome::Queued
                } else {
                    CancelOutcome::NotFound
                }))
            }
            Ok(request) => {
                tracing::debug!(id, ?peer, request = request_name(&request), "request");
                let _watching = compiles(&request).then(|| {
                    let (departed, watching) = crate::departure::watch(descriptor);
                    session.watch_departure(departed);
                    watching
                });
                let kind = request_name(&request);
                let handling =
                    crate::metrics::counted(kind, ceilings.handle(&mut session, request));
                tokio::pin!(handling);
                // Keep reading while the request runs, for cancels; other
                // frames wait in the inbox, in order.
                loop {
                    tokio::select! {
                        biased;
                        reply = &mut handling => break reply,
                        next = transport.next(), if inbox.open() && !shutdown.is_cancelled() => {
                            let Arrival::Cancel { id: by, target } = inbox.arrive(next) else {
                                // A client that left reads no answer: stop
                                // its guest rather than run it to its end.
                                if matches!(inbox.end, Some(End::Closed)) {
                                    context.token().cancel();
                                }
                                continue;
                            };
                            let outcome = if target == id {
                                context.token().cancel();
                                CancelOutcome::Running
                            } else if inbox.withdraw(target, by) {
                                CancelOutcome::Queued
                            } else {
                                CancelOutcome::NotFound
                            };
                            tracing::debug!(id = by, target, ?outcome, ?peer, "cancel");
                            inbox.answer_later(by, Ok(Response::Cancel(outcome)));
                        }
                    }
                }
            }
            // Both ends speak the same protocol version (the handshake made
            // sure): a body that does not decode is malformed, whatever
            // request kind it claims.
            Err(e) => Err(RemoteError::new(
                ErrorKind::BadRequest,
                format!("cannot decode request {id}: {e}"),
            )),
        };
        if !answer(&mut transport, grace, peer, id, reply).await {
            break;
        }
    }
    let _ = until_shutdown(grace, flush(&mut transport)).await;
    tracing::info!(?peer, "session ended");
}

/// Queue the answer to request `id` for sending; an answer that cannot be
/// encoded (too large) is replaced by an error saying so. False when the
/// client can take no more answers.
async fn answer(
    transport: &mut Transport,
    grace: (&CancellationToken, &OnceLock<Instant>),
    peer: Option<std::net::SocketAddr>,
    id: u64,
    reply: Result<Response, RemoteError>,
) -> bool {
    let Err(e) = until_shutdown(grace, transport.feed((id, &reply))).await else {
        return true;
    };
    tracing::warn!(?peer, "cannot send a response: {e}");
    let error = RemoteError::new(ErrorKind::ResourceLimit, e.to_string());
    until_shutdown(grace, send(transport, id, &Err::<Response, _>(error)))
        .await
        .is_ok()
}

/// Decode a request. A large body takes milliseconds to decode (a 60 MB
/// one, seconds): off the async workers, so other connections are not kept
/// waiting.
async fn decode(frame: RawFrame) -> Result<Request, CodecError> {
    if frame.body.len() > sandcall_protocol::codec::LARGE_BODY {
        tokio::task::spawn_blocking(move || frame.decode::<Request>())
            .await
            .unwrap_or_else(|e| Err(CodecError::Decode(format!("decoding stopped: {e}"))))
    } else {
        frame.decode::<Request>()
    }
}

/// `write`, unless the server has been shutting down for [`SHUTDOWN_GRACE`]
/// meanwhile: a client that does not read its answers fills the socket's
/// buffers and would otherwise hold shutdown forever. The grace counts from
/// the first write that saw the shutdown, so several writes share it.
async fn until_shutdown<T>(
    (shutdown, seen): (&CancellationToken, &OnceLock<Instant>),
    write: impl Future<Output = Result<T, CodecError>>,
) -> Result<T, CodecError> {
    let given_up = async {
        shutdown.cancelled().await;
        let since = *seen.get_or_init(Instant::now);
        tokio::time::sleep_until((since + SHUTDOWN_GRACE).into()).await;
    };
    tokio::select! {
        biased;
        written = write => written,
        () = given_up => Err(CodecError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client did not read its answers before the server shut down",
        ))),
    }
}

/// Tell an idle client why its session ends.
async fn idle_close(transport: &mut Transport, peer: Option<std::net::SocketAddr>, idle: Duration) {
    tracing::info!(?peer, outcome = "idle timeout", "session closed");
    let message = format!(
        "the session was idle for {} s (the server's --idle-timeout) and is closed",
        idle.as_secs()
    );
    let reply: Result<Response, RemoteError> =
        Err(RemoteError::new(ErrorKind::IdleTimeout, message));
    let _ = send(transport, CONNECTION_ID, &reply).await;
}

/// Tell the client why its frame was not read. The stream cannot be trusted
/// after this, so the caller closes it.
async fn refuse_frame(transport: &mut Transport, e: CodecError) {
    let kind = match e {
        // A TLS client that leaves without close_notify: an ordinary end.
        CodecError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return,
        CodecError::Io(_) => {
            tracing::warn!("closing a connection: {e}");
            return;
        }
        CodecError::FrameTooLarge { .. } => ErrorKind::ResourceLimit,
        _ => ErrorKind::BadRequest,
    };
    tracing::warn!("closing a connection: {e}");
    let reply: Result<Response, RemoteError> = Err(RemoteError::new(kind, e.to_string()));
    let _ = send(transport, CONNECTION_ID, &reply).await;
}

async fn send<T: serde::Serialize>(
    transport: &mut Transport,
    id: u64,
    message: &T,
) -> Result<(), CodecError> {
    transport.send((id, message)).await
}

async fn flush(transport: &mut Transport) -> Result<(), CodecError> {
    SinkExt::<(u64, &Response)>::flush(transport).await
}

/// Whether `request` may compile an upload (see [`crate::departure`]).
fn compiles(request: &Request) -> bool {
    matches!(request, Request::Execute(_) | Request::Validate { .. })
}

fn request_name(request: &Request) -> &'static str {
    match request {
        Request::Info => "info",
        Request::Execute(_) => "execute",
        Request::Eval(_) => "eval",
        Request::Namespace => "namespace",
        Request::Drop { .. } => "drop",
        Request::GetGlobal { .. } => "get_global",
        Request::SetGlobal { .. } => "set_global",
        Request::ReadMemory(_) => "read_memory",
        Request::WriteMemory(_) => "write_memory",
        Request::Register { .. } => "register",
        Request::Validate { .. } => "validate",
        Request::Reset { .. } => "reset",
        Request::Cancel { .. } => "cancel",
    }
}
