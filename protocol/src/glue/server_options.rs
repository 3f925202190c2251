//! Options of a glue server, shared by the runtimes.

use super::front::FrontConfig;
use super::routing::{same_origin, RouteConfig};
use super::{InboxConfig, SocketConfig, DEFAULT_POLL_TIMEOUT};
use crate::http::{Limits, Request, RequestHead, Response};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Decides whether a request's origin is allowed.
pub type OriginCheck = Arc<dyn Fn(&RequestHead) -> bool + Send + Sync>;
/// Answers requests outside the base URL (static files, your API…).
pub type HttpHandler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// How a runtime's `Server::run` listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SocketType {
    /// Nothing: hand connections to the runtime's `Server::serve_connection` yourself.
    None,
    /// A TCP listener on [`ServerOptions::listen_address`].
    #[default]
    Tcp,
    /// A Unix socket at the path [`ServerOptions::listen_address`].
    Unix,
}

/// Server options (upstream's, plus transports, limits and timings).
#[derive(Clone)]
pub struct ServerOptions {
    /// How `run` listens. Default TCP.
    pub socket_type: SocketType,
    /// Listen address (`host:port`, or a path for Unix). Default `0.0.0.0:80`.
    pub listen_address: String,
    /// Base URL; a `/` is added at either end if missing. Default `/glue/`.
    pub handle_url: String,
    /// Origin policy for glue requests. Default: same origin ([`same_origin`]).
    pub check_origin: Option<OriginCheck>,
    /// Answer CORS headers (requests then need an `Origin`). Default false.
    pub enable_cors: bool,
    /// Serve `<base>ws`. Default true.
    pub websocket: bool,
    /// Serve `<base>ajax`. Default true.
    pub ajax: bool,
    /// Serve our browser client at `<base>glue.js`. Default true.
    pub client_script: bool,
    /// Keep-alive timings and the send-queue cap per socket.
    pub socket: SocketConfig,
    /// Unread data caps per channel.
    pub inbox: InboxConfig,
    /// WebSocket limits (message size etc.); glue sends no WebSocket pings.
    pub ws: crate::ws::Config,
    /// HTTP limits (head size, AjaxSocket body size).
    pub limits: Limits,
    /// How long an AjaxSocket poll is held. Default 35 s.
    pub poll_timeout: Duration,
    /// Messages an AjaxSocket session holds for polls. Default 64.
    pub ajax_queue: usize,
    /// Idle time after which a keep-alive HTTP connection is closed. Default 60 s.
    pub http_idle_timeout: Duration,
    /// Handler for requests outside the base URL. Default: 404.
    pub fallback: Option<HttpHandler>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            socket_type: SocketType::Tcp,
            listen_address: "0.0.0.0:80".into(),
            handle_url: "/glue/".into(),
            check_origin: None,
            enable_cors: false,
            websocket: true,
            ajax: true,
            client_script: true,
            socket: SocketConfig::default(),
            inbox: InboxConfig::default(),
            ws: crate::ws::Config::default(),
            limits: Limits::default(),
            poll_timeout: DEFAULT_POLL_TIMEOUT,
            ajax_queue: 64,
            http_idle_timeout: Duration::from_secs(60),
            fallback: None,
        }
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("socket_type", &self.socket_type)
            .field("listen_address", &self.listen_address)
            .field("handle_url", &self.handle_url)
            .field("enable_cors", &self.enable_cors)
            .field("websocket", &self.websocket)
            .field("ajax", &self.ajax)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// The HTTP front settings these options give.
    pub fn front_config(&self) -> FrontConfig {
        FrontConfig {
            route: RouteConfig::with_base(&self.handle_url, self.enable_cors),
            websocket: self.websocket,
            ajax: self.ajax,
            client_script: self.client_script,
        }
    }

    /// The origin policy's verdict on a request ([`same_origin`] unless `check_origin` is set).
    pub fn origin_ok(&self, head: &RequestHead) -> bool {
        match &self.check_origin {
            Some(check) => check(head),
            None => same_origin(head),
        }
    }
}
