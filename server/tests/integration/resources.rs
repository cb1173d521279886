//! Every resource bounded (issue 18, findings 1, 2 and 4): memory per
//! instance, per connection and per server; compile CPU; the compile cache
//! in bytes. Each test runs the real `sandcall-server` binary and measures
//! it from outside (RSS and CPU time from /proc/PID), with a bystander
//! client served throughout.

use futures_util::{SinkExt, StreamExt};
use sandcall_protocol::{
    ErrorKind, Eval, Execute, Hello, Limits, MessageCodec, Mode, PROTOCOL_VERSION, RemoteError,
    Request, Response, Welcome,
};
use std::process::Child;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// The server binary, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start the binary with `args` on port 0.
    fn start(args: &[&str]) -> Server {
        let (child, addr) = crate::spawn_server(args, false);
        Server { child, addr }
    }

    /// Resident set of the server process, in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }

    /// CPU time (user + system) the server process has used, in seconds.
    fn cpu(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name, which ends with the last ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        ticks as f64 / hz
    }

    /// Wait until the server's CPU time stops growing (it is idle), at most 30 s.
    async fn settle(&self) -> f64 {
        let mut last = self.cpu();
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = self.cpu();
            if now - last < 0.02 {
                return now;
            }
            last = now;
        }
        last
    }
}

/// One raw protocol client.
struct Peer {
    framed: Framed<TcpStream, MessageCodec>,
    next: u64,
    /// The limits the server reported in its welcome.
    limits: Limits,
}

impl Peer {
    async fn connect(server: &Server) -> Peer {
        let socket = TcpStream::connect(&server.addr).await.unwrap();
        let mut framed = Framed::new(socket, MessageCodec::new(128 << 20));
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "resources test".into(),
            mode: Mode::Sandboxed,
            token: None,
            host_stdio: false,
            // Fuel metering: its checks make compiles costlier (the worst
            // case these tests bound), and without them cranelift folds the
            // `slow` modules' empty blocks away.
            metering: sandcall_protocol::Metering::Fuel,
        };
        framed.send((1, &hello)).await.unwrap();
        let welcome: Result<Welcome, RemoteError> =
            framed.next().await.unwrap().unwrap().decode().unwrap();
        let limits = welcome.unwrap().info.limits;
        Peer {
            framed,
            next: 2,
            limits,
        }
    }

    /// Send `request` without waiting for its answer.
    async fn send(&mut self, request: &Request) {
        self.next += 1;
        self.framed.send((self.next, request)).await.unwrap();
    }

    /// Send `request` and wait for its answer.
    async fn ask(&mut self, request: &Request) -> Result<Response, RemoteError> {
        self.send(request).await;
        let frame = self.framed.next().await.unwrap().unwrap();
        assert_eq!(frame.id, self.next);
        frame.decode().unwrap()
    }

    async fn execute(&mut self, name: &str, module: Vec<u8>) -> Result<Response, RemoteError> {
        self.ask(&Request::Execute(Execute {
            name: name.into(),
            module,
            replace: false,
        }))
        .await
    }

    async fn eval(&mut self, name: &str, export: &str) -> Result<Response, RemoteError> {
        self.ask(&Request::Eval(Eval {
            name: name.into(),
            export: export.into(),
            args: vec![],
            fuel: None,
            deadline_ms: Some(60_000),
            cpu_ms: None,
        }))
        .await
    }

    async fn validate(&mut self, module: Vec<u8>) -> Result<Response, RemoteError> {
        self.ask(&Request::Validate { module }).await
    }

    /// How long an `info` takes: the bystander's view of the server.
    async fn info_time(&mut self) -> Duration {
        let started = Instant::now();
        self.ask(&Request::Info).await.unwrap();
        started.elapsed()
    }
}

const MIB: u64 = 1 << 20;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// A resource-limit error whose message names `flag`.
#[track_caller]
fn assert_limit(reply: Result<Response, RemoteError>, flag: &str) {
    let e = reply.expect_err("refused");
    assert_eq!(e.kind, ErrorKind::ResourceLimit, "{}", e.message);
    assert!(e.message.contains(flag), "{flag} not named: {}", e.message);
}

