//! Many sessions as one: scatter/gather over several servers, or over one
//! load balancer opened several times, with failover.
//!
//! A [`Cluster`] holds `per_member` sessions ([`Connection`]s) to each
//! address. [`Cluster::execute`] uploads a module to every session (each
//! server compiles it once: its cache is keyed by the module's hash) and
//! keeps it in a replay log. [`Cluster::map`] calls one export once per
//! input, spreading the calls over the sessions, each pipelining a few
//! ([`Cluster::depth`]), and returns the results in input order.
//!
//! # Failover
//! When a session's connection dies (the server was killed, a balancer
//! dropped it), the calls it had in flight go back to the queue and are
//! sent again, preferably through a session on another member; the session
//! itself is reopened on the next member that answers, which first gets the
//! logged `execute`s replayed. A call is tried at most
//! `1 + `[`Cluster::max_retries`] times. An answer that is an error (a trap,
//! a limit, a module the server refuses) is not retried: it is the answer.
//!
//! # State is per member
//! Every session has its own namespace: a call that changes an instance's
//! state (a global, its memory) changes it in one session only, and a
//! session reopened after a failure starts from the replayed `execute`s
//! alone. `map` suits pure functions; use [`Cluster::sessions`] to reach
//! each session for anything else.

use crate::connection::{ConnectOptions, Connection};
use crate::error::ClientError;
use sandcall_protocol::{Eval, Request, Value};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use tokio::sync::Notify;

mod run;
use run::{Shared, Work};

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// No address was given, or `per_member` was 0.
    #[error("a cluster needs at least one address and one session per address")]
    Empty,
    /// A member could not be reached or refused the handshake at the start.
    #[error("cannot open a session on {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: ClientError,
    },
    /// A member refused a request every member must accept (an `execute`,
    /// also when replayed): not retried elsewhere.
    #[error("{address} refused `execute` of {name:?}: {source}")]
    Refused {
        address: String,
        name: String,
        #[source]
        source: ClientError,
    },
    /// The call of input `index` was answered with an error.
    #[error("call {index} failed on {address}: {source}")]
    Call {
        index: usize,
        address: String,
        #[source]
        source: ClientError,
    },
    /// The call of input `index` lost its connection `attempts` times.
    #[error("call {index} lost its connection {attempts} times (the last: {last})")]
    Exhausted {
        index: usize,
        attempts: u32,
        last: String,
    },
    /// Every session was lost and no member could be reached again.
    #[error("every member of the cluster is unreachable (the last error: {last})")]
    Unreachable { last: String },
}

/// What one member (address) has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberStats {
    pub address: String,
    /// Calls answered by it.
    pub calls: u64,
    /// Of those, calls that had lost a connection before (failovers).
    pub retries: u64,
    /// Calls in flight on its sessions when their connection died.
    pub lost: u64,
    /// Sessions opened on it after the start (reconnects, failovers).
    pub reopened: u64,
    /// Whether its last session attempt worked.
    pub alive: bool,
}

/// One session and the member it is on.
struct Slot {
    conn: Option<Connection>,
    member: usize,
}

/// Sessions on several servers, used as one. See the module docs.
pub struct Cluster {
    addresses: Vec<String>,
    options: ConnectOptions,
    slots: Vec<Slot>,
    stats: RefCell<Vec<MemberStats>>,
    /// Every successful `execute`, replayed on a reopened session.
    log: Vec<(String, Vec<u8>)>,
    /// Times a call may be sent again after losing its connection.
    pub max_retries: u32,
    /// Calls each session keeps in flight.
    pub depth: usize,
    /// CPU time (ms), fuel and deadline (ms) of each `map` call (`None`:
    /// the server's default; fuel only in sessions metered by fuel).
    pub cpu_ms: Option<u64>,
    pub fuel: Option<u64>,
    pub deadline_ms: Option<u64>,
}

impl Cluster {
    /// Open `per_member` sessions on each of `addresses` (`HOST:PORT`, or
    /// `sandcalls://` for TLS) with default options.
    ///
    /// # Errors
    /// [`ClusterError::Connect`] when a member cannot be reached.
    pub async fn connect(
        addresses: &[impl AsRef<str>],
        per_member: usize,
    ) -> Result<Self, ClusterError> {
        Self::connect_with(addresses, per_member, ConnectOptions::default()).await
    }

