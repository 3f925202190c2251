//! The opening handshake (RFC 6455 §4) for both roles.
//!
//! Server: parse the request head with [`crate::http::parse_request_head`], turn it into a
//! [`ServerHandshake`] (which checks it is a valid upgrade), look at
//! [`origin`](ServerHandshake::origin) and [`protocols`](ServerHandshake::protocols), then
//! write [`accept`](ServerHandshake::accept) or [`reject`] and build a
//! [`Connection::server`](super::Connection::server).
//!
//! Client: write [`ClientHandshake::request`], parse the response head with
//! [`crate::http::parse_response_head`], and [`verify`](ClientHandshake::verify) it.

use crate::http::{RequestHead, ResponseHead};
use crate::rand::Entropy;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use sha1::{Digest, Sha1};
use thiserror::Error;

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why a handshake was refused. On the server side, [`status`](HandshakeError::status) is the
/// HTTP status to answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request method is not GET.
    #[error("upgrade request method is not GET")]
    NotGet,
    /// The request is HTTP/1.0.
    #[error("upgrade request is not HTTP/1.1")]
    NotHttp11,
    /// No `Upgrade: websocket` header.
    #[error("missing `Upgrade: websocket`")]
    MissingUpgrade,
    /// No `Connection: upgrade` header.
    #[error("missing `Connection: upgrade`")]
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("unsupported WebSocket version (13 required)")]
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing or not 16 base64-encoded bytes.
    #[error("missing or invalid Sec-WebSocket-Key")]
    InvalidKey,
    /// Server side: the application's check refused the upgrade with this status.
    #[error("upgrade refused with status {0}")]
    Refused(u16),
    /// Client side: the server answered with another status than 101.
    #[error("server answered status {0} instead of 101")]
    UnexpectedStatus(u16),
    /// Client side: `Sec-WebSocket-Accept` does not match the key sent.
    #[error("Sec-WebSocket-Accept does not match")]
    BadAccept,
    /// Client side: the server chose a subprotocol that was not offered.
    #[error("server chose subprotocol {0:?} that was not offered")]
    UnrequestedProtocol(String),
    /// Client side: the server enabled an extension that was not offered.
    #[error("server enabled extension {0:?} that was not offered")]
    UnrequestedExtension(String),
    /// Client side: a subprotocol or extra header would not be a valid header field (e.g.
    /// contains CR/LF).
    #[error("invalid request header: {0}")]
    InvalidHeader(&'static str),
    /// Client side: the URL is not a `ws://` or `wss://` URL.
    #[error("invalid WebSocket URL: {0}")]
    InvalidUrl(&'static str),
}

impl HandshakeError {
    /// The HTTP status a server answers with.
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::NotGet => 405,
            HandshakeError::UnsupportedVersion => 426,
            HandshakeError::Refused(status) => *status,
            _ => 400,
        }
    }
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID);
    BASE64.encode(sha.finalize())
}

/// Whether a request asks for a WebSocket upgrade (cheap check for routing).
pub fn is_upgrade_request(head: &RequestHead) -> bool {
    head.headers.has_token("upgrade", "websocket")
}

/// A valid upgrade request, waiting for the caller to accept or reject it.
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    request: RequestHead,
    key: String,
    protocols: Vec<String>,
}

