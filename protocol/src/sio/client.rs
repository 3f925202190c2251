//! The Socket.IO revision 4 client (socket.io-client 2.x semantics): a manager over one
//! Engine.IO client at a time, with namespaces, acks, binary attachments and reconnection.
//!
//! Like [`EioClient`], the machine opens nothing itself. It passes the Engine.IO client's
//! actions through ([`EioAction`], with request ids of its own so that reports about an
//! earlier engine connection are never mistaken for the current one), and the runtime reports
//! back with the same `handle_*` calls. After every input or command, perform the actions from
//! [`poll_action`](SioClient::poll_action) in order and drain
//! [`poll_event`](SioClient::poll_event), then sleep until
//! [`poll_timeout`](SioClient::poll_timeout) and call
//! [`handle_timeout`](SioClient::handle_timeout).
//!
//! ```
//! use std::time::Instant;
//! use glue_protocol::eio::client::EioAction;
//! use glue_protocol::rand::SeededEntropy;
//! use glue_protocol::sio::client::{SioClient, SioClientConfig, SioUrl};
//!
//! let url = SioUrl::parse("http://127.0.0.1:3000/chat?token=abc")?;
//! let config = SioClientConfig::from_url(&url);
//! let mut client = SioClient::new(config, &mut SeededEntropy::new(1));
//! let now = Instant::now();
//! client.connect(now, &url.namespace, url.query.as_deref())?; // starts the engine
//! client.emit(now, "/chat", "hello", vec!["world".into()], vec![])?; // buffered until connected
//! assert!(matches!(client.poll_action(), Some(EioAction::HttpGet { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Behaviour (spec §2.5–§2.7, §3.8):
//!
//! * Namespaces are opened with [`connect`](SioClient::connect); the first one starts the
//!   engine. The root `/` is connected by the server's unsolicited `0`; every other namespace
//!   sends `0/ns,` (or `0/ns?query,`) once that `0` arrived, and is connected by the server's
//!   `0/ns,` or refused by `4/ns,<data>` ([`SioClientEvent::ConnectError`]; the namespace is
//!   then closed and is not retried, unlike the reference which retries it on every
//!   reconnection). A root that the server connected while the application had not asked for
//!   it connects at once when it is asked for; one the server or the application disconnected
//!   on the current engine is asked for again with `0`.
//! * Emits on a namespace that is not connected yet are buffered (at most
//!   [`SioClientConfig::max_buffered`] packets in all) and sent, in order, right after its
//!   `Connect`. Emitting on a closed namespace is an error.
//! * Ack ids are numbered per namespace from 0 and never reused by the client. A pending ack
//!   may have a deadline ([`SioClientEvent::AckTimeout`]); without one it waits until the
//!   answer or until its namespace closes for good ([`SioClientEvent::AckCancelled`]).
//!   Pending acks survive reconnections (as in the reference, the answer to a packet lost
//!   with the old engine never comes). At most [`SioClientConfig::max_pending_acks`].
//! * Incoming events carry their ack id; answer with [`ack`](SioClient::ack). Events and acks
//!   for namespaces that are not connected are ignored, as are acks with unknown ids.
//! * Binary attachments are reassembled by one [`Reconstructor`] per engine connection (kept
//!   across payloads and the upgrade, fresh for every new engine). A packet the client cannot
//!   decode closes the engine with `parse error`, which then reconnects.
//! * [`disconnect`](SioClient::disconnect) sends `1` / `1/ns,` for a connected namespace and
//!   closes the engine when no namespace remains; [`close`](SioClient::close) does it for all.
//!   No reconnection follows.
//! * A server DISCONNECT closes that namespace for good (`io server disconnect`; for a
//!   namespace still connecting it is a [`SioClientEvent::ConnectError`] with that string as
//!   data); the engine closes when no namespace remains.
//! * Any other end of the engine (`transport close`, `transport error`, `ping timeout`,
//!   `parse error`, the connect timeout) disconnects the connected namespaces with that reason
//!   and, with [`SioClientConfig::reconnection`], schedules a fresh Engine.IO handshake after
//!   the [`Backoff`] delay (1 s doubling to 5 s, jitter 0.5, by default forever). Failed
//!   attempts schedule the next one; after a success the backoff starts over. Namespaces
//!   re-send CONNECT on the new engine.

use super::{Reconstructor, SioPacket, SioPacketType, SioUsageError};
use crate::eio::backoff::Backoff;
use crate::eio::client::{
    CloseReason, EioAction, EioClient, EioClientConfig, EioClientError, EioEvent, RequestId,
    Transport,
};
use crate::eio::PacketData;
use crate::rand::SeededEntropy;
use crate::ws::Message;
use crate::{Entropy, Timers};
use bytes::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};
use thiserror::Error;

pub use super::client_options::{SioClientOptions, TlsClientOptions, TlsVerify, Transports};
pub use super::client_url::{SioUrl, SioUrlError};

