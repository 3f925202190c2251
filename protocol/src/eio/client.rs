//! The Engine.IO revision 3 client (spec §1), independent of the runtime.
//!
//! The machine opens nothing itself. It tells the runtime which HTTP requests to make and
//! which WebSockets to open ([`EioAction`]), each with a [`RequestId`], and the runtime
//! reports what happened with that id:
//! [`handle_http_response`](EioClient::handle_http_response),
//! [`handle_http_error`](EioClient::handle_http_error),
//! [`handle_ws_open`](EioClient::handle_ws_open),
//! [`handle_ws_message`](EioClient::handle_ws_message) and
//! [`handle_ws_closed`](EioClient::handle_ws_closed). Reports about ids the machine no longer
//! cares about are ignored.
//!
//! After every input or command, perform the actions from
//! [`poll_action`](EioClient::poll_action) in order and drain
//! [`poll_event`](EioClient::poll_event), then sleep until
//! [`poll_timeout`](EioClient::poll_timeout) and call
//! [`handle_timeout`](EioClient::handle_timeout).
//!
//! Behaviour (spec §1.3–§1.10, client side):
//!
//! * The handshake goes over the first of [`EioClientConfig::transports`]: a polling GET
//!   (`EIO=3&transport=polling&t=…&b64=1`) or a WebSocket (`EIO=3&transport=websocket`). The
//!   first packet must be `open` with `sid`, `upgrades` (required), `pingInterval` and
//!   `pingTimeout`; anything else closes with [`CloseReason::ParseError`].
//! * Polling: exactly one GET in flight while open; at most one POST, carrying every queued
//!   packet as one payload. Response bodies are read as binary payloads only for the exact
//!   content type `application/octet-stream` (optionally `; charset=UTF-8`), else as text.
//! * Heartbeat (revision 3 direction): the client sends `2` `pingInterval` after the open and
//!   then `pingInterval` after each `3`; after a ping it expects any packet within
//!   `pingTimeout`; every packet received rearms that deadline to
//!   `pingInterval + pingTimeout`. Expiry closes with [`CloseReason::PingTimeout`]. A server
//!   `2` is ignored (no pong), as the 2.x client does.
//! * Upgrade (§1.8): when polling, `upgrade` is on, the handshake lists `websocket` and the
//!   config allows it, a WebSocket with the sid is opened and sent `2probe`. On `3probe` the
//!   client pauses polling (no new GET or POST; the in-flight ones finish), then sends `5` on
//!   the WebSocket, switches ([`EioEvent::Upgraded`]) and flushes the queue there. Any other
//!   answer, a close, or the request timeout aborts the probe
//!   ([`EioEvent::UpgradeFailed`]); polling goes on.
//! * Server `1` closes with [`CloseReason::TransportClose`], `6` and stray `0`/`5` are
//!   ignored. A non-200 status, a failed request or a WebSocket that failed to open closes
//!   with [`CloseReason::TransportError`]; a WebSocket that closes after it opened, with
//!   [`CloseReason::TransportClose`].
//! * [`close`](EioClient::close) on polling sends the queue plus `1` in a last POST (after an
//!   in-flight POST finished) and ends; on a WebSocket it sends the queue and closes the
//!   socket (no `1` packet). The reason is [`CloseReason::ForcedClose`].
//! * There is no reconnection: a closed client stays closed. Reconnection belongs to the
//!   Socket.IO manager (see [`Backoff`](super::backoff::Backoff)).
//! * JSONP polling is not implemented (it only exists for old browsers).

use super::{
    decode_binary_payload, decode_text_payload, encode_binary_payload, encode_text_payload, Packet,
    PacketData, PacketType,
};
use crate::http::percent_encode;
use crate::ws::Message;
use crate::{Entropy, Timers};
use bytes::Bytes;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Content type of a text payload POST (exactly what the reference client sends).
pub const TEXT_CONTENT_TYPE: &str = "text/plain;charset=UTF-8";
/// Content type of a binary payload POST.
pub const BINARY_CONTENT_TYPE: &str = "application/octet-stream";

/// Identifies one HTTP request or WebSocket the machine asked for; the runtime echoes it in
/// its reports. Ids are never reused by one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// XHR long-polling (`transport=polling`).
    Polling,
    /// WebSocket (`transport=websocket`).
    WebSocket,
}

impl Transport {
    /// The query value (`polling` / `websocket`).
    pub fn name(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }
}

