//! Server addresses: `sandcalls://HOST:PORT` is TLS; a bare `HOST:PORT` or
//! `sandcall://HOST:PORT` is plaintext.

use crate::error::ClientError;

/// A parsed server address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// `HOST:PORT`, as given.
    pub authority: String,
    /// The host alone (without IPv6 brackets): the name the server's
    /// certificate must carry.
    pub host: String,
    /// Whether to speak TLS.
    pub tls: bool,
}

impl Address {
    /// Parse `address`.
    ///
    /// # Errors
    /// [`ClientError::Address`] for another scheme or a missing port.
    pub fn parse(address: &str) -> Result<Address, ClientError> {
        let bad = |why: &str| ClientError::Address {
            address: address.to_string(),
            reason: why.to_string(),
        };
        let (tls, authority) = if let Some(rest) = address.strip_prefix("sandcalls://") {
            (true, rest)
        } else if let Some(rest) = address.strip_prefix("sandcall://") {
            (false, rest)
        } else if address.contains("://") {
            return Err(bad("the scheme must be sandcall:// or sandcalls:// (TLS)"));
        } else {
            (false, address)
        };
        let authority = authority.trim_end_matches('/');
        let Some((host, port)) = authority.rsplit_once(':') else {
            return Err(bad("expected HOST:PORT"));
        };
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad("expected HOST:PORT"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Address {
            authority: authority.to_string(),
            host: host.to_string(),
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let a = Address::parse("sandcalls://example.org:443").unwrap();
        assert!(a.tls);
        assert_eq!(
            (a.host.as_str(), a.authority.as_str()),
            ("example.org", "example.org:443")
        );
        assert!(!Address::parse("sandcall://127.0.0.1:1").unwrap().tls);
        assert!(!Address::parse("127.0.0.1:1").unwrap().tls);
        assert_eq!(Address::parse("sandcalls://[::1]:9").unwrap().host, "::1");
        assert!(Address::parse("http://x:1").is_err());
        assert!(Address::parse("sandcalls://x").is_err());
    }
}
