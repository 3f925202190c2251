//! The server side of one Engine.IO session (revision 3): transports, heartbeat, upgrade,
//! close. One machine per session id; the runtime feeds it HTTP polls/posts and WebSocket
//! bytes, and writes what it answers.
//!
//! * Polling: [`handle_get`](EioSession::handle_get) holds a poll until there is something to
//!   send (answers come out of [`poll_answer`](EioSession::poll_answer)),
//!   [`handle_post`](EioSession::handle_post) decodes a payload.
//! * WebSocket: every attached connection has a [`WsId`];
//!   [`handle_ws_data`](EioSession::handle_ws_data) / [`poll_ws_transmit`](EioSession::poll_ws_transmit)
//!   move its bytes. A WebSocket for a polling session is a *probe* until the client's `5`.
//! * Heartbeat in the revision-3 direction: the client pings, the session answers `3` and
//!   closes after `ping_interval + ping_timeout` without any packet.

use super::{
    decode_binary_payload, decode_jsonp_post, decode_text_payload, encode_binary_payload,
    encode_jsonp, encode_text_payload, EioError, Packet, PacketData, PacketType,
};
use crate::timers::Timers;
use crate::ws::{self, Connection, Message, Utf8Bytes};
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Identifies one held poll (GET) of a session; chosen by the runtime.
pub type RequestId = u64;

/// Identifies one WebSocket attached to a session (the transport or an upgrade probe).
pub type WsId = u32;

/// Engine.IO server settings shared by every session.
#[derive(Debug, Clone)]
pub struct EioConfig {
    /// How often clients ping (announced in the handshake). Default 25 s.
    pub ping_interval: Duration,
    /// How long after an expected ping the session still lives. Default 20 s.
    pub ping_timeout: Duration,
    /// How long an upgrade may take from the WebSocket's arrival to the client's `5`.
    /// Default 10 s.
    pub upgrade_timeout: Duration,
    /// How long a closed polling session waits for a poll to deliver its close packet.
    /// Default 30 s.
    pub close_timeout: Duration,
    /// Largest POST body and WebSocket message, in bytes (`maxHttpBufferSize`). Default 1e6.
    pub max_payload: usize,
    /// Most bytes queued toward one client before [`EioSession::send`] refuses. Default 16 MiB.
    pub max_buffered: usize,
    /// Whether polling sessions are offered the WebSocket upgrade. Default true.
    pub allow_upgrades: bool,
    /// WebSocket settings (the message size limit is taken from `max_payload`).
    pub ws: ws::Config,
}

impl Default for EioConfig {
    fn default() -> Self {
        EioConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            close_timeout: Duration::from_millis(30_000),
            max_payload: 1_000_000,
            max_buffered: 16 << 20,
            allow_upgrades: true,
            ws: ws::Config::default(),
        }
    }
}

impl EioConfig {
    /// The WebSocket settings a session's connections use: no WebSocket-level keep-alive
    /// (Engine.IO has its own), messages limited to `max_payload`.
    pub fn ws_config(&self) -> ws::Config {
        let mut c = self.ws.clone();
        c.max_message_size = self.max_payload;
        c.max_frame_size = c.max_frame_size.min(self.max_payload.max(125));
        c.keep_alive = None;
        c
    }

    /// The handshake (`open`) packet's JSON.
    pub fn open_json(&self, sid: &str, upgrades: bool) -> String {
        format!(
            "{{\"sid\":{},\"upgrades\":[{}],\"pingInterval\":{},\"pingTimeout\":{}}}",
            serde_json::Value::from(sid),
            if upgrades { "\"websocket\"" } else { "" },
            self.ping_interval.as_millis(),
            self.ping_timeout.as_millis()
        )
    }
}

/// Why a session closed (the reference's reason strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// No packet within `ping_interval + ping_timeout`.
    PingTimeout,
    /// The transport failed: an aborted poll, an overlapping request, a WebSocket error.
    TransportError,
    /// The client closed (a `1` packet, or the WebSocket closed).
    TransportClose,
    /// The server closed the session.
    ForcedClose,
    /// The client sent a payload or packet that does not parse.
    ParseError,
}

