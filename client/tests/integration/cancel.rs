//! Cancelling a call in flight: by request id, or by dropping its future.
//!
//! CPU is measured with this thread's CPU clock: a `#[tokio::test]` runs
//! on one thread, and the embedded server, its guests (wasmtime fibers)
//! and the client all run on it, while the tests beside this one run on
//! threads of their own. A spinning guest shows as one busy core; a
//! stopped one as almost nothing.

use crate::common::{TOOLS, connect, server, server_with};
use sandcall::{CancelOutcome, ClientError, ErrorKind, Eval, Request, Response, Value};
use sandcall_server::LimitConfig;
use std::collections::HashMap;
use std::time::Duration;

/// The window over which CPU is measured.
const WINDOW: Duration = Duration::from_millis(300);

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU this thread uses over [`WINDOW`] of waiting (the server's guests
/// run on it meanwhile).
async fn cpu_over_window() -> Duration {
    let before = thread_cpu();
    tokio::time::sleep(WINDOW).await;
    thread_cpu() - before
}

/// A call of the endless loop: all the fuel and time a call may have.
fn spin() -> Request {
    Request::Eval(Eval {
        name: "t".into(),
        export: "spin".into(),
        args: vec![],
        fuel: None,
        deadline_ms: Some(60_000),
        cpu_ms: Some(60_000),
    })
}

fn bump() -> Request {
    Request::Eval(Eval {
        name: "t".into(),
        export: "bump".into(),
        args: vec![],
        fuel: None,
        deadline_ms: None,
        cpu_ms: None,
    })
}

/// Receive `n` answers, by request id.
async fn answers(
    conn: &mut sandcall::Connection,
    n: usize,
) -> (Vec<u64>, HashMap<u64, sandcall::Reply>) {
    let mut order = Vec::new();
    let mut replies = HashMap::new();
    for _ in 0..n {
        let (id, reply) = tokio::time::timeout(Duration::from_secs(20), conn.recv())
            .await
            .expect("answered in time")
            .unwrap();
        order.push(id);
        replies.insert(id, reply);
    }
    (order, replies)
}

#[tokio::test]
async fn a_cancelled_spinning_call_stops_within_a_tick_and_the_session_goes_on() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let id = conn.send(&spin()).await.unwrap();
    conn.flush().await.unwrap();
    let spinning = cpu_over_window().await;
    let cancel = conn.cancel(id).await.unwrap();
    let (_, mut replies) = answers(&mut conn, 2).await;
    let idle = cpu_over_window().await;
    eprintln!("thread CPU over {WINDOW:?}: {spinning:?} spinning, {idle:?} after the cancel");
    assert_eq!(
        replies.remove(&cancel).unwrap().unwrap(),
        Response::Cancel(CancelOutcome::Running)
    );
    let e = replies.remove(&id).unwrap().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled, "{e}");
    assert_eq!(e.kind.name(), "cancelled");
    // Stopped: next to nothing. The measurement can tell: the spinning
    // guest kept the thread busy whenever the (shared, loaded) machine let
    // it run.
    assert!(idle < WINDOW / 30, "after the cancel: {idle:?}");
    assert!(spinning > idle * 10, "spinning used only {spinning:?}");
    // A core instance keeps its state and answers.
    assert_eq!(
        conn.eval("t", "bump", &[]).await.unwrap(),
        vec![Value::I32(11)]
    );
}

#[tokio::test]
async fn cancelling_a_call_that_finished_gets_a_clear_answer() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let id = conn.send(&bump()).await.unwrap();
    conn.flush().await.unwrap();
    let (got, reply) = conn.recv().await.unwrap();
    assert_eq!(got, id);
    assert!(matches!(reply, Ok(Response::Evaluated(_))), "{reply:?}");
    for target in [id, 999_999] {
        let cancel = conn.cancel(target).await.unwrap();
        let (got, reply) = conn.recv().await.unwrap();
        assert_eq!(got, cancel);
        assert_eq!(reply.unwrap(), Response::Cancel(CancelOutcome::NotFound));
    }
    // Nothing was undone, and the session goes on.
    assert_eq!(
        conn.eval("t", "bump", &[]).await.unwrap(),
        vec![Value::I32(12)]
    );
}

