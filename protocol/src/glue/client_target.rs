//! Runtime-independent parts of the glue clients: their options, the events they report,
//! and where they connect ([`ClientTarget`]).

use super::ClientConfig;
use super::ClientEvent;
use crate::http::{Limits, Request};
use crate::ws::handshake::{HandshakeError, WsUrl};
use bytes::Bytes;
use std::time::Duration;

/// Client settings: where the server is, the glue.js options, and local bounds.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The server's glue base path (glue.js `baseURL`). Default `/glue/`.
    pub base_url: String,
    /// Timings, reconnect policy, forced transport and send buffer bound.
    pub config: ClientConfig,
    /// `User-Agent` of every request. Default `glue-rs`.
    pub user_agent: String,
    /// Extra header fields of every request (e.g. `Origin`, cookies).
    pub headers: Vec<(String, String)>,
    /// Messages queued per channel for reading. Default 1024.
    pub recv_queue: usize,
    /// Events queued for the application (oldest dropped beyond it). Default 256.
    pub event_queue: usize,
    /// Largest message accepted from the server. Default 64 MiB.
    pub max_message_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            base_url: "/glue/".into(),
            config: ClientConfig::default(),
            user_agent: "glue-rs".into(),
            headers: Vec::new(),
            recv_queue: 1024,
            event_queue: 256,
            max_message_size: 64 << 20,
        }
    }
}

/// What happened on the client (the glue.js events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The first connection attempt started.
    Connecting,
    /// A later connection attempt started.
    Reconnecting,
    /// The init handshake completed.
    Connected {
        /// The server-assigned socket ID.
        socket_id: String,
    },
    /// The client gave up, was closed, or was refused.
    Disconnected,
    /// The transport failed (a reconnect follows unless disabled).
    Error(String),
    /// The transport did not open in time (a reconnect follows).
    ConnectTimeout,
    /// The server did not answer a ping (a reconnect follows).
    Timeout,
    /// A message sent while not connected was dropped.
    Discarded {
        /// Channel name (`m` = main channel).
        channel: String,
        /// The data.
        data: String,
    },
    /// The send buffer expired and was emptied.
    DiscardSendBuffer,
}

impl Event {
    /// The application-facing form of a machine event; `None` for received data
    /// ([`ClientEvent::Message`]), which goes to the channel queues instead.
    pub fn from_machine(event: ClientEvent) -> Option<Event> {
        Some(match event {
            ClientEvent::Message { .. } => return None,
            ClientEvent::Connecting => Event::Connecting,
            ClientEvent::Reconnecting => Event::Reconnecting,
            ClientEvent::Connected { socket_id } => Event::Connected { socket_id },
            ClientEvent::Disconnected => Event::Disconnected,
            ClientEvent::Error(e) => Event::Error(e),
            ClientEvent::ConnectTimeout => Event::ConnectTimeout,
            ClientEvent::Timeout => Event::Timeout,
            ClientEvent::Discarded { channel, data } => Event::Discarded { channel, data },
            ClientEvent::DiscardSendBuffer => Event::DiscardSendBuffer,
        })
    }
}

/// Where a client connects: derived once from the host URL and the options.
#[derive(Debug, Clone)]
pub struct ClientTarget {
    /// See [`ClientTarget::new`].
    pub addr: String,
    /// See [`ClientTarget::new`].
    pub port: u16,
    /// See [`ClientTarget::new`].
    pub host_header: String,
    /// See [`ClientTarget::new`].
    pub ws_url: String,
    /// See [`ClientTarget::new`].
    pub ajax_path: String,
    /// See [`ClientTarget::new`].
    pub user_agent: String,
    /// See [`ClientTarget::new`].
    pub headers: Vec<(String, String)>,
    /// See [`ClientTarget::new`].
    pub max_message_size: usize,
    /// See [`ClientTarget::new`].
    pub recv_queue: usize,
    /// See [`ClientTarget::new`].
    pub event_queue: usize,
    /// See [`ClientTarget::new`].
    pub connect_timeout: Duration,
}

impl ClientTarget {
    /// Checks `host` (`http://host[:port][/prefix]`; `https` is refused for now) and the
    /// header fields, and derives the WebSocket URL and the AjaxSocket path.
    pub fn new(host: &str, options: &ClientOptions) -> Result<ClientTarget, HandshakeError> {
        if !host.starts_with("http://") && !host.starts_with("https://") {
            return Err(HandshakeError::InvalidUrl("host must start with http:// or https://"));
        }
        let url = WsUrl::parse(host)?;
        if url.secure {
            return Err(HandshakeError::InvalidUrl("https:// is not supported yet"));
        }
        let mut base = options.base_url.clone();
        if !base.starts_with('/') {
            base.insert(0, '/');
        }
        if !base.ends_with('/') {
            base.push('/');
        }
        let prefix = url.resource.trim_end_matches('/');
        let base = format!("{prefix}{base}");
        let host_header = url.host_header();
        WsUrl::parse(&format!("ws://{host_header}{base}ws"))?;
        let mut headers = options.headers.clone();
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("user-agent"));
        // Checked now: the request builder panics on invalid fields.
        let all = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        if !all.chain([("User-Agent", options.user_agent.as_str())]).all(valid_field) {
            return Err(HandshakeError::InvalidUrl("invalid header field or User-Agent"));
        }
        Ok(ClientTarget {
            addr: url.host.clone(),
            port: url.port,
            ws_url: format!("ws://{host_header}{base}ws"),
            ajax_path: format!("{base}ajax"),
            host_header,
            user_agent: options.user_agent.clone(),
            headers,
            max_message_size: options.max_message_size,
            recv_queue: options.recv_queue.max(1),
            event_queue: options.event_queue,
            connect_timeout: options.config.connect_timeout,
        })
    }

    /// An AjaxSocket POST carrying `body`.
    pub fn request(&self, body: Bytes) -> Request {
        let mut r = Request::new("POST", &self.host_header, &self.ajax_path)
            .header("User-Agent", &self.user_agent)
            .header("Content-Type", "text/plain;charset=UTF-8");
        for (n, v) in &self.headers {
            r = r.header(n, v);
        }
        r.body(body)
    }

    /// HTTP limits for AjaxSocket answers (a message plus its token).
    pub fn limits(&self) -> Limits {
        Limits { max_body: self.max_message_size + 64, ..Limits::default() }
    }
}

fn valid_field((name, value): (&str, &str)) -> bool {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    !name.is_empty()
        && name.chars().all(token)
        && value.chars().all(|c| c == '\t' || !c.is_control())
}
