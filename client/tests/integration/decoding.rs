//! A hostile server against the real client: an answer the client cannot
//! trust is an error, never a crash. A `WitType` a million levels deep once
//! overflowed the CLI's stack while decoding a `namespace` answer.

use crate::common;
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use sandcall::Connection;
use sandcall_protocol::{
    ExportInfo, ExportKind, Hello, InstanceInfo, InstanceKind, MessageCodec, RemoteError, Response,
    Welcome, WitFunc, WitType,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Encoder, Framed};

/// Depth of the hostile type.
const DEPTH: usize = 1_000_000;

/// A `namespace` answer with one component export whose parameter type is
/// `list<list<… bool>>`, [`DEPTH`] levels deep, as a whole frame.
fn deep_namespace_frame(id: u64) -> Vec<u8> {
    let marker = "marker-param";
    let info = InstanceInfo {
        name: "evil".into(),
        kind: InstanceKind::Component,
        module_hash: String::new(),
        exports: vec![ExportInfo {
            name: "f".into(),
            kind: ExportKind::ComponentFunc(WitFunc {
                params: vec![(marker.into(), WitType::List(Box::new(WitType::Bool)))],
                result: None,
            }),
        }],
        memory_bytes: 0,
        fuel_used: 0,
        cpu_ns: 0,
        registered_as: vec![],
        output: Default::default(),
        cache_hit: false,
        compile_ns: 0,
    };
    let reply: Result<Response, RemoteError> = Ok(Response::Namespace(vec![info]));
    let mut frame = BytesMut::new();
    MessageCodec::default()
        .encode((id, &reply), &mut frame)
        .unwrap();
    // After the marker come the type's bytes: `List` (13), then `Bool` (0).
    let at = frame
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .unwrap()
        + marker.len();
    assert_eq!(frame[at..at + 2], [13, 0]);
    let mut out = frame[..at].to_vec();
    out.resize(out.len() + DEPTH, 13);
    out.extend_from_slice(&frame[at + 1..]);
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

#[tokio::test]
async fn a_deeply_nested_type_from_a_server_is_an_error_not_a_crash() {
    let real = common::server().await;
    let upstream_addr = real.addr();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The fake server: a genuine welcome (relayed from a real server), then
    // the hostile answer to whatever is asked.
    let fake = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut client = Framed::new(socket, MessageCodec::default());
        let hello = client.next().await.unwrap().unwrap();
        let socket = TcpStream::connect(upstream_addr).await.unwrap();
        let mut upstream = Framed::new(socket, MessageCodec::default());
        let relayed: Hello = hello.decode().unwrap();
        upstream.send((hello.id, &relayed)).await.unwrap();
        let welcome = upstream.next().await.unwrap().unwrap();
        let welcome: Result<Welcome, RemoteError> = welcome.decode().unwrap();
        client.send((hello.id, &welcome)).await.unwrap();
        let request = client.next().await.unwrap().unwrap();
        let frame = deep_namespace_frame(request.id);
        client.get_mut().write_all(&frame).await.unwrap();
        // Hold the connection until the client is done with it.
        let _ = client.next().await;
    });
    let mut connection = Connection::connect(addr).await.unwrap();
    let e = connection.namespace().await.unwrap_err();
    eprintln!("a {DEPTH}-deep type from a server: {e}");
    assert!(e.to_string().contains("nest deeper"), "{e}");
    drop(connection);
    fake.await.unwrap();
}