#[tokio::test]
async fn dropping_a_call_future_cancels_it_and_the_connection_goes_on() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let Request::Eval(spin) = spin() else {
        unreachable!()
    };
    tokio::select! {
        done = conn.eval_with(spin) => panic!("the endless loop ended: {done:?}"),
        () = tokio::time::sleep(Duration::from_millis(200)) => {}
    }
    // The guest spins on until the next use of the connection sends the cancel.
    let spinning = cpu_over_window().await;
    assert_eq!(
        conn.eval("t", "bump", &[]).await.unwrap(),
        vec![Value::I32(11)]
    );
    let idle = cpu_over_window().await;
    eprintln!("thread CPU over {WINDOW:?}: {spinning:?} abandoned, {idle:?} after the next call");
    assert!(idle < WINDOW / 30, "after the next call: {idle:?}");
    assert!(spinning > idle * 10, "spinning used only {spinning:?}");
    // Nothing is left over: every later answer is the right one.
    for expected in 12..15 {
        assert_eq!(
            conn.eval("t", "bump", &[]).await.unwrap(),
            vec![Value::I32(expected)]
        );
    }
    assert_eq!(conn.namespace().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_client_that_leaves_mid_call_stops_its_guest() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    conn.send(&spin()).await.unwrap();
    conn.flush().await.unwrap();
    let spinning = cpu_over_window().await;
    drop(conn);
    // The server notices the close at its next read, within a tick.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let idle = cpu_over_window().await;
    eprintln!("thread CPU over {WINDOW:?}: {spinning:?} spinning, {idle:?} after the client left");
    assert!(idle < WINDOW / 30, "after the client left: {idle:?}");
    assert!(spinning > idle * 10, "spinning used only {spinning:?}");
    let mut other = connect(&server).await;
    other.info().await.unwrap();
}

#[tokio::test]
async fn requests_pipelined_behind_a_cancelled_call_are_all_answered_in_order() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let running = conn.send(&spin()).await.unwrap();
    let waiting: Vec<u64> = [
        conn.send(&bump()).await.unwrap(),
        conn.send(&bump()).await.unwrap(),
        conn.send(&Request::Namespace).await.unwrap(),
        conn.send(&bump()).await.unwrap(),
    ]
    .into();
    conn.flush().await.unwrap();
    // A waiting request is withdrawn without running ...
    let withdraw = conn.cancel(waiting[1]).await.unwrap();
    // ... and the running one is stopped.
    let stop = conn.cancel(running).await.unwrap();
    let (order, mut replies) = answers(&mut conn, 7).await;
    assert_eq!(
        replies.remove(&withdraw).unwrap().unwrap(),
        Response::Cancel(CancelOutcome::Queued)
    );
    assert_eq!(
        replies.remove(&stop).unwrap().unwrap(),
        Response::Cancel(CancelOutcome::Running)
    );
    let e = replies.remove(&running).unwrap().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled, "{e}");
    let e = replies.remove(&waiting[1]).unwrap().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled, "{e}");
    assert!(e.message.contains("before it started"), "{e}");
    let value = |reply: sandcall::Reply| match reply.unwrap() {
        Response::Evaluated(r) => r.results,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        value(replies.remove(&waiting[0]).unwrap()),
        vec![Value::I32(11)]
    );
    assert!(matches!(
        replies.remove(&waiting[2]).unwrap().unwrap(),
        Response::Namespace(_)
    ));
    assert_eq!(
        value(replies.remove(&waiting[3]).unwrap()),
        vec![Value::I32(12)]
    );
    // The waiting requests ran in the order they were sent.
    let ran: Vec<u64> = order
        .iter()
        .copied()
        .filter(|id| [waiting[0], waiting[2], waiting[3]].contains(id))
        .collect();
    assert_eq!(ran, vec![waiting[0], waiting[2], waiting[3]]);
    assert!(replies.is_empty());
    assert_eq!(
        conn.eval("t", "bump", &[]).await.unwrap(),
        vec![Value::I32(13)]
    );
}

#[tokio::test]
async fn the_client_adopts_the_frame_limit_of_the_server_and_names_its_flag() {
    // A small limit: a larger request is refused before it is sent.
    let server = server_with(LimitConfig {
        frame_bytes: 256 << 10,
        ..LimitConfig::default()
    })
    .await;
    let mut conn = connect(&server).await;
    let e = conn.validate(vec![0u8; 300 << 10]).await.unwrap_err();
    assert!(matches!(e, ClientError::RequestTooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("--frame-bytes"), "{e}");
    assert!(e.to_string().contains("262144"), "{e}");
    conn.info()
        .await
        .expect("nothing was sent: the session goes on");

    // A large one: more than the client's old fixed 64 MiB gets through.
    let server = server_with(LimitConfig {
        frame_bytes: 80 << 20,
        ..LimitConfig::default()
    })
    .await;
    let mut conn = connect(&server).await;
    let e = conn.validate(vec![0u8; 65 << 20]).await.unwrap_err();
    // The server read it, and refused it by its module size.
    assert_eq!(e.kind(), Some(ErrorKind::ResourceLimit), "{e}");
    assert!(e.to_string().contains("module of"), "{e}");
}
