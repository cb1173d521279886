//! The start of a connection: TLS (or a clear refusal when client and
//! server disagree on it), the hello, the token or client certificate, and
//! a session slot. Until the hello is answered the socket holds a handshake
//! slot ([`crate::access::HANDSHAKE_RESERVE`]), never a session's, and it
//! is closed after the handshake timeout, or sooner when every handshake
//! slot is taken and a new socket arrives: the oldest handshake is evicted
//! ([`crate::pending`]), so sockets that never finish their hello
//! (slowloris, or silent ones) cannot lock real clients out even for the
//! timeout.

use crate::access::Access;
use crate::ceilings::Ceilings;
pub use crate::pending::{Pending, PendingSlot};
use crate::runtime::Runtimes;
use crate::session::Session;
use crate::tls::Stream;
use futures_util::{SinkExt, StreamExt};
use sandcall_protocol::{
    CONNECTION_ID, ErrorKind, Hello, MessageCodec, PROTOCOL_VERSION, RemoteError, Welcome,
    hello_version,
};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// A connection's framed byte stream, TCP or TLS.
pub type Transport = Framed<Box<dyn Stream>, MessageCodec>;

/// A session that passed the handshake.
pub struct Admitted {
    pub transport: Transport,
    pub session: Session,
    pub ceilings: Ceilings,
    /// Its slot among `--connections`, held until the session ends.
    pub slot: OwnedSemaphorePermit,
}

/// The first TLS record byte (a handshake record: the ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;

/// Take `socket` through the handshake, or refuse it (with a reason the
/// client can print, where it can read one) and return `None`.
pub async fn handshake(
    socket: TcpStream,
    peer: Option<SocketAddr>,
    runtimes: &Runtimes,
    access: &Access,
    pending: PendingSlot,
    sessions: &Arc<Semaphore>,
    shutdown: &CancellationToken,
) -> Option<Admitted> {
    let opened = tokio::time::timeout(
        access.handshake_timeout,
        open(socket, peer, runtimes, access),
    );
    let (mut transport, hello, id, common_name) = tokio::select! {
        opened = opened => match opened {
            Ok(opened) => opened?,
            Err(_) => {
                tracing::info!(?peer, outcome = "handshake timeout", "refused");
                return None;
            }
        },
        () = pending.evicted() => {
            tracing::info!(
                ?peer,
                outcome = "evicted: every handshake slot was taken and a new socket came",
                "refused"
            );
            return None;
        }
    };
    let refuse = async |transport: &mut Transport, kind, message: String, tenant: Option<&str>| {
        tracing::info!(?peer, tenant, outcome = %message, "refused");
        crate::metrics::get().refused(kind);
        let _ = send(
            transport,
            id,
            &Err::<Welcome, _>(RemoteError::new(kind, message)),
        )
        .await;
        None
    };
    if hello.protocol_version != PROTOCOL_VERSION {
        let message = format!(
            "client speaks protocol {}, this server speaks {PROTOCOL_VERSION}",
            hello.protocol_version
        );
        return refuse(&mut transport, ErrorKind::VersionMismatch, message, None).await;
    }
    let ceilings = match &access.tenants {
        None => Ceilings::none(),
        Some(tenants) => {
            let tenant = match (&common_name, &hello.token) {
                (Some(name), _) => tenants.named(name).ok_or_else(|| {
                    format!("the client certificate names {name:?}, which is not a tenant")
                }),
                (None, Some(token)) => tenants
                    .authenticate(token)
                    .ok_or_else(|| "unknown token".to_string()),
                (None, None) => Err("this server requires a token (set SANDCALL_TOKEN or \
                                     --token-file)"
                    .to_string()),
            };
            let tenant = match tenant {
                Ok(tenant) => tenant,
                Err(message) => {
                    // Answer late to an address that keeps guessing; the
                    // handshake slot is given back meanwhile.
                    drop(pending);
                    if hello.token.is_some() {
                        let delay = peer.map(|p| access.throttle.failed(p.ip()));
                        if let Some(delay) = delay.filter(|d| !d.is_zero()) {
                            tokio::time::sleep(delay).await;
                        }
                    }
                    return refuse(&mut transport, ErrorKind::Unauthenticated, message, None).await;
                }
            };
            let name = tenant.entry.name.clone();
            if hello.mode == sandcall_protocol::Mode::Unrestricted && !tenant.entry.unrestricted {
                let message = format!(
                    "tenant {name:?} may not use unrestricted mode (it needs \
                     `unrestricted = true` in the tenants file)"
                );
                return refuse(&mut transport, ErrorKind::Unsupported, message, Some(&name)).await;
            }
            let Some(guard) = tenant.connect() else {
                let message = format!(
                    "tenant {name:?} already holds its {} connections",
                    tenant.entry.connections.unwrap_or(0)
                );
                return refuse(
                    &mut transport,
                    ErrorKind::QuotaExceeded,
                    message,
                    Some(&name),
                )
                .await;
            };
            Ceilings::of(tenant, guard)
        }
    };
    let Some(runtime) = runtimes.for_mode(hello.mode, hello.metering) else {
        let message = format!(
            "mode {} is not offered by this server (start it with --allow-unrestricted to \
             offer it)",
            hello.mode
        );
        let tenant = ceilings.tenant().map(str::to_string);
        return refuse(
            &mut transport,
            ErrorKind::Unsupported,
            message,
            tenant.as_deref(),
        )
        .await;
    };
    if hello.host_stdio && !matches!(runtime.grant(), crate::wasi::WasiGrant::Host { .. }) {
        let message = "host_stdio (the server's own stdout and stderr for guests) is only for \
                       unrestricted mode"
            .to_string();
        let tenant = ceilings.tenant().map(str::to_string);
        return refuse(
            &mut transport,
            ErrorKind::Unsupported,
            message,
            tenant.as_deref(),
        )
        .await;
    }
    drop(pending);
    let slot = tokio::select! {
        slot = sessions.clone().acquire_owned() => slot.ok()?,
        () = shutdown.cancelled() => return None,
    };
    let mut session = Session::new(runtime.clone());
    session.context().set_host_stdio(hello.host_stdio);
    ceilings.lower(&mut session);
    let mut info = session.info();
    ceilings.report(&mut info.limits);
    send(&mut transport, id, &Ok::<_, RemoteError>(Welcome { info }))
        .await
        .ok()?;
    tracing::info!(
        ?peer,
        tenant = ceilings.tenant(),
        mode = %hello.mode,
        client = hello.client,
        outcome = "accepted",
        "session started"
    );
    Some(Admitted {
        transport,
        session,
        ceilings,
        slot,
    })
}

