//! Serving one client: the handshake, then requests in order, each answered
//! with its id. Guest calls are async and yield to the scheduler at every
//! epoch tick (every 2 ms, [`crate::runtime::EPOCH_TICK`]), so a spinning
//! guest never holds up other clients.

use crate::runtime::Runtimes;
use crate::session::Session;
use futures_util::{FutureExt, SinkExt, StreamExt};
use sandcall_protocol::codec::CodecError;
use sandcall_protocol::{
    CONNECTION_ID, ErrorKind, Hello, MessageCodec, PROTOCOL_VERSION, RemoteError, Request,
    Response, Welcome,
};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// How long a client may take to say hello.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Transport = Framed<TcpStream, MessageCodec>;

/// Serve `socket` until the client leaves, breaks the protocol, or `shutdown`
/// fires (the request under way is finished and answered first).
pub async fn serve(socket: TcpStream, runtimes: Runtimes, shutdown: CancellationToken) {
    let peer = socket.peer_addr().ok();
    let _ = socket.set_nodelay(true);
    let codec = MessageCodec::new(runtimes.sandboxed.limits().frame_len());
    let mut transport = Framed::new(socket, codec);
    let Some(mut session) = handshake(&mut transport, &runtimes).await else {
        return;
    };
    tracing::info!(?peer, mode = %session.info().mode, "session started");
    loop {
        // Answer everything already received before flushing, so pipelined
        // requests share writes; flush only when the client must be waiting.
        let next = match transport.next().now_or_never() {
            Some(next) => next,
            None => {
                if flush(&mut transport).await.is_err() {
                    break;
                }
                tokio::select! {
                    next = transport.next() => next,
                    () = shutdown.cancelled() => break,
                }
            }
        };
        let frame = match next {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                refuse_frame(&mut transport, e).await;
                break;
            }
        };
        let id = frame.id;
        let reply = match frame.decode::<Request>() {
            Ok(request) => {
                tracing::debug!(id, ?peer, request = request_name(&request), "request");
                session.handle(request).await
            }
            // Both ends speak the same protocol version (the handshake made
            // sure): a body that does not decode is malformed, whatever
            // request kind it claims.
            Err(e) => Err(RemoteError::new(
                ErrorKind::BadRequest,
                format!("cannot decode request {id}: {e}"),
            )),
        };
        if let Err(e) = transport.feed((id, &reply)).await {
            tracing::warn!(?peer, "cannot send a response: {e}");
            let error = RemoteError::new(ErrorKind::ResourceLimit, e.to_string());
            if send(&mut transport, id, &Err::<Response, _>(error))
                .await
                .is_err()
            {
                break;
            }
        }
    }
    let _ = flush(&mut transport).await;
    tracing::info!(?peer, "session ended");
}

/// Read the client's hello and answer it.
async fn handshake(transport: &mut Transport, runtimes: &Runtimes) -> Option<Session> {
    let frame = match tokio::time::timeout(HANDSHAKE_TIMEOUT, transport.next()).await {
        Ok(Some(Ok(frame))) => frame,
        Ok(Some(Err(e))) => {
            refuse_frame(transport, e).await;
            return None;
        }
        Ok(None) | Err(_) => return None,
    };
    let refuse = |kind, message: String| Err::<Welcome, _>(RemoteError::new(kind, message));
    let answer = match frame.decode::<Hello>() {
        Err(e) => refuse(ErrorKind::BadRequest, format!("expected a hello: {e}")),
        Ok(hello) if hello.protocol_version != PROTOCOL_VERSION => refuse(
            ErrorKind::VersionMismatch,
            format!(
                "client speaks protocol {}, this server speaks {PROTOCOL_VERSION}",
                hello.protocol_version
            ),
        ),
        Ok(hello) if runtimes.for_mode(hello.mode).is_none() => refuse(
            ErrorKind::Unsupported,
            format!(
                "mode {} is not offered by this server (start it with --allow-unrestricted \
                 to offer it)",
                hello.mode
            ),
        ),
        Ok(hello) => {
            tracing::debug!(client = hello.client, mode = %hello.mode, "hello");
            let runtime = runtimes.for_mode(hello.mode)?;
            let session = Session::new(runtime.clone());
            let welcome: Result<Welcome, RemoteError> = Ok(Welcome {
                info: session.info(),
            });
            return match send(transport, frame.id, &welcome).await {
                Ok(()) => Some(session),
                Err(_) => None,
            };
        }
    };
    let _ = send(transport, frame.id, &answer).await;
    None
}

/// Tell the client why its frame was not read. The stream cannot be trusted
/// after this, so the caller closes it.
async fn refuse_frame(transport: &mut Transport, e: CodecError) {
    tracing::warn!("closing a connection: {e}");
    let kind = match e {
        CodecError::Io(_) => return,
        CodecError::FrameTooLarge { .. } => ErrorKind::ResourceLimit,
        _ => ErrorKind::BadRequest,
    };
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
    }
}
