//! One `map` under way: the work queue its sessions share, and one
//! session's run (pipelining, answers, requeueing what a dead connection
//! had in flight, reopening the session on another member).

use super::{ClusterError, MemberStats, Slot};
use crate::connection::{ConnectOptions, Connection};
use crate::error::ClientError;
use sandcall_protocol::{Request, Response, Value};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use tokio::sync::Notify;

/// The shared state of one `map`.
pub(super) struct Work {
    /// Inputs not sent yet, then inputs to send again (each with the member
    /// that lost it).
    pub(super) fresh: RefCell<VecDeque<usize>>,
    pub(super) retry: RefCell<VecDeque<(usize, usize)>>,
    pub(super) attempts: RefCell<Vec<u32>>,
    pub(super) results: RefCell<Vec<Option<Vec<Value>>>>,
    pub(super) remaining: Cell<usize>,
    pub(super) failed: RefCell<Option<ClusterError>>,
    /// Open sessions per member.
    pub(super) sessions: RefCell<Vec<usize>>,
    /// Wakes sessions waiting for work when calls are requeued or all is done.
    pub(super) changed: Notify,
}

/// What every session's run of a `map` reads.
pub(super) struct Shared<'a> {
    pub(super) addresses: &'a [String],
    pub(super) options: &'a ConnectOptions,
    pub(super) stats: &'a RefCell<Vec<MemberStats>>,
    pub(super) log: &'a [(String, Vec<u8>)],
    pub(super) max_retries: u32,
    pub(super) depth: usize,
}

