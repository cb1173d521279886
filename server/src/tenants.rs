//! Tenants: who may connect, with which token, under which ceilings and
//! budget. Read from a TOML file (`--tenants FILE`) that holds the SHA-256 of
//! each token, never a token:
//!
//! ```toml
//! [[tenant]]
//! name = "alice"
//! tokens = ["<64 hex digits: the SHA-256 of a token>"]
//! unrestricted = false          # may ask for unrestricted mode
//! max_fuel = 10000000000        # ceilings, each optional: fuel per call,
//! max_deadline_ms = 10000       # deadline of a call,
//! module_bytes = 4194304        # module size,
//! memory_bytes = 67108864       # memories and tables of one instance,
//! instances = 16                # instances held per connection,
//! connections = 4               # connections at once,
//! fuel_per_minute = 100000000000 # and fuel budget per minute
//! ```

use crate::server::ServerError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use subtle::ConstantTimeEq;

/// One tenant as written in the file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantEntry {
    pub name: String,
    /// SHA-256 (hex) of each token the tenant may present.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// May use unrestricted mode (on a server started with
    /// `--allow-unrestricted`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unrestricted: bool,
    /// Ceiling on the fuel of one call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fuel: Option<u64>,
    /// Ceiling on the deadline of one call, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deadline_ms: Option<u64>,
    /// Ceiling on the CPU time of one call, in ms (sessions metered by
    /// CPU time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cpu_ms: Option<u64>,
    /// Ceiling on the size of an uploaded module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_bytes: Option<u64>,
    /// Ceiling on the bytes of memories and tables of one instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Instances one of the tenant's connections may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
    /// Connections the tenant may hold at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<u32>,
    /// Fuel the tenant's calls may use per minute, all connections together
    /// (CPU time counts 1 unit per ns: about what a core runs in wasm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_per_minute: Option<u64>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    #[serde(default, rename = "tenant")]
    tenants: Vec<TenantEntry>,
}

/// A tenant while the server runs: its entry, its token digests and what it
/// is using.
#[derive(Debug)]
pub struct Tenant {
    pub entry: TenantEntry,
    digests: Vec<[u8; 32]>,
    connections: AtomicU32,
    pub budget: crate::quota::FuelBudget,
}

/// Every tenant of a server.
#[derive(Debug, Default)]
pub struct Tenants {
    list: Vec<Arc<Tenant>>,
}

impl Tenants {
    /// Read and check `path`.
    ///
    /// # Errors
    /// [`ServerError::Config`] naming the file and line of a malformed entry,
    /// a duplicate name or a hash that is not 64 hex digits.
    pub fn load(path: &Path, quota_period: std::time::Duration) -> Result<Tenants, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ServerError::Config(format!("--tenants {}: cannot read: {e}", path.display()))
        })?;
        let entries = parse(&text)
            .map_err(|e| ServerError::Config(format!("--tenants {}: {e}", path.display())))?;
        let list = entries
            .into_iter()
            .map(|entry| {
                let digests = entry.tokens.iter().filter_map(|h| unhex(h)).collect();
                let budget = crate::quota::FuelBudget::new(entry.fuel_per_minute, quota_period);
                Arc::new(Tenant {
                    entry,
                    digests,
                    connections: AtomicU32::new(0),
                    budget,
                })
            })
            .collect();
        Ok(Tenants { list })
    }

    /// The tenant whose token this is. Every digest is compared, each in
    /// constant time, so the time taken says nothing about the token.
    pub fn authenticate(&self, token: &str) -> Option<Arc<Tenant>> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for tenant in &self.list {
            for known in &tenant.digests {
                if bool::from(known.ct_eq(&digest)) {
                    found = Some(tenant.clone());
                }
            }
        }
        found
    }

    /// The tenant of this name (a client certificate's common name).
    pub fn named(&self, name: &str) -> Option<Arc<Tenant>> {
        self.list.iter().find(|t| t.entry.name == name).cloned()
    }
}

impl Tenant {
    /// Count one more connection of this tenant, unless it holds its
    /// ceiling already; the guard gives it back.
    pub fn connect(self: &Arc<Self>) -> Option<ConnectionGuard> {
        let cap = self.entry.connections.unwrap_or(u32::MAX);
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < cap).then_some(n + 1)
            })
            .ok()?;
        Some(ConnectionGuard(self.clone()))
    }
}

/// One connection of a tenant, counted until dropped.
pub struct ConnectionGuard(Arc<Tenant>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Parse a tenants file, checking names and hashes; errors name the line.
fn parse(text: &str) -> Result<Vec<TenantEntry>, String> {
    let file: TenantsFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_of(text, span.start)).unwrap_or(0);
        format!("line {line}: {}", e.message())
    })?;
    let mut seen = std::collections::HashSet::new();
    for entry in &file.tenants {
        let line = find_line(text, &format!("\"{}\"", entry.name));
        if entry.name.is_empty() {
            return Err(format!("line {line}: a tenant needs a name"));
        }
        if !seen.insert(entry.name.as_str()) {
            let line = text
                .match_indices(&format!("\"{}\"", entry.name))
                .nth(1)
                .map(|(at, _)| line_of(text, at))
                .unwrap_or(line);
            return Err(format!(
                "line {line}: tenant {:?} is listed twice",
                entry.name
            ));
        }
        for hash in &entry.tokens {
            if unhex(hash).is_none() {
                return Err(format!(
                    "line {}: tenant {:?}: {hash:?} is not a SHA-256 in hex (64 hex digits); \
                     tokens are added with `sandcall-server tenant add`",
                    find_line(text, hash),
                    entry.name
                ));
            }
        }
    }
    Ok(file.tenants)
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

