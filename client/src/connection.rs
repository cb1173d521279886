//! A connection to a Sandcall server: the handshake, a send/recv pair for
//! pipelining, one request and its answer, cancellation and reconnecting.
//! The typed method of each request is in [`crate::requests`].

use crate::address::Address;
use crate::error::ClientError;
pub use crate::options::{ConnectOptions, MAX_FRAME};
use crate::tls::{Stream, TlsFiles};
use futures_util::{SinkExt, StreamExt};
use sandcall_protocol::{
    CONNECTION_ID, CodecError, DEFAULT_MAX_FRAME, Hello, MessageCodec, PROTOCOL_VERSION,
    RemoteError, Request, Response, ServerInfo, Welcome,
};
use std::collections::HashSet;
use std::net::SocketAddr;
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_util::codec::Framed;

/// The server's answer to one request.
pub type Reply = Result<Response, RemoteError>;

/// A session with a server. Instances uploaded through it live until dropped
/// or until the connection closes.
///
/// # Cancellation
/// Dropping the future of a call cancels it: `eval` inside a
/// `tokio::select!` that also waits for Ctrl-C, for instance. The
/// connection remembers the call it was waiting for; its next use sends the
/// server a `Cancel` for it (the server stops the guest at its next epoch
/// tick, within milliseconds) and drops the call's late answer, so the next
/// request on the same connection works and gets its own answer. The
/// namespace is kept (a component instance stopped mid-call is poisoned,
/// as after a deadline: `reset` it).
///
/// ```ignore
/// tokio::select! {
///     result = conn.eval("m", "spin", &[]) => println!("{result:?}"),
///     _ = tokio::signal::ctrl_c() => println!("cancelled"),
/// }
/// conn.eval("m", "add", &[Value::I32(1), Value::I32(2)]).await?; // works
/// ```
///
/// With [`Connection::send`], [`Connection::cancel`] cancels a pipelined
/// request by its id; both get an answer through [`Connection::recv`].
///
/// # Reconnecting
/// When the server goes away (a restart, a crash), every call waiting on
/// the connection fails at once with a connection error
/// ([`ClientError::Closed`] or [`ClientError::Codec`]).
/// [`Connection::reconnect`] then opens a new session to the same address
/// with the same options and replays this session's successful `execute`
/// and `register` requests, in order. The instances come back *fresh*:
/// their globals, memories and tables start over as at instantiation, and
/// whatever earlier calls or `set_global`/`write_memory` changed is lost.
pub struct Connection {
    transport: Framed<Box<dyn Stream>, MessageCodec>,
    next_id: u64,
    in_flight: usize,
    info: ServerInfo,
    /// The request [`Connection::request`] waits for; still set at the next
    /// use if its future was dropped.
    awaiting: Option<u64>,
    /// Requests whose answers nobody waits for any more (abandoned calls
    /// and their cancels): dropped when they arrive.
    discard: HashSet<u64>,
    /// Where and how this session was opened, for [`Connection::reconnect`].
    origin: Origin,
    /// The `execute` and `register` requests that built this session's
    /// namespace, in order, for [`Connection::reconnect`]; an instance's
    /// entries leave with it when it is dropped.
    replay: Vec<Request>,
}

/// Where a session was opened and with which options.
#[derive(Clone, Debug)]
struct Origin {
    /// The address connected to (as the caller named it, for messages).
    label: String,
    /// The socket address it resolved to.
    addr: Option<SocketAddr>,
    /// The server name of a TLS connection.
    tls_host: Option<String>,
    options: ConnectOptions,
}

impl Connection {
    /// Connect in sandboxed mode with default options.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the handshake.
    pub async fn connect(addr: impl ToSocketAddrs + std::fmt::Debug) -> Result<Self, ClientError> {
        Self::connect_with(addr, ConnectOptions::default()).await
    }

    /// Connect with `options`.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the handshake (a
    /// version mismatch, a mode it does not offer).
    pub async fn connect_with(
        addr: impl ToSocketAddrs + std::fmt::Debug,
        options: ConnectOptions,
    ) -> Result<Self, ClientError> {
        let label = format!("{addr:?}");
        let socket = TcpStream::connect(addr).await;
        Self::handshake(label, socket, None, options).await
    }