/// `count` memories of `pages` pages each, and `fill`, which grows each by
/// `grow` pages (trapping when refused) and writes one byte to every page.
fn memories(count: usize, pages: u32, grow: u32) -> Vec<u8> {
    let mut wat = String::from("(module\n");
    for m in 0..count {
        wat += &format!("(memory $m{m} {pages})\n");
    }
    wat += "(func (export \"fill\") (local $p i32)\n";
    for m in 0..count {
        wat += &format!(
            "(if (i32.eq (memory.grow $m{m} (i32.const {grow})) (i32.const -1)) (then unreachable))
             (local.set $p (i32.const 0))
             (block $done (loop $next
               (br_if $done (i32.ge_u (local.get $p) (memory.size $m{m})))
               (i32.store8 $m{m} (i32.mul (local.get $p) (i32.const 65536)) (i32.const 1))
               (local.set $p (i32.add (local.get $p) (i32.const 1)))
               (br $next)))\n"
        );
    }
    wat += "))";
    wat::parse_str(&wat).unwrap()
}

const BYSTANDER: &str = "(module (func (export \"one\") (result i32) i32.const 1))";

#[tokio::test]
async fn eight_full_memories_stop_at_the_instance_total() {
    let server = Server::start(&[]);
    let mut bystander = Peer::connect(&server).await;
    let mut peer = Peer::connect(&server).await;
    let before = server.rss();
    // Declared at full size: refused at instantiation (initial sizes count).
    let started = server.cpu();
    assert_limit(
        peer.execute("big", memories(8, 4096, 0)).await,
        "--memory-bytes",
    );
    // Declared empty, grown to full size one by one and touched: the second
    // memory's growth is refused (`memory.grow` gives -1, as wasm says, and
    // this guest traps on it; the trap names the budget).
    peer.execute("grow", memories(8, 0, 4096)).await.unwrap();
    let reply = peer.eval("grow", "fill").await;
    let peak = server.rss();
    let cpu = server.cpu() - started;
    eprintln!(
        "8 memories of 256 MiB: server RSS {:.0} MB -> {:.0} MB, {cpu:.2} s CPU, reply {reply:?}",
        mb(before),
        mb(peak)
    );
    let e = reply.expect_err("refused");
    assert_eq!(e.kind, ErrorKind::Trap, "{}", e.message);
    assert!(e.message.contains("--memory-bytes"), "{}", e.message);
    assert!(bystander.info_time().await < Duration::from_secs(2));
    assert!(
        peak < before + 400 * MIB,
        "one instance holds {:.0} MB",
        mb(peak - before)
    );
}