impl CloseReason {
    /// The reason string socket.io uses (`"ping timeout"`, …).
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

/// What a session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EioEvent {
    /// A message from the client.
    Message(PacketData),
    /// The session moved to its WebSocket.
    Upgraded,
    /// The session closed (reported once; the session may linger to deliver its close).
    Closed(CloseReason),
}

/// An Engine.IO packet encoded once, to be sent to any number of sessions (clones share the
/// bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodedPacket {
    /// The string form (`4hello`, `3`, `0{…}`).
    Text(Utf8Bytes),
    /// The binary form: the type byte, then the data.
    Binary(Bytes),
}

impl EncodedPacket {
    /// A text message (`4` + text).
    pub fn message(text: &str) -> EncodedPacket {
        let mut s = String::with_capacity(1 + text.len());
        s.push('4');
        s.push_str(text);
        EncodedPacket::Text(Utf8Bytes::from(s))
    }

    /// A binary message.
    pub fn binary_message(data: &[u8]) -> EncodedPacket {
        let mut b = BytesMut::with_capacity(1 + data.len());
        b.put_u8(PacketType::Message as u8);
        b.put_slice(data);
        EncodedPacket::Binary(b.freeze())
    }

    /// A message packet from its data.
    pub fn from_data(data: &PacketData) -> EncodedPacket {
        match data {
            PacketData::Text(t) => EncodedPacket::message(t),
            PacketData::Binary(b) => EncodedPacket::binary_message(b),
        }
    }

    fn control(ty: PacketType) -> EncodedPacket {
        static DIGITS: [&[u8]; 7] = [b"0", b"1", b"2", b"3", b"4", b"5", b"6"];
        let b = Bytes::from_static(DIGITS[ty as usize]);
        EncodedPacket::Text(Utf8Bytes::try_from_bytes(b).expect("ASCII"))
    }

    /// Bytes this packet occupies in a queue.
    pub fn len(&self) -> usize {
        match self {
            EncodedPacket::Text(t) => t.len(),
            EncodedPacket::Binary(b) => b.len(),
        }
    }

    /// Whether the packet has no bytes (never true for a valid packet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_packet(&self) -> Packet {
        match self {
            EncodedPacket::Text(t) => {
                let s = t.as_str();
                let ty = PacketType::from_u8(s.as_bytes()[0] - b'0').expect("encoded by us");
                Packet::text(ty, &s[1..])
            }
            EncodedPacket::Binary(b) => {
                let ty = PacketType::from_u8(b[0]).expect("encoded by us");
                Packet::binary(ty, b.slice(1..))
            }
        }
    }
}

/// How a polling session frames its answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollingMode {
    /// XHR polling; `b64` when the client cannot take binary payloads.
    Xhr {
        /// Binary packets travel as base64 (`b4…`) inside text payloads.
        b64: bool,
    },
    /// JSONP polling with this callback index (always base64).
    Jsonp {
        /// The `j` query value (digits).
        index: String,
    },
}

/// How a POST body is encoded (decided by its `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    /// `text/plain` (or anything that is not one of the others): a text payload.
    Text,
    /// `application/octet-stream`: a binary payload.
    Binary,
    /// `application/x-www-form-urlencoded` on a JSONP session: field `d`.
    JsonpForm,
}

impl PostKind {
    /// The kind a POST's `Content-Type` header selects on a session in `mode`.
    pub fn from_content_type(content_type: Option<&str>, mode: Option<&PollingMode>) -> PostKind {
        let ct = content_type.unwrap_or("").trim();
        if ct.eq_ignore_ascii_case("application/octet-stream") {
            PostKind::Binary
        } else if matches!(mode, Some(PollingMode::Jsonp { .. }))
            && ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
        {
            PostKind::JsonpForm
        } else {
            PostKind::Text
        }
    }
}

/// The answer to a held poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollAnswer {
    /// The poll it answers.
    pub request: RequestId,
    /// `text/plain; charset=UTF-8` or exactly `application/octet-stream`.
    pub content_type: &'static str,
    /// The payload (or JSONP script).
    pub body: Bytes,
}