    /// Connect to `address`: `sandcalls://HOST:PORT` speaks TLS (trusting
    /// `options.ca`, or the public web roots), `HOST:PORT` or
    /// `sandcall://HOST:PORT` plaintext.
    ///
    /// # Errors
    /// A bad address, an unreachable server, a failed TLS handshake (with
    /// the likely cause: no TLS on the server, an untrusted or expired
    /// certificate, a client certificate required), or a refused hello.
    pub async fn open(address: &str, options: ConnectOptions) -> Result<Self, ClientError> {
        let address = Address::parse(address)?;
        let socket = TcpStream::connect(&address.authority).await;
        if !address.tls {
            return Self::handshake(address.authority, socket, None, options).await;
        }
        Self::handshake(address.authority, socket, Some(&address.host), options).await
    }

    /// The non-generic rest of [`Connection::connect_with`], compiled once
    /// here rather than in every crate that connects.
    async fn handshake(
        label: String,
        socket: std::io::Result<TcpStream>,
        tls_host: Option<&str>,
        options: ConnectOptions,
    ) -> Result<Self, ClientError> {
        let addr = label.trim_matches('"').to_string();
        let socket = socket.map_err(|source| ClientError::Connect {
            addr: addr.clone(),
            source,
        })?;
        let _ = socket.set_nodelay(true);
        let origin = Origin {
            label: label.clone(),
            addr: socket.peer_addr().ok(),
            tls_host: tls_host.map(str::to_string),
            options: options.clone(),
        };
        let stream: Box<dyn Stream> = match tls_host {
            None => Box::new(socket),
            Some(host) => {
                let files = TlsFiles {
                    ca: options.ca.as_deref(),
                    cert: options.cert.as_deref(),
                    key: options.key.as_deref(),
                };
                crate::tls::connect(socket, host, &addr, files).await?
            }
        };
        // The welcome is small; the server's limit is adopted after it.
        let codec = MessageCodec::new(options.max_frame.min(DEFAULT_MAX_FRAME));
        let mut transport = Framed::new(stream, codec);
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            client: options.client,
            mode: options.mode,
            token: options.token,
            host_stdio: options.host_stdio,
            metering: options.metering,
        };
        transport.send((1, &hello)).await?;
        let frame = match transport.next().await {
            Some(Ok(frame)) => frame,
            // With TLS 1.3 the server checks a client certificate after the
            // client's handshake is done: its refusal arrives here.
            Some(Err(sandcall_protocol::CodecError::Io(e))) if tls_host.is_some() => {
                return Err(ClientError::Tls {
                    addr,
                    message: crate::tls::explain(&e),
                });
            }
            Some(Err(e)) => return Err(e.into()),
            None => return Err(ClientError::Closed),
        };
        let welcome: Result<Welcome, RemoteError> = frame.decode()?;
        let info = welcome?.info;
        let server_frame = usize::try_from(info.limits.frame_bytes).unwrap_or(usize::MAX);
        transport
            .codec_mut()
            .set_max_frame(server_frame.min(options.max_frame));
        Ok(Connection {
            transport,
            next_id: 2,
            in_flight: 0,
            info,
            awaiting: None,
            discard: HashSet::new(),
            origin,
            replay: Vec::new(),
        })
    }

    /// Open a new session to the same server address with the same options
    /// and replay this session's successful `execute` and `register`
    /// requests in order (an instance dropped meanwhile is left out, with
    /// its registrations). Instances come back fresh: globals, memories and
    /// tables as at instantiation; what calls changed does not survive. The
    /// old session's pending answers are lost; call this once a request
    /// failed with a connection error. Requests sent with
    /// [`Connection::send`] are not replayed, only those of the typed
    /// methods ([`Connection::execute`], [`Connection::register`], …). The
    /// uploads are kept for this in the client's memory while their
    /// instances live.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the handshake, or a
    /// replayed request is refused (the server's error; the connection is
    /// then the new session with the requests before it replayed).
    pub async fn reconnect(&mut self) -> Result<(), ClientError> {
        let origin = self.origin.clone();
        let socket = match origin.addr {
            Some(addr) => TcpStream::connect(addr).await,
            None => TcpStream::connect(origin.label.trim_matches('"')).await,
        };
        let fresh = Self::handshake(
            origin.label,
            socket,
            origin.tls_host.as_deref(),
            origin.options,
        )
        .await?;
        let replay = std::mem::take(&mut self.replay);
        *self = fresh;
        for request in replay {
            self.request(&request).await?;
            self.replay.push(request);
        }
        Ok(())
    }

    /// Remember a successful `execute`, `register` or `drop` for
    /// [`Connection::reconnect`].
    pub(crate) fn remember(&mut self, request: Request) {
        match &request {
            Request::Execute(execute) => {
                // A replacement stands in for the instance it replaced.
                let name = &execute.name;
                self.replay
                    .retain(|r| !matches!(r, Request::Execute(e) if &e.name == name));
                self.replay.push(request);
            }
            Request::Register { .. } => self.replay.push(request),
            Request::Drop { name } => self.replay.retain(|r| match r {
                Request::Execute(e) => &e.name != name,
                Request::Register { name: of, .. } => of != name,
                _ => true,
            }),
            _ => {}
        }
    }

    /// What the server said about itself in the handshake.
    pub fn server_info(&self) -> &ServerInfo {
        &self.info
    }

    /// Queue `request` without waiting for its answer; returns its id.
    /// Call [`Connection::flush`] to send what is queued, then
    /// [`Connection::recv`] once per request.
    ///
    /// # Errors
    /// When the request cannot be encoded, is larger than a frame
    /// ([`ClientError::RequestTooLarge`]), or cannot be written.
    pub async fn send(&mut self, request: &Request) -> Result<u64, ClientError> {
        self.cancel_abandoned().await?;
        let id = self.feed(request).await?;
        self.in_flight += 1;
        Ok(id)
    }

    /// Queue `request` under the next id, counting nothing.
    async fn feed(&mut self, request: &Request) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        match self.transport.feed((id, request)).await {
            Ok(()) => Ok(id),
            Err(CodecError::FrameTooLarge { len, max }) => {
                Err(ClientError::RequestTooLarge { len, max })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// If the last call's future was dropped before its answer came, queue
    /// a `Cancel` for it; its answer and the cancel's are dropped on arrival.
    async fn cancel_abandoned(&mut self) -> Result<(), ClientError> {
        let Some(id) = self.awaiting.take() else {
            return Ok(());
        };
        self.in_flight = self.in_flight.saturating_sub(1);
        self.discard.insert(id);
        let cancel = self.feed(&Request::Cancel { id }).await?;
        self.discard.insert(cancel);
        Ok(())
    }

    /// Cancel request `id`, sent earlier with [`Connection::send`]: the
    /// server stops its guest at the next epoch tick and answers it with
    /// `cancelled` (or, if it already ended, with its own answer). Sent at
    /// once; returns the id of the cancel, whose answer
    /// ([`Response::Cancel`]) comes through [`Connection::recv`] like the
    /// cancelled request's.
    ///
    /// # Errors
    /// When the cancel cannot be written.
    pub async fn cancel(&mut self, id: u64) -> Result<u64, ClientError> {
        let cancel = self.send(&Request::Cancel { id }).await?;
        self.flush().await?;
        Ok(cancel)
    }

    /// Send everything queued.
    ///
    /// # Errors
    /// On i/o errors.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        Ok(SinkExt::<(u64, &Request)>::flush(&mut self.transport).await?)
    }

    /// The next answer, with the id of the request it answers.
    ///
    /// # Errors
    /// When the connection fails, or the server reports an error about the
    /// connection itself (e.g. a frame it would not read).
    pub async fn recv(&mut self) -> Result<(u64, Reply), ClientError> {
        loop {
            let frame = self.transport.next().await.ok_or(ClientError::Closed)??;
            if self.discard.remove(&frame.id) {
                continue;
            }
            let reply: Reply = frame.decode()?;
            if frame.id == CONNECTION_ID {
                return Err(match reply {
                    Err(e) => ClientError::Remote(e),
                    Ok(_) => ClientError::Protocol("a response with id 0".into()),
                });
            }
            self.in_flight = self.in_flight.saturating_sub(1);
            return Ok((frame.id, reply));
        }
    }

    /// Send one request and wait for its answer.
    ///
    /// # Errors
    /// The server's error, or a connection failure.
    pub async fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        self.cancel_abandoned().await?;
        if self.in_flight > 0 {
            return Err(ClientError::Protocol(format!(
                "{} pipelined answers are still to be received",
                self.in_flight
            )));
        }
        let id = self.send(request).await?;
        // Should this future be dropped from here on, the next use cancels
        // the request (see "Cancellation" above).
        self.awaiting = Some(id);
        self.flush().await?;
        let (got, reply) = self.recv().await?;
        self.awaiting = None;
        if got != id {
            return Err(ClientError::Protocol(format!(
                "asked {id}, got an answer to {got}"
            )));
        }
        Ok(reply?)
    }
}