#[tokio::test]
async fn connection_and_server_totals_hold_across_instances_and_connections() {
    let server = Server::start(&[
        "--memory-bytes",
        "16777216",
        "--connection-memory-bytes",
        "50331648",
        "--server-memory-bytes",
        "75497472",
    ]);
    let mut bystander = Peer::connect(&server).await;
    bystander
        .execute("b", BYSTANDER.as_bytes().to_vec())
        .await
        .unwrap();
    let before = server.rss();
    // 16 MiB each, every page touched.
    let module = memories(1, 256, 0);
    let mut a = Peer::connect(&server).await;
    for i in 0..3 {
        a.execute(&format!("a{i}"), module.clone()).await.unwrap();
        a.eval(&format!("a{i}"), "fill").await.unwrap();
    }
    // The 4th would take the connection past 48 MiB.
    assert_limit(
        a.execute("a3", module.clone()).await,
        "--connection-memory-bytes",
    );
    let mut b = Peer::connect(&server).await;
    b.execute("b0", module.clone()).await.unwrap();
    b.eval("b0", "fill").await.unwrap();
    // 48 + 16 MiB held; 72 MiB is the server's total.
    assert_limit(
        b.execute("b1", module.clone()).await,
        "--server-memory-bytes",
    );
    let mut c = Peer::connect(&server).await;
    assert_limit(
        c.execute("c0", module.clone()).await,
        "--server-memory-bytes",
    );
    let held = server.rss();
    eprintln!(
        "3 connections filling 16 MiB instances: server RSS {:.0} MB -> {:.0} MB",
        mb(before),
        mb(held)
    );
    assert!(held < before + 120 * MIB, "{:.0} MB", mb(held - before));
    assert!(bystander.info_time().await < Duration::from_secs(2));
    assert!(matches!(
        bystander.eval("b", "one").await,
        Ok(Response::Evaluated(_))
    ));
    // A leaving connection gives its memory back.
    drop(a);
    let mut freed = false;
    for i in 0..50 {
        if c.execute(&format!("c{i}"), module.clone()).await.is_ok() {
            c.eval(&format!("c{i}"), "fill").await.unwrap();
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "the departed connection's memory was not released");
}

/// One function of `blocks` `(block (drop (local.get 0)))`.
fn blocks(count: usize) -> Vec<u8> {
    let body = "(block (drop (local.get 0)))".repeat(count);
    wat::parse_str(format!("(module (func (param i32) {body}))")).unwrap()
}

/// `depth` nested blocks in one function.
fn nested(depth: usize) -> Vec<u8> {
    let body = format!(
        "{}(drop (local.get 0)){}",
        "(block ".repeat(depth),
        ")".repeat(depth)
    );
    wat::parse_str(format!("(module (func (param i32) {body}))")).unwrap()
}

/// One function with a `br_table` of `targets` entries over as many blocks
/// as fit the shape (a few), and `locals` locals.
fn br_table(targets: usize) -> Vec<u8> {
    let labels = "0 1 2 ".repeat(targets / 3);
    wat::parse_str(format!(
        "(module (func (param i32) (block (block (block (br_table {labels} 0 (local.get 0)))))))"
    ))
    .unwrap()
}

fn locals(count: usize, uses: usize) -> Vec<u8> {
    let body: String = (0..uses)
        .map(|i| format!("(local.set {} (local.get {}))", i % count, (i * 7) % count))
        .collect();
    wat::parse_str(format!(
        "(module (func (local {}) {body}))",
        "i64 ".repeat(count)
    ))
    .unwrap()
}

/// `functions` functions of `blocks` blocks each.
fn many_functions(functions: usize, count: usize) -> Vec<u8> {
    let body = "(block (drop (local.get 0)))".repeat(count);
    let funcs = format!("(func (param i32) {body})").repeat(functions);
    wat::parse_str(format!("(module {funcs})")).unwrap()
}

/// Server CPU spent validating `module`, and the reply.
async fn compile_cpu(
    server: &Server,
    peer: &mut Peer,
    module: Vec<u8>,
) -> (f64, Result<Response, RemoteError>) {
    let before = server.cpu();
    let reply = peer.validate(module).await;
    (server.cpu() - before, reply)
}

/// Blocks in one function are refused before compiling, fast: 16,000 took
/// 3.5 s of server CPU and 32,000 took 11.9 s before the operator caps.
#[tokio::test]
async fn a_function_of_many_blocks_is_refused_fast() {
    let server = Server::start(&[]);
    let mut bystander = Peer::connect(&server).await;
    let mut peer = Peer::connect(&server).await;
    for n in [16_000, 64_000] {
        let (cpu, reply) = compile_cpu(&server, &mut peer, blocks(n)).await;
        eprintln!("{n} blocks in one function: {cpu:.2} s of server CPU");
        assert_limit(reply, "--function-blocks");
        assert!(cpu < 0.5, "{cpu:.2} s");
    }
    // The same shape as WAT text (within --wat-bytes) is refused as fast.
    let text = format!(
        "(module (func (param i32) {}))",
        "(block (drop (local.get 0)))".repeat(9_000)
    );
    let (cpu, reply) = compile_cpu(&server, &mut peer, text.into_bytes()).await;
    eprintln!("9,000 blocks as WAT: {cpu:.2} s");
    assert_limit(reply, "--function-blocks");
    assert!(cpu < 0.5, "{cpu:.2} s");
    assert!(bystander.info_time().await < Duration::from_secs(1));
}

/// The worst shapes within the default caps compile in under 2 s of CPU.
#[tokio::test]
async fn the_worst_uploads_within_the_caps_compile_in_under_two_seconds() {
    let server = Server::start(&[]);
    let mut peer = Peer::connect(&server).await;
    let limits = peer.limits.clone();
    let per_function = limits.blocks_per_function.unwrap() as usize;
    let per_module = limits.blocks_per_module.unwrap() as usize;
    let operators = limits.operators_per_function.unwrap() as usize;
    // Each piece is one block (or one loop, counting 5, or a block and a
    // branch), just under the caps.
    let body = |piece: &str, count: usize| piece.repeat(count);
    let module = |functions: usize, piece: &str, count: usize| {
        let funcs = format!("(func (param i32) {})", body(piece, count)).repeat(functions);
        wat::parse_str(format!("(module {funcs})")).unwrap()
    };
    let block = "(block (drop (local.get 0)))";
    let looped = "(loop (drop (local.get 0)))";
    let branch = "(block (br_if 0 (local.get 0)))";
    let call = "(call 0 (local.get 0))";
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("one function of blocks", module(1, block, per_function - 1)),
        (
            "one function of loops",
            module(1, looped, per_function / 5 - 1),
        ),
        (
            "functions of 2,000 blocks up to the module cap",
            module(per_module / 2_000, block, 2_000 - 1),
        ),
        (
            "functions of loops up to the module cap",
            module(per_module / 2_000, looped, 400 - 1),
        ),
        (
            "functions of branches up to the module cap",
            module(per_module / 2_000, branch, 1_000 - 1),
        ),
        (
            "functions of calls up to the module cap",
            module(per_module / 2_000, call, 2_000 - 1),
        ),
        (
            "many small functions of blocks",
            module(per_module / 25, block, 24),
        ),
        ("nested blocks", nested(per_function - 2)),
        // Cranelift takes at most 65,520 targets.
        ("a br_table", br_table((operators - 20).min(65_000))),
        ("locals", locals(operators / 2, operators / 6)),
        (
            "plain operators up to the module cap",
            module(
                limits.operators_per_module.unwrap() as usize / (operators / 2),
                "(drop (local.get 0))",
                operators / 4 - 2,
            ),
        ),
    ];
    for (name, module) in shapes {
        let (cpu, reply) = compile_cpu(&server, &mut peer, module).await;
        eprintln!(
            "{name}: {cpu:.2} s of server CPU, {:?}",
            reply.as_ref().map(|_| ())
        );
        reply.unwrap();
        assert!(cpu < 2.0, "{name}: {cpu:.2} s");
    }
}

