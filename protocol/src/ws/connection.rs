//! The WebSocket connection state machine (after the opening handshake), for both roles.

use super::close::{CloseCode, CloseFrame};
use super::error::{ProtocolError, UsageError};
use super::frame::{encode_frame, EncodedFrame, FrameHeader, OpCode, MAX_HEADER_LEN};
use super::mask::apply_mask;
use super::message::{Message, Utf8Bytes};
use super::utf8::Utf8Validator;
use crate::rand::Entropy;
use crate::Machine;
use crate::Timers;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Payloads at least this large are queued by reference (server role) instead of copied
/// next to their header.
const COPY_THRESHOLD: usize = 8 * 1024;
/// Block size for the fused copy-and-unmask of incoming payloads.
const UNMASK_BLOCK: usize = 4 * 1024;

/// Which end of the connection this machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepts connections; receives masked frames, sends unmasked ones.
    Server,
    /// Opens connections; masks every frame it sends.
    Client,
}

/// Keep-alive: send a ping after `interval` without incoming bytes; give up when nothing
/// arrives within `timeout` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Idle time before a ping is sent.
    pub interval: Duration,
    /// Time allowed for the peer to answer (any incoming byte counts).
    pub timeout: Duration,
}

/// Connection limits and timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest incoming frame payload; above it the connection closes with 1009. Default 16 MiB.
    pub max_frame_size: usize,
    /// Largest incoming message (all fragments); above it the connection closes with 1009.
    /// Default 64 MiB.
    pub max_message_size: usize,
    /// Most bytes held in the send buffer before data sends fail with
    /// [`UsageError::SendBufferFull`]. Default 64 MiB.
    pub max_send_buffer: usize,
    /// Optional keep-alive pings. Default none.
    pub keep_alive: Option<KeepAlive>,
    /// How long to wait for the peer's part of the closing handshake. Default 5 s.
    pub close_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_send_buffer: 64 << 20,
            keep_alive: None,
            close_timeout: Duration::from_secs(5),
        }
    }
}

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Data flows both ways.
    Open,
    /// This side sent a close frame and waits for the peer's.
    Closing,
    /// The closing handshake is over (or the connection failed); flush and drop the transport
    /// once [`Connection::is_terminated`] says so.
    Closed,
}

/// Why the connection closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer started the closing handshake with this frame; it was answered.
    Remote(CloseFrame),
    /// This side started the closing handshake; the peer answered with this frame.
    Local(CloseFrame),
    /// The peer broke the protocol; a close frame with the error's code was sent.
    Protocol(ProtocolError),
    /// The transport ended without a closing handshake (code 1006).
    Abnormal,
    /// Keep-alive: the peer sent nothing within the timeout after a ping.
    KeepAliveTimeout,
    /// The peer did not answer this side's close frame in time.
    CloseTimeout,
}

/// Something that happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete data message.
    Message(Message),
    /// A ping arrived (already answered with a pong).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The connection is closed for reading; emitted once.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    Ping = 0,
    Pong = 1,
    Close = 2,
}
const TIMERS: usize = 3;

/// What happens when the [`Event::Closed`] in the queue is polled: effects are applied in
/// event order, so a reply to a message that came before a close frame or a protocol
/// violation is still sent before the close frame.
#[derive(Debug, Clone)]
enum Deferred {
    /// Fail the connection with this close code.
    Fail(CloseCode),
    /// The peer's close frame arrived at `at`; answer it unless this side already sent one.
    PeerClosed { reply: CloseFrame, at: Instant },
}

/// The frame whose payload is being received.
#[derive(Debug, Clone, Copy)]
struct RxFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    remaining: u64,
    processed: usize,
}

