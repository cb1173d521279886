//! What the server has done, for Prometheus: one registry per process of
//! counters and gauges (prefix `sandcall_`), counted by one-line hooks where
//! things happen, plus what the runtimes already keep (the module caches,
//! the guest memory held), read when scraped. [`crate::http`] serves it.
//!
//! One process runs one server, so the counters live in a process-wide
//! registry ([`get`]), as Prometheus clients usually do; servers embedded
//! side by side in one process share them.

use crate::runtime::Runtimes;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sandcall_protocol::{ErrorKind, RemoteError, Response};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// A request's kind and how it ended (`ok` or the error kind's name).
type KindOutcome = [(&'static str, &'static str); 2];

/// Every series the server exports.
pub struct Metrics {
    registry: Registry,
    connections_open: Gauge,
    connections: Counter,
    refused: Family<[(&'static str, &'static str); 1], Counter>,
    auth_failures: Counter,
    requests: Family<KindOutcome, Counter>,
    call_seconds: Histogram,
    fuel: Counter,
    guest_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    instances: Gauge,
    // Copied from the runtimes when scraped.
    cache_hits: Counter,
    cache_misses: Counter,
    guest_memory: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("sandcall");
        let m = Metrics {
            registry: Registry::default(),
            connections_open: Gauge::default(),
            connections: Counter::default(),
            refused: Family::default(),
            auth_failures: Counter::default(),
            requests: Family::default(),
            // 100 µs to ~100 s.
            call_seconds: Histogram::new(exponential_buckets(1e-4, 4.0, 11)),
            fuel: Counter::default(),
            guest_seconds: Counter::default(),
            cpu_seconds: Counter::default(),
            instances: Gauge::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            guest_memory: Gauge::default(),
        };
        let r = &mut registry;
        r.register(
            "connections_open",
            "Connections open now",
            m.connections_open.clone(),
        );
        r.register("connections", "Connections accepted", m.connections.clone());
        r.register(
            "connections_refused",
            "Connections refused in the handshake, by error kind",
            m.refused.clone(),
        );
        r.register(
            "authentication_failures",
            "Handshakes refused for a missing or unknown token or certificate",
            m.auth_failures.clone(),
        );
        r.register(
            "requests",
            "Requests answered, by kind and outcome (ok or the error kind)",
            m.requests.clone(),
        );
        r.register(
            "call_duration_seconds",
            "Time to answer an eval, as the server sees it",
            m.call_seconds.clone(),
        );
        r.register("fuel_used", "Fuel used by evals", m.fuel.clone());
        r.register(
            "guest_seconds",
            "Wall-clock time spent inside guest calls",
            m.guest_seconds.clone(),
        );
        r.register(
            "guest_cpu_seconds",
            "CPU time used by guest calls (where the session meters it)",
            m.cpu_seconds.clone(),
        );
        r.register("instances_live", "Instances alive", m.instances.clone());
        r.register(
            "cache_hits",
            "Uploads found already compiled",
            m.cache_hits.clone(),
        );
        r.register("cache_misses", "Uploads compiled", m.cache_misses.clone());
        r.register(
            "guest_memory_bytes",
            "Linear memory and tables reserved by sandboxed guests",
            m.guest_memory.clone(),
        );
        Metrics { registry, ..m }
    }

    /// A connection was accepted; it counts as open until the guard drops.
    pub fn connection(&'static self) -> OpenConnection {
        self.connections.inc();
        self.connections_open.inc();
        OpenConnection(self)
    }

    /// A handshake was refused with `kind`.
    pub fn refused(&self, kind: ErrorKind) {
        self.refused.get_or_create(&[("kind", kind.name())]).inc();
        if kind == ErrorKind::Unauthenticated {
            self.auth_failures.inc();
        }
    }

    /// A request of `kind` was answered with `reply` after `took`.
    pub fn answered(
        &self,
        kind: &'static str,
        reply: &Result<Response, RemoteError>,
        took: Duration,
    ) {
        let outcome = match reply {
            Ok(_) => "ok",
            Err(e) => e.kind.name(),
        };
        self.requests
            .get_or_create(&[("kind", kind), ("outcome", outcome)])
            .inc();
        if kind == "eval" {
            self.call_seconds.observe(took.as_secs_f64());
        }
        if let Ok(Response::Evaluated(result)) = reply {
            self.fuel.inc_by(result.fuel_used);
            self.guest_seconds.inc_by(result.guest_ns as f64 / 1e9);
            self.cpu_seconds.inc_by(result.cpu_ns as f64 / 1e9);
        }
    }

    /// The text exposition, with the runtimes' own figures read now.
    pub fn render(&self, runtimes: &Runtimes) -> String {
        let cache = runtimes.cache_stats();
        self.cache_hits.inner().store(cache.hits, RELAXED);
        self.cache_misses.inner().store(cache.misses, RELAXED);
        let held = runtimes.sandboxed.memory_held();
        self.guest_memory
            .set(i64::try_from(held).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

const RELAXED: std::sync::atomic::Ordering = std::sync::atomic::Ordering::Relaxed;

/// Time `handling`, a request of `kind`, and count its answer.
pub async fn counted(
    kind: &'static str,
    handling: impl Future<Output = Result<Response, RemoteError>>,
) -> Result<Response, RemoteError> {
    let started = Instant::now();
    let reply = handling.await;
    get().answered(kind, &reply, started.elapsed());
    reply
}

/// An open connection, counted in `sandcall_connections_open` until dropped.
pub struct OpenConnection(&'static Metrics);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_open.dec();
    }
}

/// A live instance, counted in `sandcall_instances_live` until dropped.
pub struct LiveInstance(());

impl LiveInstance {
    /// Count one more live instance.
    pub fn new() -> Self {
        get().instances.inc();
        LiveInstance(())
    }
}

impl Default for LiveInstance {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LiveInstance {
    fn drop(&mut self) {
        get().instances.dec();
    }
}
