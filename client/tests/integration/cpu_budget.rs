//! CPU-time budgets, the default sandbox: a spinning guest stops once it
//! has used its budget of its own CPU time, alone or while other guests
//! keep both cores busy (its wall time is then longer); a guest that
//! finishes within its budget is never stopped; fuel stays on offer.

use crate::common::{TOOLS, connect, connect_fuel, server};
use sandcall::{Connection, ErrorKind, Eval, Value};
use std::time::{Duration, Instant};

/// Counts down from its argument: ~1 ns of CPU per step, no fuel checks.
const COUNT: &str = r#"
(module
  (func (export "count") (param $n i64) (result i64) (local $acc i64)
    (block $end (loop $next
      local.get $n i64.eqz br_if $end
      local.get $acc local.get $n i64.xor i64.const 3 i64.mul local.set $acc
      local.get $n i64.const 1 i64.sub local.set $n
      br $next))
    local.get $acc))
"#;

fn spin(cpu_ms: Option<u64>, deadline_ms: u64) -> Eval {
    Eval {
        name: "t".into(),
        export: "spin".into(),
        args: vec![],
        fuel: None,
        deadline_ms: Some(deadline_ms),
        cpu_ms,
    }
}

/// The CPU time the server says a stopped guest used, in ms, read from the
/// error's message ("the guest used 101.3 ms of CPU time, …").
fn cpu_used_ms(message: &str) -> f64 {
    let rest = message
        .split("the guest used ")
        .nth(1)
        .unwrap_or_else(|| panic!("no CPU time in {message:?}"));
    rest.split(" ms").next().unwrap().parse().unwrap()
}

/// Spin under a 100 ms budget: (CPU ms the server charged, wall time).
async fn spin_100_ms(conn: &mut Connection) -> (f64, Duration) {
    let started = Instant::now();
    let e = conn.eval_with(spin(Some(100), 60_000)).await.unwrap_err();
    let wall = started.elapsed();
    assert_eq!(e.kind(), Some(ErrorKind::CpuTimeExceeded), "{e}");
    (cpu_used_ms(&e.to_string()), wall)
}

/// The budget is checked at every epoch tick (2 ms of wall time, so at most
/// 2 ms of the guest's CPU), plus what the stop itself costs. 110 ms holds
/// on a quiet machine; on the shared 2-core CI machine, with other test
/// binaries running, the epoch ticker thread can wake late, so the bound
/// asserted is 120 ms (the figures measured are printed).
const MOST_MS: f64 = 120.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_guest_stops_at_its_cpu_budget_alone_and_among_busy_guests() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let (alone, alone_wall) = spin_100_ms(&mut conn).await;
    eprintln!("alone: {alone:.1} ms of CPU in {alone_wall:?}");
    assert!((100.0..=MOST_MS).contains(&alone), "charged {alone} ms");
    assert!(alone_wall.as_secs_f64() * 1e3 >= alone - 1.0);

    // Two more guests spin meanwhile, on their own connections: with the
    // measured one that is three guests on two cores.
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut other = connect(&server).await;
        other.execute("t", TOOLS).await.unwrap();
        busy.push(tokio::spawn(async move {
            other
                .eval_with(spin(Some(60_000), 2_500))
                .await
                .unwrap_err()
        }));
    }
    // Let them start (not a timing assertion: they run either way).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (crowded, crowded_wall) = spin_100_ms(&mut conn).await;
    eprintln!("among two spinners: {crowded:.1} ms of CPU in {crowded_wall:?}");
    assert!((100.0..=MOST_MS).contains(&crowded), "charged {crowded} ms");
    assert!(crowded_wall.as_secs_f64() * 1e3 >= crowded - 1.0);
    for other in busy {
        let e = other.await.unwrap();
        // The spinners end at their deadline: wall time, not CPU time.
        assert_eq!(e.kind(), Some(ErrorKind::DeadlineExceeded), "{e}");
    }
    // The instance still works after its guest was stopped.
    assert_eq!(
        conn.eval("t", "bump", &[]).await.unwrap(),
        vec![Value::I32(11)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_that_finish_within_their_budget_are_never_stopped() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("c", COUNT).await.unwrap();
    // Find a count that takes 20-40 ms of CPU time.
    let mut steps = 1_000_000i64;
    let mut used = 0;
    while used < 20_000_000 {
        steps *= 2;
        let answer = conn
            .call("c", "count", vec![Value::I64(steps)])
            .await
            .unwrap();
        used = answer.cpu_ns;
        assert!(steps < 1 << 40, "never reached 20 ms: {used} ns");
    }
    // Two spinners keep both cores busy while the count runs again and
    // again under a budget of 100 ms, 2.5× what it needs.
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut other = connect(&server).await;
        other.execute("t", TOOLS).await.unwrap();
        busy.push(tokio::spawn(async move {
            other
                .eval_with(spin(Some(60_000), 1_500))
                .await
                .unwrap_err()
        }));
    }
    let mut most = 0;
    for _ in 0..10 {
        let answer = conn
            .eval_with(Eval {
                name: "c".into(),
                export: "count".into(),
                args: vec![Value::I64(steps)],
                fuel: None,
                deadline_ms: Some(60_000),
                cpu_ms: Some(100),
            })
            .await
            .unwrap();
        assert_eq!(answer.fuel_used, 0);
        most = most.max(answer.cpu_ns);
    }
    eprintln!("{steps} steps: {used} ns alone, at most {most} ns among spinners");
    assert!(most < 100_000_000);
    for other in busy {
        other.await.unwrap();
    }
}

#[tokio::test]
async fn fuel_stays_on_offer_and_is_deterministic() {
    let server = server().await;
    let mut conn = connect_fuel(&server).await;
    let limits = &conn.server_info().limits;
    assert_eq!(limits.metering, Some(sandcall::Metering::Fuel));
    assert!(limits.default_fuel.is_some() && limits.default_cpu_ms.is_none());
    conn.execute("c", COUNT).await.unwrap();
    let mut used = Vec::new();
    for _ in 0..2 {
        let answer = conn
            .call("c", "count", vec![Value::I64(10_000)])
            .await
            .unwrap();
        assert_eq!(answer.cpu_ns, 0, "fuel sessions are not charged CPU time");
        used.push(answer.fuel_used);
    }
    assert!(used[0] > 10_000 && used[0] == used[1], "{used:?}");
    // CPU time is refused in a session metered by fuel.
    let e = conn
        .eval_with(Eval {
            name: "c".into(),
            export: "count".into(),
            args: vec![Value::I64(1)],
            fuel: None,
            deadline_ms: None,
            cpu_ms: Some(10),
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::BadRequest), "{e}");
    // The default session meters CPU time.
    let cpu = connect(&server).await;
    let limits = &cpu.server_info().limits;
    assert_eq!(limits.metering, Some(sandcall::Metering::Cpu));
    assert!(limits.default_fuel.is_none() && limits.default_cpu_ms.is_some());
}