/// TLS if the server has it, then the hello frame: the transport, the
/// hello, its frame id and the client certificate's common name.
async fn open(
    socket: TcpStream,
    peer: Option<SocketAddr>,
    runtimes: &Runtimes,
    access: &Access,
) -> Option<(Transport, Hello, u64, Option<String>)> {
    let codec = MessageCodec::new(runtimes.sandboxed.limits().frame_len());
    let mut first = [0u8; 1];
    let tls_client = socket.peek(&mut first).await.ok()? == 1 && first[0] == TLS_HANDSHAKE;
    let (stream, common_name): (Box<dyn Stream>, _) = match (&access.tls, tls_client) {
        (Some(acceptor), true) => {
            let stream = match acceptor.accept(socket).await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::info!(?peer, outcome = %format!("TLS handshake failed: {e}"), "refused");
                    return None;
                }
            };
            let name = access
                .mutual_tls
                .then(|| stream.get_ref().1.peer_certificates()?.first().cloned())
                .flatten()
                .and_then(|cert| crate::tls::common_name(&cert));
            (Box::new(stream), name)
        }
        (Some(_), false) => {
            let mut transport = Framed::new(Box::new(socket) as Box<dyn Stream>, codec);
            // Read the hello first: closing with unread bytes would reset
            // the connection before the client reads the answer.
            let _ = transport.next().await;
            let message = "this server speaks TLS only: connect to sandcalls://HOST:PORT";
            tracing::info!(?peer, outcome = message, "refused");
            let reply = Err::<Welcome, _>(RemoteError::new(ErrorKind::Unsupported, message));
            let _ = send(&mut transport, CONNECTION_ID, &reply).await;
            return None;
        }
        (None, true) => {
            // A TLS client cannot read a frame; closing makes its handshake
            // fail at once, which it reports as "the server does not speak TLS".
            tracing::info!(
                ?peer,
                outcome = "a TLS client, but this server has no TLS",
                "refused"
            );
            return None;
        }
        (None, false) => (Box::new(socket) as Box<dyn Stream>, None),
    };
    let mut transport = Framed::new(stream, codec);
    let frame = match transport.next().await? {
        Ok(frame) => frame,
        Err(e) => {
            tracing::info!(?peer, outcome = %e, "refused");
            let reply = Err::<Welcome, _>(RemoteError::new(ErrorKind::BadRequest, e.to_string()));
            let _ = send(&mut transport, CONNECTION_ID, &reply).await;
            return None;
        }
    };
    match frame.decode::<Hello>() {
        Ok(hello) => Some((transport, hello, frame.id, common_name)),
        Err(e) => {
            let (kind, message) = match hello_version(&frame.body) {
                Some(version) if version != PROTOCOL_VERSION => (
                    ErrorKind::VersionMismatch,
                    format!(
                        "client speaks protocol {version}, this server speaks {PROTOCOL_VERSION}"
                    ),
                ),
                _ => (ErrorKind::BadRequest, format!("expected a hello: {e}")),
            };
            tracing::info!(?peer, outcome = %message, "refused");
            let _ = send(
                &mut transport,
                frame.id,
                &Err::<Welcome, _>(RemoteError::new(kind, message)),
            )
            .await;
            None
        }
    }
}

async fn send<T: serde::Serialize>(
    transport: &mut Transport,
    id: u64,
    message: &T,
) -> Result<(), sandcall_protocol::CodecError> {
    transport.send((id, message)).await
}
