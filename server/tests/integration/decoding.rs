//! Hostile frames against the `sandcall-server` binary: what decoding and
//! argument checking may cost, measured on the server process itself (peak
//! resident and virtual memory from `/proc/PID/status`, CPU time from
//! `/proc/PID/stat`), while a bystander connection keeps asking `info` and
//! times every answer.
//!
//! Each test runs its own server process, so the figures are that server's
//! alone even when the tests run in parallel.

use bytes::{BufMut, BytesMut};
use futures_util::{SinkExt, StreamExt};
use sandcall_protocol::{
    ErrorKind, Eval, Execute, Hello, MessageCodec, Mode, PROTOCOL_VERSION, RemoteError, Request,
    Response, Value, Welcome,
};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::{Encoder, Framed};

type Session = Framed<TcpStream, MessageCodec>;

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start() -> Server {
        let (child, addr) = crate::spawn_server::<&str>(&[], false);
        Server { child, addr }
    }

    /// A `kB` field of `/proc/PID/status` (`VmHWM`, `VmPeak` …), in MB.
    fn status_mb(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field}"));
        let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb / 1024.0
    }

    /// User + system CPU time of the server process so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name, which is in parentheses.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_millis(ticks * 1000 / hz)
    }

    async fn connect(&self) -> Session {
        let socket = TcpStream::connect(&self.addr).await.unwrap();
        let mut session = Framed::new(socket, MessageCodec::default());
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "decoding test".into(),
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection asking `info` over and over until stopped; the slowest answer.
struct Bystander {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(Duration, u32)>,
}

impl Bystander {
    async fn start(server: &Server) -> Bystander {
        let mut session = server.connect().await;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut answers = 0;
            for id in 2.. {
                if flag.load(Ordering::Relaxed) && answers > 0 {
                    break;
                }
                let start = Instant::now();
                let info = ask(&mut session, id, &Request::Info).await;
                assert!(matches!(info, Ok(Response::Info(_))), "{info:?}");
                slowest = slowest.max(start.elapsed());
                answers += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (slowest, answers)
        });
        Bystander { stop, task }
    }

    /// The slowest `info` answer and how many were answered.
    async fn finish(self) -> (Duration, u32) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

async fn ask(session: &mut Session, id: u64, request: &Request) -> Result<Response, RemoteError> {
    session.send((id, request)).await.unwrap();
    let frame = session.next().await.expect("an answer").unwrap();
    assert_eq!(frame.id, id);
    frame.decode().unwrap()
}

/// Send a frame of `id` and `body` as raw bytes; read its answer.
async fn ask_raw(session: &mut Session, id: u64, body: &[u8]) -> Result<Response, RemoteError> {
    let mut frame = Vec::with_capacity(body.len() + 12);
    frame.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(body);
    session.get_mut().write_all(&frame).await.unwrap();
    let answer = session.next().await.expect("an answer").unwrap();
    assert_eq!(answer.id, id);
    answer.decode().unwrap()
}

/// The bincode body of `message`, as the codec would send it.
fn body_of<T: serde::Serialize>(message: &T) -> Vec<u8> {
    let mut out = BytesMut::new();
    MessageCodec::default()
        .encode((0, message), &mut out)
        .unwrap();
    out[12..].to_vec()
}

/// bincode's varint for a length.
fn varint(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xffff => {
            out.push(0xfb);
            out.put_u16_le(n as u16);
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfc);
            out.put_u32_le(n as u32);
        }
        _ => {
            out.push(0xfd);
            out.put_u64_le(n);
        }
    }
}

fn eval(name: &str, export: &str, args: Vec<Value>) -> Request {
    Request::Eval(Eval {
        name: name.into(),
        export: export.into(),
        args,
        fuel: None,
        deadline_ms: None,
        cpu_ms: None,
    })
}

