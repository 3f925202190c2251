//! The HTTP face of an Engine.IO server: which request is what (handshake, poll, post,
//! upgrade probe, error), the origin check, and the exact responses (CORS echo, the `io`
//! cookie, error JSON). The runtimes only read bodies and hold polls.

use super::session::{EioConfig, PollingMode, RequestError};
use crate::http::{RequestHead, Response};
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// A custom origin decision (gets the handshake request).
pub type OriginFn = Arc<dyn Fn(&RequestHead) -> bool + Send + Sync>;

/// Which origins may open sessions (checked on the handshake request only, like
/// socket.io 2.x's `origins`).
#[derive(Clone, Default)]
pub enum Origins {
    /// Everything (`*:*`, the default).
    #[default]
    Any,
    /// `host:port` patterns: `<scheme>://<host>:<port>`, `<host>:<port>`, `<host>:*`,
    /// `*:<port>`. A request without `Origin`/`Referer` is refused.
    List(Vec<String>),
    /// Your function decides.
    Custom(OriginFn),
}

impl fmt::Debug for Origins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origins::Any => f.write_str("Any"),
            Origins::List(l) => f.debug_tuple("List").field(l).finish(),
            Origins::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Origins {
    /// Whether the handshake request `head` passes.
    pub fn allows(&self, head: &RequestHead) -> bool {
        match self {
            Origins::Any => true,
            Origins::Custom(f) => f(head),
            Origins::List(list) => {
                let origin = head.headers.get("origin").or_else(|| head.headers.get("referer"));
                let Some(origin) = origin.filter(|o| *o != "null") else {
                    return list.iter().any(|p| p == "*:*");
                };
                let Some((scheme, host, port)) = split_origin(origin) else { return false };
                list.iter().any(|p| {
                    *p == "*:*"
                        || *p == format!("{scheme}://{host}:{port}")
                        || *p == format!("{host}:{port}")
                        || *p == format!("{host}:*")
                        || *p == format!("*:{port}")
                })
            }
        }
    }
}

fn split_origin(origin: &str) -> Option<(&str, &str, String)> {
    let (scheme, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, p.to_owned()),
        _ => (authority, if scheme == "https" || scheme == "wss" { "443" } else { "80" }.into()),
    };
    Some((scheme, host, port))
}

/// The `io` cookie settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    /// Cookie name. Default `io`.
    pub name: String,
    /// `Path`. Default `/`.
    pub path: String,
    /// `HttpOnly`. Default true.
    pub http_only: bool,
    /// `SameSite` value, if any. Default `Strict`.
    pub same_site: Option<String>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
            same_site: Some("Strict".into()),
        }
    }
}

impl CookieOptions {
    /// The `Set-Cookie` value for session `sid`.
    pub fn header_value(&self, sid: &str) -> String {
        let mut v = format!("{}={}; Path={}", self.name, sid, self.path);
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        if let Some(s) = &self.same_site {
            v.push_str("; SameSite=");
            v.push_str(s);
        }
        v
    }
}

/// Engine.IO server options shared by the runtimes.
#[derive(Debug, Clone)]
pub struct EioServerOptions {
    /// The path prefix requests must start with (a trailing `/` is added). Default
    /// `/engine.io/`.
    pub path: String,
    /// Serve the polling transport. Default true.
    pub polling: bool,
    /// Serve the WebSocket transport. Default true.
    pub websocket: bool,
    /// The `io` cookie; `None` disables it. Default on.
    pub cookie: Option<CookieOptions>,
    /// Who may open sessions. Default everyone.
    pub origins: Origins,
    /// Session settings (ping, limits, upgrade timeout).
    pub session: Arc<EioConfig>,
}

impl Default for EioServerOptions {
    fn default() -> Self {
        EioServerOptions {
            path: "/engine.io/".into(),
            polling: true,
            websocket: true,
            cookie: Some(CookieOptions::default()),
            origins: Origins::Any,
            session: Arc::new(EioConfig::default()),
        }
    }
}

