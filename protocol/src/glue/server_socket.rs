//! The server side of one glue socket, over any transport that carries whole glue messages
//! (a WebSocket text message, an AjaxSocket push / poll answer).
//!
//! Input: [`handle_message`](ServerSocket::handle_message) for every glue message received,
//! [`handle_transport_closed`](ServerSocket::handle_transport_closed),
//! [`handle_timeout`](ServerSocket::handle_timeout). Commands: [`write`](ServerSocket::write),
//! [`close`](ServerSocket::close). Output: glue messages to send from
//! [`poll_transmit`](ServerSocket::poll_transmit), [`SocketEvent`]s, the next deadline.

use super::init::{check_client_init, init_reply, InitCheck};
use super::message::{encode_channel_data, Message};
use crate::Timers;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Server socket timing and limits (defaults are upstream's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketConfig {
    /// Client silence before the server sends `pi`. Default 30 s.
    pub ping_interval: Duration,
    /// Time after `pi` within which anything must arrive. Default 7 s.
    pub pong_timeout: Duration,
    /// Delay between `dr` (incompatible client) and closing. Default 1 s.
    pub dont_reconnect_delay: Duration,
    /// Most glue messages queued for sending; [`ServerSocket::write`] fails with
    /// [`WriteError::Full`] beyond it. Default 1024.
    pub max_queued: usize,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(7),
            dont_reconnect_delay: Duration::from_secs(1),
            max_queued: 1024,
        }
    }
}

/// Why a glue socket closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketCloseReason {
    /// The client sent `cl`.
    ClientClosed,
    /// [`ServerSocket::close`] was called.
    Local,
    /// Nothing arrived within the pong timeout after a ping.
    PingTimeout,
    /// The client's `in` was not a JSON object with a semantic version.
    InvalidInit,
    /// The client's version is incompatible (`dr` was sent).
    IncompatibleVersion(String),
    /// The transport closed or failed.
    TransportClosed,
}

/// What happened on a glue socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// A valid `in` was answered: the application's new-socket callback runs now (its writes
    /// follow the init reply). Emitted once, even if the client repeats `in`.
    Initialized,
    /// Data for a channel.
    Data {
        /// Channel name (`m` = main channel).
        channel: String,
        /// The data.
        data: String,
    },
    /// A message the server could not use (answered with `iv` or dropped, as upstream does);
    /// for logging.
    Invalid(super::GlueError),
    /// The socket closed; emitted once.
    Closed(SocketCloseReason),
}

/// The caller wrote to a socket that cannot take it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The socket is closed; the data was dropped.
    #[error("the socket is closed")]
    Closed,
    /// The send queue holds [`SocketConfig::max_queued`] messages; drain `poll_transmit` first.
    #[error("the send queue is full")]
    Full,
}

/// Protocol replies queued beyond [`SocketConfig::max_queued`] before further ones are dropped.
pub const REPLY_SLACK: usize = 64;

#[derive(Debug, Clone, Copy)]
enum Timer {
    Ping = 0,
    PongDeadline = 1,
    CloseAfterDr = 2,
}
const TIMERS: usize = 3;

/// The server side of one glue socket.
#[derive(Debug)]
pub struct ServerSocket {
    id: String,
    config: SocketConfig,
    initialized: bool,
    closed: bool,
    terminated: bool,
    paused: bool,
    tx: VecDeque<Bytes>,
    events: VecDeque<SocketEvent>,
    timers: Timers<TIMERS>,
}

impl ServerSocket {
    /// A new socket with its ID (20 characters from a CSPRNG, unique in the registry).
    pub fn new(id: String, config: SocketConfig, now: Instant) -> Self {
        let mut timers = Timers::new();
        timers[Timer::Ping as usize] = Some(now + config.ping_interval);
        ServerSocket {
            id,
            config,
            initialized: false,
            closed: false,
            terminated: false,
            paused: false,
            tx: VecDeque::new(),
            events: VecDeque::new(),
            timers,
        }
    }

    /// The socket ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the init handshake completed.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// Whether the socket is closed (writes are refused).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether the transport should be closed now (after sending what `poll_transmit` gives).
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// Pauses (`false`) or resumes (`true`) the keep-alive while the runtime stops reading the
    /// connection because the application is behind: the server cannot see the client's
    /// answers then, so it does not ping or time out; resuming restarts the ping interval.
    pub fn set_reading(&mut self, now: Instant, reading: bool) {
        if self.closed {
            return;
        }
        self.paused = !reading;
        self.timers[Timer::PongDeadline as usize] = None;
        self.timers[Timer::Ping as usize] = reading.then(|| now + self.config.ping_interval);
    }

    /// Releases the capacity of empty queues (call when idle).
    pub fn shrink_idle(&mut self) {
        if self.tx.is_empty() && self.tx.capacity() > 0 {
            self.tx = VecDeque::new();
        }
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
    }