/// Client options; defaults follow socket.io-client 2.x where it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct SioClientConfig {
    /// The Engine.IO client's options (server address, path `/socket.io/`, transports, query,
    /// upgrade, queue bounds).
    pub engine: EioClientConfig,
    /// Reconnect after an engine close the client did not ask for. Default true.
    pub reconnection: bool,
    /// Reconnection attempts before giving up ([`SioClientEvent::ReconnectFailed`]); `None`
    /// for no limit. Default `None`.
    pub reconnection_attempts: Option<u32>,
    /// First reconnection delay before jitter. Default 1 s.
    pub reconnection_delay: Duration,
    /// Largest reconnection delay. Default 5 s.
    pub reconnection_delay_max: Duration,
    /// Jitter of the delays, 0–1. Default 0.5.
    pub randomization_factor: f64,
    /// Longest an engine handshake may take before it is abandoned
    /// ([`SioClientEvent::ConnectTimeout`], then as a `transport error`); `None` for no limit.
    /// Default 20 s.
    pub connect_timeout: Option<Duration>,
    /// Most packets buffered for namespaces that are not connected, in all. Default 1024.
    pub max_buffered: usize,
    /// Most acks waiting for an answer, in all. Default 4096.
    pub max_pending_acks: usize,
    /// Most namespaces (open or closed) one client tracks. Default 64.
    pub max_namespaces: usize,
    /// Largest total size of one incoming packet's attachments. Default 16 MiB.
    pub max_attachment_bytes: usize,
}

impl Default for SioClientConfig {
    fn default() -> Self {
        SioClientConfig {
            engine: EioClientConfig::default(),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            connect_timeout: Some(Duration::from_secs(20)),
            max_buffered: 1024,
            max_pending_acks: 4096,
            max_namespaces: 64,
            max_attachment_bytes: 16 << 20,
        }
    }
}

impl SioClientConfig {
    /// The defaults with the engine pointed at `url`'s server, with its query (see
    /// [`SioUrl::engine_config`]).
    pub fn from_url(url: &SioUrl) -> Self {
        SioClientConfig {
            engine: url.engine_config(EioClientConfig::default()),
            ..SioClientConfig::default()
        }
    }
}

/// Where the manager is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SioClientState {
    /// No namespace was asked for yet.
    Idle,
    /// The first engine handshake is under way.
    Connecting,
    /// An engine is open.
    Connected,
    /// Waiting for a reconnection delay, or a later handshake is under way.
    Reconnecting,
    /// Closed by the application, by the server's disconnects, or given up. A new
    /// [`connect`](SioClient::connect) starts over.
    Closed,
}

/// Where one namespace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamespaceState {
    /// Asked for, waiting for the engine or for the server's CONNECT.
    Connecting,
    /// The server accepted it.
    Connected,
    /// Disconnected (by either side), refused, or given up; not retried.
    Closed,
}

/// Why a namespace disconnected (the socket.io-client reason strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// `io server disconnect`: the server sent DISCONNECT; no reconnection.
    ServerDisconnect,
    /// `io client disconnect`: [`SioClient::disconnect`] or [`SioClient::close`].
    ClientDisconnect,
    /// The engine closed (`transport close`, `transport error`, `ping timeout`,
    /// `parse error`); a reconnection follows when enabled.
    Engine(CloseReason),
}

impl DisconnectReason {
    /// The reason as socket.io-client spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ServerDisconnect => "io server disconnect",
            DisconnectReason::ClientDisconnect => "io client disconnect",
            DisconnectReason::Engine(r) => r.as_str(),
        }
    }
}