impl EioServerOptions {
    /// The path with exactly one trailing slash.
    pub fn normalized_path(&self) -> String {
        let mut p = self.path.clone();
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        if !p.ends_with('/') {
            p.push('/');
        }
        p
    }
}

/// Engine.IO's HTTP error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EioErrorCode {
    /// 0, `Transport unknown` (400).
    TransportUnknown = 0,
    /// 1, `Session ID unknown` (400).
    UnknownSid = 1,
    /// 2, `Bad handshake method` (400).
    BadHandshakeMethod = 2,
    /// 3, `Bad request` (400).
    BadRequest = 3,
    /// 4, `Forbidden` (403).
    Forbidden = 4,
}

impl EioErrorCode {
    /// The message text.
    pub fn message(self) -> &'static str {
        match self {
            EioErrorCode::TransportUnknown => "Transport unknown",
            EioErrorCode::UnknownSid => "Session ID unknown",
            EioErrorCode::BadHandshakeMethod => "Bad handshake method",
            EioErrorCode::BadRequest => "Bad request",
            EioErrorCode::Forbidden => "Forbidden",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        if self == EioErrorCode::Forbidden {
            403
        } else {
            400
        }
    }

    /// The code a session's [`RequestError`] maps to (`None`: a bare 500).
    pub fn of(e: RequestError) -> Option<EioErrorCode> {
        match e.code() {
            Some(1) => Some(EioErrorCode::UnknownSid),
            Some(3) => Some(EioErrorCode::BadRequest),
            _ => None,
        }
    }
}

/// What an HTTP request under the Engine.IO path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EioRoute {
    /// Not under the path: the application's business.
    Outside,
    /// A polling handshake (GET without sid).
    HandshakePolling {
        /// How the new session polls.
        mode: PollingMode,
    },
    /// A WebSocket handshake (upgrade without sid).
    HandshakeWebSocket {
        /// Binary as base64 text frames.
        b64: bool,
    },
    /// A poll of session `sid`.
    Poll {
        /// The session.
        sid: String,
    },
    /// A POST to session `sid`.
    Post {
        /// The session.
        sid: String,
    },
    /// A WebSocket for an existing session (an upgrade probe).
    Probe {
        /// The session.
        sid: String,
        /// Binary as base64 text frames.
        b64: bool,
    },
    /// A CORS preflight: 200 with the CORS headers.
    Preflight,
    /// Another method on a session: a bare 500.
    BadMethod,
    /// Refused with an Engine.IO error.
    Error(EioErrorCode),
}

/// Classifies `head`. The origin check runs here for handshakes.
pub fn route(head: &RequestHead, opts: &EioServerOptions, path: &str) -> EioRoute {
    if !head.path().starts_with(path) {
        return EioRoute::Outside;
    }
    let Ok(query) = head.query_pairs() else {
        return EioRoute::Error(EioErrorCode::BadRequest);
    };
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let b64 = get("b64").is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    let upgrade = head.is_upgrade();
    let transport = get("transport");
    let polling = match transport {
        Some("polling") if opts.polling => true,
        Some("websocket") if opts.websocket => false,
        _ => return EioRoute::Error(EioErrorCode::TransportUnknown),
    };
    match get("sid") {
        None => {
            if head.method == "OPTIONS" {
                return EioRoute::Preflight;
            }
            if !opts.origins.allows(head) {
                return EioRoute::Error(EioErrorCode::Forbidden);
            }
            if polling {
                if head.method != "GET" {
                    return EioRoute::Error(EioErrorCode::BadHandshakeMethod);
                }
                let mode = match get("j") {
                    Some(j) => {
                        let index: String = j.chars().filter(char::is_ascii_digit).collect();
                        if index.is_empty() || index.len() > 10 {
                            return EioRoute::Error(EioErrorCode::BadRequest);
                        }
                        PollingMode::Jsonp { index }
                    }
                    None => PollingMode::Xhr { b64 },
                };
                EioRoute::HandshakePolling { mode }
            } else if upgrade && head.method == "GET" {
                EioRoute::HandshakeWebSocket { b64 }
            } else {
                EioRoute::Error(EioErrorCode::BadRequest)
            }
        }
        Some(sid) => {
            let sid = sid.to_owned();
            if !polling {
                return if upgrade && head.method == "GET" {
                    EioRoute::Probe { sid, b64 }
                } else {
                    EioRoute::Error(EioErrorCode::BadRequest)
                };
            }
            match head.method.as_str() {
                "GET" => EioRoute::Poll { sid },
                "POST" => EioRoute::Post { sid },
                "OPTIONS" => EioRoute::Preflight,
                _ => EioRoute::BadMethod,
            }
        }
    }
}