    /// As [`Cluster::connect`], with `options` for every session.
    ///
    /// # Errors
    /// As [`Cluster::connect`].
    pub async fn connect_with(
        addresses: &[impl AsRef<str>],
        per_member: usize,
        options: ConnectOptions,
    ) -> Result<Self, ClusterError> {
        if addresses.is_empty() || per_member == 0 {
            return Err(ClusterError::Empty);
        }
        let addresses: Vec<String> = addresses.iter().map(|a| a.as_ref().to_string()).collect();
        let mut slots = Vec::new();
        for (member, address) in addresses.iter().enumerate() {
            for _ in 0..per_member {
                let conn = Connection::open(address, options.clone())
                    .await
                    .map_err(|source| ClusterError::Connect {
                        address: address.clone(),
                        source,
                    })?;
                slots.push(Slot {
                    conn: Some(conn),
                    member,
                });
            }
        }
        let stats = addresses
            .iter()
            .map(|address| MemberStats {
                address: address.clone(),
                alive: true,
                ..MemberStats::default()
            })
            .collect();
        Ok(Cluster {
            addresses,
            options,
            slots,
            stats: RefCell::new(stats),
            log: Vec::new(),
            max_retries: 3,
            depth: 2,
            fuel: None,
            cpu_ms: None,
            deadline_ms: None,
        })
    }

    /// What each member has done so far, in the order of the addresses.
    pub fn stats(&self) -> Vec<MemberStats> {
        self.stats.borrow().clone()
    }

    /// Every open session, with the address it is on: for calls that must
    /// reach each session (state is per member).
    pub fn sessions(&mut self) -> impl Iterator<Item = (&str, &mut Connection)> {
        let addresses = &self.addresses;
        self.slots
            .iter_mut()
            .filter_map(|s| Some((addresses[s.member].as_str(), s.conn.as_mut()?)))
    }

    /// Upload `module` as `name` to every session, and log it for sessions
    /// opened later.
    ///
    /// # Errors
    /// [`ClusterError::Refused`] naming the first member that refused it
    /// (or whose connection failed meanwhile).
    pub async fn execute(
        &mut self,
        name: &str,
        module: impl Into<Vec<u8>>,
    ) -> Result<(), ClusterError> {
        let module = module.into();
        for slot in &mut self.slots {
            if let Some(conn) = &mut slot.conn {
                conn.execute(name, module.clone()).await.map_err(|source| {
                    ClusterError::Refused {
                        address: self.addresses[slot.member].clone(),
                        name: name.to_string(),
                        source,
                    }
                })?;
            }
        }
        self.log.push((name.to_string(), module));
        Ok(())
    }

    /// Call `export` of instance `name` once per input (each input is the
    /// call's arguments), spread over the sessions, and return the results
    /// in the order of `inputs`. Calls whose connection dies are sent again
    /// (see the module docs).
    ///
    /// # Errors
    /// The first call answered with an error ([`ClusterError::Call`]), a
    /// call that lost its connection too often, a member refusing the
    /// replayed modules, or every member unreachable. Calls in flight are
    /// answered (and dropped) first, so the sessions stay usable.
    pub async fn map(
        &mut self,
        name: &str,
        export: &str,
        inputs: impl IntoIterator<Item = Vec<Value>>,
    ) -> Result<Vec<Vec<Value>>, ClusterError> {
        let inputs: Vec<Vec<Value>> = inputs.into_iter().collect();
        let n = inputs.len();
        let work = Work {
            fresh: RefCell::new((0..n).collect()),
            retry: RefCell::new(VecDeque::new()),
            attempts: RefCell::new(vec![0; n]),
            results: RefCell::new(vec![None; n]),
            remaining: Cell::new(n),
            failed: RefCell::new(None),
            sessions: RefCell::new(vec![0; self.addresses.len()]),
            changed: Notify::new(),
        };
        for slot in self.slots.iter().filter(|s| s.conn.is_some()) {
            work.sessions.borrow_mut()[slot.member] += 1;
        }
        let call = |index: usize| {
            Request::Eval(Eval {
                name: name.to_string(),
                export: export.to_string(),
                args: inputs[index].clone(),
                fuel: self.fuel,
                deadline_ms: self.deadline_ms,
                cpu_ms: self.cpu_ms,
            })
        };
        let shared = Shared {
            addresses: &self.addresses,
            options: &self.options,
            stats: &self.stats,
            log: &self.log,
            max_retries: self.max_retries,
            depth: self.depth.max(1),
        };
        let runs = self
            .slots
            .iter_mut()
            .map(|slot| shared.run(slot, &work, &call));
        futures_util::future::join_all(runs).await;
        if let Some(e) = work.failed.into_inner() {
            return Err(e);
        }
        let results = work.results.into_inner();
        if results.iter().any(Option::is_none) {
            return Err(ClusterError::Unreachable {
                last: "no session left to send the remaining calls".into(),
            });
        }
        Ok(results.into_iter().flatten().collect())
    }
}