/// The text payload content type.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";
/// The binary payload content type (never with parameters: clients compare it exactly).
pub const BINARY_CONTENT_TYPE: &str = "application/octet-stream";

/// A polling request the session refuses (the peer broke the protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A second GET while one is held: answered 500, the session closes.
    #[error("overlapping poll")]
    OverlappingPoll,
    /// The session does not poll (it is a WebSocket session or upgraded): 400 code 3.
    #[error("transport mismatch")]
    WrongTransport,
    /// The session is closed: 400 code 1.
    #[error("session closed")]
    Closed,
}

impl RequestError {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            RequestError::OverlappingPoll => 500,
            RequestError::WrongTransport | RequestError::Closed => 400,
        }
    }

    /// The Engine.IO error code (for 400 answers).
    pub fn code(self) -> Option<u8> {
        match self {
            RequestError::OverlappingPoll => None,
            RequestError::WrongTransport => Some(3),
            RequestError::Closed => Some(1),
        }
    }
}

/// Why a WebSocket cannot be attached as an upgrade probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// Already upgraded, already upgrading, or not a session that upgrades: the runtime
    /// accepts the WebSocket and closes it at once (as the reference does).
    #[error("session is already upgraded or upgrading")]
    NotUpgradable,
}

/// Why [`EioSession::send`] refused (the caller's side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closed.
    #[error("session closed")]
    Closed,
    /// The client is too far behind: `max_buffered` bytes are queued.
    #[error("send buffer full")]
    Full,
}

#[derive(Debug)]
struct WsSlot {
    id: WsId,
    conn: Connection,
    b64: bool,
}

#[derive(Debug)]
struct Probe {
    ws: WsSlot,
    probed: bool,
    aborted: bool,
}

#[derive(Debug)]
struct Polling {
    mode: PollingMode,
    held: Option<RequestId>,
    queue: VecDeque<EncodedPacket>,
    queued_bytes: usize,
    /// The close packet went out (or the linger expired): nothing more to deliver.
    drained: bool,
}

// The WebSocket variant is the common one; boxing it would cost every session an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Transport {
    Polling(Polling),
    Ws(WsSlot),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    Closed,
}

const T_PING: usize = 0;
const T_UPGRADE: usize = 1;
const T_LINGER: usize = 2;

/// One Engine.IO session, server side.
#[derive(Debug)]
pub struct EioSession {
    config: Arc<EioConfig>,
    transport: Transport,
    probe: Option<Box<Probe>>,
    answers: VecDeque<PollAnswer>,
    events: VecDeque<EioEvent>,
    timers: Timers<3>,
    phase: Phase,
    next_ws: WsId,
}

impl EioSession {
    /// A session opened by a polling handshake; the handshake GET is `request` and is
    /// answered at once with the `open` packet followed by `initial` (e.g. socket.io's `40`).
    pub fn new_polling(
        now: Instant,
        sid: &str,
        config: Arc<EioConfig>,
        mode: PollingMode,
        request: RequestId,
        initial: &[EncodedPacket],
    ) -> EioSession {
        let upgrades = config.allow_upgrades;
        let open =
            EncodedPacket::Text(Utf8Bytes::from(format!("0{}", config.open_json(sid, upgrades))));
        let mut s = EioSession::with(config, now, Transport::Polling(Polling::new(mode)));
        s.push(now, open);
        for p in initial {
            s.push(now, p.clone());
        }
        if let Transport::Polling(p) = &mut s.transport {
            p.held = Some(request);
        }
        s.after(now);
        s
    }

    /// A session opened by a WebSocket handshake (the 101 is written by the runtime); `conn`
    /// is its connection, which gets id 0. `b64`: the client wants binary as base64 text.
    /// The `open` packet goes out first, then `initial`.
    pub fn new_websocket(
        now: Instant,
        sid: &str,
        config: Arc<EioConfig>,
        conn: Connection,
        b64: bool,
        initial: &[EncodedPacket],
    ) -> EioSession {
        let open =
            EncodedPacket::Text(Utf8Bytes::from(format!("0{}", config.open_json(sid, false))));
        let slot = WsSlot { id: 0, conn, b64 };
        let mut s = EioSession::with(config, now, Transport::Ws(slot));
        s.next_ws = 1;
        s.push(now, open);
        for p in initial {
            s.push(now, p.clone());
        }
        s
    }