impl ServerHandshake {
    /// Checks that `request` is a valid WebSocket upgrade.
    pub fn from_request(request: RequestHead) -> Result<Self, HandshakeError> {
        if request.method != "GET" {
            return Err(HandshakeError::NotGet);
        }
        if request.version != crate::http::Version::Http11 {
            return Err(HandshakeError::NotHttp11);
        }
        if !request.headers.has_token("upgrade", "websocket") {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !request.headers.has_token("connection", "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        if request.headers.get("sec-websocket-version").map(str::trim) != Some("13") {
            return Err(HandshakeError::UnsupportedVersion);
        }
        let key = request.headers.get("sec-websocket-key").map(str::trim).unwrap_or("");
        match BASE64.decode(key) {
            Ok(k) if k.len() == 16 => {}
            _ => return Err(HandshakeError::InvalidKey),
        }
        let key = key.to_owned();
        let protocols = request
            .headers
            .get_all("sec-websocket-protocol")
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        Ok(ServerHandshake { request, key, protocols })
    }

    /// The request head (path, query, headers).
    pub fn request(&self) -> &RequestHead {
        &self.request
    }

    /// The `Origin` header, if sent (browsers always send it).
    pub fn origin(&self) -> Option<&str> {
        self.request.headers.get("origin")
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The 101 response accepting the upgrade, optionally choosing one of the offered
    /// subprotocols, with extra header fields.
    pub fn accept_with(&self, protocol: Option<&str>, extra: &[(&str, &str)]) -> Bytes {
        let mut b = BytesMut::with_capacity(160);
        b.put_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
        b.put_slice(accept_key(&self.key).as_bytes());
        b.put_slice(b"\r\n");
        if let Some(p) = protocol {
            b.put_slice(b"Sec-WebSocket-Protocol: ");
            b.put_slice(p.as_bytes());
            b.put_slice(b"\r\n");
        }
        for (n, v) in extra {
            b.put_slice(n.as_bytes());
            b.put_slice(b": ");
            b.put_slice(v.as_bytes());
            b.put_slice(b"\r\n");
        }
        b.put_slice(b"\r\n");
        b.freeze()
    }

    /// The 101 response accepting the upgrade.
    pub fn accept(&self, protocol: Option<&str>) -> Bytes {
        self.accept_with(protocol, &[])
    }
}

/// The application's decision on an upgrade: `Ok(subprotocol)` accepts, `Err(status)` refuses.
pub type UpgradeCheck = dyn Fn(&ServerHandshake) -> Result<Option<String>, u16> + Send + Sync;

/// Answers an upgrade request: validates it, asks `check` (if any), and returns the bytes to
/// write (the 101, or a refusal with its status) with the outcome. Both runtimes use this, so
/// the decision lives in one place.
pub fn respond(
    request: RequestHead,
    check: Option<&UpgradeCheck>,
) -> (Bytes, Result<ServerHandshake, HandshakeError>) {
    let handshake = match ServerHandshake::from_request(request) {
        Ok(h) => h,
        Err(e) => return (reject(e.status(), &e.to_string()), Err(e)),
    };
    let protocol = match check.map(|c| c(&handshake)) {
        None => None,
        Some(Ok(p)) => p,
        Some(Err(status)) => return (reject(status, ""), Err(HandshakeError::Refused(status))),
    };
    (handshake.accept(protocol.as_deref()), Ok(handshake))
}

/// A complete HTTP response refusing an upgrade with `status` (a 426 names version 13).
pub fn reject(status: u16, message: &str) -> Bytes {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut b = BytesMut::with_capacity(128 + message.len());
    b.put_slice(format!("HTTP/1.1 {status} {reason}\r\n").as_bytes());
    if status == 426 {
        b.put_slice(b"Sec-WebSocket-Version: 13\r\n");
    }
    b.put_slice(b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n");
    b.put_slice(format!("Content-Length: {}\r\n\r\n", message.len()).as_bytes());
    b.put_slice(message.as_bytes());
    b.freeze()
}

/// A parsed `ws://` / `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://`.
    pub secure: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path and query, at least `/`.
    pub resource: String,
}

impl WsUrl {
    /// Parses a `ws://`, `wss://`, `http://` or `https://` URL.
    pub fn parse(url: &str) -> Result<WsUrl, HandshakeError> {
        let (secure, rest) = if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(HandshakeError::InvalidUrl("scheme must be ws:// or wss://"));
        };
        // A fragment means nothing in a WebSocket URL (RFC 6455 §3), wherever it starts.
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, resource) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let resource = if resource.starts_with('?') {
            format!("/{resource}")
        } else {
            resource.split('#').next().unwrap_or("/").to_owned()
        };
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) =
                v6.split_once(']').ok_or(HandshakeError::InvalidUrl("unclosed IPv6 bracket"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| HandshakeError::InvalidUrl("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(HandshakeError::InvalidUrl("junk after IPv6 address")),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => {
                    (h.to_owned(), p.parse().map_err(|_| HandshakeError::InvalidUrl("bad port"))?)
                }
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(HandshakeError::InvalidUrl("empty host"));
        }
        let url = WsUrl { secure, host, port, resource };
        url.check()?;
        Ok(url)
    }