async fn execute(session: &mut Session, name: &str, wat: &str) {
    let request = Request::Execute(Execute {
        name: name.into(),
        module: wat.as_bytes().to_vec(),
        replace: false,
    });
    let answer = ask(session, 2, &request).await;
    assert!(matches!(answer, Ok(Response::Executed(_))), "{answer:?}");
}

/// Finding 3: a 60 MB frame of empty flag names (one byte each on the
/// wire) used to become 24+ bytes each in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_of_flags_decodes_within_a_bounded_budget() {
    let server = Server::start();
    let mut attacker = server.connect().await;
    let mut second = server.connect().await;
    let bystander = Bystander::start(&server).await;
    let before = server.status_mb("VmHWM");
    // `eval` of one `flags` value with 60 M empty names: encode the request
    // with no names, cut its tail (the length 0 and three `None`s), append the rest.
    let mut body = body_of(&eval("m", "f", vec![Value::Flags(vec![])]));
    assert_eq!(
        body[body.len() - 5..],
        [25, 0, 0, 0, 0],
        "Flags, 0 names, None, None, None"
    );
    body.truncate(body.len() - 4);
    let names = 60_000_000;
    varint(&mut body, names);
    body.resize(body.len() + names as usize, 0);
    body.extend([0, 0, 0]);
    // Two connections at once: both decode, neither holds up the bystander.
    let started = Instant::now();
    let (answer, other) = tokio::join!(
        ask_raw(&mut attacker, 3, &body),
        ask_raw(&mut second, 3, &body)
    );
    let took = started.elapsed();
    assert_eq!(answer, other);
    let (slowest, answers) = bystander.finish().await;
    let peak = server.status_mb("VmHWM");
    eprintln!(
        "two flags frames of {} MB: peak RSS {before:.0} -> {peak:.0} MB, answered in {took:?}; \
         bystander: {answers} infos, slowest {slowest:?}; {answer:?}",
        body.len() >> 20
    );
    let e = answer.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest, "{e}");
    assert!(e.message.contains("at most"), "{e}");
    assert!(peak < 400.0, "peak RSS {peak:.0} MB");
    assert!(
        slowest < Duration::from_secs(1),
        "bystander waited {slowest:?}"
    );
    // The connection still serves.
    assert!(ask(&mut attacker, 4, &Request::Info).await.is_ok());
}

/// Finding 6: a 1 MiB hello whose client name claims 3.75 GiB, and a request
/// whose instance name does the same: refused before any allocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_lengths_beyond_the_frame_are_refused_before_allocating() {
    let server = Server::start();
    let bystander = Bystander::start(&server).await;
    let before = server.status_mb("VmPeak");
    let claim = 3_750 << 20;
    // The hello: version, then the client name's length, then 1 MiB of it.
    let mut hello = Vec::new();
    varint(&mut hello, u64::from(PROTOCOL_VERSION));
    varint(&mut hello, claim);
    hello.resize(hello.len() + (1 << 20), b'a');
    let socket = TcpStream::connect(&server.addr).await.unwrap();
    let mut raw = Framed::new(socket, MessageCodec::default());
    let frame = &mut Vec::new();
    frame.extend_from_slice(&((hello.len() + 8) as u32).to_be_bytes());
    frame.extend_from_slice(&1u64.to_be_bytes());
    frame.extend_from_slice(&hello);
    raw.get_mut().write_all(frame).await.unwrap();
    let welcome: Result<Welcome, RemoteError> =
        raw.next().await.unwrap().unwrap().decode().unwrap();
    let e = welcome.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest, "{e}");
    // A request: `drop` of an instance whose name claims 3.75 GiB.
    let mut attacker = server.connect().await;
    let mut body = body_of(&Request::Drop {
        name: String::new(),
    });
    body.pop();
    varint(&mut body, claim);
    body.resize(body.len() + (1 << 20), b'a');
    let answer = ask_raw(&mut attacker, 2, &body).await;
    let (slowest, answers) = bystander.finish().await;
    let after = server.status_mb("VmPeak");
    eprintln!(
        "claims of 3.75 GiB: VmPeak {before:.0} -> {after:.0} MB; hello: {e}; request: {answer:?}; \
         bystander: {answers} infos, slowest {slowest:?}"
    );
    assert_eq!(answer.unwrap_err().kind, ErrorKind::BadRequest);
    assert!(
        after - before < 512.0,
        "virtual memory grew by {} MB",
        after - before
    );
    assert!(
        slowest < Duration::from_secs(1),
        "bystander waited {slowest:?}"
    );
}