/// Slow but allowed: `count` blocks in one function, different per `seed`.
fn slow(count: usize, seed: u32) -> Vec<u8> {
    let body = "(block (drop (local.get 0)))".repeat(count);
    wat::parse_str(format!(
        "(module (func (param i32) {body}) (func (result i32) i32.const {seed}))"
    ))
    .unwrap()
}

const SLOW: usize = 4_900;

#[tokio::test]
async fn compiles_of_departed_clients_are_dropped() {
    let server = Server::start(&["--compiles", "1"]);
    let mut bystander = Peer::connect(&server).await;
    let mut a = Peer::connect(&server).await;
    let (one, reply) = compile_cpu(&server, &mut a, slow(SLOW, 0)).await;
    reply.unwrap();
    eprintln!("one slow compile: {one:.2} s of server CPU");
    // A holds the only compile permit; B asks for a compile and leaves
    // while it waits, C while its compile runs.
    let started = server.settle().await;
    a.send(&Request::Validate {
        module: slow(SLOW, 1),
    })
    .await;
    let mut b = Peer::connect(&server).await;
    b.send(&Request::Validate {
        module: slow(SLOW, 2),
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(b);
    let frame = a.framed.next().await.unwrap().unwrap();
    let reply: Result<Response, RemoteError> = frame.decode().unwrap();
    reply.unwrap();
    let spent = server.settle().await - started;
    eprintln!("A's compile while B waited and left: {spent:.2} s of server CPU");
    assert!(spent < one * 1.6 + 0.2, "B's compile ran: {spent:.2} s");
    let mut c = Peer::connect(&server).await;
    c.send(&Request::Validate {
        module: slow(SLOW, 3),
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(c);
    server.settle().await;
    // Neither was kept: asking again compiles (costs CPU).
    let mut d = Peer::connect(&server).await;
    for seed in [2, 3] {
        let (cpu, reply) = compile_cpu(&server, &mut d, slow(SLOW, seed)).await;
        reply.unwrap();
        eprintln!("seed {seed} asked again: {cpu:.2} s");
        assert!(cpu > one * 0.4, "seed {seed} was kept: {cpu:.2} s");
    }
    assert!(bystander.info_time().await < Duration::from_secs(1));
}

#[tokio::test]
async fn concurrent_compiles_are_bounded_by_the_semaphore() {
    let server = Server::start(&["--compiles", "1"]);
    let mut bystander = Peer::connect(&server).await;
    let mut peers = Vec::new();
    for _ in 0..4 {
        peers.push(Peer::connect(&server).await);
    }
    let cpu = server.settle().await;
    let started = Instant::now();
    for (seed, peer) in peers.iter_mut().enumerate() {
        peer.send(&Request::Validate {
            module: slow(SLOW, 10 + seed as u32),
        })
        .await;
    }
    let info = bystander.info_time().await;
    for peer in &mut peers {
        let frame = peer.framed.next().await.unwrap().unwrap();
        let reply: Result<Response, RemoteError> = frame.decode().unwrap();
        reply.unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    let spent = server.cpu() - cpu;
    eprintln!(
        "4 concurrent one-function compiles with --compiles 1: {spent:.2} s CPU in {wall:.2} s \
         ({:.2} cores), bystander's info in {info:?}",
        spent / wall
    );
    assert!(spent / wall < 1.4, "{:.2} cores compiling", spent / wall);
    assert!(info < Duration::from_secs(1));
}

/// `count` inline aliases in a component's text.
fn aliases(count: usize) -> Vec<u8> {
    let lowers = "(core func (canon lower (func $i \"f\")))\n".repeat(count);
    format!("(component (import \"i\" (instance $i (export \"f\" (func)))) {lowers})").into_bytes()
}

#[tokio::test]
async fn huge_wat_is_refused_and_wat_within_the_cap_parses_fast() {
    let server = Server::start(&[]);
    let mut bystander = Peer::connect(&server).await;
    let mut peer = Peer::connect(&server).await;
    let cap = peer.limits.wat_bytes as usize;
    let huge = aliases(80_000);
    let (cpu, reply) = compile_cpu(&server, &mut peer, huge.clone()).await;
    eprintln!("{} bytes of WAT aliases: {cpu:.2} s", huge.len());
    assert_limit(reply, "--wat-bytes");
    assert!(cpu < 0.3, "{cpu:.2} s");
    // As many as fit the WAT cap and --module-functions (each lower counts 2).
    let fits = aliases((cap / huge.len().div_ceil(80_000)).min(4_990));
    assert!(fits.len() <= cap);
    let (cpu, reply) = compile_cpu(&server, &mut peer, fits.clone()).await;
    eprintln!("{} bytes of WAT aliases: {cpu:.2} s, {reply:?}", fits.len());
    reply.unwrap();
    assert!(cpu < 2.0, "{cpu:.2} s");
    assert!(bystander.info_time().await < Duration::from_secs(1));
}

/// A module with a data segment of `bytes` bytes, different per `seed`.
fn data_module(bytes: usize, seed: u8) -> Vec<u8> {
    use wasm_encoder::{ConstExpr, DataSection, MemorySection, MemoryType, Module};
    let mut module = Module::new();
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: (bytes as u64).div_ceil(65536),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(0), vec![seed; bytes]);
    module.section(&data);
    module.finish()
}

/// RSS kept by a server after 16 validates of distinct modules with a
/// 15 MiB data segment, once the connection has closed.
async fn kept_after_validates(cache_bytes: &str) -> (u64, u64) {
    let server = Server::start(&["--cache-bytes", cache_bytes]);
    let mut bystander = Peer::connect(&server).await;
    let before = server.rss();
    let mut peer = Peer::connect(&server).await;
    for seed in 0..16 {
        peer.validate(data_module(15 << 20, seed)).await.unwrap();
        assert!(bystander.info_time().await < Duration::from_secs(2));
    }
    drop(peer);
    server.settle().await;
    (before, server.rss())
}

/// The same uploads with the cache bounded by entries only (as before) and
/// by 64 MiB: the difference is what the byte bound saves. (Part of what
/// both keep is freed heap that glibc holds for reuse: `allocator.rs`.)
#[tokio::test]
async fn the_cache_is_bounded_in_bytes() {
    let (before, unbounded) = kept_after_validates("1000000000000").await;
    let (before_bounded, bounded) = kept_after_validates("67108864").await;
    eprintln!(
        "16 validates of 15 MiB data segments, RSS after the connection closed: \
         entries only {:.0} -> {:.0} MB, 64 MiB of cache {:.0} -> {:.0} MB",
        mb(before),
        mb(unbounded),
        mb(before_bounded),
        mb(bounded)
    );
    assert!(
        bounded + 100 * MIB < unbounded,
        "the byte bound saved {:.0} MB",
        (unbounded as f64 - bounded as f64) / MIB as f64
    );
}

/// Measures the compile CPU of the worst shapes (run by hand with
/// `--ignored --nocapture`; the bounds chosen from it are tested below).
#[tokio::test]
#[ignore]
async fn measure_compile_shapes() {
    // MEASURE_ARGS: other flags (e.g. none, on a build without the caps).
    let args = std::env::var("MEASURE_ARGS").unwrap_or_else(|_| {
        "--module-functions 1000000 --function-operators 100000000 \
         --module-operators 1000000000 --function-blocks 100000000 \
         --module-blocks 1000000000 --wat-bytes 100000000"
            .into()
    });
    let args: Vec<&str> = args.split_whitespace().collect();
    let server = Server::start(&args);
    let mut peer = Peer::connect(&server).await;
    let shapes = [
        ("plain", "(drop (local.get 0))"),
        ("block", "(block (drop (local.get 0)))"),
        ("loop", "(loop (drop (local.get 0)))"),
        ("if", "(if (local.get 0) (then (drop (local.get 0))))"),
        ("br_if", "(block (br_if 0 (local.get 0)))"),
        ("call", "(call 0 (local.get 0))"),
        (
            "i64 math",
            "(drop (i64.mul (i64.extend_i32_u (local.get 0)) (i64.const 3)))",
        ),
    ];
    for (name, piece) in shapes {
        for (f, n) in [(50, 2_000), (1, 20_000)] {
            let body = piece.repeat(n);
            let funcs = format!("(func (param i32) {body})").repeat(f);
            let module = wat::parse_str(format!("(module {funcs})")).unwrap();
            let ops = count_ops(&module);
            let (cpu, r) = compile_cpu(&server, &mut peer, module).await;
            eprintln!(
                "{name}: {f} x {n}: {ops} ops, {cpu:.2} s, {:.2} us/op {}",
                cpu * 1e6 / ops as f64,
                r.is_ok()
            );
        }
    }
    if std::env::var("MEASURE_SHAPES_ONLY").is_ok() {
        return;
    }
    for n in [4_000, 8_000, 16_000, 32_000] {
        let (cpu, r) = compile_cpu(&server, &mut peer, blocks(n)).await;
        eprintln!("{n} blocks ({} ops): {cpu:.2} s {}", n * 4, r.is_ok());
    }
    for n in [5_000, 10_000, 20_000] {
        let (cpu, r) = compile_cpu(&server, &mut peer, nested(n)).await;
        eprintln!("{n} nested blocks: {cpu:.2} s {}", r.is_ok());
    }
    for n in [30_000, 100_000, 1_000_000] {
        let (cpu, r) = compile_cpu(&server, &mut peer, br_table(n)).await;
        eprintln!("br_table of {n}: {cpu:.2} s {}", r.is_ok());
    }
    for (n, u) in [(10_000, 10_000), (50_000, 1_000), (1_000, 20_000)] {
        let (cpu, r) = compile_cpu(&server, &mut peer, locals(n, u)).await;
        eprintln!("{n} locals, {u} uses: {cpu:.2} s {r:?}");
    }
    for (f, n) in [(100, 2_500), (1_000, 250), (10_000, 25)] {
        let (cpu, r) = compile_cpu(&server, &mut peer, many_functions(f, n)).await;
        eprintln!("{f} functions of {n} blocks: {cpu:.2} s {}", r.is_ok());
    }
}

/// Operators in every function of `module`.
fn count_ops(module: &[u8]) -> u64 {
    let mut n = 0;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
            let mut ops = body.get_operators_reader().unwrap();
            while !ops.eof() {
                ops.read().unwrap();
                n += 1;
            }
        }
    }
    n
}