    fn with(config: Arc<EioConfig>, now: Instant, transport: Transport) -> EioSession {
        let mut timers = Timers::new();
        timers[T_PING] = Some(now + config.ping_interval + config.ping_timeout);
        EioSession {
            config,
            transport,
            probe: None,
            answers: VecDeque::new(),
            events: VecDeque::new(),
            timers,
            phase: Phase::Open,
            next_ws: 0,
        }
    }

    /// The shared settings.
    pub fn config(&self) -> &Arc<EioConfig> {
        &self.config
    }

    /// Whether the session is still open (not closed by either side).
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Whether the session currently uses a WebSocket.
    pub fn is_websocket(&self) -> bool {
        matches!(self.transport, Transport::Ws(_))
    }

    /// Whether a WebSocket is attached (the transport or an upgrade probe): its task must be
    /// woken after commands.
    pub fn has_websocket(&self) -> bool {
        self.is_websocket() || self.probe.is_some()
    }

    /// The polling mode, while the session polls.
    pub fn polling_mode(&self) -> Option<&PollingMode> {
        match &self.transport {
            Transport::Polling(p) => Some(&p.mode),
            Transport::Ws(_) => None,
        }
    }

    /// Whether nothing remains to be done: closed, close delivered, every WebSocket ended.
    /// The runtime then forgets the session.
    pub fn is_finished(&self) -> bool {
        if self.phase != Phase::Closed {
            return false;
        }
        let transport_done = match &self.transport {
            Transport::Polling(p) => p.drained && p.held.is_none(),
            Transport::Ws(w) => w.conn.is_terminated(),
        };
        transport_done && self.probe.as_ref().map_or(true, |p| p.ws.conn.is_terminated())
    }

    /// Bytes queued toward the client and not yet handed to a transport.
    pub fn buffered_amount(&self) -> usize {
        match &self.transport {
            Transport::Polling(p) => p.queued_bytes,
            Transport::Ws(w) => w.conn.buffered_amount(),
        }
    }

    /// Whether a packet sent now would be written at once (the `volatile` test): a held poll,
    /// or a WebSocket with nothing waiting.
    pub fn is_writable(&self) -> bool {
        self.phase == Phase::Open
            && match &self.transport {
                Transport::Polling(p) => p.held.is_some() && p.queue.is_empty(),
                Transport::Ws(w) => w.conn.buffered_amount() == 0,
            }
    }

    // ------------------------------------------------------------------ commands

    /// Queues a packet (usually a message made once with [`EncodedPacket::message`] and
    /// cloned for every recipient).
    pub fn send(&mut self, now: Instant, packet: EncodedPacket) -> Result<(), SendError> {
        if self.phase != Phase::Open {
            return Err(SendError::Closed);
        }
        if self.buffered_amount().saturating_add(packet.len()) > self.config.max_buffered {
            return Err(SendError::Full);
        }
        self.push(now, packet);
        self.after(now);
        Ok(())
    }

    /// Queues several packets that belong together (a Socket.IO header and its attachments):
    /// all of them or none.
    pub fn send_all(&mut self, now: Instant, packets: &[EncodedPacket]) -> Result<(), SendError> {
        if self.phase != Phase::Open {
            return Err(SendError::Closed);
        }
        let total: usize = packets.iter().map(EncodedPacket::len).sum();
        if self.buffered_amount().saturating_add(total) > self.config.max_buffered {
            return Err(SendError::Full);
        }
        for p in packets {
            self.push(now, p.clone());
        }
        self.after(now);
        Ok(())
    }

    /// Sends a message.
    pub fn send_message(&mut self, now: Instant, data: &PacketData) -> Result<(), SendError> {
        self.send(now, EncodedPacket::from_data(data))
    }