/// Client options; defaults follow socket.io-client 2.x where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EioClientConfig {
    /// `https`/`wss` instead of `http`/`ws` (only used by [`http_url`](Self::http_url) and
    /// [`ws_url`](Self::ws_url)). Default false.
    pub secure: bool,
    /// Server host name or address. Default `localhost`.
    pub host: String,
    /// Server port; `None` for the scheme's default. Default `None`.
    pub port: Option<u16>,
    /// The Engine.IO endpoint path; a missing leading or trailing `/` is added. Default
    /// `/socket.io/` (socket.io's; plain engine.io servers use `/engine.io/`).
    pub path: String,
    /// Extra query pairs sent first on every request (e.g. a token). Pairs whose key is one
    /// the protocol sets (`EIO`, `transport`, `t`, `b64`, `sid`, `j`) are dropped.
    pub query: Vec<(String, String)>,
    /// Transports allowed, the first one used for the handshake. Default polling, websocket.
    pub transports: Vec<Transport>,
    /// Probe and upgrade to a WebSocket when the server offers it. Default true.
    pub upgrade: bool,
    /// Ask for base64 instead of binary (`b64=1`): binary packets travel as `b4…` text.
    /// Default false.
    pub force_base64: bool,
    /// Add a cache-busting `t` to polling requests. Default true.
    pub timestamp_requests: bool,
    /// Longest a request may stay unanswered (including a long-poll GET and a WebSocket
    /// opening or probe); `None` for no limit. Default `None` (as the reference).
    pub request_timeout: Option<Duration>,
    /// Most packets queued for sending; [`EioClient::send`] fails beyond it. Default 1024.
    pub max_queued_packets: usize,
    /// Most data bytes queued for sending. Default 16 MiB.
    pub max_queued_bytes: usize,
}

impl Default for EioClientConfig {
    fn default() -> Self {
        EioClientConfig {
            secure: false,
            host: "localhost".into(),
            port: None,
            path: "/socket.io/".into(),
            query: Vec::new(),
            transports: vec![Transport::Polling, Transport::WebSocket],
            upgrade: true,
            force_base64: false,
            timestamp_requests: true,
            request_timeout: None,
            max_queued_packets: 1024,
            max_queued_bytes: 16 << 20,
        }
    }
}

impl EioClientConfig {
    /// The absolute `http(s)://` URL of a request's `path_and_query`.
    pub fn http_url(&self, path_and_query: &str) -> String {
        self.url(if self.secure { "https" } else { "http" }, path_and_query)
    }

    /// The absolute `ws(s)://` URL of a WebSocket's `path_and_query`.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        self.url(if self.secure { "wss" } else { "ws" }, path_and_query)
    }

    fn url(&self, scheme: &str, path_and_query: &str) -> String {
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{scheme}://{host}:{p}{path_and_query}"),
            None => format!("{scheme}://{host}{path_and_query}"),
        }
    }
}

/// What the runtime must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EioAction {
    /// Send `GET <path_and_query>` (a poll, or the handshake), then report
    /// [`handle_http_response`](EioClient::handle_http_response) or
    /// [`handle_http_error`](EioClient::handle_http_error) with `id`.
    HttpGet {
        /// Echoed in the report.
        id: RequestId,
        /// Path and query, e.g. `/socket.io/?EIO=3&transport=polling&t=…`.
        path_and_query: String,
    },
    /// Send `POST <path_and_query>` with this body and `Content-Type`, then report as for
    /// [`EioAction::HttpGet`].
    HttpPost {
        /// Echoed in the report.
        id: RequestId,
        /// Path and query.
        path_and_query: String,
        /// [`TEXT_CONTENT_TYPE`] or [`BINARY_CONTENT_TYPE`].
        content_type: &'static str,
        /// The payload.
        body: Bytes,
    },
    /// The machine no longer wants the answer to this request; the runtime may abort it and
    /// need not report on it.
    CancelHttp {
        /// The request.
        id: RequestId,
    },
    /// Open a WebSocket to `<path_and_query>` (the runtime does the HTTP upgrade), then report
    /// [`handle_ws_open`](EioClient::handle_ws_open) (or
    /// [`handle_ws_closed`](EioClient::handle_ws_closed) if it failed), every message, and
    /// the close, with `id`.
    OpenWebSocket {
        /// Echoed in the reports.
        id: RequestId,
        /// Path and query, e.g. `/socket.io/?EIO=3&transport=websocket&sid=…`.
        path_and_query: String,
    },
    /// Send one message on the WebSocket `ws`.
    WsSend {
        /// The WebSocket.
        ws: RequestId,
        /// A text frame (string or `b…` packet) or a binary frame (type byte + data).
        message: Message,
    },
    /// Close the WebSocket `id` (after sending what was asked before); nothing more is
    /// reported about it. Harmless if it is already gone.
    CloseWebSocket {
        /// The WebSocket.
        id: RequestId,
    },
}