/// A WebSocket connection after the handshake. See the crate docs for the run loop.
pub struct Connection {
    role: Role,
    config: Config,
    entropy: Option<Box<dyn Entropy>>,
    state: State,
    // receive side
    hdr: [u8; MAX_HEADER_LEN],
    hdr_len: u8,
    frame: Option<RxFrame>,
    msg: Vec<u8>,
    msg_opcode: Option<OpCode>,
    utf8: Utf8Validator,
    ctrl: Vec<u8>,
    read_closed: bool,
    // send side
    tx_queue: VecDeque<Bytes>,
    tx_buf: BytesMut,
    tx_pending: usize,
    sent_close: Option<CloseFrame>,
    // output
    events: VecDeque<Event>,
    closed_emitted: bool,
    deferred: Option<Deferred>,
    terminated: bool,
    timers: Timers<TIMERS>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("tx_pending", &self.tx_pending)
            .field("terminated", &self.terminated)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection (the handshake response has been sent).
    pub fn server(config: Config, now: Instant) -> Self {
        Self::new(Role::Server, config, None, now)
    }

    /// A client-side connection; `entropy` supplies the masking keys (use a CSPRNG).
    pub fn client(config: Config, entropy: Box<dyn Entropy>, now: Instant) -> Self {
        Self::new(Role::Client, config, Some(entropy), now)
    }

    fn new(role: Role, config: Config, entropy: Option<Box<dyn Entropy>>, now: Instant) -> Self {
        let mut timers = Timers::new();
        if let Some(ka) = config.keep_alive {
            timers[Timer::Ping as usize] = Some(now + ka.interval);
        }
        Connection {
            role,
            config,
            entropy,
            state: State::Open,
            hdr: [0; MAX_HEADER_LEN],
            hdr_len: 0,
            frame: None,
            msg: Vec::new(),
            msg_opcode: None,
            utf8: Utf8Validator::default(),
            ctrl: Vec::new(),
            read_closed: false,
            tx_queue: VecDeque::new(),
            tx_buf: BytesMut::new(),
            tx_pending: 0,
            sent_close: None,
            events: VecDeque::new(),
            closed_emitted: false,
            deferred: None,
            terminated: false,
            timers,
        }
    }

    /// This connection's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Releases the capacity of empty internal queues and buffers (call when the connection
    /// goes idle: an idle connection then holds no heap beyond the machine itself).
    pub fn shrink_idle(&mut self) {
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        if self.tx_queue.is_empty() && self.tx_queue.capacity() > 0 {
            self.tx_queue = VecDeque::new();
        }
        if self.tx_buf.is_empty() && self.tx_buf.capacity() > 0 {
            self.tx_buf = BytesMut::new();
        }
        if self.ctrl.is_empty() && self.ctrl.capacity() > 0 {
            self.ctrl = Vec::new();
        }
    }

    /// Bytes queued for sending and not yet taken by [`poll_transmit`](Self::poll_transmit).
    pub fn buffered_amount(&self) -> usize {
        self.tx_pending
    }

    /// Whether the transport should be shut down now (after writing what
    /// [`poll_transmit`](Self::poll_transmit) returns). Further input is ignored.
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// Whether the transport should still be read: until terminated, so that the peer's
    /// close of the TCP connection is seen (bytes after a close frame are discarded).
    pub fn wants_read(&self) -> bool {
        !self.terminated
    }

    // ---------------------------------------------------------------- input

    /// Feeds bytes received from the peer.
    pub fn handle_data(&mut self, now: Instant, mut data: &[u8]) {
        if self.read_closed || data.is_empty() {
            return;
        }
        if let Some(ka) = self.config.keep_alive {
            if self.state == State::Open {
                self.timers[Timer::Ping as usize] = Some(now + ka.interval);
            }
            self.timers[Timer::Pong as usize] = None;
        }
        while !self.read_closed {
            if let Some(frame) = self.frame {
                let n = frame.remaining.min(data.len() as u64) as usize;
                if n == 0 && frame.remaining != 0 {
                    return;
                }
                let (chunk, rest) = data.split_at(n);
                data = rest;
                if let Err(e) = self.consume_payload(frame, chunk) {
                    self.fail(now, e);
                    return;
                }
                let frame = self.frame.as_mut().expect("frame in progress");
                frame.remaining -= n as u64;
                frame.processed += n;
                if frame.remaining == 0 {
                    let frame = self.frame.take().expect("frame in progress");
                    if let Err(e) = self.finish_frame(now, frame) {
                        self.fail(now, e);
                        return;
                    }
                }
            } else {
                if !self.read_header(&mut data) {
                    return;
                }
                let (header, _) = FrameHeader::parse(&self.hdr[..self.hdr_len as usize])
                    .expect("complete header");
                self.hdr_len = 0;
                if let Err(e) = self.start_frame(header) {
                    self.fail(now, e);
                    return;
                }
            }
        }
    }