    /// Closes the session from the server side (queued packets are delivered first).
    pub fn close(&mut self, now: Instant) {
        self.close_with(now, CloseReason::ForcedClose);
        // A held poll delivers the close packet now.
        self.after(now);
    }

    // ------------------------------------------------------------------ polling input

    /// A poll (GET) arrived. It is answered through [`poll_answer`](Self::poll_answer), at
    /// once when something is queued, else when something is sent or the session closes.
    pub fn handle_get(&mut self, now: Instant, request: RequestId) -> Result<(), RequestError> {
        let closed = self.phase == Phase::Closed;
        let Transport::Polling(p) = &mut self.transport else {
            return Err(if closed { RequestError::Closed } else { RequestError::WrongTransport });
        };
        if closed && p.drained {
            return Err(RequestError::Closed);
        }
        if p.held.is_some() {
            self.close_with(now, CloseReason::TransportError);
            self.after(now);
            return Err(RequestError::OverlappingPoll);
        }
        p.held = Some(request);
        self.after(now);
        Ok(())
    }

    /// A held poll's connection went away before its answer: the session fails
    /// ("transport error"), as with the reference.
    pub fn poll_aborted(&mut self, now: Instant, request: RequestId) {
        if let Transport::Polling(p) = &mut self.transport {
            if p.held == Some(request) {
                p.held = None;
                if self.phase == Phase::Open {
                    self.close_with(now, CloseReason::TransportError);
                } else {
                    p.drained = true;
                }
            }
        }
    }

    /// A POST body (already limited to `max_payload` by the runtime). Answer `ok` when this
    /// returns `Ok`, even if the payload was bad (the session is then closed, as with the
    /// reference).
    pub fn handle_post(
        &mut self,
        now: Instant,
        kind: PostKind,
        body: &[u8],
    ) -> Result<(), RequestError> {
        match (&self.transport, self.phase) {
            (_, Phase::Closed) => return Err(RequestError::Closed),
            (Transport::Ws(_), _) => return Err(RequestError::WrongTransport),
            _ => {}
        }
        let decoded = match kind {
            PostKind::Binary => decode_binary_payload(body),
            PostKind::Text => decode_text_payload(body),
            PostKind::JsonpForm => match decode_jsonp_post(body) {
                Ok(text) => decode_text_payload(text.as_bytes()),
                Err(e) => super::Decoded { packets: Vec::new(), error: Some(e) },
            },
        };
        for packet in decoded.packets {
            if self.phase != Phase::Open {
                break;
            }
            self.on_packet(now, packet);
        }
        if decoded.error.is_some() && self.phase == Phase::Open {
            self.close_with(now, CloseReason::ParseError);
        }
        self.after(now);
        Ok(())
    }

    /// The next answer to a held poll.
    #[must_use]
    pub fn poll_answer(&mut self) -> Option<PollAnswer> {
        self.answers.pop_front()
    }

    // ------------------------------------------------------------------ WebSocket input

    /// Attaches a WebSocket (its 101 already written) as an upgrade probe of this polling
    /// session. On `Err` the runtime closes the WebSocket itself.
    pub fn attach_probe(
        &mut self,
        now: Instant,
        conn: Connection,
        b64: bool,
    ) -> Result<WsId, ProbeError> {
        let upgradable = self.phase == Phase::Open
            && self.config.allow_upgrades
            && matches!(self.transport, Transport::Polling(_))
            && self.probe.as_ref().map_or(true, |p| p.aborted);
        if !upgradable {
            return Err(ProbeError::NotUpgradable);
        }
        let id = self.next_ws;
        self.next_ws = self.next_ws.wrapping_add(1);
        self.probe =
            Some(Box::new(Probe { ws: WsSlot { id, conn, b64 }, probed: false, aborted: false }));
        self.timers[T_UPGRADE] = Some(now + self.config.upgrade_timeout);
        Ok(id)
    }

    /// Bytes arrived on WebSocket `id`.
    pub fn handle_ws_data(&mut self, now: Instant, id: WsId, data: &[u8]) {
        if let Some(conn) = self.conn_mut(id) {
            conn.handle_data(now, data);
        }
        self.drain_ws(now);
        self.after(now);
    }

