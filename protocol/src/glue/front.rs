//! The HTTP front of a glue server, shared by the runtimes: which requests go where, and the
//! plain-text answers (spec §1.2–§1.3).

use super::routing::{route, Route, RouteConfig};
use crate::http::{RequestHead, Response};
use bytes::Bytes;

/// Our browser client (`js/glue.js`), served at `<base>glue.js`.
pub const CLIENT_SCRIPT: &str = include_str!("../../../js/glue.js");

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontRoute {
    /// Not under the base URL: the application's own handler (404 by default).
    Outside,
    /// `GET <base>glue.js`: [`CLIENT_SCRIPT`].
    ClientScript,
    /// `<base>ws`: WebSocket upgrade.
    WebSocket,
    /// `POST <base>ajax`: AjaxSocket.
    Ajax,
    /// Refused with this status.
    Reject(u16),
}

/// Front settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontConfig {
    /// Base URL and CORS.
    pub route: RouteConfig,
    /// Whether `<base>ws` is served (404 otherwise).
    pub websocket: bool,
    /// Whether `<base>ajax` is served (404 otherwise).
    pub ajax: bool,
    /// Whether `<base>glue.js` is served.
    pub client_script: bool,
}

impl Default for FrontConfig {
    fn default() -> Self {
        FrontConfig {
            route: RouteConfig::default(),
            websocket: true,
            ajax: true,
            client_script: true,
        }
    }
}

/// Routes a request; `origin_ok` is the origin policy's verdict. Returns the route and the
/// CORS headers for every answer but a 101.
pub fn front_route(
    head: &RequestHead,
    config: &FrontConfig,
    origin_ok: bool,
) -> (FrontRoute, Vec<(&'static str, String)>) {
    let Some(rest) = head.path().strip_prefix(config.route.base.as_str()) else {
        return (FrontRoute::Outside, Vec::new());
    };
    if rest == "glue.js" && config.client_script {
        return match head.method.as_str() {
            "GET" | "HEAD" => (FrontRoute::ClientScript, Vec::new()),
            _ => (FrontRoute::Reject(405), Vec::new()),
        };
    }
    let (r, cors) = route(head, &config.route, origin_ok);
    let r = match r {
        Route::WebSocket if !config.websocket => FrontRoute::Reject(404),
        Route::Ajax if !config.ajax => FrontRoute::Reject(404),
        Route::Ajax if head.method != "POST" => FrontRoute::Reject(400),
        Route::WebSocket => FrontRoute::WebSocket,
        Route::Ajax => FrontRoute::Ajax,
        Route::Reject(s) => FrontRoute::Reject(s),
    };
    (r, cors)
}

/// A `text/plain; charset=utf-8` response with the CORS headers; `Connection: close` unless
/// `keep_alive`.
pub fn text_response(
    status: u16,
    body: impl Into<Bytes>,
    cors: &[(&'static str, String)],
    keep_alive: bool,
) -> Bytes {
    let mut r = Response::new(status).header("Content-Type", "text/plain; charset=utf-8");
    if status >= 400 {
        r = r.header("X-Content-Type-Options", "nosniff");
    }
    for (name, value) in cors {
        r = r.header(name, value);
    }
    if !keep_alive {
        r = r.header("Connection", "close");
    }
    r.body(body).encode()
}

/// The Go-style error answer: the status's reason phrase and a newline as body.
pub fn error_response(status: u16, cors: &[(&'static str, String)], keep_alive: bool) -> Bytes {
    let body = format!("{}\n", crate::http::reason_phrase(status));
    text_response(status, body, cors, keep_alive)
}

/// The answer for [`FrontRoute::ClientScript`].
pub fn client_script_response(head: &RequestHead) -> Bytes {
    let r = Response::new(200)
        .header("Content-Type", "application/javascript; charset=utf-8")
        .header("Cache-Control", "no-cache");
    let r = if head.keep_alive() { r } else { r.header("Connection", "close") };
    if head.method == "HEAD" {
        let len = CLIENT_SCRIPT.len().to_string();
        return r.header("Content-Length", &len).encode_head();
    }
    r.body(CLIENT_SCRIPT).encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request_head, Limits};

    fn head(raw: &str) -> RequestHead {
        parse_request_head(raw.as_bytes(), &Limits::default()).unwrap().unwrap().0
    }

    #[test]
    fn routes() {
        let mut c = FrontConfig::default();
        let r = |h: &str, c: &FrontConfig| front_route(&head(h), c, true).0;
        assert_eq!(r("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", &c), FrontRoute::Outside);
        assert_eq!(
            r("GET /glue/glue.js HTTP/1.1\r\nHost: a\r\n\r\n", &c),
            FrontRoute::ClientScript
        );
        assert_eq!(r("GET /glue/ws HTTP/1.1\r\nHost: a\r\n\r\n", &c), FrontRoute::WebSocket);
        assert_eq!(r("POST /glue/ajax HTTP/1.1\r\nHost: a\r\n\r\n", &c), FrontRoute::Ajax);
        assert_eq!(
            r("OPTIONS /glue/ajax HTTP/1.1\r\nHost: a\r\n\r\n", &c),
            FrontRoute::Reject(400)
        );
        assert_eq!(r("GET /glue/x HTTP/1.1\r\nHost: a\r\n\r\n", &c), FrontRoute::Reject(400));
        c.websocket = false;
        assert_eq!(r("GET /glue/ws HTTP/1.1\r\nHost: a\r\n\r\n", &c), FrontRoute::Reject(404));
        c.ajax = false;
        assert_eq!(r("POST /glue/ajax HTTP/1.1\r\nHost: a\r\n\r\n", &c), FrontRoute::Reject(404));
    }

    #[test]
    fn answers() {
        let b = error_response(400, &[("Access-Control-Allow-Origin", "http://x".into())], true);
        let s = String::from_utf8(b.to_vec()).unwrap();
        assert!(s.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{s}");
        assert!(s.contains("Access-Control-Allow-Origin: http://x\r\n"));
        assert!(s.ends_with("\r\n\r\nBad Request\n"));
    }
}