impl Shared<'_> {
    /// One session's part of a `map`: keep `depth` calls in flight until
    /// nothing is left, reopening the session elsewhere when it dies.
    pub(super) async fn run(&self, slot: &mut Slot, work: &Work, call: &impl Fn(usize) -> Request) {
        let mut in_flight: VecDeque<(u64, usize)> = VecDeque::new();
        loop {
            let stopping = work.failed.borrow().is_some();
            if (stopping || work.remaining.get() == 0) && in_flight.is_empty() {
                return;
            }
            let Some(conn) = slot.conn.as_mut() else {
                if !self.reopen(slot, work).await {
                    return;
                }
                continue;
            };
            let mut broken = None;
            while !stopping && in_flight.len() < self.depth {
                let Some(index) = self.next(slot.member, work) else {
                    break;
                };
                match conn.send(&call(index)).await {
                    Ok(id) => in_flight.push_back((id, index)),
                    // Too large for a frame: no session will take it.
                    Err(source @ ClientError::RequestTooLarge { .. }) => {
                        let address = self.addresses[slot.member].clone();
                        let error = ClusterError::Call {
                            index,
                            address,
                            source,
                        };
                        self.fail(work, error);
                        break;
                    }
                    Err(e) => {
                        in_flight.push_back((0, index));
                        broken = Some(e);
                        break;
                    }
                }
            }
            if broken.is_none() && in_flight.is_empty() {
                // Nothing to send now; calls in flight elsewhere may come back.
                let changed = work.changed.notified();
                if work.remaining.get() == 0 || work.failed.borrow().is_some() {
                    return;
                }
                changed.await;
                continue;
            }
            if broken.is_none()
                && let Err(e) = conn.flush().await
            {
                broken = Some(e);
            }
            if broken.is_none() {
                match conn.recv().await {
                    Ok((id, reply)) => {
                        let Some(at) = in_flight.iter().position(|(i, _)| *i == id) else {
                            continue;
                        };
                        let (_, index) = in_flight.remove(at).unwrap_or_default();
                        self.answered(slot.member, work, index, reply);
                        continue;
                    }
                    Err(e) => broken = Some(e),
                }
            }
            // The connection died: its calls go back to the queue.
            let e = broken.map_or_else(String::new, |e| e.to_string());
            self.lost(slot.member, work, in_flight.drain(..).map(|(_, i)| i), &e);
            slot.conn = None;
        }
    }

    /// The next input for a session on `member`: a call to send again that
    /// another member lost (or any, when no other member is alive), else a
    /// fresh one.
    fn next(&self, member: usize, work: &Work) -> Option<usize> {
        let mut retry = work.retry.borrow_mut();
        let others_alive = {
            let sessions = work.sessions.borrow();
            sessions
                .iter()
                .enumerate()
                .any(|(m, &n)| m != member && n > 0)
        };
        if let Some(at) = retry
            .iter()
            .position(|&(_, lost_on)| lost_on != member || !others_alive)
        {
            return retry.remove(at).map(|(index, _)| index);
        }
        work.fresh.borrow_mut().pop_front()
    }

    fn answered(
        &self,
        member: usize,
        work: &Work,
        index: usize,
        reply: Result<Response, sandcall_protocol::RemoteError>,
    ) {
        match reply {
            Ok(Response::Evaluated(result)) => {
                let mut stats = self.stats.borrow_mut();
                stats[member].calls += 1;
                if work.attempts.borrow()[index] > 0 {
                    stats[member].retries += 1;
                }
                work.results.borrow_mut()[index] = Some(result.results);
                work.remaining.set(work.remaining.get() - 1);
                if work.remaining.get() == 0 {
                    work.changed.notify_waiters();
                }
            }
            // A server stopping answers what it cannot finish so: the
            // call goes elsewhere, like one whose connection died.
            Err(e) if e.kind == sandcall_protocol::ErrorKind::ShuttingDown => {
                self.stats.borrow_mut()[member].lost += 1;
                self.requeue(member, work, index, &e.to_string());
            }
            other => {
                let source = match other {
                    Err(e) => ClientError::Remote(e),
                    Ok(r) => ClientError::Protocol(format!("unexpected answer {r:?}")),
                };
                self.fail(
                    work,
                    ClusterError::Call {
                        index,
                        address: self.addresses[member].clone(),
                        source,
                    },
                );
            }
        }
    }

    /// Put the call of `index`, lost on `member`, back in the queue, unless
    /// it was tried too often.
    fn requeue(&self, member: usize, work: &Work, index: usize, why: &str) {
        let attempts = {
            let mut attempts = work.attempts.borrow_mut();
            attempts[index] += 1;
            attempts[index]
        };
        if attempts > self.max_retries {
            let last = why.to_string();
            self.fail(
                work,
                ClusterError::Exhausted {
                    index,
                    attempts,
                    last,
                },
            );
        } else {
            work.retry.borrow_mut().push_back((index, member));
        }
        work.changed.notify_waiters();
    }

    /// Put the calls a dead connection on `member` held back in the queue.
    fn lost(&self, member: usize, work: &Work, indices: impl Iterator<Item = usize>, why: &str) {
        let mut count = 0;
        for index in indices {
            count += 1;
            self.requeue(member, work, index, why);
        }
        let mut stats = self.stats.borrow_mut();
        stats[member].lost += count;
        stats[member].alive = false;
        drop(stats);
        work.sessions.borrow_mut()[member] -= 1;
        tracing::warn!(
            address = self.addresses[member],
            calls = count,
            "a cluster session died: {why}"
        );
        work.changed.notify_waiters();
    }

    fn fail(&self, work: &Work, error: ClusterError) {
        work.failed.borrow_mut().get_or_insert(error);
        work.changed.notify_waiters();
    }

    /// Open a fresh session for `slot`, trying the members after its own
    /// first (its own last), and replay the logged `execute`s there. False
    /// when no member answers, or one refuses the replay (then the map
    /// fails).
    async fn reopen(&self, slot: &mut Slot, work: &Work) -> bool {
        let n = self.addresses.len();
        let mut last = String::new();
        for step in 1..=n {
            let member = (slot.member + step) % n;
            let address = &self.addresses[member];
            let mut conn = match Connection::open(address, self.options.clone()).await {
                Ok(conn) => conn,
                Err(e) => {
                    self.stats.borrow_mut()[member].alive = false;
                    last = e.to_string();
                    continue;
                }
            };
            for (name, module) in self.log {
                if let Err(source) = conn.execute(name, module.clone()).await {
                    let refused = ClusterError::Refused {
                        address: address.clone(),
                        name: name.clone(),
                        source,
                    };
                    self.fail(work, refused);
                    return false;
                }
            }
            let mut stats = self.stats.borrow_mut();
            stats[member].reopened += 1;
            stats[member].alive = true;
            work.sessions.borrow_mut()[member] += 1;
            slot.conn = Some(conn);
            slot.member = member;
            return true;
        }
        // This session is gone; fail the map only if it was the last one.
        tracing::warn!("a cluster session found no member to reopen on: {last}");
        if work.sessions.borrow().iter().all(|&n| n == 0) {
            self.fail(work, ClusterError::Unreachable { last });
        }
        work.changed.notify_waiters();
        false
    }
}