    /// WebSocket `id`'s stream ended.
    pub fn handle_ws_eof(&mut self, now: Instant, id: WsId) {
        if let Some(conn) = self.conn_mut(id) {
            conn.handle_eof(now);
        }
        self.drain_ws(now);
        self.after(now);
    }

    /// Bytes to write on WebSocket `id`.
    #[must_use]
    pub fn poll_ws_transmit(&mut self, id: WsId) -> Option<Bytes> {
        self.conn_mut(id)?.poll_transmit()
    }

    /// Whether WebSocket `id` is done (closed, or no longer part of the session): its task
    /// ends after writing what [`poll_ws_transmit`](Self::poll_ws_transmit) still gives.
    pub fn ws_terminated(&self, id: WsId) -> bool {
        self.conn(id).map_or(true, Connection::is_terminated)
    }

    /// Whether WebSocket `id` can take more input now (backpressure).
    pub fn ws_wants_read(&self, id: WsId) -> bool {
        self.conn(id).is_some_and(Connection::wants_read)
    }

    /// Gives back idle buffer capacity of WebSocket `id` and of the session's drained queues
    /// (call before sleeping: an idle session then holds no queue memory).
    pub fn ws_shrink_idle(&mut self, id: WsId) {
        if let Some(c) = self.conn_mut(id) {
            c.shrink_idle();
        }
        self.shrink_idle();
    }

    /// Gives back the capacity of drained queues.
    pub fn shrink_idle(&mut self) {
        release_if_empty(&mut self.events);
        release_if_empty(&mut self.answers);
        if let Transport::Polling(p) = &mut self.transport {
            release_if_empty(&mut p.queue);
        }
    }

    fn conn(&self, id: WsId) -> Option<&Connection> {
        match (&self.transport, &self.probe) {
            (Transport::Ws(w), _) if w.id == id => Some(&w.conn),
            (_, Some(p)) if p.ws.id == id => Some(&p.ws.conn),
            _ => None,
        }
    }

    fn conn_mut(&mut self, id: WsId) -> Option<&mut Connection> {
        if let Transport::Ws(w) = &mut self.transport {
            if w.id == id {
                return Some(&mut w.conn);
            }
        }
        match &mut self.probe {
            Some(p) if p.ws.id == id => Some(&mut p.ws.conn),
            _ => None,
        }
    }

    // ------------------------------------------------------------------ time