    /// Messages queued and not yet taken by `poll_transmit`.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// A glue message from the client.
    pub fn handle_message(&mut self, now: Instant, raw: &[u8]) {
        if self.closed {
            return;
        }
        // Anything received proves the peer alive.
        if !self.paused {
            self.timers[Timer::Ping as usize] = Some(now + self.config.ping_interval);
            self.timers[Timer::PongDeadline as usize] = None;
        }
        match Message::decode(raw) {
            Ok(Message::Ping) => self.push(Message::Pong.encode()),
            Ok(Message::Pong) => {}
            Ok(Message::Close) => self.close_with(SocketCloseReason::ClientClosed),
            Ok(Message::Init(json)) => match check_client_init(json) {
                InitCheck::Accept => {
                    // A repeated `in` is answered again but does not re-run the callback.
                    self.push(init_reply(&self.id));
                    if !self.initialized {
                        self.initialized = true;
                        self.events.push_back(SocketEvent::Initialized);
                    }
                }
                InitCheck::Incompatible(v) => {
                    self.push(Message::DontReconnect.encode());
                    self.closed = true;
                    self.timers.clear_all();
                    self.timers[Timer::CloseAfterDr as usize] =
                        Some(now + self.config.dont_reconnect_delay);
                    self.events
                        .push_back(SocketEvent::Closed(SocketCloseReason::IncompatibleVersion(v)));
                }
                InitCheck::Invalid => self.close_with(SocketCloseReason::InvalidInit),
            },
            Ok(Message::ChannelData { channel, data }) => {
                self.events.push_back(SocketEvent::Data {
                    channel: channel.to_owned(),
                    data: data.to_owned(),
                })
            }
            // The client never sends these; answered like unknown commands.
            Ok(Message::Invalid | Message::DontReconnect) => {
                self.push(Message::Invalid.encode());
                let cmd = String::from_utf8_lossy(&raw[..2]).into_owned();
                self.events.push_back(SocketEvent::Invalid(super::GlueError::UnknownCommand(cmd)));
            }
            Err(e) => {
                if e.answer_invalid() {
                    self.push(Message::Invalid.encode());
                }
                self.events.push_back(SocketEvent::Invalid(e));
            }
        }
    }

    /// The transport closed or failed.
    pub fn handle_transport_closed(&mut self, _now: Instant) {
        self.terminated = true;
        if !self.closed {
            self.close_with(SocketCloseReason::TransportClosed);
        }
        self.tx.clear();
    }