/// A component taking a list of an enum of `cases` cases.
fn enum_component(cases: usize) -> String {
    let names: Vec<String> = (0..cases).map(|i| format!("\"c{i}\"")).collect();
    format!(
        r#"(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "f") (param i32 i32))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (type $e (enum {}))
  (export $e2 "e" (type $e))
  (func (export "f") (param "x" (list $e2))
    (canon lift (core func $i "f") (memory (core memory $i "mem"))
      (realloc (core func $i "realloc")))))"#,
        names.join(" ")
    )
}

/// Finding 5: checking 200k values of a 10,000-case enum used to scan the
/// cases for each value (6.7 s of CPU); the last value is unknown, so the
/// call is refused after every value was checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_names_are_checked_in_linear_time() {
    let server = Server::start();
    let mut attacker = server.connect().await;
    execute(&mut attacker, "e", &enum_component(10_000)).await;
    let bystander = Bystander::start(&server).await;
    let mut values = vec![Value::Enum("c9999".into()); 200_000];
    values.push(Value::Enum("nope".into()));
    let request = eval("e", "f", vec![Value::List(values)]);
    let size = body_of(&request).len();
    let cpu = server.cpu();
    let started = Instant::now();
    let answer = ask(&mut attacker, 3, &request).await;
    let took = started.elapsed();
    let cpu = server.cpu() - cpu;
    let (slowest, answers) = bystander.finish().await;
    eprintln!(
        "200k enum values in {} KB: server CPU {cpu:?}, answered in {took:?}; bystander: \
         {answers} infos, slowest {slowest:?}; {answer:?}",
        size >> 10
    );
    let e = answer.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest, "{e}");
    assert!(e.message.contains("no case `nope`"), "{e}");
    assert!(cpu < Duration::from_secs(1), "{cpu:?} of server CPU");
    assert!(
        slowest < Duration::from_secs(1),
        "bystander waited {slowest:?}"
    );
}

/// Finding 5: a 60 MB string sent to an `i32` parameter used to be
/// formatted whole into the error message before it was cut (448 MB peak).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatched_argument_is_not_formatted_whole() {
    let server = Server::start();
    let mut attacker = server.connect().await;
    let wat = r#"(module (func (export "id") (param i32) (result i32) local.get 0))"#;
    execute(&mut attacker, "m", wat).await;
    let bystander = Bystander::start(&server).await;
    let before = server.status_mb("VmHWM");
    let request = eval("m", "id", vec![Value::String("\"".repeat(60 << 20))]);
    let answer = ask(&mut attacker, 3, &request).await;
    drop(request);
    let (slowest, answers) = bystander.finish().await;
    let peak = server.status_mb("VmHWM");
    let e = answer.unwrap_err();
    eprintln!(
        "60 MB string to an i32: peak RSS {before:.0} -> {peak:.0} MB; bystander: {answers} \
         infos, slowest {slowest:?}; message of {} bytes: {:.120}",
        e.message.len(),
        e.message
    );
    assert_eq!(e.kind, ErrorKind::BadRequest, "{e}");
    assert!(e.message.contains("expected i32"), "{e}");
    // A bounded prefix of the value, not the 4 KiB cut of all of it.
    assert!(e.message.len() < 1024, "{}", e.message.len());
    assert!(peak < 200.0, "peak RSS {peak:.0} MB");
    assert!(
        slowest < Duration::from_secs(1),
        "bystander waited {slowest:?}"
    );
}