    /// Runs due timers (heartbeat, upgrade, close linger, WebSocket timers).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.expired(T_PING, now) && self.phase == Phase::Open {
            self.close_with(now, CloseReason::PingTimeout);
        }
        if self.timers.expired(T_UPGRADE, now) {
            self.abort_probe(now);
        }
        if self.timers.expired(T_LINGER, now) {
            if let Transport::Polling(p) = &mut self.transport {
                p.drained = true;
                p.queue.clear();
                p.queued_bytes = 0;
            }
        }
        if let Transport::Ws(w) = &mut self.transport {
            w.conn.handle_timeout(now);
        }
        if let Some(p) = &mut self.probe {
            p.ws.conn.handle_timeout(now);
        }
        self.drain_ws(now);
        self.after(now);
    }

    /// The next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ws = match &self.transport {
            Transport::Ws(w) => w.conn.poll_timeout(),
            Transport::Polling(_) => None,
        };
        let probe = self.probe.as_ref().and_then(|p| p.ws.conn.poll_timeout());
        [self.timers.next(), ws, probe].into_iter().flatten().min()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EioEvent> {
        self.events.pop_front()
    }

    // ------------------------------------------------------------------ internals

    fn push(&mut self, now: Instant, packet: EncodedPacket) {
        match &mut self.transport {
            Transport::Polling(p) => {
                p.queued_bytes += packet.len();
                p.queue.push_back(packet);
            }
            Transport::Ws(w) => ws_send(now, &mut w.conn, w.b64, &packet),
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet) {
        self.timers[T_PING] = Some(now + self.config.ping_interval + self.config.ping_timeout);
        match packet.ty {
            PacketType::Ping => self.push(now, EncodedPacket::control(PacketType::Pong)),
            PacketType::Message => self.events.push_back(EioEvent::Message(packet.data)),
            PacketType::Close => self.close_with(now, CloseReason::TransportClose),
            // Open, pong, upgrade and noop mean nothing from a client on its transport.
            _ => {}
        }
    }

    fn drain_ws(&mut self, now: Instant) {
        // The transport's WebSocket.
        while let Transport::Ws(w) = &mut self.transport {
            let Some(ev) = w.conn.poll_event() else { break };
            match ev {
                ws::Event::Message(m) => {
                    if self.phase != Phase::Open {
                        continue;
                    }
                    match decode_ws(m) {
                        Ok(p) => self.on_packet(now, p),
                        Err(_) => self.close_with(now, CloseReason::ParseError),
                    }
                }
                ws::Event::Closed(reason) if self.phase == Phase::Open => {
                    let r = match reason {
                        ws::CloseReason::Protocol(_) => CloseReason::TransportError,
                        _ => CloseReason::TransportClose,
                    };
                    self.close_with(now, r);
                }
                _ => {}
            }
        }
        // The upgrade probe.
        while let Some(p) = &mut self.probe {
            let Some(ev) = p.ws.conn.poll_event() else { break };
            match ev {
                ws::Event::Message(m) => {
                    if p.aborted || self.phase != Phase::Open {
                        continue;
                    }
                    match decode_ws(m) {
                        Ok(pk) if pk.ty == PacketType::Ping && is_probe(&pk) => {
                            self.timers[T_PING] =
                                Some(now + self.config.ping_interval + self.config.ping_timeout);
                            let pong = EncodedPacket::Text(Utf8Bytes::from("3probe"));
                            ws_send(now, &mut p.ws.conn, p.ws.b64, &pong);
                            p.probed = true;
                        }
                        Ok(pk) if pk.ty == PacketType::Upgrade && p.probed => {
                            self.timers[T_PING] =
                                Some(now + self.config.ping_interval + self.config.ping_timeout);
                            self.complete_upgrade(now);
                            // Frames that arrived with the `5` (same read) are now the
                            // transport's: drain them too.
                            self.drain_ws(now);
                            return;
                        }
                        _ => self.abort_probe(now),
                    }
                }
                ws::Event::Closed(_) => {
                    p.aborted = true;
                    self.timers[T_UPGRADE] = None;
                }
                _ => {}
            }
        }
        if self.probe.as_ref().is_some_and(|p| p.aborted && p.ws.conn.is_terminated()) {
            self.probe = None;
        }
    }

    fn complete_upgrade(&mut self, now: Instant) {
        let Some(probe) = self.probe.take() else { return };
        self.timers[T_UPGRADE] = None;
        let mut ws = probe.ws;
        let placeholder = Transport::Polling(Polling::new(PollingMode::Xhr { b64: true }));
        let old = std::mem::replace(&mut self.transport, placeholder);
        if let Transport::Polling(mut p) = old {
            // Release the held poll; everything queued moves to the WebSocket in order.
            if let Some(request) = p.held.take() {
                self.answers.push_back(answer(
                    &p.mode,
                    request,
                    &[Packet::text(PacketType::Noop, "")],
                ));
            }
            for packet in p.queue.drain(..) {
                ws_send(now, &mut ws.conn, ws.b64, &packet);
            }
        }
        self.transport = Transport::Ws(ws);
        self.events.push_back(EioEvent::Upgraded);
    }

    fn abort_probe(&mut self, now: Instant) {
        self.timers[T_UPGRADE] = None;
        if let Some(p) = &mut self.probe {
            if !p.aborted {
                p.aborted = true;
                let _ = p.ws.conn.close(now, None, "");
            }
        }
    }

    fn close_with(&mut self, now: Instant, reason: CloseReason) {
        if self.phase != Phase::Open {
            return;
        }
        self.phase = Phase::Closed;
        self.timers[T_PING] = None;
        self.events.push_back(EioEvent::Closed(reason));
        let client_closed = reason == CloseReason::TransportClose;
        match &mut self.transport {
            Transport::Polling(p) => {
                if client_closed {
                    // The client said goodbye: release its poll with a noop, nothing more.
                    p.queue.clear();
                    p.queued_bytes = 0;
                    p.queue.push_back(EncodedPacket::control(PacketType::Noop));
                } else if reason != CloseReason::TransportError || p.held.is_some() {
                    p.queue.push_back(EncodedPacket::control(PacketType::Close));
                } else {
                    p.drained = true;
                }
                self.timers[T_LINGER] = Some(now + self.config.close_timeout);
            }
            Transport::Ws(w) => {
                let _ = w.conn.close(now, None, "");
            }
        }
        self.abort_probe(now);
        if let Transport::Polling(p) = &mut self.transport {
            if client_closed && p.held.is_none() {
                p.drained = true;
            }
        }
    }

    /// After any input or command: answer a held poll when there is something to say.
    fn after(&mut self, _now: Instant) {
        let probed = self.probe.as_ref().is_some_and(|p| p.probed && !p.aborted);
        let Transport::Polling(p) = &mut self.transport else { return };
        let Some(request) = p.held else { return };
        if p.drained {
            return;
        }
        if !p.queue.is_empty() {
            p.held = None;
            let packets: Vec<Packet> = p.queue.drain(..).map(|e| e.to_packet()).collect();
            p.queued_bytes = 0;
            let closing = self.phase == Phase::Closed;
            self.answers.push_back(answer(&p.mode, request, &packets));
            if closing {
                p.drained = true;
                self.timers[T_LINGER] = None;
            }
        } else if probed {
            // During an upgrade a poll is released at once so the client can pause polling.
            p.held = None;
            self.answers.push_back(answer(&p.mode, request, &[Packet::text(PacketType::Noop, "")]));
        }
    }
}