    /// A deadline passed; early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.terminated {
            return;
        }
        if self.expired(Timer::CloseAfterDr, now) {
            self.terminated = true;
        }
        if self.expired(Timer::PongDeadline, now) {
            self.timers[Timer::Ping as usize] = None;
            self.close_with(SocketCloseReason::PingTimeout);
        }
        if self.expired(Timer::Ping, now) && !self.closed {
            self.push(Message::Ping.encode());
            self.timers[Timer::PongDeadline as usize] = Some(now + self.config.pong_timeout);
        }
    }

    fn expired(&mut self, timer: Timer, now: Instant) -> bool {
        self.timers.expired(timer as usize, now)
    }

    /// Writes `data` on `channel` (`m` for the main channel).
    pub fn write(&mut self, _now: Instant, channel: &str, data: &str) -> Result<(), WriteError> {
        self.write_encoded(encode_channel_data(channel, data))
    }

    /// Queues an already encoded glue message (e.g. a broadcast encoded once).
    pub fn write_encoded(&mut self, message: Bytes) -> Result<(), WriteError> {
        if self.closed {
            return Err(WriteError::Closed);
        }
        if self.tx.len() >= self.config.max_queued {
            return Err(WriteError::Full);
        }
        self.tx.push_back(message);
        Ok(())
    }

    /// Closes the socket (idempotent). glue.js reconnects after a server-side close.
    pub fn close(&mut self, _now: Instant) {
        if !self.closed {
            self.close_with(SocketCloseReason::Local);
        }
    }

    fn close_with(&mut self, reason: SocketCloseReason) {
        self.closed = true;
        self.terminated = true;
        self.timers.clear_all();
        self.events.push_back(SocketEvent::Closed(reason));
    }

    fn push(&mut self, message: Bytes) {
        // Protocol replies (pong, init, iv, dr, ping) bypass the data cap so keep-alive works
        // while data is backed up, but a client that floods pings or garbage without reading
        // must not grow the queue: past REPLY_SLACK extra messages, replies are dropped (the
        // queued messages themselves prove the server alive).
        if self.tx.len() < self.config.max_queued + REPLY_SLACK {
            self.tx.push_back(message);
        }
    }

    /// The next glue message to send (one transport message each).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.tx.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SocketEvent> {
        self.events.pop_front()
    }

    /// When to call `handle_timeout` next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.terminated {
            return None;
        }
        self.timers.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut ServerSocket) -> (Vec<String>, Vec<SocketEvent>) {
        let mut out = Vec::new();
        while let Some(b) = s.poll_transmit() {
            out.push(String::from_utf8(b.to_vec()).unwrap());
        }
        let mut ev = Vec::new();
        while let Some(e) = s.poll_event() {
            ev.push(e);
        }
        (out, ev)
    }

    #[test]
    fn spec_transcript() {
        let t0 = Instant::now();
        let mut s = ServerSocket::new("6pbPeXBOUGcfpFuFILU1".into(), SocketConfig::default(), t0);
        s.handle_message(t0, br#"in{"version":"1.9.1"}"#);
        let (out, ev) = drain(&mut s);
        assert_eq!(out, [r#"in{"socketID":"6pbPeXBOUGcfpFuFILU1"}"#]);
        assert_eq!(ev, [SocketEvent::Initialized]);
        s.write(t0, "m", "welcome").unwrap();
        s.handle_message(t0, b"cd1&mecho:A&B");
        s.handle_message(t0, b"pi");
        s.handle_message(t0, b"zz");
        s.handle_message(t0, b"");
        s.handle_message(t0, b"x");
        let (out, ev) = drain(&mut s);
        assert_eq!(out, ["cd1&mwelcome", "po", "iv", "iv", "iv"]);
        assert_eq!(ev[0], SocketEvent::Data { channel: "m".into(), data: "echo:A&B".into() });
        assert_eq!(ev.len(), 4);
        // a repeated `in` is answered but does not initialize again
        s.handle_message(t0, br#"in{"version":"1.9.1"}"#);
        let (out, ev) = drain(&mut s);
        assert_eq!(out.len(), 1);
        assert!(ev.is_empty());
        s.handle_message(t0, b"cl");
        let (_, ev) = drain(&mut s);
        assert_eq!(ev, [SocketEvent::Closed(SocketCloseReason::ClientClosed)]);
        assert!(s.is_terminated());
        assert_eq!(s.write(t0, "m", "late"), Err(WriteError::Closed));
    }

    #[test]
    fn keep_alive_on_a_virtual_clock() {
        let t0 = Instant::now();
        let c = SocketConfig::default();
        let mut s = ServerSocket::new("id".into(), c, t0);
        assert_eq!(s.poll_timeout(), Some(t0 + c.ping_interval));
        // a message at +10 s re-arms the ping for +40 s
        s.handle_message(t0 + Duration::from_secs(10), b"po");
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(40)));
        s.handle_timeout(t0 + Duration::from_secs(39));
        assert_eq!(drain(&mut s).0, Vec::<String>::new());
        s.handle_timeout(t0 + Duration::from_secs(40));
        assert_eq!(drain(&mut s).0, ["pi"]);
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(47)));
        s.handle_timeout(t0 + Duration::from_secs(47));
        assert_eq!(drain(&mut s).1, [SocketEvent::Closed(SocketCloseReason::PingTimeout)]);
        assert!(s.is_terminated());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn incompatible_version_sends_dr_then_closes_after_a_second() {
        let t0 = Instant::now();
        let mut s = ServerSocket::new("id".into(), SocketConfig::default(), t0);
        s.handle_message(t0, br#"in{"version":"2.0.0"}"#);
        let (out, ev) = drain(&mut s);
        assert_eq!(out, ["dr"]);
        assert_eq!(
            ev,
            [SocketEvent::Closed(SocketCloseReason::IncompatibleVersion("2.0.0".into()))]
        );
        assert!(!s.is_terminated());
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(1)));
        s.handle_timeout(t0 + Duration::from_secs(1));
        assert!(s.is_terminated());
        let mut s = ServerSocket::new("id".into(), SocketConfig::default(), t0);
        s.handle_message(t0, br#"in{"version":"1.9"}"#);
        assert_eq!(
            drain(&mut s),
            (vec![], vec![SocketEvent::Closed(SocketCloseReason::InvalidInit)])
        );
        assert!(s.is_terminated());
    }

    #[test]
    fn data_cap_is_typed_and_keep_alive_bypasses_it() {
        let t0 = Instant::now();
        let config = SocketConfig { max_queued: 2, ..SocketConfig::default() };
        let mut s = ServerSocket::new("id".into(), config, t0);
        s.write(t0, "m", "a").unwrap();
        s.write(t0, "m", "b").unwrap();
        assert_eq!(s.write(t0, "m", "c"), Err(WriteError::Full));
        s.handle_message(t0, b"pi");
        assert_eq!(drain(&mut s).0, ["cd1&ma", "cd1&mb", "po"]);
    }
}