/// The CORS headers for a request: its `Origin` echoed with credentials, or `*`.
pub fn cors_headers(head: &RequestHead) -> Vec<(&'static str, String)> {
    match head.headers.get("origin") {
        Some(o) => vec![
            ("Access-Control-Allow-Origin", o.to_owned()),
            ("Access-Control-Allow-Credentials", "true".into()),
        ],
        None => vec![("Access-Control-Allow-Origin", "*".into())],
    }
}

/// Headers every successful polling response of session `sid` carries.
pub fn polling_headers(
    head: &RequestHead,
    opts: &EioServerOptions,
    sid: &str,
    jsonp: bool,
) -> Vec<(&'static str, String)> {
    let mut h = if jsonp { Vec::new() } else { cors_headers(head) };
    if let Some(c) = &opts.cookie {
        h.push(("Set-Cookie", c.header_value(sid)));
    }
    let ua = head.headers.get("user-agent").unwrap_or("");
    if ua.contains(";MSIE") || ua.contains("Trident/") {
        h.push(("X-XSS-Protection", "0".into()));
    }
    h
}

fn finish(mut r: Response, keep_alive: bool) -> Bytes {
    if !keep_alive {
        r = r.header("Connection", "close");
    }
    r.encode()
}

/// A 200 polling response.
pub fn polling_response(
    headers: &[(&'static str, String)],
    content_type: &str,
    body: Bytes,
    keep_alive: bool,
) -> Bytes {
    let mut r = Response::new(200).header("Content-Type", content_type);
    for (k, v) in headers {
        r = r.header(k, v);
    }
    finish(r.body(body), keep_alive)
}

/// The `ok` answer to a POST (`text/html`, as the reference).
pub fn post_ok_response(headers: &[(&'static str, String)], keep_alive: bool) -> Bytes {
    polling_response(headers, "text/html", Bytes::from_static(b"ok"), keep_alive)
}

/// The answer to a CORS preflight.
pub fn preflight_response(head: &RequestHead, keep_alive: bool) -> Bytes {
    let mut r = Response::new(200)
        .header("Access-Control-Allow-Headers", "Content-Type")
        .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    for (k, v) in cors_headers(head) {
        r = r.header(k, &v);
    }
    finish(r, keep_alive)
}

/// An Engine.IO error answer (`{"code":N,"message":"…"}`); 403 goes without CORS headers.
pub fn error_response(code: EioErrorCode, head: &RequestHead, keep_alive: bool) -> Bytes {
    let body = format!("{{\"code\":{},\"message\":\"{}\"}}", code as u8, code.message());
    let mut r = Response::new(code.status()).header("Content-Type", "application/json");
    if code != EioErrorCode::Forbidden {
        for (k, v) in cors_headers(head) {
            r = r.header(k, &v);
        }
    }
    finish(r.body(body), keep_alive)
}

/// A bare 500 (overlapping poll, unknown method on a session).
pub fn server_error_response(keep_alive: bool) -> Bytes {
    finish(Response::new(500), keep_alive)
}

/// The raw refusal of a WebSocket upgrade (`400`, `text/html`, the message as body; empty
/// when the origin check refused), after which the connection is closed.
pub fn ws_error_response(code: EioErrorCode) -> Bytes {
    let body = if code == EioErrorCode::Forbidden { "" } else { code.message() };
    Response::new(400)
        .header("Connection", "close")
        .header("Content-Type", "text/html")
        .body(body.to_owned())
        .encode()
}

/// What the application learns about a session from its handshake request. Kept for the
/// session's whole life, so it is stored compactly (one allocation: the URL, the address and
/// the header lines) and parsed on demand.
#[derive(Clone, Default)]
pub struct Handshake {
    /// `url`, `address`, then `name:value` lines, separated by `\n` (neither can contain one).
    text: Box<str>,
    url_len: u32,
    address_len: u32,
    /// Whether the connection is TLS.
    pub secure: bool,
    /// When the handshake happened, in milliseconds since the Unix epoch (the runtime's clock).
    pub issued: u64,
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("url", &self.url())
            .field("address", &self.address())
            .field("headers", &self.headers().collect::<Vec<_>>())
            .field("secure", &self.secure)
            .field("issued", &self.issued)
            .finish()
    }
}

impl Handshake {
    /// The handshake data of request `head` from `address`.
    pub fn from_request(head: &RequestHead, address: &str, secure: bool, issued: u64) -> Self {
        let clean = |s: &str| s.replace('\n', " ");
        let (url, address) = (clean(&head.target), clean(address));
        let mut text = String::with_capacity(
            url.len()
                + address.len()
                + 2
                + head.headers.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>(),
        );
        text.push_str(&url);
        text.push('\n');
        text.push_str(&address);
        for (k, v) in head.headers.iter() {
            text.push('\n');
            text.push_str(&clean(k));
            text.push(':');
            text.push_str(&clean(v));
        }
        Handshake {
            url_len: url.len().try_into().unwrap_or(u32::MAX),
            address_len: address.len().try_into().unwrap_or(u32::MAX),
            text: text.into_boxed_str(),
            secure,
            issued,
        }
    }

    /// The handshake URL (path and query).
    pub fn url(&self) -> &str {
        self.text.get(..self.url_len as usize).unwrap_or("")
    }

    /// The client address (`ip:port` of the connection).
    pub fn address(&self) -> &str {
        let start = self.url_len as usize + 1;
        self.text.get(start..start + self.address_len as usize).unwrap_or("")
    }

    /// The request headers, in order (names as sent).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let start =
            (self.url_len as usize + 1 + self.address_len as usize + 1).min(self.text.len());
        self.text[start..].split('\n').filter(|l| !l.is_empty()).filter_map(|l| l.split_once(':'))
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// The query pairs of the handshake URL (percent-decoded).
    pub fn query(&self) -> Vec<(String, String)> {
        let q = self.url().split_once('?').map(|(_, q)| q).unwrap_or("");
        crate::http::parse_query(q).unwrap_or_default()
    }

    /// The first query value named `key` (percent-decoded).
    pub fn query_value(&self, key: &str) -> Option<String> {
        self.query().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether the request came from another origin (an `Origin` header was present).
    pub fn xdomain(&self) -> bool {
        self.header("origin").is_some()
    }
}

#[cfg(test)]
mod handshake_tests {
    use super::*;
    use crate::http::{Headers, Version};

    #[test]
    fn compact_handshake_reads_back() {
        let mut h = Headers::new();
        h.append("Host", "x");
        h.append("Origin", "http://a:1");
        let head = RequestHead {
            method: "GET".into(),
            target: "/socket.io/?EIO=3&token=a%20b".into(),
            version: Version::Http11,
            headers: h,
        };
        let hs = Handshake::from_request(&head, "127.0.0.1:5", true, 7);
        assert_eq!(hs.url(), "/socket.io/?EIO=3&token=a%20b");
        assert_eq!(hs.address(), "127.0.0.1:5");
        assert_eq!(hs.headers().collect::<Vec<_>>(), vec![("Host", "x"), ("Origin", "http://a:1")]);
        assert_eq!(hs.header("origin"), Some("http://a:1"));
        assert_eq!(hs.query_value("token").as_deref(), Some("a b"));
        assert!(hs.xdomain() && hs.secure && hs.issued == 7);
        assert_eq!(Handshake::default().headers().count(), 0);
    }
}

/// A new session id: 15 random bytes from `entropy` as 20 URL-safe base64 characters.
pub fn new_sid(entropy: &mut dyn crate::Entropy) -> String {
    use base64::Engine as _;
    let mut b = [0u8; 15];
    entropy.fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Headers, Version};

    fn head(method: &str, target: &str, headers: &[(&str, &str)]) -> RequestHead {
        let mut h = Headers::new();
        for (k, v) in headers {
            h.append(*k, *v);
        }
        RequestHead {
            method: method.into(),
            target: target.into(),
            version: Version::Http11,
            headers: h,
        }
    }

    fn r(method: &str, target: &str) -> EioRoute {
        route(&head(method, target, &[]), &EioServerOptions::default(), "/engine.io/")
    }

    #[test]
    fn routes() {
        assert_eq!(r("GET", "/x"), EioRoute::Outside);
        assert_eq!(
            r("GET", "/engine.io/?EIO=3&transport=polling&t=1&b64=1"),
            EioRoute::HandshakePolling { mode: PollingMode::Xhr { b64: true } }
        );
        assert_eq!(
            r("GET", "/engine.io/?EIO=3&transport=polling&j=0x1"),
            EioRoute::HandshakePolling { mode: PollingMode::Jsonp { index: "01".into() } }
        );
        assert_eq!(r("GET", "/engine.io/?EIO=3"), EioRoute::Error(EioErrorCode::TransportUnknown));
        assert_eq!(
            r("POST", "/engine.io/?transport=polling"),
            EioRoute::Error(EioErrorCode::BadHandshakeMethod)
        );
        assert_eq!(
            r("GET", "/engine.io/?transport=polling&sid=a"),
            EioRoute::Poll { sid: "a".into() }
        );
        assert_eq!(
            r("POST", "/engine.io/?transport=polling&sid=a"),
            EioRoute::Post { sid: "a".into() }
        );
        assert_eq!(r("PUT", "/engine.io/?transport=polling&sid=a"), EioRoute::BadMethod);
        assert_eq!(
            r("GET", "/engine.io/?transport=websocket&sid=a"),
            EioRoute::Error(EioErrorCode::BadRequest)
        );
        let up = head(
            "GET",
            "/engine.io/?transport=websocket&sid=a&b64=1",
            &[("connection", "Upgrade"), ("upgrade", "websocket")],
        );
        assert_eq!(
            route(&up, &EioServerOptions::default(), "/engine.io/"),
            EioRoute::Probe { sid: "a".into(), b64: true }
        );
    }

    #[test]
    fn origins() {
        let list = Origins::List(vec!["example.com:*".into(), "*:8080".into()]);
        let h = |o: &str| head("GET", "/", &[("origin", o)]);
        assert!(list.allows(&h("https://example.com")));
        assert!(list.allows(&h("http://other:8080")));
        assert!(!list.allows(&h("http://other:80")));
        assert!(!list.allows(&head("GET", "/", &[])));
        assert!(Origins::Any.allows(&head("GET", "/", &[])));
    }

    #[test]
    fn errors_and_cookie() {
        let h = head("GET", "/", &[("origin", "http://a")]);
        let e =
            String::from_utf8(error_response(EioErrorCode::UnknownSid, &h, true).to_vec()).unwrap();
        assert!(e.starts_with("HTTP/1.1 400"));
        assert!(e.contains("Access-Control-Allow-Origin: http://a"));
        assert!(e.ends_with("{\"code\":1,\"message\":\"Session ID unknown\"}"));
        let f =
            String::from_utf8(error_response(EioErrorCode::Forbidden, &h, true).to_vec()).unwrap();
        assert!(f.starts_with("HTTP/1.1 403") && !f.contains("Access-Control"));
        assert_eq!(
            CookieOptions::default().header_value("abc"),
            "io=abc; Path=/; HttpOnly; SameSite=Strict"
        );
    }
}