    /// The peer closed its sending side (TCP FIN) or the transport failed.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.read_closed = true;
        self.terminated = true;
        self.emit_closed(CloseReason::Abnormal);
        self.state = State::Closed;
    }

    /// A deadline from [`poll_timeout`](Self::poll_timeout) passed. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Terminated: no deadline is pending (see `poll_timeout`) and input is ignored.
        if self.terminated {
            return;
        }
        if self.expired(Timer::Close, now) {
            self.terminated = true;
            self.read_closed = true;
            self.state = State::Closed;
            self.emit_closed(CloseReason::CloseTimeout);
        }
        if self.expired(Timer::Pong, now) {
            self.timers[Timer::Ping as usize] = None;
            if self.sent_close.is_none() {
                self.queue_close(CloseFrame {
                    code: Some(CloseCode::GOING_AWAY),
                    reason: "keep-alive timeout".into(),
                });
            }
            self.state = State::Closed;
            self.read_closed = true;
            self.terminated = true;
            self.emit_closed(CloseReason::KeepAliveTimeout);
        }
        if self.expired(Timer::Ping, now) {
            if let Some(ka) = self.config.keep_alive {
                if self.state == State::Open {
                    self.queue_frame(OpCode::Ping, &[], None);
                    self.timers[Timer::Pong as usize] = Some(now + ka.timeout);
                }
            }
        }
    }

    fn expired(&mut self, timer: Timer, now: Instant) -> bool {
        self.timers.expired(timer as usize, now)
    }

    /// Accumulates header bytes; true once a whole header is in `self.hdr`.
    fn read_header(&mut self, data: &mut &[u8]) -> bool {
        loop {
            let have = self.hdr_len as usize;
            let need =
                if have < 2 { 2 } else { FrameHeader::len_from_prefix([self.hdr[0], self.hdr[1]]) };
            if have == need {
                return true;
            }
            let take = (need - have).min(data.len());
            if take == 0 {
                return false;
            }
            self.hdr[have..have + take].copy_from_slice(&data[..take]);
            self.hdr_len += take as u8;
            *data = &data[take..];
        }
    }

    /// Checks a new frame header against the protocol and the limits.
    fn start_frame(&mut self, h: FrameHeader) -> Result<(), ProtocolError> {
        if h.rsv != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        if let OpCode::Reserved(v) = h.opcode {
            return Err(ProtocolError::ReservedOpcode(v));
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if h.payload_len >> 63 != 0 {
            return Err(ProtocolError::InvalidLength);
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(ProtocolError::FragmentedControl);
            }
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlTooLong(h.payload_len));
            }
        } else {
            if h.payload_len > self.config.max_frame_size as u64 {
                return Err(ProtocolError::FrameTooLarge {
                    size: h.payload_len,
                    limit: self.config.max_frame_size,
                });
            }
            match (h.opcode, self.msg_opcode) {
                (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
                (OpCode::Text | OpCode::Binary, Some(_)) => {
                    return Err(ProtocolError::ExpectedContinuation)
                }
                (OpCode::Text | OpCode::Binary, None) => {
                    self.msg_opcode = Some(h.opcode);
                    self.utf8.reset();
                }
                _ => {}
            }
            if self.msg.len() as u64 + h.payload_len > self.config.max_message_size as u64 {
                return Err(ProtocolError::MessageTooLarge { limit: self.config.max_message_size });
            }
        }
        self.frame = Some(RxFrame {
            opcode: h.opcode,
            fin: h.fin,
            mask: h.mask,
            remaining: h.payload_len,
            processed: 0,
        });
        Ok(())
    }

    fn consume_payload(&mut self, frame: RxFrame, chunk: &[u8]) -> Result<(), ProtocolError> {
        let buf = if frame.opcode.is_control() { &mut self.ctrl } else { &mut self.msg };
        // Room for the bytes that arrived, never for what a header merely announces (a 10-byte
        // header must not make the connection allocate megabytes).
        buf.reserve(chunk.len());
        match frame.mask {
            // Copy and unmask block by block, so each block is unmasked while still in L1.
            Some(mask) => {
                let mut offset = frame.processed;
                for block in chunk.chunks(UNMASK_BLOCK) {
                    let start = buf.len();
                    buf.extend_from_slice(block);
                    apply_mask(&mut buf[start..], mask, offset);
                    offset += block.len();
                }
            }
            None => buf.extend_from_slice(chunk),
        }
        if !frame.opcode.is_control() && self.msg_opcode == Some(OpCode::Text) {
            self.utf8.feed(&self.msg).map_err(|()| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    fn finish_frame(&mut self, now: Instant, frame: RxFrame) -> Result<(), ProtocolError> {
        match frame.opcode {
            OpCode::Ping => {
                let payload = std::mem::take(&mut self.ctrl);
                // A peer that pings without reading gets no more pongs once the buffer is full.
                if self.sent_close.is_none() && self.tx_pending < self.config.max_send_buffer {
                    self.queue_frame(OpCode::Pong, &payload, None);
                }
                self.events.push_back(Event::Ping(Bytes::from(payload)));
            }
            OpCode::Pong => {
                let payload = std::mem::take(&mut self.ctrl);
                self.events.push_back(Event::Pong(Bytes::from(payload)));
            }
            OpCode::Close => {
                let payload = std::mem::take(&mut self.ctrl);
                let frame = parse_close(&payload)?;
                self.on_close_frame(now, frame);
            }
            _ => {
                if frame.fin {
                    let opcode = self.msg_opcode.take().expect("message in progress");
                    let payload = Bytes::from(std::mem::take(&mut self.msg));
                    let message = if opcode == OpCode::Text {
                        if !self.utf8.is_complete(payload.len()) {
                            return Err(ProtocolError::InvalidUtf8);
                        }
                        Message::Text(Utf8Bytes::from_validated(payload))
                    } else {
                        Message::Binary(payload)
                    };
                    self.events.push_back(Event::Message(message));
                }
            }
        }
        Ok(())
    }

    fn on_close_frame(&mut self, now: Instant, frame: CloseFrame) {
        self.read_closed = true;
        self.msg = Vec::new();
        self.timers[Timer::Ping as usize] = None;
        self.timers[Timer::Pong as usize] = None;
        let reply = CloseFrame { code: frame.code, reason: String::new() };
        let reason = if self.sent_close.is_some() {
            CloseReason::Local(frame)
        } else {
            CloseReason::Remote(frame)
        };
        self.emit_closed_then(reason, Deferred::PeerClosed { reply, at: now });
    }

    /// Fails the connection: once the events before it are polled, a close frame with the
    /// error's code is queued and the connection terminates.
    fn fail(&mut self, _now: Instant, error: ProtocolError) {
        self.msg = Vec::new();
        self.ctrl = Vec::new();
        self.frame = None;
        self.read_closed = true;
        self.timers[Timer::Ping as usize] = None;
        self.timers[Timer::Pong as usize] = None;
        let code = error.close_code();
        self.emit_closed_then(CloseReason::Protocol(error), Deferred::Fail(code));
    }

    /// Emits `Closed(reason)` (if not emitted yet) and applies `effect` when it is polled.
    fn emit_closed_then(&mut self, reason: CloseReason, effect: Deferred) {
        if self.closed_emitted {
            self.apply(effect);
        } else {
            self.closed_emitted = true;
            self.events.push_back(Event::Closed(reason));
            self.deferred = Some(effect);
        }
    }

    fn apply(&mut self, effect: Deferred) {
        match effect {
            Deferred::Fail(code) => {
                if self.sent_close.is_none() {
                    self.queue_close(CloseFrame { code: Some(code), reason: String::new() });
                }
                self.state = State::Closed;
                self.terminated = true;
                self.timers.clear_all();
            }
            Deferred::PeerClosed { reply, at } => {
                if self.sent_close.is_none() {
                    self.queue_close(reply);
                }
                self.state = State::Closed;
                match self.role {
                    // The server closes the TCP connection first (RFC 6455 §7.1.1).
                    Role::Server => {
                        self.terminated = true;
                        self.timers.clear_all();
                    }
                    // The client waits for the server to close, within the close timeout.
                    Role::Client => {
                        self.timers[Timer::Close as usize] = Some(at + self.config.close_timeout);
                    }
                }
            }
        }
    }

    fn emit_closed(&mut self, reason: CloseReason) {
        if !self.closed_emitted {
            self.closed_emitted = true;
            self.events.push_back(Event::Closed(reason));
        }
    }

    // ---------------------------------------------------------------- commands

    /// Sends a text message.
    pub fn send_text(
        &mut self,
        _now: Instant,
        text: impl Into<Utf8Bytes>,
    ) -> Result<(), UsageError> {
        let text = text.into();
        self.send_data(OpCode::Text, text.into_bytes())
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, _now: Instant, data: impl Into<Bytes>) -> Result<(), UsageError> {
        self.send_data(OpCode::Binary, data.into())
    }

    /// Sends a message.
    pub fn send(&mut self, now: Instant, message: Message) -> Result<(), UsageError> {
        match message {
            Message::Text(t) => self.send_text(now, t),
            Message::Binary(b) => self.send_binary(now, b),
        }
    }

    /// Sends a frame encoded once for many connections (server role only).
    pub fn send_encoded(&mut self, _now: Instant, frame: &EncodedFrame) -> Result<(), UsageError> {
        if self.role == Role::Client {
            return Err(UsageError::EncodedFrameOnClient);
        }
        self.check_can_send(frame.as_bytes().len())?;
        let bytes = frame.as_bytes();
        if bytes.len() >= COPY_THRESHOLD {
            self.flush_tx_buf();
            self.tx_queue.push_back(bytes.clone());
        } else {
            self.tx_buf.extend_from_slice(bytes);
        }
        self.tx_pending += bytes.len();
        Ok(())
    }

    /// Sends a ping (payload at most 125 bytes); the answer arrives as [`Event::Pong`].
    pub fn ping(&mut self, _now: Instant, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong (a unidirectional heartbeat).
    pub fn pong(&mut self, _now: Instant, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake. `code` `None` sends an empty close frame (then `reason`
    /// must be empty: [`UsageError::ReasonWithoutCode`]). Incoming messages are still delivered until the peer's close frame.
    pub fn close(
        &mut self,
        now: Instant,
        code: Option<CloseCode>,
        reason: &str,
    ) -> Result<(), UsageError> {
        if self.sent_close.is_some() || self.state != State::Open {
            return Err(UsageError::Closed);
        }
        if let Some(c) = code {
            if !c.is_sendable() {
                return Err(UsageError::InvalidCloseCode(c.0));
            }
        }
        if reason.len() > 123 {
            return Err(UsageError::CloseReasonTooLong(reason.len()));
        }
        if code.is_none() && !reason.is_empty() {
            return Err(UsageError::ReasonWithoutCode);
        }
        let reason = reason.to_owned();
        self.queue_close(CloseFrame { code, reason });
        self.state = State::Closing;
        self.timers[Timer::Ping as usize] = None;
        self.timers[Timer::Pong as usize] = None;
        self.timers[Timer::Close as usize] = Some(now + self.config.close_timeout);
        Ok(())
    }

    fn check_can_send(&self, len: usize) -> Result<(), UsageError> {
        if self.sent_close.is_some() || self.state != State::Open {
            return Err(UsageError::Closed);
        }
        if self.tx_pending + len > self.config.max_send_buffer && self.tx_pending > 0 {
            return Err(UsageError::SendBufferFull {
                buffered: self.tx_pending,
                limit: self.config.max_send_buffer,
            });
        }
        Ok(())
    }

    fn send_data(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), UsageError> {
        self.check_can_send(payload.len() + MAX_HEADER_LEN)?;
        self.queue_frame(opcode, &payload, Some(&payload));
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), UsageError> {
        if self.sent_close.is_some() || self.state != State::Open {
            return Err(UsageError::Closed);
        }
        if payload.len() > 125 {
            return Err(UsageError::ControlTooLong(payload.len()));
        }
        self.queue_frame(opcode, payload, None);
        Ok(())
    }

    fn queue_close(&mut self, frame: CloseFrame) {
        let payload = frame.encode();
        self.queue_frame(OpCode::Close, &payload, None);
        self.sent_close = Some(frame);
    }

    fn queue_frame(&mut self, opcode: OpCode, payload: &[u8], shared: Option<&Bytes>) {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => {
                Some(self.entropy.as_mut().expect("client connection has entropy").mask())
            }
        };
        let before = self.tx_buf.len();
        match shared {
            Some(bytes) if mask.is_none() && payload.len() >= COPY_THRESHOLD => {
                let header = FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode,
                    mask: None,
                    payload_len: payload.len() as u64,
                };
                header.encode(&mut self.tx_buf);
                self.tx_pending += self.tx_buf.len() - before + bytes.len();
                self.flush_tx_buf();
                self.tx_queue.push_back(bytes.clone());
            }
            _ => {
                encode_frame(&mut self.tx_buf, true, opcode, mask, payload);
                self.tx_pending += self.tx_buf.len() - before;
            }
        }
    }

    fn flush_tx_buf(&mut self) {
        if !self.tx_buf.is_empty() {
            let chunk = std::mem::take(&mut self.tx_buf).freeze();
            self.tx_queue.push_back(chunk);
        }
    }

    // ---------------------------------------------------------------- output

    /// The next bytes to write to the transport, in order.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let out = match self.tx_queue.pop_front() {
            Some(b) => b,
            None if !self.tx_buf.is_empty() => std::mem::take(&mut self.tx_buf).freeze(),
            None => return None,
        };
        self.tx_pending -= out.len();
        Some(out)
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front();
        if matches!(e, Some(Event::Closed(_))) {
            if let Some(effect) = self.deferred.take() {
                self.apply(effect);
            }
        }
        if self.events.is_empty() && self.events.capacity() > 16 {
            self.events = VecDeque::new();
        }
        e
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.terminated {
            return None;
        }
        self.timers.next()
    }
}

fn parse_close(payload: &[u8]) -> Result<CloseFrame, ProtocolError> {
    match payload.len() {
        0 => Ok(CloseFrame { code: None, reason: String::new() }),
        1 => Err(ProtocolError::CloseTooShort),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_sendable() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason = simdutf8::basic::from_utf8(&payload[2..])
                .map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok(CloseFrame { code: Some(code), reason: reason.to_owned() })
        }
    }
}

impl Machine for Connection {
    type Event = Event;

    fn handle_data(&mut self, now: Instant, data: &[u8]) {
        Connection::handle_data(self, now, data)
    }
    fn handle_eof(&mut self, now: Instant) {
        Connection::handle_eof(self, now)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Connection::handle_timeout(self, now)
    }
    fn poll_transmit(&mut self) -> Option<Bytes> {
        Connection::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<Event> {
        Connection::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Connection::poll_timeout(self)
    }
    fn is_terminated(&self) -> bool {
        Connection::is_terminated(self)
    }
    fn wants_read(&self) -> bool {
        Connection::wants_read(self)
    }
}