/// Why the client closed (the engine.io reason strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// `ping timeout`: nothing arrived in time.
    PingTimeout,
    /// `transport error`: a request failed, timed out, or was answered with a non-200
    /// status; or a WebSocket failed to open.
    TransportError,
    /// `transport close`: the server sent `1`, or the WebSocket closed.
    TransportClose,
    /// `forced close`: [`EioClient::close`].
    ForcedClose,
    /// `parse error`: the server sent something that is not Engine.IO, or a bad handshake.
    ParseError,
}

impl CloseReason {
    /// The reason as engine.io spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::TransportError => "transport error",
            CloseReason::TransportClose => "transport close",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ParseError => "parse error",
        }
    }
}

/// What happened on the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EioEvent {
    /// The handshake completed.
    Open {
        /// The session id.
        sid: String,
        /// Transports the server offers to upgrade to.
        upgrades: Vec<String>,
        /// The server's `pingInterval`.
        ping_interval: Duration,
        /// The server's `pingTimeout`.
        ping_timeout: Duration,
    },
    /// A message packet arrived.
    Message(PacketData),
    /// The session moved from polling to the WebSocket.
    Upgraded,
    /// The upgrade probe failed; the session stays on polling.
    UpgradeFailed,
    /// The session is over (always the last event).
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Where the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EioClientState {
    /// Created; [`EioClient::open`] not called yet.
    Idle,
    /// The handshake is under way.
    Opening,
    /// The handshake completed.
    Open,
    /// [`EioClient::close`] waits for an in-flight POST before the closing POST.
    Closing,
    /// Over.
    Closed,
}

/// A client command that cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EioClientError {
    /// The send queue is at [`EioClientConfig::max_queued_packets`] or would exceed
    /// [`EioClientConfig::max_queued_bytes`]; the packet was not taken.
    #[error("the send queue is full")]
    QueueFull,
    /// The client is closing or closed.
    #[error("the client is closed")]
    Closed,
    /// [`EioClient::open`] was already called.
    #[error("the client was already opened")]
    AlreadyOpened,
    /// [`EioClientConfig::transports`] is empty.
    #[error("no transport is configured")]
    NoTransport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Send the next ping.
    Ping = 0,
    /// Something must arrive before this.
    Liveness = 1,
    /// The GET in flight times out.
    Get = 2,
    /// The POST in flight times out.
    Post = 3,
    /// The handshake WebSocket or the probe WebSocket times out.
    Ws = 4,
}
const TIMERS: usize = 5;
const ALL_TIMERS: [Timer; TIMERS] =
    [Timer::Ping, Timer::Liveness, Timer::Get, Timer::Post, Timer::Ws];

