//! HTTP routing of glue requests (spec §1.2–§1.4): origin check, CORS, base-URL strip,
//! dispatch to `ws` / `ajax`, and the client's remote address.

use crate::http::RequestHead;

/// Where a request under the base URL goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `<base>ws`: WebSocket upgrade (GET only; 405 otherwise).
    WebSocket,
    /// `<base>ajax`: AjaxSocket (POST only; 400 otherwise).
    Ajax,
    /// Refused with this status (empty body, as upstream): 403 origin, 400 CORS without
    /// Origin / path outside the base / unknown endpoint.
    Reject(u16),
}

/// Routing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// Base URL, normalised to start and end with `/` (default `/glue/`).
    pub base: String,
    /// Answer CORS headers (requires an `Origin`).
    pub enable_cors: bool,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig { base: "/glue/".into(), enable_cors: false }
    }
}

impl RouteConfig {
    /// A config for `base` (a `/` is added at either end if missing).
    pub fn with_base(base: &str, enable_cors: bool) -> Self {
        let mut b = String::new();
        if !base.starts_with('/') {
            b.push('/');
        }
        b.push_str(base);
        if !b.ends_with('/') {
            b.push('/');
        }
        RouteConfig { base: b, enable_cors }
    }
}

/// The default origin policy: no `Origin` header, or its host\[:port\] equals the `Host`
/// header byte for byte (`Origin: null` and unparsable origins are refused).
pub fn same_origin(head: &RequestHead) -> bool {
    let Some(origin) = head.headers.get("origin") else { return true };
    let Some((_, rest)) = origin.split_once("://") else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && Some(host) == head.headers.get("host")
}

/// Routes a request. `origin_ok` is the result of the origin policy (e.g. [`same_origin`]).
/// Returns the route and the CORS headers to put on every response (not on a 101).
///
/// Unlike upstream, the base URL prefix is checked, not only its length.
pub fn route(
    head: &RequestHead,
    config: &RouteConfig,
    origin_ok: bool,
) -> (Route, Vec<(&'static str, String)>) {
    if !origin_ok {
        return (Route::Reject(403), Vec::new());
    }
    let mut cors = Vec::new();
    if config.enable_cors {
        match head.headers.get("origin") {
            Some(o) if !o.is_empty() => {
                cors.push(("Access-Control-Allow-Origin", o.to_owned()));
                cors.push(("Access-Control-Allow-Methods", "POST,GET".to_owned()));
            }
            _ => return (Route::Reject(400), cors),
        }
    }
    let route = match head.path().strip_prefix(config.base.as_str()) {
        Some("ws") => Route::WebSocket,
        Some("ajax") => Route::Ajax,
        _ => Route::Reject(400),
    };
    (route, cors)
}

/// The client's address (§1.4): first `X-Forwarded-For` element, else `X-Real-Ip`, else the
/// TCP peer address without its port.
pub fn remote_addr(head: &RequestHead, peer: &str) -> String {
    if let Some(first) = head.headers.get("x-forwarded-for").and_then(|v| v.split(',').next()) {
        let first = first.trim();
        if !first.is_empty() {
            return first.to_owned();
        }
    }
    if let Some(real) = head.headers.get("x-real-ip").map(str::trim) {
        if !real.is_empty() {
            return real.to_owned();
        }
    }
    peer.rsplit_once(':').map_or(peer, |(host, _)| host).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request_head, Limits};

    fn head(raw: &str) -> RequestHead {
        parse_request_head(raw.as_bytes(), &Limits::default()).unwrap().unwrap().0
    }

    #[test]
    fn routing_table() {
        let c = RouteConfig::default();
        let h = head("GET /glue/ws HTTP/1.1\r\nHost: a:1\r\n\r\n");
        assert_eq!(route(&h, &c, same_origin(&h)).0, Route::WebSocket);
        let h = head("POST /glue/ajax?x=1 HTTP/1.1\r\nHost: a:1\r\nOrigin: http://a:1\r\n\r\n");
        assert_eq!(route(&h, &c, same_origin(&h)).0, Route::Ajax);
        let h = head("POST /glue/ajax HTTP/1.1\r\nHost: a:1\r\nOrigin: http://b:1\r\n\r\n");
        assert_eq!(route(&h, &c, same_origin(&h)).0, Route::Reject(403));
        let h = head("GET /glue/ws HTTP/1.1\r\nHost: a\r\nOrigin: null\r\n\r\n");
        assert!(!same_origin(&h));
        for p in ["/glue/", "/glue/WS", "/glue/ws/", "/other/ws", "/glu"] {
            let h = head(&format!("GET {p} HTTP/1.1\r\nHost: a\r\n\r\n"));
            assert_eq!(route(&h, &c, true).0, Route::Reject(400), "{p}");
        }
        let cors = RouteConfig::with_base("api", true);
        assert_eq!(cors.base, "/api/");
        let h = head("GET /api/ws HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(route(&h, &cors, true).0, Route::Reject(400));
        let h = head("GET /api/ws HTTP/1.1\r\nHost: a\r\nOrigin: http://x\r\n\r\n");
        let (r, headers) = route(&h, &cors, true);
        assert_eq!(r, Route::WebSocket);
        assert_eq!(headers[0], ("Access-Control-Allow-Origin", "http://x".to_owned()));
    }

    #[test]
    fn remote_address_rules() {
        let h = head("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For:  1.2.3.4 , 5.6.7.8\r\nX-Real-Ip: 9.9.9.9\r\n\r\n");
        assert_eq!(remote_addr(&h, "127.0.0.1:5000"), "1.2.3.4");
        let h = head("GET / HTTP/1.1\r\nHost: a\r\nX-Real-Ip: 9.9.9.9\r\n\r\n");
        assert_eq!(remote_addr(&h, "127.0.0.1:5000"), "9.9.9.9");
        let h = head("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(remote_addr(&h, "[::1]:5000"), "[::1]");
        assert_eq!(remote_addr(&h, "127.0.0.1:5000"), "127.0.0.1");
    }
}
