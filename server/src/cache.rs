//! Compiled modules and components cached by the SHA-256 of the uploaded bytes and shared by
//! every connection: uploading the same bytes again does not recompile.
//!
//! Modules are always compiled here from the client's wasm or WAT; bytes from
//! a client are never deserialized as precompiled code. Compiling is bounded:
//! uploads are counted against [`CompileBounds`] first, at most `compiles` run
//! at once (the rest wait, and a wait whose client left is dropped), and a
//! compile whose client left is not kept.
//!
//! The cache is bounded in entries and in bytes. An entry is measured as its
//! upload's size (wasmtime keeps metadata and types in proportion to it), its
//! compiled image (`image_range`: code and data segments) and, for a
//! component, its described export types. Every compiled module alive counts,
//! in the cache or only in instances, once: the oldest entries are evicted
//! while the total is over the budget, so evicted code still in use leaves
//! less room to the cache and is never counted twice.

use crate::compile::CompileBounds;
use crate::component::ComponentCode;
use crate::linker::Linkers;
use crate::store::StoreData;
use crate::wasi::is_wasi_module;
use sandcall_protocol::{ErrorKind, RemoteError};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use wasmtime::component::Component;
use wasmtime::{Engine, InstancePre, Module};

/// Uploads up to this size are hashed on the reactor (a few µs); larger ones
/// on the blocking pool.
const INLINE_HASH_BYTES: usize = 256 << 10;

/// A compiled module or component and what is prepared once for it.
pub struct CachedModule {
    /// Hex SHA-256 of the uploaded bytes.
    pub hash: String,
    pub code: Code,
    /// What it counts against the cache's bytes while alive (released when
    /// dropped).
    _resident: Resident,
}

/// Bytes counted in a shared total while alive.
struct Resident {
    bytes: usize,
    total: Arc<AtomicUsize>,
}

impl Drop for Resident {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// What the uploaded bytes compiled to.
pub enum Code {
    Core {
        module: Module,
        /// Ready to instantiate when the module imports nothing.
        pre: Option<InstancePre<StoreData>>,
    },
    Component(ComponentCode),
}

/// What the compiled-module cache has done since the server started,
/// summed over the modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Uploads whose compiled code was found in the cache.
    pub hits: u64,
    /// Uploads that had to be compiled (including those that failed to).
    pub misses: u64,
    /// Compiled modules and components held now.
    pub cached: usize,
    /// Bytes of every compiled module alive, cached or used by instances
    /// (see the module docs for what is measured).
    pub resident_bytes: usize,
    /// Compiles dropped because their client left first.
    pub abandoned: u64,
}

/// A bounded map from content hash to compiled module; the oldest entry goes
/// first when it is full.
pub struct ModuleCache {
    engine: Engine,
    linkers: Arc<Linkers>,
    /// What an upload may define (`None`: anything wasm allows).
    bounds: Option<CompileBounds>,
    capacity: usize,
    /// Bytes of compiled code alive that the cache may keep entries up to.
    budget: usize,
    resident: Arc<AtomicUsize>,
    compiles: Arc<Semaphore>,
    /// This cache's entries among those of the caches it shares with.
    tag: u8,
    inner: Arc<Mutex<Entries>>,
    hits: AtomicU64,
    misses: AtomicU64,
    abandoned: AtomicU64,
}

/// An entry's key: the SHA-256 of the upload and the tag of the cache
/// (engine) it was compiled for.
type Key = ([u8; 32], u8);

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Arc<CachedModule>>,
    order: VecDeque<Key>,
}