    /// Checks that host and resource can go into a request head as they are: no userinfo,
    /// no whitespace or control characters (no CR/LF header injection).
    pub fn check(&self) -> Result<(), HandshakeError> {
        let bad_host = |c: char| c.is_control() || c.is_whitespace() || "@/?#[]".contains(c);
        if self.host.is_empty() || self.host.chars().any(bad_host) {
            return Err(HandshakeError::InvalidUrl("invalid character in host"));
        }
        if !self.resource.starts_with('/')
            || self.resource.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(HandshakeError::InvalidUrl("invalid character in path"));
        }
        Ok(())
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == if self.secure { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// The client's half of the handshake.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    key: String,
    request: Bytes,
    protocols: Vec<String>,
}

impl ClientHandshake {
    /// Prepares the upgrade request for `url`, offering `protocols`, with extra header fields
    /// (e.g. `Origin`). The key comes from `entropy`. Refuses anything that would not be a
    /// valid request head (CR/LF or other control characters, non-token names).
    pub fn new(
        url: &WsUrl,
        protocols: &[&str],
        extra: &[(&str, &str)],
        entropy: &mut dyn Entropy,
    ) -> Result<ClientHandshake, HandshakeError> {
        url.check()?;
        let token = |t: &str| {
            !t.is_empty()
                && t.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        };
        if !protocols.iter().all(|p| token(p)) {
            return Err(HandshakeError::InvalidHeader("subprotocol is not a token"));
        }
        for (n, v) in extra {
            if !token(n) {
                return Err(HandshakeError::InvalidHeader("header name is not a token"));
            }
            if v.bytes().any(|b| (b.is_ascii_control() && b != b'\t') || b == 0x7f) {
                return Err(HandshakeError::InvalidHeader("control character in header value"));
            }
        }
        let mut raw = [0u8; 16];
        entropy.fill(&mut raw);
        let key = BASE64.encode(raw);
        let mut b = BytesMut::with_capacity(256);
        b.put_slice(
            format!("GET {} HTTP/1.1\r\nHost: {}\r\n", url.resource, url.host_header()).as_bytes(),
        );
        b.put_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");
        b.put_slice(format!("Sec-WebSocket-Key: {key}\r\n").as_bytes());
        if !protocols.is_empty() {
            b.put_slice(format!("Sec-WebSocket-Protocol: {}\r\n", protocols.join(", ")).as_bytes());
        }
        for (n, v) in extra {
            b.put_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        b.put_slice(b"\r\n");
        Ok(ClientHandshake {
            key,
            request: b.freeze(),
            protocols: protocols.iter().map(|p| (*p).to_owned()).collect(),
        })
    }

    /// The request bytes to write.
    pub fn request(&self) -> &Bytes {
        &self.request
    }

    /// Checks the server's response head; returns the chosen subprotocol, if any.
    pub fn verify(&self, response: &ResponseHead) -> Result<Option<String>, HandshakeError> {
        if response.status != 101 {
            return Err(HandshakeError::UnexpectedStatus(response.status));
        }
        if !response.headers.has_token("upgrade", "websocket") {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !response.headers.has_token("connection", "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        if response.headers.get("sec-websocket-accept").map(str::trim)
            != Some(accept_key(&self.key).as_str())
        {
            return Err(HandshakeError::BadAccept);
        }
        if let Some(ext) = response.headers.get("sec-websocket-extensions") {
            if !ext.trim().is_empty() {
                return Err(HandshakeError::UnrequestedExtension(ext.to_owned()));
            }
        }
        match response.headers.get("sec-websocket-protocol").map(str::trim) {
            None | Some("") => Ok(None),
            Some(p) if self.protocols.iter().any(|o| o == p) => Ok(Some(p.to_owned())),
            Some(p) => Err(HandshakeError::UnrequestedProtocol(p.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request_head, parse_response_head, Limits};
    use crate::rand::SeededEntropy;

    #[test]
    fn rfc_example_accept_key() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn client_and_server_agree() {
        let url = WsUrl::parse("ws://example.com:9001/chat?x=1").unwrap();
        assert_eq!(url.resource, "/chat?x=1");
        let client = ClientHandshake::new(
            &url,
            &["v1", "v2"],
            &[("Origin", "http://example.com")],
            &mut SeededEntropy::new(1),
        )
        .unwrap();
        let (head, n) = parse_request_head(client.request(), &Limits::default()).unwrap().unwrap();
        assert_eq!(n, client.request().len());
        let server = ServerHandshake::from_request(head).unwrap();
        assert_eq!(server.origin(), Some("http://example.com"));
        assert_eq!(server.protocols(), ["v1", "v2"]);
        assert_eq!(server.request().path(), "/chat");
        let resp = server.accept(Some("v2"));
        let (rhead, _) = parse_response_head(&resp, &Limits::default()).unwrap().unwrap();
        assert_eq!(client.verify(&rhead), Ok(Some("v2".to_owned())));
    }

    #[test]
    fn bad_requests_get_their_status() {
        let cases: &[(&str, u16)] = &[
            ("POST / HTTP/1.1\r\nHost: a\r\n\r\n", 405),
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 426),
            ("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n", 400),
        ];
        for (raw, status) in cases {
            let (head, _) =
                parse_request_head(raw.as_bytes(), &Limits::default()).unwrap().unwrap();
            let err = ServerHandshake::from_request(head).unwrap_err();
            assert_eq!(err.status(), *status, "{raw}");
        }
        assert!(std::str::from_utf8(&reject(426, ""))
            .unwrap()
            .contains("Sec-WebSocket-Version: 13"));
    }

    #[test]
    fn client_rejects_bad_responses() {
        let url = WsUrl::parse("ws://h/").unwrap();
        let client = ClientHandshake::new(&url, &[], &[], &mut SeededEntropy::new(2)).unwrap();
        let raw = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n";
        let (h, _) = parse_response_head(raw.as_bytes(), &Limits::default()).unwrap().unwrap();
        assert_eq!(client.verify(&h), Err(HandshakeError::BadAccept));
        let raw = "HTTP/1.1 200 OK\r\n\r\n";
        let (h, _) = parse_response_head(raw.as_bytes(), &Limits::default()).unwrap().unwrap();
        assert_eq!(client.verify(&h), Err(HandshakeError::UnexpectedStatus(200)));
    }

    #[test]
    fn respond_applies_the_check() {
        let raw = "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: a, b\r\n\r\n";
        let head = || parse_request_head(raw.as_bytes(), &Limits::default()).unwrap().unwrap().0;
        let refuse: &UpgradeCheck = &|_| Err(403);
        let (bytes, outcome) = respond(head(), Some(refuse));
        assert!(bytes.starts_with(b"HTTP/1.1 403"));
        assert_eq!(outcome.unwrap_err(), HandshakeError::Refused(403));
        let pick: &UpgradeCheck = &|hs| Ok(hs.protocols().last().cloned());
        let (bytes, outcome) = respond(head(), Some(pick));
        assert!(std::str::from_utf8(&bytes).unwrap().contains("Sec-WebSocket-Protocol: b\r\n"));
        assert!(outcome.is_ok());
        let (bytes, outcome) = respond(head(), None);
        assert!(bytes.starts_with(b"HTTP/1.1 101") && outcome.is_ok());
    }

    #[test]
    fn header_injection_is_refused() {
        for url in
            ["ws://a\r\nX-Injected:1/", "ws://h/x\r\nX-Injected: 1", "ws://u@h/", "ws://h/a b"]
        {
            assert!(WsUrl::parse(url).is_err(), "{url:?}");
        }
        let url = WsUrl::parse("ws://h/").unwrap();
        let mut e = SeededEntropy::new(9);
        assert!(ClientHandshake::new(&url, &["a\r\nb"], &[], &mut e).is_err());
        assert!(ClientHandshake::new(&url, &["a,b"], &[], &mut e).is_err());
        assert!(ClientHandshake::new(&url, &[], &[("X\r\nY", "v")], &mut e).is_err());
        assert!(ClientHandshake::new(&url, &[], &[("X", "v\r\nY: z")], &mut e).is_err());
        assert!(ClientHandshake::new(&url, &["chat"], &[("Origin", "http://h\tx")], &mut e).is_ok());
        let bad = WsUrl { host: "h\r\nX: y".into(), ..url };
        assert!(ClientHandshake::new(&bad, &[], &[], &mut e).is_err());
    }

    #[test]
    fn urls() {
        let u = WsUrl::parse("wss://[::1]/a").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.resource.as_str()),
            (true, "::1", 443, "/a")
        );
        assert_eq!(u.host_header(), "[::1]");
        let u = WsUrl::parse("ws://127.0.0.1:9001").unwrap();
        assert_eq!((u.port, u.resource.as_str()), (9001, "/"));
        assert_eq!(u.host_header(), "127.0.0.1:9001");
        assert!(WsUrl::parse("ftp://x").is_err());
        assert!(WsUrl::parse("ws://:80/").is_err());
    }
}