fn find_line(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(0, |at| line_of(text, at))
}

fn unhex(hash: &str) -> Option<[u8; 32]> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Add a tenant (or a new token to an existing one) to the file at `path`,
/// creating it if needed, and return the new token: 256 random bits in hex.
/// Only its SHA-256 is written. The file is edited, not rewritten: its
/// comments and layout stay, a new tenant is appended at the end.
///
/// # Errors
/// When the file cannot be read, parsed or written, or no randomness is to
/// be had.
pub fn add(path: &Path, name: &str, unrestricted: bool) -> Result<String, ServerError> {
    let in_file = |e: String| ServerError::Config(format!("{}: {e}", path.display()));
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(in_file(e.to_string())),
    };
    parse(&text).map_err(in_file)?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| ServerError::Config(format!("no randomness for a token: {e}")))?;
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let digest: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = with_token(&text, name, &digest, unrestricted).map_err(in_file)?;
    let entries = parse(&out).map_err(in_file)?;
    if !entries
        .iter()
        .any(|t| t.name == name && t.tokens.contains(&digest))
    {
        return Err(in_file("the new token could not be added".into()));
    }
    // Written beside it and renamed, so that a failure leaves the old file.
    let fresh = path.with_extension("toml.new");
    std::fs::write(&fresh, out)
        .and_then(|()| std::fs::rename(&fresh, path))
        .map_err(|e| in_file(e.to_string()))?;
    Ok(token)
}

/// Where a tenant's keys are in the file's text.
#[derive(Deserialize)]
struct Located {
    name: toml::Spanned<String>,
    #[serde(default)]
    tokens: Option<toml::Spanned<Vec<String>>>,
    #[serde(default)]
    unrestricted: Option<toml::Spanned<bool>>,
}

#[derive(Deserialize)]
struct LocatedFile {
    #[serde(default, rename = "tenant")]
    tenants: Vec<Located>,
}

/// `text` with `digest` added to tenant `name`'s tokens (the tenant
/// appended if it is new), and `unrestricted = true` if asked.
fn with_token(text: &str, name: &str, digest: &str, unrestricted: bool) -> Result<String, String> {
    let file: LocatedFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let quoted = toml::Value::String(name.to_string()).to_string();
    let Some(tenant) = file.tenants.iter().find(|t| *t.name.get_ref() == name) else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out += &format!("[[tenant]]\nname = {quoted}\ntokens = [\"{digest}\"]\n");
        if unrestricted {
            out += "unrestricted = true\n";
        }
        return Ok(out);
    };
    // Edits from the end of the text backwards, so that spans stay right.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let after_name = line_end(text, tenant.name.span().end);
    match &tenant.tokens {
        Some(tokens) => {
            let close = tokens.span().end - 1;
            let before = text[..close].trim_end();
            let sep = if before.ends_with('[') || before.ends_with(',') {
                ""
            } else {
                ", "
            };
            edits.push((close, close, format!("{sep}\"{digest}\"")));
        }
        None => edits.push((after_name, after_name, format!("tokens = [\"{digest}\"]\n"))),
    }
    match &tenant.unrestricted {
        Some(flag) if unrestricted && !flag.get_ref() => {
            edits.push((flag.span().start, flag.span().end, "true".into()));
        }
        None if unrestricted => {
            edits.push((after_name, after_name, "unrestricted = true\n".into()))
        }
        _ => {}
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, with) in edits {
        out.replace_range(start..end, &with);
    }
    Ok(out)
}

/// Where the line holding byte `at` ends (after its newline, if any).
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line() {
        let dup = "[[tenant]]\nname = \"a\"\n\n[[tenant]]\nname = \"a\"\n";
        assert!(
            parse(dup).unwrap_err().starts_with("line 5:"),
            "{:?}",
            parse(dup)
        );
        let bad = "[[tenant]]\nname = \"a\"\ntokens = [\"abc\"]\n";
        assert!(parse(bad).unwrap_err().starts_with("line 3:"));
        let broken = "[[tenant]]\nname = \"a\"\nmax_fuel = \"lots\"\n";
        assert!(
            parse(broken).unwrap_err().starts_with("line 3:"),
            "{:?}",
            parse(broken)
        );
    }

    #[test]
    fn adding_a_token_edits_the_file_and_keeps_its_comments() {
        let text = "# who may connect\n[[tenant]]\nname = \"a\" # the first\ntokens = [\n  \"1111111111111111111111111111111111111111111111111111111111111111\",\n]\n\n[[tenant]]\nname = \"b\"\n";
        let digest = "2".repeat(64);
        let out = with_token(text, "a", &digest, true).unwrap();
        assert!(out.starts_with("# who may connect\n"), "{out}");
        assert!(out.contains("# the first"), "{out}");
        let entries = parse(&out).unwrap();
        assert_eq!(entries[0].tokens.len(), 2, "{out}");
        assert!(entries[0].unrestricted);
        let out = with_token(&out, "b", &digest, false).unwrap();
        assert_eq!(
            parse(&out).unwrap()[1].tokens,
            vec![digest.clone()],
            "{out}"
        );
        let out = with_token(&out, "c \"quoted\"", &digest, false).unwrap();
        let entries = parse(&out).unwrap();
        assert_eq!(entries[2].name, "c \"quoted\"");
        assert!(out.contains("# the first"), "{out}");
    }
}