/// The transport carrying the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    None,
    Polling { get: Option<RequestId>, post: Option<RequestId> },
    WebSocket { id: RequestId, open: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeStage {
    /// The WebSocket is opening.
    Opening,
    /// `2probe` sent, waiting for `3probe`.
    Sent,
    /// `3probe` received: polling pauses, then `5`.
    Pausing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    id: RequestId,
    stage: ProbeStage,
}

/// The sans-IO Engine.IO revision 3 client state machine.
#[derive(Debug)]
pub struct EioClient {
    config: EioClientConfig,
    state: EioClientState,
    link: Link,
    probe: Option<Probe>,
    sid: Option<String>,
    ping_interval: Duration,
    ping_timeout: Duration,
    queue: VecDeque<Packet>,
    queued_bytes: usize,
    next_id: u64,
    stamp_seed: u64,
    stamps: u64,
    actions: VecDeque<EioAction>,
    events: VecDeque<EioEvent>,
    timers: Timers<TIMERS>,
}

/// Query keys the protocol sets; user pairs with these keys are dropped.
const RESERVED_KEYS: [&str; 6] = ["EIO", "transport", "t", "b64", "sid", "j"];

impl EioClient {
    /// A client that has not started (call [`open`](Self::open)). `entropy` seeds the
    /// cache-busting `t` values.
    pub fn new(mut config: EioClientConfig, entropy: &mut dyn Entropy) -> Self {
        if !config.path.starts_with('/') {
            config.path.insert(0, '/');
        }
        if !config.path.ends_with('/') {
            config.path.push('/');
        }
        config.query.retain(|(k, _)| !RESERVED_KEYS.contains(&k.as_str()));
        let mut seed = [0u8; 5];
        entropy.fill(&mut seed);
        let mut b = [0u8; 8];
        b[..5].copy_from_slice(&seed);
        EioClient {
            config,
            state: EioClientState::Idle,
            link: Link::None,
            probe: None,
            sid: None,
            ping_interval: Duration::ZERO,
            ping_timeout: Duration::ZERO,
            queue: VecDeque::new(),
            queued_bytes: 0,
            next_id: 0,
            stamp_seed: u64::from_le_bytes(b),
            stamps: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            timers: Timers::new(),
        }
    }

    /// The effective configuration (path normalised, reserved query keys dropped).
    pub fn config(&self) -> &EioClientConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> EioClientState {
        self.state
    }

    /// The session id once open (kept after the close).
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The transport carrying the session (`None` before [`open`](Self::open) and after the
    /// close).
    pub fn transport(&self) -> Option<Transport> {
        match self.link {
            Link::None => None,
            Link::Polling { .. } => Some(Transport::Polling),
            Link::WebSocket { .. } => Some(Transport::WebSocket),
        }
    }

    /// Whether a WebSocket probe is under way.
    pub fn is_upgrading(&self) -> bool {
        self.probe.is_some()
    }

    /// Packets waiting in the send queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Data bytes waiting in the send queue.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Whether the client is closed.
    pub fn is_closed(&self) -> bool {
        self.state == EioClientState::Closed
    }

    /// Starts the handshake over the first configured transport.
    pub fn open(&mut self, now: Instant) -> Result<(), EioClientError> {
        if self.state != EioClientState::Idle {
            return Err(EioClientError::AlreadyOpened);
        }
        let Some(&first) = self.config.transports.first() else {
            return Err(EioClientError::NoTransport);
        };
        self.state = EioClientState::Opening;
        match first {
            Transport::Polling => {
                self.link = Link::Polling { get: None, post: None };
                self.start_get(now);
            }
            Transport::WebSocket => {
                let id = self.new_id();
                let path_and_query = self.path_and_query(Transport::WebSocket);
                self.link = Link::WebSocket { id, open: false };
                self.timers[Timer::Ws as usize] = self.deadline(now);
                self.actions.push_back(EioAction::OpenWebSocket { id, path_and_query });
            }
        }
        Ok(())
    }

    /// Queues a message packet and sends it as soon as the transport allows (at once when
    /// open and not pausing for an upgrade).
    pub fn send(&mut self, now: Instant, data: PacketData) -> Result<(), EioClientError> {
        if matches!(self.state, EioClientState::Closing | EioClientState::Closed) {
            return Err(EioClientError::Closed);
        }
        let size = data_len(&data);
        if self.queue.len() >= self.config.max_queued_packets
            || self.queued_bytes.saturating_add(size) > self.config.max_queued_bytes
        {
            return Err(EioClientError::QueueFull);
        }
        self.queued_bytes += size;
        self.queue.push_back(Packet { ty: PacketType::Message, data });
        self.flush(now);
        Ok(())
    }

    /// Closes the session ([`CloseReason::ForcedClose`]); see the module docs. Does nothing
    /// when already closing or closed.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            EioClientState::Closing | EioClientState::Closed => {}
            EioClientState::Idle | EioClientState::Opening => {
                self.shutdown(CloseReason::ForcedClose, None)
            }
            EioClientState::Open => {
                if let Some(probe) = self.probe.take() {
                    self.actions.push_back(EioAction::CloseWebSocket { id: probe.id });
                    self.timers[Timer::Ws as usize] = None;
                }
                match self.link {
                    Link::WebSocket { .. } => {
                        self.flush(now);
                        self.shutdown(CloseReason::ForcedClose, None);
                    }
                    Link::Polling { get, post } => {
                        if let Some(id) = get {
                            self.actions.push_back(EioAction::CancelHttp { id });
                        }
                        self.link = Link::Polling { get: None, post };
                        self.timers[Timer::Get as usize] = None;
                        self.timers[Timer::Ping as usize] = None;
                        self.timers[Timer::Liveness as usize] = None;
                        // A ping still waiting is moot; the close takes its place.
                        self.queue.retain(|p| p.ty != PacketType::Ping);
                        self.queue.push_back(Packet::text(PacketType::Close, ""));
                        self.state = EioClientState::Closing;
                        if post.is_none() {
                            self.final_post(now);
                        }
                    }
                    Link::None => self.shutdown(CloseReason::ForcedClose, None),
                }
            }
        }
    }

    /// The answer to an [`EioAction::HttpGet`] or [`EioAction::HttpPost`]: its status, its
    /// `Content-Type` (if any) and its body.
    pub fn handle_http_response(
        &mut self,
        now: Instant,
        id: RequestId,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        let Link::Polling { get, post } = self.link else { return };
        if get == Some(id) {
            self.link = Link::Polling { get: None, post };
            self.timers[Timer::Get as usize] = None;
            if status != 200 {
                return self.shutdown(CloseReason::TransportError, None);
            }
            let binary = content_type.is_some_and(|ct| {
                let ct = ct.trim();
                ct.eq_ignore_ascii_case(BINARY_CONTENT_TYPE)
                    || ct.eq_ignore_ascii_case("application/octet-stream; charset=UTF-8")
            });
            let decoded =
                if binary { decode_binary_payload(body) } else { decode_text_payload(body) };
            for packet in decoded.packets {
                self.on_packet(now, packet);
                if !self.is_live() {
                    return;
                }
            }
            if decoded.error.is_some() {
                return self.shutdown(CloseReason::ParseError, None);
            }
            if self.state == EioClientState::Opening {
                // A handshake answer without an open packet.
                return self.shutdown(CloseReason::ParseError, None);
            }
            self.after_polling_request(now);
        } else if post == Some(id) {
            self.link = Link::Polling { get, post: None };
            self.timers[Timer::Post as usize] = None;
            if self.state == EioClientState::Closing {
                return self.final_post(now);
            }
            if status != 200 {
                return self.shutdown(CloseReason::TransportError, None);
            }
            self.after_polling_request(now);
        }
    }

    /// An [`EioAction::HttpGet`] or [`EioAction::HttpPost`] failed without an answer
    /// (connection error, reset, …): closes with [`CloseReason::TransportError`].
    pub fn handle_http_error(&mut self, now: Instant, id: RequestId) {
        let Link::Polling { get, post } = self.link else { return };
        if get == Some(id) {
            self.link = Link::Polling { get: None, post };
            self.shutdown(CloseReason::TransportError, None);
        } else if post == Some(id) {
            self.link = Link::Polling { get, post: None };
            if self.state == EioClientState::Closing {
                // The close was asked for; the closing POST still goes out.
                return self.final_post(now);
            }
            self.shutdown(CloseReason::TransportError, None);
        }
    }

    /// The WebSocket `id` completed its opening handshake.
    pub fn handle_ws_open(&mut self, now: Instant, id: RequestId) {
        if !self.is_live() {
            return;
        }
        match (self.link, self.probe) {
            (Link::WebSocket { id: ws, open: false }, _) if ws == id => {
                // The handshake packet is next; the request timeout still runs for it.
                self.link = Link::WebSocket { id, open: true };
            }
            (_, Some(Probe { id: probe, stage: ProbeStage::Opening })) if probe == id => {
                self.probe = Some(Probe { id, stage: ProbeStage::Sent });
                self.timers[Timer::Ws as usize] = self.deadline(now);
                self.actions
                    .push_back(EioAction::WsSend { ws: id, message: Message::from("2probe") });
            }
            _ => {}
        }
    }

    /// One message arrived on the WebSocket `id`.
    pub fn handle_ws_message(&mut self, now: Instant, id: RequestId, message: &Message) {
        if !self.is_live() {
            return;
        }
        if let Link::WebSocket { id: ws, .. } = self.link {
            if ws == id {
                self.link = Link::WebSocket { id, open: true };
                let packet = match message {
                    Message::Text(t) => Packet::decode_str(t.as_str()),
                    Message::Binary(b) => Packet::decode_binary(b),
                };
                match packet {
                    Ok(p) => self.on_packet(now, p),
                    Err(_) => return self.shutdown(CloseReason::ParseError, None),
                }
                if self.state == EioClientState::Open {
                    self.timers[Timer::Ws as usize] = None;
                }
                return;
            }
        }
        let Some(probe) = self.probe else { return };
        if probe.id != id {
            return;
        }
        let is_probe_pong = matches!(message, Message::Text(t) if t.as_str() == "3probe");
        if probe.stage == ProbeStage::Sent && is_probe_pong {
            self.probe = Some(Probe { id, stage: ProbeStage::Pausing });
            self.timers[Timer::Ws as usize] = None;
            self.try_finish_upgrade(now);
        } else {
            self.upgrade_failed(now, true);
        }
    }

    /// The WebSocket `id` closed, or failed to open.
    pub fn handle_ws_closed(&mut self, now: Instant, id: RequestId) {
        if !self.is_live() {
            return;
        }
        if let Link::WebSocket { id: ws, open } = self.link {
            if ws == id {
                let reason = if open || self.state == EioClientState::Open {
                    CloseReason::TransportClose
                } else {
                    CloseReason::TransportError
                };
                return self.shutdown(reason, Some(id));
            }
        }
        if self.probe.is_some_and(|p| p.id == id) {
            self.upgrade_failed(now, false);
        }
    }

    /// A deadline passed; early calls do nothing. Timers due at the call are handled in
    /// deadline order.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = ALL_TIMERS
            .map(|t| self.timers[t as usize].filter(|&d| d <= now).map(|d| (d, t as usize)));
        due.sort_unstable();
        for (_, index) in due.into_iter().flatten() {
            let timer = ALL_TIMERS[index];
            if !self.timers.expired(timer as usize, now) || self.is_closed() {
                continue;
            }
            if self.state == EioClientState::Closing {
                // Only the in-flight POST's timer runs while closing.
                if timer == Timer::Post {
                    if let Link::Polling { post, .. } = &mut self.link {
                        if let Some(id) = post.take() {
                            self.actions.push_back(EioAction::CancelHttp { id });
                        }
                    }
                    self.final_post(now);
                }
                continue;
            }
            match timer {
                Timer::Ping => {
                    if self.state == EioClientState::Open {
                        let pending = self.queue.iter().any(|p| p.ty == PacketType::Ping);
                        if !pending {
                            self.queue.push_back(Packet::text(PacketType::Ping, ""));
                        }
                        self.timers[Timer::Liveness as usize] = now.checked_add(self.ping_timeout);
                        self.flush(now);
                    }
                }
                Timer::Liveness => self.shutdown(CloseReason::PingTimeout, None),
                Timer::Get | Timer::Post => self.shutdown(CloseReason::TransportError, None),
                Timer::Ws => {
                    if self.probe.is_some() {
                        self.upgrade_failed(now, true);
                    } else if matches!(self.link, Link::WebSocket { .. }) {
                        self.shutdown(CloseReason::TransportError, None);
                    }
                }
            }
        }
    }

    /// The next thing the runtime must do.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<EioAction> {
        self.actions.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EioEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---------------------------------------------------------------------------------------

    fn is_live(&self) -> bool {
        matches!(self.state, EioClientState::Opening | EioClientState::Open)
    }

    fn new_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn deadline(&self, now: Instant) -> Option<Instant> {
        self.config.request_timeout.and_then(|d| now.checked_add(d))
    }

    /// `<path>?<user query>&EIO=3&transport=…[&t=…][&b64=1][&sid=…]`.
    fn path_and_query(&mut self, transport: Transport) -> String {
        let mut q = String::with_capacity(self.config.path.len() + 96);
        q.push_str(&self.config.path);
        q.push('?');
        for (k, v) in &self.config.query {
            q.push_str(&percent_encode(k));
            q.push('=');
            q.push_str(&percent_encode(v));
            q.push('&');
        }
        q.push_str("EIO=3&transport=");
        q.push_str(transport.name());
        if transport == Transport::Polling && self.config.timestamp_requests {
            q.push_str("&t=");
            let n = self.stamp_seed.wrapping_add(self.stamps);
            self.stamps += 1;
            push_yeast(&mut q, n);
        }
        if self.config.force_base64 {
            q.push_str("&b64=1");
        }
        if let Some(sid) = &self.sid {
            q.push_str("&sid=");
            q.push_str(&percent_encode(sid));
        }
        q
    }

    fn start_get(&mut self, now: Instant) {
        let Link::Polling { get: None, post } = self.link else { return };
        let id = self.new_id();
        let path_and_query = self.path_and_query(Transport::Polling);
        self.link = Link::Polling { get: Some(id), post };
        self.timers[Timer::Get as usize] = self.deadline(now);
        self.actions.push_back(EioAction::HttpGet { id, path_and_query });
    }

    /// Whether polling is paused for the upgrade.
    fn pausing(&self) -> bool {
        matches!(self.probe, Some(Probe { stage: ProbeStage::Pausing, .. }))
    }

    /// A polling request finished while open: poll again, flush, or finish the upgrade.
    fn after_polling_request(&mut self, now: Instant) {
        if self.state != EioClientState::Open {
            return;
        }
        if self.pausing() {
            return self.try_finish_upgrade(now);
        }
        self.start_get(now);
        self.flush(now);
    }

    /// Sends queued packets if the transport can take them now.
    fn flush(&mut self, now: Instant) {
        if self.state != EioClientState::Open || self.pausing() || self.queue.is_empty() {
            return;
        }
        match self.link {
            Link::Polling { post: None, .. } => self.post_queue(now),
            Link::WebSocket { id, .. } => {
                while let Some(p) = self.queue.pop_front() {
                    let message = self.ws_message(&p);
                    self.actions.push_back(EioAction::WsSend { ws: id, message });
                }
                self.queued_bytes = 0;
            }
            _ => {}
        }
    }

    /// Sends the whole queue as one POST (the caller checked that none is in flight).
    fn post_queue(&mut self, now: Instant) {
        let Link::Polling { get, post: None } = self.link else { return };
        let packets: Vec<Packet> = self.queue.drain(..).collect();
        self.queued_bytes = 0;
        let (content_type, body) =
            if !self.config.force_base64 && packets.iter().any(|p| p.is_binary()) {
                (BINARY_CONTENT_TYPE, encode_binary_payload(&packets))
            } else {
                (TEXT_CONTENT_TYPE, Bytes::from(encode_text_payload(&packets)))
            };
        let id = self.new_id();
        let path_and_query = self.path_and_query(Transport::Polling);
        self.link = Link::Polling { get, post: Some(id) };
        self.timers[Timer::Post as usize] = self.deadline(now);
        self.actions.push_back(EioAction::HttpPost { id, path_and_query, content_type, body });
    }

    /// The closing POST (queue + `1`), then the end.
    fn final_post(&mut self, now: Instant) {
        if !self.queue.is_empty() {
            self.post_queue(now);
        }
        // The runtime completes the closing POST; its answer is of no interest.
        if let Link::Polling { post, .. } = &mut self.link {
            *post = None;
        }
        self.shutdown(CloseReason::ForcedClose, None);
    }

    fn ws_message(&self, p: &Packet) -> Message {
        match &p.data {
            PacketData::Binary(_) if !self.config.force_base64 => {
                Message::Binary(p.encode_binary())
            }
            _ => Message::from(p.encode_str()),
        }
    }

    /// A packet from the transport carrying the session.
    fn on_packet(&mut self, now: Instant, packet: Packet) {
        if self.state == EioClientState::Opening {
            if packet.ty != PacketType::Open {
                return self.shutdown(CloseReason::ParseError, None);
            }
            let PacketData::Text(json) = &packet.data else {
                return self.shutdown(CloseReason::ParseError, None);
            };
            return match parse_handshake(json) {
                Some(h) => self.opened(now, h),
                None => self.shutdown(CloseReason::ParseError, None),
            };
        }
        self.timers[Timer::Liveness as usize] =
            now.checked_add(self.ping_interval.saturating_add(self.ping_timeout));
        match packet.ty {
            PacketType::Close => self.shutdown(CloseReason::TransportClose, None),
            PacketType::Pong => {
                self.timers[Timer::Ping as usize] = now.checked_add(self.ping_interval);
            }
            PacketType::Message => self.events.push_back(EioEvent::Message(packet.data)),
            // A v3 client ignores a server ping; open, upgrade and noop carry nothing here.
            PacketType::Open | PacketType::Ping | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    fn opened(&mut self, now: Instant, h: Handshake) {
        self.state = EioClientState::Open;
        self.sid = Some(h.sid.clone());
        self.ping_interval = h.ping_interval;
        self.ping_timeout = h.ping_timeout;
        self.timers[Timer::Ws as usize] = None;
        self.timers[Timer::Ping as usize] = now.checked_add(h.ping_interval);
        self.timers[Timer::Liveness as usize] =
            now.checked_add(h.ping_interval.saturating_add(h.ping_timeout));
        let probe = matches!(self.link, Link::Polling { .. })
            && self.config.upgrade
            && self.config.transports.contains(&Transport::WebSocket)
            && h.upgrades.iter().any(|u| u == "websocket");
        self.events.push_back(EioEvent::Open {
            sid: h.sid,
            upgrades: h.upgrades,
            ping_interval: h.ping_interval,
            ping_timeout: h.ping_timeout,
        });
        if probe {
            let id = self.new_id();
            let path_and_query = self.path_and_query(Transport::WebSocket);
            self.probe = Some(Probe { id, stage: ProbeStage::Opening });
            self.timers[Timer::Ws as usize] = self.deadline(now);
            self.actions.push_back(EioAction::OpenWebSocket { id, path_and_query });
        }
        // Polling: the next GET and the queue go out once the handshake response is done
        // (`after_polling_request`). WebSocket: flush now.
        if matches!(self.link, Link::WebSocket { .. }) {
            self.flush(now);
        }
    }

    /// `3probe` arrived: once no polling request is in flight, send `5` and switch.
    fn try_finish_upgrade(&mut self, now: Instant) {
        let Some(Probe { id, stage: ProbeStage::Pausing }) = self.probe else { return };
        if !matches!(self.link, Link::Polling { get: None, post: None }) {
            return;
        }
        self.probe = None;
        self.timers[Timer::Get as usize] = None;
        self.timers[Timer::Post as usize] = None;
        self.timers[Timer::Ws as usize] = None;
        self.actions.push_back(EioAction::WsSend {
            ws: id,
            message: Message::from(Packet::text(PacketType::Upgrade, "").encode_str()),
        });
        self.link = Link::WebSocket { id, open: true };
        self.events.push_back(EioEvent::Upgraded);
        self.flush(now);
    }

    /// The probe failed: drop it and carry on polling.
    fn upgrade_failed(&mut self, now: Instant, close_ws: bool) {
        let Some(probe) = self.probe.take() else { return };
        self.timers[Timer::Ws as usize] = None;
        if close_ws {
            self.actions.push_back(EioAction::CloseWebSocket { id: probe.id });
        }
        self.events.push_back(EioEvent::UpgradeFailed);
        if probe.stage == ProbeStage::Pausing {
            self.after_polling_request(now);
        }
    }

    /// The end: drop every transport (except `gone`, which is already closed), clear the
    /// queue and timers, and report the reason.
    fn shutdown(&mut self, reason: CloseReason, gone: Option<RequestId>) {
        if self.state == EioClientState::Closed {
            return;
        }
        match self.link {
            Link::Polling { get, post } => {
                for id in [get, post].into_iter().flatten() {
                    self.actions.push_back(EioAction::CancelHttp { id });
                }
            }
            Link::WebSocket { id, .. } if Some(id) != gone => {
                self.actions.push_back(EioAction::CloseWebSocket { id });
            }
            _ => {}
        }
        if let Some(probe) = self.probe.take() {
            if Some(probe.id) != gone {
                self.actions.push_back(EioAction::CloseWebSocket { id: probe.id });
            }
        }
        self.link = Link::None;
        self.queue.clear();
        self.queued_bytes = 0;
        self.timers.clear_all();
        self.state = EioClientState::Closed;
        self.events.push_back(EioEvent::Closed { reason });
    }
}

/// The handshake data of an `open` packet.
struct Handshake {
    sid: String,
    upgrades: Vec<String>,
    ping_interval: Duration,
    ping_timeout: Duration,
}

/// Parses `{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…}`; every key is
/// required, `sid` must be a non-empty string and `upgrades` an array of strings.
fn parse_handshake(json: &str) -> Option<Handshake> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let sid = v.get("sid")?.as_str().filter(|s| !s.is_empty())?.to_owned();
    let upgrades = v
        .get("upgrades")?
        .as_array()?
        .iter()
        .map(|u| u.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    let ping_interval = Duration::from_millis(v.get("pingInterval")?.as_u64()?);
    let ping_timeout = Duration::from_millis(v.get("pingTimeout")?.as_u64()?);
    Some(Handshake { sid, upgrades, ping_interval, ping_timeout })
}

/// The data size counted against [`EioClientConfig::max_queued_bytes`].
fn data_len(data: &PacketData) -> usize {
    match data {
        PacketData::Text(t) => t.len(),
        PacketData::Binary(b) => b.len(),
    }
}

/// Appends `n` in the 64-character URL-safe alphabet the reference's cache busters use.
fn push_yeast(out: &mut String, mut n: u64) {
    const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    let mut buf = [0u8; 11];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = ALPHABET[(n % 64) as usize];
        n /= 64;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
