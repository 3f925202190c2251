//! Parsing the URL a Socket.IO client is given (`io("http://host:port/ns?query")`).

use crate::eio::client::EioClientConfig;
use crate::http::parse_query;
use thiserror::Error;

/// Why a client URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SioUrlError {
    /// The scheme is not `http`, `https`, `ws` or `wss`.
    #[error("unsupported URL scheme (want http, https, ws or wss)")]
    Scheme,
    /// No host, a malformed `[v6]` host, or a port that is not a number 1–65535.
    #[error("invalid host or port")]
    Authority,
    /// The namespace or query holds characters a Socket.IO packet cannot carry (`,`), control
    /// characters or spaces, or the query is not valid percent-encoding.
    #[error("invalid namespace or query")]
    Path,
}

/// A parsed client URL: where the server is, which namespace, and the query.
///
/// `http://host:port/ns?a=1` means: Engine.IO at `http://host:port/socket.io/` (the path is an
/// option, not part of the URL), namespace `/ns`, and the query `a=1`, which goes on every
/// Engine.IO request and, for a namespace other than `/`, into its CONNECT (`0/ns?a=1,`), as
/// socket.io-client 2.x does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SioUrl {
    /// `https`/`wss`.
    pub secure: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// The port, `None` when the URL has none.
    pub port: Option<u16>,
    /// The namespace: the URL path, `/` when empty.
    pub namespace: String,
    /// The raw query without `?` (`None` when absent or empty).
    pub query: Option<String>,
}

impl SioUrl {
    /// Parses `http(s)://host[:port][/namespace][?query]` (`ws(s)://` is accepted as the same).
    /// A fragment is dropped. The namespace keeps its case; a trailing `/` of a non-root
    /// namespace is kept as given (socket.io compares namespaces exactly).
    pub fn parse(url: &str) -> Result<SioUrl, SioUrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(SioUrlError::Scheme)?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return Err(SioUrlError::Scheme),
        };
        let rest = rest.split('#').next().unwrap_or("");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = authority.rsplit('@').next().unwrap_or("");
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or(SioUrlError::Authority)?;
            match after {
                "" => (h, None),
                p => (h, Some(p.strip_prefix(':').ok_or(SioUrlError::Authority)?)),
            }
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains(':') && !authority.starts_with('[') {
            return Err(SioUrlError::Authority);
        }
        let port = match port {
            None | Some("") => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => return Err(SioUrlError::Authority),
            },
        };
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (tail, None),
        };
        let namespace = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
        let bad = |s: &str| s.bytes().any(|b| b == b',' || b <= b' ' || b == 0x7f);
        if bad(&namespace) || namespace.contains('?') {
            return Err(SioUrlError::Path);
        }
        let query = query.filter(|q| !q.is_empty()).map(str::to_owned);
        if let Some(q) = &query {
            if bad(q) || parse_query(q).is_err() {
                return Err(SioUrlError::Path);
            }
        }
        Ok(SioUrl { secure, host: host.to_owned(), port, namespace, query })
    }

    /// `base` with this URL's scheme, host and port, and the URL's query pairs appended to
    /// `base.query`.
    pub fn engine_config(&self, base: EioClientConfig) -> EioClientConfig {
        let mut config = base;
        config.secure = self.secure;
        config.host = self.host.clone();
        config.port = self.port;
        if let Some(q) = &self.query {
            // Checked by `parse`.
            config.query.extend(parse_query(q).unwrap_or_default());
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let u = SioUrl::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(
            u,
            SioUrl {
                secure: false,
                host: "127.0.0.1".into(),
                port: Some(3000),
                namespace: "/".into(),
                query: None
            }
        );
        let u = SioUrl::parse("https://example.com/custom?token=a%20b&x=1#frag").unwrap();
        assert!(u.secure);
        assert_eq!((u.host.as_str(), u.port), ("example.com", None));
        assert_eq!(u.namespace, "/custom");
        assert_eq!(u.query.as_deref(), Some("token=a%20b&x=1"));
        let c = u.engine_config(EioClientConfig::default());
        assert_eq!(c.query, vec![("token".into(), "a b".into()), ("x".into(), "1".into())]);
        assert_eq!(c.path, "/socket.io/");
        let u = SioUrl::parse("ws://[::1]:80/?").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.namespace.as_str()), ("::1", Some(80), "/"));
        assert_eq!(u.query, None);
        assert_eq!(SioUrl::parse("http://u:p@h/").unwrap().host, "h");
    }

    #[test]
    fn refuses_the_rest() {
        assert_eq!(SioUrl::parse("ftp://h/"), Err(SioUrlError::Scheme));
        assert_eq!(SioUrl::parse("h:80"), Err(SioUrlError::Scheme));
        assert_eq!(SioUrl::parse("http://:80/"), Err(SioUrlError::Authority));
        assert_eq!(SioUrl::parse("http://h:0/"), Err(SioUrlError::Authority));
        assert_eq!(SioUrl::parse("http://h:99999/"), Err(SioUrlError::Authority));
        assert_eq!(SioUrl::parse("http://h:+1/"), Err(SioUrlError::Authority));
        assert_eq!(SioUrl::parse("http://[::1/"), Err(SioUrlError::Authority));
        assert_eq!(SioUrl::parse("http://a:b:c/"), Err(SioUrlError::Authority));
        assert_eq!(SioUrl::parse("http://h/a,b"), Err(SioUrlError::Path));
        assert_eq!(SioUrl::parse("http://h/a?x=,"), Err(SioUrlError::Path));
        assert_eq!(SioUrl::parse("http://h/a b"), Err(SioUrlError::Path));
        assert_eq!(SioUrl::parse("http://h/?x=%zz"), Err(SioUrlError::Path));
    }
}