/// Set when the request that wanted a compile is dropped (its client left).
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl ModuleCache {
    /// An empty cache for modules of `engine`, prepared against `linkers`
    /// (of the same engine), holding at most `capacity` entries and about
    /// `budget` bytes, compiling at most `compiles` uploads at once and only
    /// uploads within `bounds`.
    pub fn new(
        engine: Engine,
        linkers: Arc<Linkers>,
        capacity: usize,
        budget: usize,
        compiles: usize,
        bounds: Option<CompileBounds>,
    ) -> Self {
        ModuleCache {
            engine,
            linkers,
            bounds,
            capacity: capacity.max(1),
            budget,
            resident: Arc::new(AtomicUsize::new(0)),
            compiles: Arc::new(Semaphore::new(compiles.max(1))),
            tag: 0,
            inner: Arc::new(Mutex::new(Entries::default())),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
        }
    }

    /// A cache for the modules of `engine` (prepared against its
    /// `linkers`) that shares this one's entries, budget and compile
    /// permits: the server's two sandboxed engines together keep at most
    /// `capacity` entries and about `budget` bytes of compiled code, the
    /// oldest of either going first, and compile `compiles` uploads at once.
    /// An entry belongs to the engine it was compiled for: the same bytes
    /// uploaded to both are compiled for each.
    pub fn sharing(&self, engine: Engine, linkers: Arc<Linkers>) -> Self {
        ModuleCache {
            engine,
            linkers,
            bounds: self.bounds,
            capacity: self.capacity,
            budget: self.budget,
            resident: self.resident.clone(),
            compiles: self.compiles.clone(),
            tag: self.tag.wrapping_add(1),
            inner: self.inner.clone(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
        }
    }

    /// The bytes this cache's budget counts, if it shares them with `other`.
    pub fn shares_bytes_with(&self, other: &ModuleCache) -> bool {
        Arc::ptr_eq(&self.resident, &other.resident)
    }

    /// The compiled module for `bytes`, compiling it on a miss. Blocking: call
    /// it off the async reactor; it does not take a compile permit (see
    /// [`ModuleCache::module`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidModule`] when the bytes are not a valid module or
    /// component; [`ErrorKind::ResourceLimit`] when they exceed a bound.
    #[cfg(test)]
    pub fn get_or_compile(&self, bytes: &[u8]) -> Result<Arc<CachedModule>, RemoteError> {
        self.compile(bytes, &AtomicBool::new(false))
    }

    /// As [`ModuleCache::get_or_compile`]; the result is not kept if
    /// `abandoned` is set by then.
    fn compile(
        &self,
        bytes: &[u8],
        abandoned: &AtomicBool,
    ) -> Result<Arc<CachedModule>, RemoteError> {
        let key: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(hit) = self.hit(&key) {
            return Ok(hit);
        }
        if abandoned.load(Ordering::Acquire) {
            self.abandoned.fetch_add(1, Ordering::Relaxed);
            return Err(RemoteError::new(
                ErrorKind::Internal,
                "the client left before its compile started",
            ));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let upload = bytes.len();
        if let Some(bounds) = &self.bounds {
            bounds.check_text(bytes)?;
        }
        // WAT text becomes a binary first, so that it is counted.
        let binary = wat::parse_bytes(bytes).map_err(|e| invalid_module(e.into()))?;
        let bytes: &[u8] = &binary;
        if let Some(bounds) = &self.bounds {
            bounds.check(bytes)?;
        }
        let (code, image) = if is_component(bytes) {
            let component = Component::new(&self.engine, bytes).map_err(invalid_module)?;
            let image = range_len(component.image_range());
            let code = ComponentCode::new(&self.engine, &self.linkers.component, component)?;
            let image = image.saturating_add(code.type_bytes());
            (Code::Component(code), image)
        } else {
            let module = Module::new(&self.engine, bytes).map_err(invalid_module)?;
            let image = range_len(module.image_range());
            // Ready now when WASI is all it imports; imports of registered
            // instances are linked at instantiation.
            let pre = if module.imports().all(|i| is_wasi_module(i.module())) {
                let pre = self.linkers.core.instantiate_pre(&module);
                Some(pre.map_err(|e| RemoteError::new(ErrorKind::LinkError, format!("{e:#}")))?)
            } else {
                None
            };
            (Code::Core { module, pre }, image)
        };
        let resident = upload.max(binary.len()).saturating_add(image);
        self.resident.fetch_add(resident, Ordering::AcqRel);
        let compiled = Arc::new(CachedModule {
            hash: hex(&key),
            code,
            _resident: Resident {
                bytes: resident,
                total: self.resident.clone(),
            },
        });
        if abandoned.load(Ordering::Acquire) {
            self.abandoned.fetch_add(1, Ordering::Relaxed);
            return Ok(compiled);
        }
        let mut entries = self.lock();
        let key = (key, self.tag);
        if !entries.map.contains_key(&key) {
            entries.order.push_back(key);
            entries.map.insert(key, compiled.clone());
        }
        // Oldest first, while over either bound (the new entry too, if it
        // alone is over the budget).
        while entries.map.len() > self.capacity
            || self.resident.load(Ordering::Acquire) > self.budget
        {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            // Dropped outside the lock's bookkeeping: the caller may still
            // hold this one.
            entries.map.remove(&oldest);
        }
        Ok(compiled)
    }

    /// The module compiled from bytes with SHA-256 `key`, if cached,
    /// counted as a hit.
    fn hit(&self, key: &[u8; 32]) -> Option<Arc<CachedModule>> {
        let hit = self.lock().map.get(&(*key, self.tag)).cloned();
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// The compiled module for `bytes` without blocking the async reactor:
    /// small uploads are hashed here, and anything that needs real work
    /// (hashing a large upload, compiling) goes to the blocking pool.
    /// Compiles wait for one of the server's compile permits; dropping the
    /// future (the client left) drops a compile that has not started, and
    /// the result of one that has.
    ///
    /// # Errors
    /// As [`ModuleCache::get_or_compile`].
    pub async fn module(
        self: &Arc<Self>,
        bytes: Vec<u8>,
    ) -> Result<Arc<CachedModule>, RemoteError> {
        self.fetch(bytes).await.map(|(module, _hit)| module)
    }

    /// [`ModuleCache::module`], and whether it was a cache hit.
    ///
    /// # Errors
    /// As [`ModuleCache::get_or_compile`].
    pub async fn fetch(
        self: &Arc<Self>,
        bytes: Vec<u8>,
    ) -> Result<(Arc<CachedModule>, bool), RemoteError> {
        let internal =
            |e: String| RemoteError::new(ErrorKind::Internal, format!("compiling failed: {e}"));
        if let Some(bounds) = &self.bounds {
            bounds.check_text(&bytes)?;
        }
        let (bytes, key) = if bytes.len() <= INLINE_HASH_BYTES {
            let key: [u8; 32] = Sha256::digest(&bytes).into();
            (bytes, key)
        } else {
            tokio::task::spawn_blocking(move || {
                let key: [u8; 32] = Sha256::digest(&bytes).into();
                (bytes, key)
            })
            .await
            .map_err(|e| internal(e.to_string()))?
        };
        if let Some(hit) = self.hit(&key) {
            return Ok((hit, true));
        }
        let permit = self
            .compiles
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| internal(e.to_string()))?;
        let abandon = Abandon(Arc::new(AtomicBool::new(false)));
        let abandoned = abandon.0.clone();
        let cache = self.clone();
        let compiled = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            cache.compile(&bytes, &abandoned)
        })
        .await
        .map_err(|e| internal(e.to_string()))?;
        drop(abandon);
        compiled.map(|module| (module, false))
    }

    /// Hits, misses, entries and bytes so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            cached: (self.lock().map.keys())
                .filter(|(_, tag)| *tag == self.tag)
                .count(),
            resident_bytes: self.resident.load(Ordering::Acquire),
            abandoned: self.abandoned.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The map stays consistent even if a holder panicked: recover it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A module that failed to parse, decode, validate or compile.
fn invalid_module(e: wasmtime::Error) -> RemoteError {
    RemoteError::new(ErrorKind::InvalidModule, format!("{e:#}"))
}

/// The length of an image in memory.
fn range_len(range: std::ops::Range<*const u8>) -> usize {
    (range.end as usize).saturating_sub(range.start as usize)
}

/// Whether `bytes` is a component (binary header layer 1, or WAT text that
/// starts with `(component`).
fn is_component(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\0asm") {
        return bytes.len() >= 8 && bytes[6..8] == [1, 0];
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
    text.trim_start().starts_with("(component")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
