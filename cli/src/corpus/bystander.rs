//! A second client that keeps making trivial calls while an attack runs, to
//! show that one hostile guest does not stall everybody else.

use sandcall::{ClientError, ConnectOptions, Connection, Value};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A trivial module: `add(a, b)`.
const ADD: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
  local.get 0 local.get 1 i32.add))"#;

/// What the bystander saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Calls answered correctly.
    pub answered: u64,
    /// Calls answered while the attack was still running.
    pub during: u64,
    /// The slowest answer.
    pub slowest: Duration,
    /// The first error, if any call failed.
    pub error: Option<String>,
}

/// A sandboxed client on `addr`, calling until told to stop.
pub struct Bystander {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<Seen, ClientError>>,
}

impl Bystander {
    /// Connect, upload `add`, answer one call, then keep calling in the
    /// background.
    ///
    /// # Errors
    /// When it cannot connect or set up.
    pub async fn start(addr: &str) -> Result<Bystander, ClientError> {
        let mut conn = Connection::connect_with(addr, ConnectOptions::default()).await?;
        conn.execute("adder", ADD).await?;
        conn.eval("adder", "add", &[Value::I32(1), Value::I32(2)])
            .await?;
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut i = 0i32;
            loop {
                let start = Instant::now();
                let answer = conn
                    .eval("adder", "add", &[Value::I32(i), Value::I32(1)])
                    .await;
                let took = start.elapsed();
                match answer {
                    Ok(v) if v == [Value::I32(i.wrapping_add(1))] => {
                        seen.answered += 1;
                        seen.slowest = seen.slowest.max(took);
                        if stopped.try_recv() == Err(oneshot::error::TryRecvError::Empty) {
                            seen.during += 1;
                        } else {
                            return Ok(seen);
                        }
                    }
                    Ok(v) => {
                        seen.error = Some(format!("add({i}, 1) answered {v:?}"));
                        return Ok(seen);
                    }
                    Err(e) => {
                        seen.error = Some(e.to_string());
                        return Ok(seen);
                    }
                }
                i = i.wrapping_add(1);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        Ok(Bystander { stop, task })
    }

    /// Stop calling (after one more call) and say what was seen.
    ///
    /// # Errors
    /// When the bystander's task failed.
    pub async fn finish(self) -> Result<Seen, ClientError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(seen) => seen,
            Err(e) => Err(ClientError::Protocol(format!(
                "the bystander task failed: {e}"
            ))),
        }
    }
}