impl Polling {
    fn new(mode: PollingMode) -> Polling {
        Polling { mode, held: None, queue: VecDeque::new(), queued_bytes: 0, drained: false }
    }
}

/// Frees a drained queue's buffer (a `VecDeque` keeps its capacity when emptied).
pub(crate) fn release_if_empty<T>(q: &mut VecDeque<T>) {
    if q.is_empty() && q.capacity() > 0 {
        *q = VecDeque::new();
    }
}

fn is_probe(p: &Packet) -> bool {
    matches!(&p.data, PacketData::Text(t) if t == "probe")
}

fn decode_ws(m: Message) -> Result<Packet, EioError> {
    match m {
        Message::Text(t) => Packet::decode_str(t.as_str()),
        Message::Binary(b) => {
            let (&ty, _) = b.split_first().ok_or(EioError::Empty)?;
            Ok(Packet::binary(PacketType::from_u8(ty)?, b.slice(1..)))
        }
    }
}

fn ws_send(now: Instant, conn: &mut Connection, b64: bool, packet: &EncodedPacket) {
    // A full send buffer is the caller's `max_buffered` check; the connection's own limit
    // only stops a closed connection, where dropping is right.
    let _ = match packet {
        EncodedPacket::Text(t) => conn.send_text(now, t.clone()),
        EncodedPacket::Binary(_) if b64 => {
            conn.send_text(now, Utf8Bytes::from(packet.to_packet().encode_str()))
        }
        EncodedPacket::Binary(b) => conn.send_binary(now, b.clone()),
    };
}

fn answer(mode: &PollingMode, request: RequestId, packets: &[Packet]) -> PollAnswer {
    match mode {
        PollingMode::Xhr { b64: false } if packets.iter().any(Packet::is_binary) => PollAnswer {
            request,
            content_type: BINARY_CONTENT_TYPE,
            body: encode_binary_payload(packets),
        },
        PollingMode::Xhr { .. } => PollAnswer {
            request,
            content_type: TEXT_CONTENT_TYPE,
            body: Bytes::from(encode_text_payload(packets)),
        },
        PollingMode::Jsonp { index } => {
            let script = encode_jsonp(index, &encode_text_payload(packets))
                .unwrap_or_else(|| format!("___eio[0]({:?});", ""));
            PollAnswer { request, content_type: TEXT_CONTENT_TYPE, body: Bytes::from(script) }
        }
    }
}
