//! Compiled modules and components cached by the SHA-256 of the uploaded bytes and shared by
//! every connection: uploading the same bytes again does not recompile.
//!
//! Modules are always compiled here from the client's wasm or WAT; bytes from
//! a client are never deserialized as precompiled code.

use crate::component::ComponentCode;
use crate::linker::Linkers;
use crate::store::StoreData;
use crate::wasi::is_wasi_module;
use sandcall_protocol::{ErrorKind, RemoteError};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
}

/// A bounded map from content hash to compiled module; the oldest entry goes
/// first when it is full.
pub struct ModuleCache {
    engine: Engine,
    linkers: Arc<Linkers>,
    /// Functions an upload may define (`None`: any number).
    max_functions: Option<u64>,
    capacity: usize,
    inner: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<[u8; 32], Arc<CachedModule>>,
    order: VecDeque<[u8; 32]>,
}

impl ModuleCache {
    /// An empty cache for modules of `engine`, prepared against `linkers`
    /// (of the same engine), holding at most `capacity`, compiling only
    /// uploads of at most `max_functions` functions.
    pub fn new(
        engine: Engine,
        linkers: Arc<Linkers>,
        capacity: usize,
        max_functions: Option<u64>,
    ) -> Self {
        ModuleCache {
            engine,
            linkers,
            max_functions,
            capacity: capacity.max(1),
            inner: Mutex::new(Entries::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The compiled module for `bytes`, compiling it on a miss. Blocking: call
    /// it off the async reactor.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidModule`] when the bytes are not a valid module or
    /// component.
    pub fn get_or_compile(&self, bytes: &[u8]) -> Result<Arc<CachedModule>, RemoteError> {
        let key: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(hit) = self.hit(&key) {
            return Ok(hit);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // WAT text becomes a binary first, so that its functions are counted.
        let binary = wat::parse_bytes(bytes).map_err(|e| invalid_module(e.into()))?;
        let bytes: &[u8] = &binary;
        if let Some(max) = self.max_functions
            && let Some(count) = count_functions(bytes)
            && count > max
        {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "the upload defines {count} functions; the limit is {max} (compiling \
                     costs about 0.2 ms per function, however small)"
                ),
            ));
        }
        let code = if is_component(bytes) {
            let component = Component::new(&self.engine, bytes).map_err(invalid_module)?;
            Code::Component(ComponentCode::new(
                &self.engine,
                &self.linkers.component,
                component,
            ))
        } else {
            let module = Module::new(&self.engine, bytes).map_err(invalid_module)?;
            // Ready now when WASI is all it imports; imports of registered
            // instances are linked at instantiation.
            let pre = if module.imports().all(|i| is_wasi_module(i.module())) {
                let pre = self.linkers.core.instantiate_pre(&module);
                Some(pre.map_err(|e| RemoteError::new(ErrorKind::LinkError, format!("{e:#}")))?)
            } else {
                None
            };
            Code::Core { module, pre }
        };
        let compiled = Arc::new(CachedModule {
            hash: hex(&key),
            code,
        });
        let mut entries = self.lock();
        if !entries.map.contains_key(&key) {
            if entries.map.len() >= self.capacity
                && let Some(oldest) = entries.order.pop_front()
            {
                entries.map.remove(&oldest);
            }
            entries.order.push_back(key);
            entries.map.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    /// The module compiled from bytes with SHA-256 `key`, if cached,
    /// counted as a hit.
    fn hit(&self, key: &[u8; 32]) -> Option<Arc<CachedModule>> {
        let hit = self.lock().map.get(key).cloned();
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// The compiled module for `bytes` without blocking the async reactor:
    /// small uploads are hashed here, and anything that needs real work
    /// (hashing a large upload, compiling) goes to the blocking pool.
    ///
    /// # Errors
    /// As [`ModuleCache::get_or_compile`].
    pub async fn module(
        self: &Arc<Self>,
        bytes: Vec<u8>,
    ) -> Result<Arc<CachedModule>, RemoteError> {
        if bytes.len() <= INLINE_HASH_BYTES {
            let key: [u8; 32] = Sha256::digest(&bytes).into();
            if let Some(hit) = self.hit(&key) {
                return Ok(hit);
            }
        }
        let cache = self.clone();
        tokio::task::spawn_blocking(move || cache.get_or_compile(&bytes))
            .await
            .map_err(|e| RemoteError::new(ErrorKind::Internal, format!("compiling failed: {e}")))?
    }

    /// Hits, misses and entries so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            cached: self.lock().map.len(),
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

/// Whether `bytes` is a component (binary header layer 1, or WAT text that
/// starts with `(component`).
fn is_component(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\0asm") {
        return bytes.len() >= 8 && bytes[6..8] == [1, 0];
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
    text.trim_start().starts_with("(component")
}

/// Functions defined by a module, or by every core module inside a
/// component; `None` when the binary does not parse (compiling then says why).
fn count_functions(binary: &[u8]) -> Option<u64> {
    let mut count = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(binary) {
        if let wasmparser::Payload::FunctionSection(functions) = payload.ok()? {
            count += u64::from(functions.count());
        }
    }
    Some(count)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache of `capacity` entries for a default engine.
    fn cache(capacity: usize, max_functions: Option<u64>) -> ModuleCache {
        let engine = Engine::default();
        let linkers = Arc::new(Linkers::new(&engine).unwrap());
        ModuleCache::new(engine, linkers, capacity, max_functions)
    }

    #[test]
    fn the_same_bytes_compile_once_and_the_oldest_entry_goes_first() {
        let cache = cache(2, Some(3));
        let a = cache
            .get_or_compile(b"(module (func (export \"a\")))")
            .unwrap();
        let again = cache
            .get_or_compile(b"(module (func (export \"a\")))")
            .unwrap();
        assert!(Arc::ptr_eq(&a, &again), "a hit returns the compiled module");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (1, 1), "{stats:?}");
        assert!(
            matches!(&a.code, Code::Core { pre: Some(_), .. }),
            "import-free modules are pre-instantiated"
        );
        let b = cache
            .get_or_compile(b"(module (import \"m\" \"f\" (func)))")
            .unwrap();
        assert!(matches!(&b.code, Code::Core { pre: None, .. }));
        assert_eq!(cache.stats().cached, 2);
        cache.get_or_compile(b"(module)").unwrap();
        assert_eq!(cache.stats().cached, 2);
        let a2 = cache
            .get_or_compile(b"(module (func (export \"a\")))")
            .unwrap();
        assert!(
            !Arc::ptr_eq(&a, &a2),
            "the oldest entry was evicted and compiled anew"
        );
    }

    #[test]
    fn uploads_with_too_many_functions_are_refused_before_compiling() {
        let cache = cache(4, Some(2));
        let two = "(module (func) (func))";
        assert!(cache.get_or_compile(two.as_bytes()).is_ok());
        let three = "(module (func) (func) (func))";
        let e = cache.get_or_compile(three.as_bytes()).err().unwrap();
        assert_eq!(e.kind, ErrorKind::ResourceLimit, "{}", e.message);
        assert!(e.message.contains("3 functions"), "{}", e.message);
        // Functions of a component's inner modules count too.
        let component = "(component (core module (func) (func)) (core module (func)))";
        let e = cache.get_or_compile(component.as_bytes()).err().unwrap();
        assert_eq!(e.kind, ErrorKind::ResourceLimit, "{}", e.message);
        assert_eq!(cache.stats().cached, 1, "nothing refused is cached");
    }

    #[test]
    fn components_compile_and_garbage_is_refused() {
        let cache = cache(4, None);
        let c = cache.get_or_compile(b"(component)").unwrap();
        assert!(matches!(&c.code, Code::Component(c) if c.pre.is_some() && c.exports.is_empty()));
        let e = cache
            .get_or_compile(b"\0asm\x0d\0\x01\0\x07\xff")
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::InvalidModule);
        let e = cache.get_or_compile(b"nonsense").err().unwrap();
        assert_eq!(e.kind, ErrorKind::InvalidModule);
        let e = cache
            .get_or_compile(b"(component (core module $m (func $f (export \"f\")) (func $f)))")
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::InvalidModule);
        assert_eq!(
            cache.stats().cached,
            1,
            "only the valid component is cached"
        );
    }
}