/// What happened on the client.
#[derive(Debug, Clone, PartialEq)]
pub enum SioClientEvent {
    /// The namespace is connected (again, after a reconnection).
    Connect {
        /// The namespace.
        nsp: String,
    },
    /// The server refused the namespace (`4/ns,<data>`); it is now closed.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// The ERROR data (a string such as `"Invalid namespace"`, or an object).
        data: Value,
    },
    /// A connected namespace disconnected.
    Disconnect {
        /// The namespace.
        nsp: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// The server sent an ERROR for a connected namespace (it stays connected).
    Error {
        /// The namespace.
        nsp: String,
        /// The ERROR data.
        data: Value,
    },
    /// An event arrived.
    Event {
        /// The namespace.
        nsp: String,
        /// The event name (a numeric name in its JSON form).
        name: String,
        /// The arguments; binary values are placeholders `{"_placeholder":true,"num":N}`.
        args: Vec<Value>,
        /// The binary values, by `num`.
        attachments: Vec<Bytes>,
        /// The ack id the server asks to be answered with [`SioClient::ack`].
        id: Option<u64>,
    },
    /// The answer to [`SioClient::emit_with_ack`] arrived.
    Ack {
        /// The namespace.
        nsp: String,
        /// The id `emit_with_ack` returned.
        id: u64,
        /// The ack arguments, binary values as placeholders.
        args: Vec<Value>,
        /// The binary values.
        attachments: Vec<Bytes>,
    },
    /// A pending ack reached its deadline; a late answer is ignored.
    AckTimeout {
        /// The namespace.
        nsp: String,
        /// The id.
        id: u64,
    },
    /// A pending ack will never be answered: its namespace closed for good, or its packet
    /// could not be sent.
    AckCancelled {
        /// The namespace.
        nsp: String,
        /// The id.
        id: u64,
    },
    /// An engine closed without being asked to (before or after its handshake).
    EngineClosed {
        /// Why.
        reason: CloseReason,
    },
    /// An engine handshake took longer than [`SioClientConfig::connect_timeout`].
    ConnectTimeout,
    /// A reconnection attempt starts (numbered from 1).
    Reconnecting {
        /// The attempt.
        attempt: u32,
    },
    /// A reconnection attempt opened an engine.
    Reconnected {
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// [`SioClientConfig::reconnection_attempts`] were used up; every namespace is closed.
    ReconnectFailed,
    /// The engine moved from polling to a WebSocket.
    Upgraded,
}

/// A client command that cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SioClientError {
    /// The packet would break the protocol (reserved name, bad namespace, placeholders).
    #[error(transparent)]
    Usage(#[from] SioUsageError),
    /// The namespace was never asked for with [`SioClient::connect`].
    #[error("unknown namespace {0:?}")]
    UnknownNamespace(String),
    /// The namespace is closed.
    #[error("namespace {0:?} is closed")]
    NamespaceClosed(String),
    /// [`SioClient::ack`] on a namespace that is not connected.
    #[error("namespace {0:?} is not connected")]
    NotConnected(String),
    /// [`SioClientConfig::max_buffered`] packets are buffered already.
    #[error("the emit buffer is full")]
    BufferFull,
    /// [`SioClientConfig::max_pending_acks`] acks are pending already.
    #[error("too many pending acks")]
    TooManyPendingAcks,
    /// [`SioClientConfig::max_namespaces`] namespaces are tracked already.
    #[error("too many namespaces")]
    TooManyNamespaces,
    /// The engine's send queue cannot take the packet and its attachments.
    #[error("the engine's send queue is full")]
    QueueFull,
    /// The engine configuration has no transport.
    #[error("no transport is configured")]
    NoTransport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Opening,
    Open,
    Waiting,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsState {
    /// `sent`: the CONNECT went out on the current engine.
    Connecting {
        sent: bool,
    },
    Connected,
    Closed,
}

#[derive(Debug)]
struct Namespace {
    name: String,
    query: Option<String>,
    state: NsState,
    buffer: VecDeque<SioPacket>,
    next_id: u64,
    /// Pending ack ids and their deadlines.
    acks: BTreeMap<u64, Option<Instant>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Reconnect = 0,
    ConnectTimeout = 1,
}

/// Bits of an outer [`RequestId`] that carry the engine's own id; the engine generation is
/// above them.
const ID_BITS: u32 = 40;
const ID_MASK: u64 = (1 << ID_BITS) - 1;

/// The sans-IO Socket.IO client (manager + namespace sockets).
#[derive(Debug)]
pub struct SioClient {
    config: SioClientConfig,
    phase: Phase,
    engine: Option<EioClient>,
    /// Counts engines; part of every request id handed out.
    generation: u64,
    rng: SeededEntropy,
    backoff: Backoff,
    /// The current attempt is a reconnection.
    reconnecting: bool,
    /// Close reason to report instead of the engine's own `forced close`.
    fail_reason: Option<CloseReason>,
    reconstructor: Reconstructor,
    /// The server's `0` for `/` arrived on this engine.
    root_seen: bool,
    /// The server's root socket exists (connected and not disconnected since).
    root_live: bool,
    namespaces: Vec<Namespace>,
    buffered: usize,
    pending_acks: usize,
    ack_deadlines: BTreeSet<(Instant, usize, u64)>,
    timers: Timers<2>,
    actions: VecDeque<EioAction>,
    events: VecDeque<SioClientEvent>,
}

impl SioClient {
    /// A client that has not started; [`connect`](Self::connect) a namespace to start it.
    /// `entropy` seeds the reconnection jitter and the engines' cache busters.
    pub fn new(config: SioClientConfig, entropy: &mut dyn Entropy) -> Self {
        let mut seed = [0u8; 8];
        entropy.fill(&mut seed);
        let backoff = Backoff::new(
            config.reconnection_delay,
            config.reconnection_delay_max,
            2,
            config.randomization_factor,
        );
        let max_attachment_bytes = config.max_attachment_bytes;
        SioClient {
            config,
            phase: Phase::Idle,
            engine: None,
            generation: 0,
            rng: SeededEntropy::new(u64::from_le_bytes(seed)),
            backoff,
            reconnecting: false,
            fail_reason: None,
            reconstructor: Reconstructor::new(max_attachment_bytes),
            root_seen: false,
            root_live: false,
            namespaces: Vec::new(),
            buffered: 0,
            pending_acks: 0,
            ack_deadlines: BTreeSet::new(),
            timers: Timers::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SioClientConfig {
        &self.config
    }

    /// The manager's state.
    pub fn state(&self) -> SioClientState {
        match self.phase {
            Phase::Idle => SioClientState::Idle,
            Phase::Opening if self.reconnecting => SioClientState::Reconnecting,
            Phase::Opening => SioClientState::Connecting,
            Phase::Open => SioClientState::Connected,
            Phase::Waiting => SioClientState::Reconnecting,
            Phase::Closed => SioClientState::Closed,
        }
    }

    /// A namespace's state; `None` if it was never asked for.
    pub fn namespace_state(&self, nsp: &str) -> Option<NamespaceState> {
        self.find(nsp).map(|i| match self.namespaces[i].state {
            NsState::Connecting { .. } => NamespaceState::Connecting,
            NsState::Connected => NamespaceState::Connected,
            NsState::Closed => NamespaceState::Closed,
        })
    }

    /// The current engine's session id (once its handshake completed).
    pub fn sid(&self) -> Option<&str> {
        self.engine.as_ref().filter(|_| self.phase == Phase::Open).and_then(EioClient::sid)
    }

    /// The socket id socket.io gives a connected namespace: the sid for `/`, else `nsp#sid`.
    pub fn socket_id(&self, nsp: &str) -> Option<String> {
        if self.namespace_state(nsp) != Some(NamespaceState::Connected) {
            return None;
        }
        let sid = self.sid()?;
        Some(if nsp == "/" { sid.to_owned() } else { format!("{nsp}#{sid}") })
    }

    /// The transport of the open engine.
    pub fn transport(&self) -> Option<Transport> {
        self.engine.as_ref().filter(|_| self.phase == Phase::Open).and_then(EioClient::transport)
    }

    /// Packets buffered for namespaces that are not connected.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Acks waiting for an answer.
    pub fn pending_acks(&self) -> usize {
        self.pending_acks
    }

    /// Asks for namespace `nsp` (`/` or `/name`), with an optional CONNECT query (raw,
    /// URL-encoded, without `?`; ignored for `/`, whose query is the engine's). Starts the
    /// engine when none is running. Does nothing for a namespace already connecting or
    /// connected; reopens a closed one.
    pub fn connect(
        &mut self,
        now: Instant,
        nsp: &str,
        query: Option<&str>,
    ) -> Result<(), SioClientError> {
        let bad = |s: &str| s.bytes().any(|b| b == b',' || b <= b' ' || b == 0x7f);
        if !nsp.starts_with('/') || bad(nsp) || nsp.contains('?') || query.is_some_and(bad) {
            return Err(SioUsageError::InvalidNamespace(nsp.to_owned()).into());
        }
        if self.config.engine.transports.is_empty() {
            return Err(SioClientError::NoTransport);
        }
        let query = query.filter(|q| !q.is_empty()).map(str::to_owned);
        let idx = match self.find(nsp) {
            Some(i) => i,
            None => {
                if self.namespaces.len() >= self.config.max_namespaces {
                    return Err(SioClientError::TooManyNamespaces);
                }
                self.namespaces.push(Namespace {
                    name: nsp.to_owned(),
                    query: None,
                    state: NsState::Closed,
                    buffer: VecDeque::new(),
                    next_id: 0,
                    acks: BTreeMap::new(),
                });
                self.namespaces.len() - 1
            }
        };
        if self.namespaces[idx].state != NsState::Closed {
            return Ok(());
        }
        self.namespaces[idx].query = query;
        self.namespaces[idx].state = NsState::Connecting { sent: false };
        match self.phase {
            Phase::Idle | Phase::Closed => {
                self.backoff.reset();
                self.reconnecting = false;
                self.start_engine(now);
            }
            Phase::Opening | Phase::Waiting => {}
            Phase::Open => self.request_namespace(now, idx),
        }
        self.pump(now);
        Ok(())
    }

    /// Emits event `name` with `args` (binary values as placeholders numbered
    /// `0..attachments.len()`) on `nsp`: sent now when connected, else buffered until it is.
    pub fn emit(
        &mut self,
        now: Instant,
        nsp: &str,
        name: &str,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
    ) -> Result<(), SioClientError> {
        self.emit_inner(now, nsp, name, args, attachments, None).map(|_| ())
    }

    /// As [`emit`](Self::emit), asking for an ack. Returns the ack id; the answer comes as
    /// [`SioClientEvent::Ack`], or [`SioClientEvent::AckTimeout`] once `timeout` (if any)
    /// passed, or [`SioClientEvent::AckCancelled`].
    pub fn emit_with_ack(
        &mut self,
        now: Instant,
        nsp: &str,
        name: &str,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
        timeout: Option<Duration>,
    ) -> Result<u64, SioClientError> {
        self.emit_inner(now, nsp, name, args, attachments, Some(timeout)).map(|id| id.unwrap_or(0))
    }

    /// Answers an incoming event's ack id on a connected namespace (`args` may be empty).
    pub fn ack(
        &mut self,
        now: Instant,
        nsp: &str,
        id: u64,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
    ) -> Result<(), SioClientError> {
        let idx = self.find(nsp).ok_or_else(|| SioClientError::UnknownNamespace(nsp.into()))?;
        if self.namespaces[idx].state != NsState::Connected {
            return Err(SioClientError::NotConnected(nsp.into()));
        }
        let packet = SioPacket::ack(nsp, id, args, attachments)?;
        self.send_packet(now, &packet)?;
        self.pump(now);
        Ok(())
    }

    /// Leaves `nsp`: sends `1` / `1/ns,` when it is connected, drops its buffer and pending
    /// acks, reports [`DisconnectReason::ClientDisconnect`] if it was connected, and closes
    /// the engine when no namespace remains. Does nothing for a closed or unknown namespace.
    pub fn disconnect(&mut self, now: Instant, nsp: &str) {
        let Some(idx) = self.find(nsp) else { return };
        let was = self.namespaces[idx].state;
        if was == NsState::Closed {
            return;
        }
        if was == NsState::Connected {
            let _ = self.send_packet(now, &SioPacket::disconnect(nsp));
            if nsp == "/" {
                self.root_live = false;
            }
        }
        self.close_namespace(idx);
        if was == NsState::Connected {
            self.events.push_back(SioClientEvent::Disconnect {
                nsp: nsp.to_owned(),
                reason: DisconnectReason::ClientDisconnect,
            });
        }
        self.close_engine_if_unused(now);
        self.pump(now);
    }

    /// Disconnects every namespace and closes the engine (no reconnection).
    pub fn close(&mut self, now: Instant) {
        let names: Vec<String> = self
            .namespaces
            .iter()
            .filter(|n| n.state != NsState::Closed)
            .map(|n| n.name.clone())
            .collect();
        for name in names {
            self.disconnect(now, &name);
        }
        self.close_engine(now);
        self.pump(now);
    }

    /// The answer to an [`EioAction::HttpGet`] or [`EioAction::HttpPost`].
    pub fn handle_http_response(
        &mut self,
        now: Instant,
        id: RequestId,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        if let Some((engine, id)) = self.route(id) {
            engine.handle_http_response(now, id, status, content_type, body);
            self.pump(now);
        }
    }

    /// An HTTP request failed without an answer.
    pub fn handle_http_error(&mut self, now: Instant, id: RequestId) {
        if let Some((engine, id)) = self.route(id) {
            engine.handle_http_error(now, id);
            self.pump(now);
        }
    }

    /// A WebSocket completed its opening handshake.
    pub fn handle_ws_open(&mut self, now: Instant, id: RequestId) {
        if let Some((engine, id)) = self.route(id) {
            engine.handle_ws_open(now, id);
            self.pump(now);
        }
    }

    /// A WebSocket message arrived.
    pub fn handle_ws_message(&mut self, now: Instant, id: RequestId, message: &Message) {
        if let Some((engine, id)) = self.route(id) {
            engine.handle_ws_message(now, id, message);
            self.pump(now);
        }
    }

    /// A WebSocket closed or failed to open.
    pub fn handle_ws_closed(&mut self, now: Instant, id: RequestId) {
        if let Some((engine, id)) = self.route(id) {
            engine.handle_ws_closed(now, id);
            self.pump(now);
        }
    }

    /// A deadline passed; early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(engine) = self.engine.as_mut() {
            engine.handle_timeout(now);
            self.pump(now);
        }
        if self.timers.expired(Timer::ConnectTimeout as usize, now) && self.phase == Phase::Opening
        {
            self.events.push_back(SioClientEvent::ConnectTimeout);
            self.fail_engine(now, CloseReason::TransportError);
        }
        if self.timers.expired(Timer::Reconnect as usize, now) && self.phase == Phase::Waiting {
            self.reconnecting = true;
            let attempt = self.backoff.attempts();
            self.events.push_back(SioClientEvent::Reconnecting { attempt });
            self.start_engine(now);
        }
        while let Some(&(at, idx, id)) = self.ack_deadlines.first() {
            if at > now {
                break;
            }
            self.ack_deadlines.pop_first();
            let ns = &mut self.namespaces[idx];
            if ns.acks.remove(&id).is_some() {
                self.pending_acks -= 1;
                self.events.push_back(SioClientEvent::AckTimeout { nsp: ns.name.clone(), id });
            }
        }
        self.pump(now);
    }

    /// The next thing the runtime must do.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<EioAction> {
        self.actions.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SioClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.engine.as_ref().and_then(EioClient::poll_timeout),
            self.timers.next(),
            self.ack_deadlines.first().map(|d| d.0),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---------------------------------------------------------------------------------------

    fn find(&self, nsp: &str) -> Option<usize> {
        self.namespaces.iter().position(|n| n.name == nsp)
    }

    /// The current engine and its own id for an outer id of the current generation.
    fn route(&mut self, id: RequestId) -> Option<(&mut EioClient, RequestId)> {
        if id.0 >> ID_BITS != self.generation {
            return None;
        }
        self.engine.as_mut().map(|e| (e, RequestId(id.0 & ID_MASK)))
    }

    fn outer(&self, id: RequestId) -> RequestId {
        RequestId((self.generation << ID_BITS) | (id.0 & ID_MASK))
    }

    fn map_action(&self, action: EioAction) -> EioAction {
        match action {
            EioAction::HttpGet { id, path_and_query } => {
                EioAction::HttpGet { id: self.outer(id), path_and_query }
            }
            EioAction::HttpPost { id, path_and_query, content_type, body } => {
                EioAction::HttpPost { id: self.outer(id), path_and_query, content_type, body }
            }
            EioAction::CancelHttp { id } => EioAction::CancelHttp { id: self.outer(id) },
            EioAction::OpenWebSocket { id, path_and_query } => {
                EioAction::OpenWebSocket { id: self.outer(id), path_and_query }
            }
            EioAction::WsSend { ws, message } => EioAction::WsSend { ws: self.outer(ws), message },
            EioAction::CloseWebSocket { id } => EioAction::CloseWebSocket { id: self.outer(id) },
        }
    }

    /// Moves the engine's actions out (mapped) and handles its events, until both are empty.
    fn pump(&mut self, now: Instant) {
        loop {
            let Some(engine) = self.engine.as_mut() else { return };
            let mut actions = Vec::new();
            while let Some(a) = engine.poll_action() {
                actions.push(a);
            }
            let event = engine.poll_event();
            for a in actions {
                let a = self.map_action(a);
                self.actions.push_back(a);
            }
            match event {
                Some(e) => self.on_engine_event(now, e),
                None => return,
            }
        }
    }

    fn start_engine(&mut self, now: Instant) {
        self.generation += 1;
        let mut engine = EioClient::new(self.config.engine.clone(), &mut self.rng);
        self.reconstructor.reset();
        self.root_seen = false;
        self.root_live = false;
        self.fail_reason = None;
        for ns in &mut self.namespaces {
            if let NsState::Connecting { .. } = ns.state {
                ns.state = NsState::Connecting { sent: false };
            }
        }
        self.timers[Timer::Reconnect as usize] = None;
        self.timers[Timer::ConnectTimeout as usize] =
            self.config.connect_timeout.and_then(|d| now.checked_add(d));
        match engine.open(now) {
            Ok(()) => {
                self.phase = Phase::Opening;
                self.engine = Some(engine);
            }
            Err(_) => {
                // Only without transports, which `connect` refuses.
                self.phase = Phase::Closed;
            }
        }
    }

    /// Closes the current engine on purpose: no reconnection.
    fn close_engine(&mut self, now: Instant) {
        self.timers.clear_all();
        if matches!(self.phase, Phase::Idle) {
            return;
        }
        self.phase = Phase::Closed;
        if let Some(engine) = self.engine.as_mut() {
            engine.close(now);
        }
    }

    fn close_engine_if_unused(&mut self, now: Instant) {
        let wanted = self.namespaces.iter().any(|n| n.state != NsState::Closed);
        if !wanted && matches!(self.phase, Phase::Opening | Phase::Open | Phase::Waiting) {
            self.close_engine(now);
        }
    }

    /// Ends the current engine as if it had failed with `reason` (a reconnection follows).
    fn fail_engine(&mut self, now: Instant, reason: CloseReason) {
        if let Some(engine) = self.engine.as_mut() {
            self.fail_reason = Some(reason);
            engine.close(now);
            self.pump(now);
        }
    }

    fn on_engine_event(&mut self, now: Instant, event: EioEvent) {
        if let EioEvent::Closed { reason } = event {
            self.engine = None;
            let reason = self.fail_reason.take().unwrap_or(reason);
            if matches!(self.phase, Phase::Opening | Phase::Open) {
                self.engine_lost(now, reason);
            }
            return;
        }
        if !matches!(self.phase, Phase::Opening | Phase::Open) {
            return;
        }
        match event {
            EioEvent::Open { .. } => {
                self.phase = Phase::Open;
                self.timers[Timer::ConnectTimeout as usize] = None;
                if self.reconnecting {
                    let attempt = self.backoff.attempts();
                    self.events.push_back(SioClientEvent::Reconnected { attempt });
                }
                self.reconnecting = false;
                self.backoff.reset();
            }
            EioEvent::Message(PacketData::Text(s)) => match self.reconstructor.handle_text(&s) {
                Ok(Some(p)) => self.on_packet(now, p),
                Ok(None) => {}
                Err(_) => self.fail_engine(now, CloseReason::ParseError),
            },
            EioEvent::Message(PacketData::Binary(b)) => match self.reconstructor.handle_binary(b) {
                Ok(Some(p)) => self.on_packet(now, p),
                Ok(None) => {}
                Err(_) => self.fail_engine(now, CloseReason::ParseError),
            },
            EioEvent::Upgraded => self.events.push_back(SioClientEvent::Upgraded),
            EioEvent::UpgradeFailed | EioEvent::Closed { .. } => {}
        }
    }

    /// The engine ended without being asked to.
    fn engine_lost(&mut self, now: Instant, reason: CloseReason) {
        self.events.push_back(SioClientEvent::EngineClosed { reason });
        self.reconstructor.reset();
        self.root_seen = false;
        self.root_live = false;
        for i in 0..self.namespaces.len() {
            let ns = &mut self.namespaces[i];
            match ns.state {
                NsState::Connected => {
                    ns.state = NsState::Connecting { sent: false };
                    let nsp = ns.name.clone();
                    self.events.push_back(SioClientEvent::Disconnect {
                        nsp,
                        reason: DisconnectReason::Engine(reason),
                    });
                }
                NsState::Connecting { .. } => ns.state = NsState::Connecting { sent: false },
                NsState::Closed => {}
            }
        }
        let wanted = self.namespaces.iter().any(|n| n.state != NsState::Closed);
        if !wanted || !self.config.reconnection {
            self.give_up();
            return;
        }
        if self.config.reconnection_attempts.is_some_and(|max| self.backoff.attempts() >= max) {
            self.events.push_back(SioClientEvent::ReconnectFailed);
            self.give_up();
            return;
        }
        let delay = self.backoff.duration(&mut self.rng);
        self.phase = Phase::Waiting;
        self.timers[Timer::ConnectTimeout as usize] = None;
        self.timers[Timer::Reconnect as usize] = Some(now.checked_add(delay).unwrap_or(now));
    }

    /// No more engines: every namespace closes.
    fn give_up(&mut self) {
        self.phase = Phase::Closed;
        self.timers.clear_all();
        for i in 0..self.namespaces.len() {
            self.close_namespace(i);
        }
    }

    /// Marks a namespace closed; drops its buffer and cancels its pending acks.
    fn close_namespace(&mut self, idx: usize) {
        let ns = &mut self.namespaces[idx];
        ns.state = NsState::Closed;
        // Buffered packets with an ack id have their ack cancelled below with the others.
        self.buffered -= ns.buffer.len();
        ns.buffer.clear();
        let acks = std::mem::take(&mut ns.acks);
        let nsp = ns.name.clone();
        for (id, deadline) in acks {
            if let Some(at) = deadline {
                self.ack_deadlines.remove(&(at, idx, id));
            }
            self.pending_acks -= 1;
            self.events.push_back(SioClientEvent::AckCancelled { nsp: nsp.clone(), id });
        }
    }

    /// Sends the CONNECT of a connecting namespace if the engine is ready for it (see the
    /// module docs for the root).
    fn request_namespace(&mut self, now: Instant, idx: usize) {
        if self.phase != Phase::Open
            || self.namespaces[idx].state != (NsState::Connecting { sent: false })
        {
            return;
        }
        let ns = &self.namespaces[idx];
        if ns.name == "/" {
            if self.root_live {
                self.namespace_connected(now, idx);
            } else if self.root_seen {
                let _ = self.send_packet(now, &SioPacket::connect("/"));
                self.namespaces[idx].state = NsState::Connecting { sent: true };
            }
            return;
        }
        if !self.root_seen {
            return;
        }
        let packet = match &ns.query {
            Some(q) => SioPacket::connect_with_query(&ns.name, q),
            None => SioPacket::connect(&ns.name),
        };
        if self.send_packet(now, &packet).is_ok() {
            self.namespaces[idx].state = NsState::Connecting { sent: true };
        }
    }

    fn namespace_connected(&mut self, now: Instant, idx: usize) {
        let ns = &mut self.namespaces[idx];
        ns.state = NsState::Connected;
        let nsp = ns.name.clone();
        let buffer: Vec<SioPacket> = ns.buffer.drain(..).collect();
        self.buffered -= buffer.len();
        self.events.push_back(SioClientEvent::Connect { nsp: nsp.clone() });
        for p in buffer {
            if self.send_packet(now, &p).is_err() {
                if let Some(id) = p.id {
                    self.cancel_ack(idx, id);
                }
            }
        }
    }

    fn cancel_ack(&mut self, idx: usize, id: u64) {
        let ns = &mut self.namespaces[idx];
        if let Some(deadline) = ns.acks.remove(&id) {
            if let Some(at) = deadline {
                self.ack_deadlines.remove(&(at, idx, id));
            }
            self.pending_acks -= 1;
            self.events.push_back(SioClientEvent::AckCancelled { nsp: ns.name.clone(), id });
        }
    }

    fn emit_inner(
        &mut self,
        now: Instant,
        nsp: &str,
        name: &str,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
        ack: Option<Option<Duration>>,
    ) -> Result<Option<u64>, SioClientError> {
        let idx = self.find(nsp).ok_or_else(|| SioClientError::UnknownNamespace(nsp.into()))?;
        let ns = &self.namespaces[idx];
        if ns.state == NsState::Closed {
            return Err(SioClientError::NamespaceClosed(nsp.into()));
        }
        if ack.is_some() && self.pending_acks >= self.config.max_pending_acks {
            return Err(SioClientError::TooManyPendingAcks);
        }
        let id = ack.map(|_| ns.next_id);
        let packet = SioPacket::event(nsp, name, args, attachments, id)?;
        if ns.state == NsState::Connected {
            self.send_packet(now, &packet)?;
        } else {
            if self.buffered >= self.config.max_buffered {
                return Err(SioClientError::BufferFull);
            }
            self.buffered += 1;
            self.namespaces[idx].buffer.push_back(packet);
        }
        if let (Some(id), Some(timeout)) = (id, ack) {
            let deadline = timeout.and_then(|t| now.checked_add(t));
            let ns = &mut self.namespaces[idx];
            ns.next_id += 1;
            ns.acks.insert(id, deadline);
            self.pending_acks += 1;
            if let Some(at) = deadline {
                self.ack_deadlines.insert((at, idx, id));
            }
        }
        self.pump(now);
        Ok(id)
    }

    /// Hands a packet and its attachments to the engine, all or nothing.
    fn send_packet(&mut self, now: Instant, packet: &SioPacket) -> Result<(), SioClientError> {
        let Some(engine) = self.engine.as_mut() else { return Err(SioClientError::QueueFull) };
        let header = packet.encode();
        let count = 1 + packet.attachments.len();
        let bytes = header.len() + packet.attachments.iter().map(Bytes::len).sum::<usize>();
        let cfg = engine.config();
        if engine.queued().saturating_add(count) > cfg.max_queued_packets
            || engine.queued_bytes().saturating_add(bytes) > cfg.max_queued_bytes
        {
            return Err(SioClientError::QueueFull);
        }
        let r = engine.send(now, PacketData::Text(header));
        for a in &packet.attachments {
            if r.is_err() {
                break;
            }
            let _ = engine.send(now, PacketData::Binary(a.clone()));
        }
        r.map_err(|e| match e {
            EioClientError::QueueFull => SioClientError::QueueFull,
            _ => SioClientError::QueueFull,
        })
    }

    fn on_packet(&mut self, now: Instant, p: SioPacket) {
        let idx = self.find(&p.nsp);
        match p.kind {
            SioPacketType::Connect => {
                if p.nsp == "/" {
                    self.root_seen = true;
                    self.root_live = true;
                    if let Some(i) = idx {
                        if matches!(self.namespaces[i].state, NsState::Connecting { .. }) {
                            self.namespace_connected(now, i);
                        }
                    }
                    for i in 0..self.namespaces.len() {
                        if self.namespaces[i].name != "/" {
                            self.request_namespace(now, i);
                        }
                    }
                } else if let Some(i) = idx {
                    if matches!(self.namespaces[i].state, NsState::Connecting { .. }) {
                        self.namespace_connected(now, i);
                    }
                }
            }
            SioPacketType::Disconnect => {
                if p.nsp == "/" {
                    self.root_live = false;
                }
                let Some(i) = idx else { return };
                let was = self.namespaces[i].state;
                if was == NsState::Closed {
                    return;
                }
                self.close_namespace(i);
                self.events.push_back(if was == NsState::Connected {
                    SioClientEvent::Disconnect {
                        nsp: p.nsp,
                        reason: DisconnectReason::ServerDisconnect,
                    }
                } else {
                    // Never connected: a refusal rather than a disconnect.
                    let data = Value::from(DisconnectReason::ServerDisconnect.as_str());
                    SioClientEvent::ConnectError { nsp: p.nsp, data }
                });
                self.close_engine_if_unused(now);
            }
            SioPacketType::Event | SioPacketType::BinaryEvent => {
                let Some(i) = idx else { return };
                if self.namespaces[i].state != NsState::Connected {
                    return;
                }
                let name = match p.data.as_ref().and_then(Value::as_array).and_then(|a| a.first()) {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => return,
                };
                let args = p.args().to_vec();
                self.events.push_back(SioClientEvent::Event {
                    nsp: p.nsp,
                    name,
                    args,
                    attachments: p.attachments,
                    id: p.id,
                });
            }
            SioPacketType::Ack | SioPacketType::BinaryAck => {
                let (Some(i), Some(id)) = (idx, p.id) else { return };
                let ns = &mut self.namespaces[i];
                if ns.state != NsState::Connected {
                    return;
                }
                let Some(deadline) = ns.acks.remove(&id) else { return };
                if let Some(at) = deadline {
                    self.ack_deadlines.remove(&(at, i, id));
                }
                self.pending_acks -= 1;
                let args = p.args().to_vec();
                self.events.push_back(SioClientEvent::Ack {
                    nsp: p.nsp,
                    id,
                    args,
                    attachments: p.attachments,
                });
            }
            SioPacketType::Error => {
                let Some(i) = idx else { return };
                let data = p.data.unwrap_or(Value::Null);
                match self.namespaces[i].state {
                    NsState::Connecting { .. } => {
                        self.close_namespace(i);
                        self.events.push_back(SioClientEvent::ConnectError { nsp: p.nsp, data });
                        self.close_engine_if_unused(now);
                    }
                    NsState::Connected => {
                        self.events.push_back(SioClientEvent::Error { nsp: p.nsp, data });
                    }
                    NsState::Closed => {}
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
