//! `EmbeddedServer` from outside the crate: its cache counters, what a call
//! cut short by shutdown is told, and that dropping it stops the server.
//! Every server listens on a port the system picks.

use futures_util::{SinkExt, StreamExt};
use sandcall_protocol::{
    ErrorKind, Eval, Execute, Hello, MessageCodec, Mode, PROTOCOL_VERSION, RemoteError, Request,
    Response, Welcome,
};
use sandcall_server::{EmbeddedServer, ServerConfig};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

type Session = Framed<TcpStream, MessageCodec>;

const SPIN: &str = r#"(module (func (export "spin") (loop br 0)))"#;

/// A session with `server` after the handshake.
async fn connect(server: &EmbeddedServer) -> Session {
    let socket = TcpStream::connect(server.addr()).await.unwrap();
    let mut session = Framed::new(socket, MessageCodec::default());
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        client: "embedded test".into(),
        mode: Mode::Sandboxed,
        token: None,
        host_stdio: false,
        metering: Default::default(),
    };
    session.send((1, &hello)).await.unwrap();
    let welcome: Result<Welcome, RemoteError> =
        session.next().await.unwrap().unwrap().decode().unwrap();
    welcome.unwrap();
    session
}

/// Send `request` as `id` and read its answer.
async fn ask(session: &mut Session, id: u64, request: Request) -> Result<Response, RemoteError> {
    session.send((id, &request)).await.unwrap();
    let frame = session.next().await.expect("an answer").unwrap();
    assert_eq!(frame.id, id);
    frame.decode().unwrap()
}

fn execute(name: &str, wat: &str) -> Request {
    Request::Execute(Execute {
        name: name.into(),
        module: wat.as_bytes().to_vec(),
        replace: false,
    })
}

fn spin(deadline_ms: u64) -> Request {
    Request::Eval(Eval {
        name: "spin".into(),
        export: "spin".into(),
        args: vec![],
        fuel: None,
        deadline_ms: Some(deadline_ms),
        cpu_ms: Some(60_000),
    })
}

#[tokio::test]
async fn the_second_upload_of_the_same_bytes_is_a_cache_hit() {
    let server = EmbeddedServer::start(ServerConfig::default())
        .await
        .unwrap();
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    let start = server.cache_stats();
    assert_eq!((start.hits, start.misses, start.cached), (0, 0, 0));
    ask(&mut a, 2, execute("x", SPIN)).await.unwrap();
    let first = server.cache_stats();
    assert_eq!((first.hits, first.misses, first.cached), (0, 1, 1));
    ask(&mut b, 2, execute("y", SPIN)).await.unwrap();
    let second = server.cache_stats();
    assert_eq!((second.hits, second.misses, second.cached), (1, 1, 1));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_stopped_by_shutdown_is_told_apart_from_one_past_its_deadline() {
    let server = EmbeddedServer::start(ServerConfig::default())
        .await
        .unwrap();
    let mut session = connect(&server).await;
    ask(&mut session, 2, execute("spin", SPIN)).await.unwrap();
    let late = ask(&mut session, 3, spin(50)).await.unwrap_err();
    assert_eq!(late.kind, ErrorKind::DeadlineExceeded, "{late}");
    assert!(late.message.contains("deadline of 50 ms"), "{late}");

    let call = tokio::spawn(async move { ask(&mut session, 4, spin(60_000)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(Duration::from_secs(30), server.stop())
        .await
        .expect("the server stops long before the call's deadline")
        .unwrap();
    let stopped = call.await.unwrap().unwrap_err();
    assert_eq!(stopped.kind, ErrorKind::ShuttingDown, "{stopped}");
    assert!(stopped.message.contains("shutting down"), "{stopped}");
    assert!(!stopped.message.contains("deadline"), "{stopped}");
}

#[tokio::test]
async fn dropping_the_server_stops_it_and_closes_its_sessions() {
    let server = EmbeddedServer::start(ServerConfig::default())
        .await
        .unwrap();
    let mut session = connect(&server).await;
    assert_eq!(
        ask(&mut session, 2, Request::Namespace).await.unwrap(),
        Response::Namespace(vec![])
    );
    drop(server);
    let closed = tokio::time::timeout(Duration::from_secs(30), session.next())
        .await
        .expect("the session is closed soon after the drop");
    assert!(closed.is_none(), "{closed:?}");
}
