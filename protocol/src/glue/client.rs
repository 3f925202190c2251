//! The glue client (glue.js 1.9.1 semantics, spec §6), independent of the transport.
//!
//! The machine opens nothing itself: it asks the runtime to open a WebSocket or an
//! AjaxSocket ([`Action::OpenTransport`]), to send one glue message on it ([`Action::Send`])
//! or to drop it ([`Action::CloseTransport`]), and the runtime reports what happened:
//! [`handle_transport_open`](GlueClient::handle_transport_open),
//! [`handle_transport_error`](GlueClient::handle_transport_error),
//! [`handle_transport_closed`](GlueClient::handle_transport_closed) and
//! [`handle_message`](GlueClient::handle_message) for every glue message received.
//!
//! After every input or command, perform the actions from
//! [`poll_action`](GlueClient::poll_action) in order and drain
//! [`poll_event`](GlueClient::poll_event), then sleep until
//! [`poll_timeout`](GlueClient::poll_timeout) and call
//! [`handle_timeout`](GlueClient::handle_timeout).
//!
//! There is at most one transport at a time. After [`Action::CloseTransport`] (and after the
//! runtime itself reported an error or a close) the runtime drops that transport and reports
//! nothing more about it; the next [`Action::OpenTransport`] starts a new one.
//!
//! Differences from glue.js (all invisible to the server):
//!
//! * `close()` during a reconnect delay cancels the pending attempt (glue.js ignores it).
//! * Messages buffered while not connected are sent right at `Connected`, in order, before
//!   anything sent later (glue.js flushes a tick later, so sends made in a `connected`
//!   listener overtake them); there are no listeners, so nothing can break the flush.
//! * While a reconnect is pending the state reads [`ClientState::Reconnecting`] (glue.js
//!   keeps showing the previous state, e.g. `connected`); the [`ClientEvent::Reconnecting`]
//!   event still comes when the attempt starts, after the delay.
//! * [`GlueClient::reconnect`] reconnects even with [`ClientConfig::reconnect`] off.
//! * An init reply that is not valid JSON is treated like one without `socketID` (close,
//!   no reconnect) instead of hanging until the ping timeout.
//! * Channel data received before the init reply is held and delivered after
//!   [`ClientEvent::Connected`]; discard notifications carry the original channel and data
//!   (glue.js passes the marshalled payload); the send buffer is bounded.

use super::init::{client_init, parse_init_reply};
use super::message::{encode_channel_data, Message};
use crate::Timers;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use thiserror::Error;

/// The kind of transport carrying glue messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A WebSocket to `<base>ws`.
    WebSocket,
    /// AjaxSocket long-polling on `<base>ajax`.
    Ajax,
}

/// Client options; the defaults are glue.js's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// From the start of an attempt until the transport is open. Default 10 s.
    pub connect_timeout: Duration,
    /// Silence from the server before the client sends `pi`. Default 35 s.
    pub ping_interval: Duration,
    /// Time after the client's `pi` within which anything must arrive. Default 5 s.
    pub ping_reconnect_timeout: Duration,
    /// Reconnect automatically after a lost connection. Default true.
    pub reconnect: bool,
    /// Reconnect delay per attempt number (delay = this × attempt). Default 1 s.
    pub reconnect_delay: Duration,
    /// Largest reconnect delay; raised to `reconnect_delay` if smaller. Default 5 s.
    pub reconnect_delay_max: Duration,
    /// Reconnect attempts before giving up (`attempts + 1` are made, as glue.js does);
    /// 0 = endless. Default 10.
    pub reconnect_attempts: u32,
    /// How long the send buffer keeps messages while not connected. Default 10 s.
    pub reset_send_buffer_timeout: Duration,
    /// Use this transport (WebSocket still falls back to Ajax from the third attempt).
    /// Default none (WebSocket first).
    pub force_transport: Option<Transport>,
    /// Most messages held in the send buffer; [`GlueClient::send`] fails with
    /// [`ClientError::SendBufferFull`] beyond it. Also bounds channel data held before the
    /// init reply. Default 1024.
    pub max_buffered: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(35),
            ping_reconnect_timeout: Duration::from_secs(5),
            reconnect: true,
            reconnect_delay: Duration::from_secs(1),
            reconnect_delay_max: Duration::from_secs(5),
            reconnect_attempts: 10,
            reset_send_buffer_timeout: Duration::from_secs(10),
            force_transport: None,
            max_buffered: 1024,
        }
    }
}

/// The client's state (glue.js `socket.state()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// Not connected and not trying to (initial and final state).
    Disconnected,
    /// The first connection attempt is under way.
    Connecting,
    /// A later attempt is under way or waiting for its delay.
    Reconnecting,
    /// The init handshake completed; data flows.
    Connected,
}

/// What happened on the client (glue.js events, plus received data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The first connection attempt started (once per client).
    Connecting,
    /// A later connection attempt started.
    Reconnecting,
    /// The init handshake completed.
    Connected {
        /// The server-assigned socket ID.
        socket_id: String,
    },
    /// The client gave up, was closed, or the init reply was unusable.
    Disconnected,
    /// The transport failed (a reconnect follows unless disabled).
    Error(String),
    /// The transport did not open within the connect timeout (a reconnect follows).
    ConnectTimeout,
    /// The server did not answer the client's ping (a reconnect follows).
    Timeout,
    /// Data arrived on a channel.
    Message {
        /// Channel name (`m` = main channel).
        channel: String,
        /// The data (never empty).
        data: String,
    },
    /// A message sent while not connected was dropped (one event per message).
    Discarded {
        /// Channel name.
        channel: String,
        /// The data.
        data: String,
    },
    /// The send buffer expired and was emptied (only if it held something).
    DiscardSendBuffer,
}

/// What the runtime must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a new transport of this kind, then report
    /// [`handle_transport_open`](GlueClient::handle_transport_open) or
    /// [`handle_transport_error`](GlueClient::handle_transport_error).
    OpenTransport(Transport),
    /// Send one glue message on the current transport.
    Send(Bytes),
    /// Drop the current transport (harmless if it is already gone).
    CloseTransport,
}

/// What [`GlueClient::send`] did with the data (glue.js `channel.send` returns 1 / 0 / -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendResult {
    /// Sent on the connected transport (1).
    Sent,
    /// Buffered until the next connection (0).
    Queued,
    /// Dropped (-1): empty data (no event), or the buffer has expired
    /// ([`ClientEvent::Discarded`] emitted).
    Discarded,
}

/// A client command that cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The send buffer holds [`ClientConfig::max_buffered`] messages; the data was not taken.
    #[error("the send buffer is full")]
    SendBufferFull,
    /// [`GlueClient::connect`] (or [`GlueClient::reconnect`]) was already called; use
    /// `reconnect` once disconnected.
    #[error("the client was already started")]
    AlreadyStarted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Attempt started, transport not open yet.
    Connect = 0,
    /// Server silence before the client pings.
    Ping = 1,
    /// The client's ping is unanswered.
    PingTimeout = 2,
    /// The next attempt after a reconnect delay.
    Reconnect = 3,
    /// The send buffer expires.
    SendBuffer = 4,
}
const TIMERS: usize = 5;
const ALL_TIMERS: [Timer; TIMERS] =
    [Timer::Connect, Timer::Ping, Timer::PingTimeout, Timer::Reconnect, Timer::SendBuffer];

/// Where the current transport is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No transport object.
    None,
    /// Asked to open, not open yet.
    Opening,
    /// Open; `ready` says whether the init reply arrived.
    Open,
}

/// The transport-agnostic glue client state machine.
#[derive(Debug)]
pub struct GlueClient {
    config: ClientConfig,
    state: ClientState,
    started: bool,
    link: Link,
    ready: bool,
    transport: Option<Transport>,
    /// The transport type of the first attempt that opened; reused forever.
    opened_transport: Option<Transport>,
    socket_id: Option<String>,
    attempts: u32,
    dont_reconnect: bool,
    /// Protocol messages (`pi`, `po`) waiting for the init reply; dropped on reset.
    held_out: Vec<Bytes>,
    /// Channel data received before the init reply.
    held_in: VecDeque<(String, String)>,
    /// User messages sent while not connected.
    buffer: VecDeque<(String, String)>,
    buffer_expired: bool,
    actions: VecDeque<Action>,
    events: VecDeque<ClientEvent>,
    timers: Timers<TIMERS>,
}

impl GlueClient {
    /// A client that has not started yet (state [`ClientState::Disconnected`]); call
    /// [`connect`](Self::connect).
    pub fn new(mut config: ClientConfig, _now: Instant) -> Self {
        config.reconnect_delay_max = config.reconnect_delay_max.max(config.reconnect_delay);
        GlueClient {
            config,
            state: ClientState::Disconnected,
            started: false,
            link: Link::None,
            ready: false,
            transport: None,
            opened_transport: None,
            socket_id: None,
            attempts: 0,
            dont_reconnect: false,
            held_out: Vec::new(),
            held_in: VecDeque::new(),
            buffer: VecDeque::new(),
            buffer_expired: false,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            timers: Timers::new(),
        }
    }

    /// The effective configuration (after normalisation).
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The server-assigned socket ID while connected.
    pub fn socket_id(&self) -> Option<&str> {
        self.socket_id.as_deref()
    }

    /// The transport of the current or last attempt; `None` before the first.
    pub fn transport(&self) -> Option<Transport> {
        self.transport
    }

    /// Messages waiting in the send buffer.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Starts the first connection attempt (emits [`ClientEvent::Connecting`]).
    pub fn connect(&mut self, now: Instant) -> Result<(), ClientError> {
        if self.started {
            return Err(ClientError::AlreadyStarted);
        }
        self.started = true;
        self.attempts = 0;
        self.start_attempt(now);
        Ok(())
    }

    /// Reconnects after the client ended in [`ClientState::Disconnected`]: resets the attempt
    /// counter and the `dr` flag and starts an attempt after `reconnect_delay` (emitting
    /// [`ClientEvent::Reconnecting`]). Returns false (and does nothing) in any other state.
    pub fn reconnect(&mut self, now: Instant) -> bool {
        if self.state != ClientState::Disconnected {
            return false;
        }
        self.started = true;
        self.attempts = 0;
        self.dont_reconnect = false;
        self.schedule_reconnect(now);
        true
    }

    /// Closes the client: sends `cl` if connected, drops the transport, cancels a pending
    /// reconnect, and ends in [`ClientState::Disconnected`] (emitting
    /// [`ClientEvent::Disconnected`]). The send buffer and its timer are kept. Does nothing
    /// when already disconnected.
    pub fn close(&mut self, _now: Instant) {
        if self.state == ClientState::Disconnected {
            return;
        }
        if self.link != Link::None {
            self.send_protocol(Message::Close.encode());
        }
        self.drop_transport();
        self.timers[Timer::Reconnect as usize] = None;
        self.disconnected();
    }

    /// Sends `data` on `channel` (`m` for the main channel), or buffers it while not
    /// connected; see [`SendResult`].
    pub fn send(
        &mut self,
        now: Instant,
        channel: &str,
        data: &str,
    ) -> Result<SendResult, ClientError> {
        if data.is_empty() {
            return Ok(SendResult::Discarded);
        }
        if self.ready {
            // The buffer is flushed at `Connected`, so nothing buffered can be overtaken.
            self.actions.push_back(Action::Send(encode_channel_data(channel, data)));
            return Ok(SendResult::Sent);
        }
        if self.buffer_expired {
            self.events.push_back(ClientEvent::Discarded {
                channel: channel.to_owned(),
                data: data.to_owned(),
            });
            return Ok(SendResult::Discarded);
        }
        if self.buffer.len() >= self.config.max_buffered {
            return Err(ClientError::SendBufferFull);
        }
        self.buffer.push_back((channel.to_owned(), data.to_owned()));
        let timer = &mut self.timers[Timer::SendBuffer as usize];
        if timer.is_none() {
            *timer = now.checked_add(self.config.reset_send_buffer_timeout);
        }
        Ok(SendResult::Queued)
    }

    /// The transport asked for by the last [`Action::OpenTransport`] is open: sends the init
    /// request.
    pub fn handle_transport_open(&mut self, now: Instant) {
        if self.link != Link::Opening {
            return;
        }
        self.link = Link::Open;
        self.timers[Timer::Connect as usize] = None;
        self.attempts = 0;
        self.opened_transport = self.opened_transport.or(self.transport);
        self.timers[Timer::Ping as usize] = now.checked_add(self.config.ping_interval);
        self.actions.push_back(Action::Send(client_init()));
    }

    /// The current transport failed (to open, or later): emits [`ClientEvent::Error`] and
    /// reconnects unless disabled.
    pub fn handle_transport_error(&mut self, now: Instant, message: &str) {
        if self.link == Link::None {
            return;
        }
        self.events.push_back(ClientEvent::Error(message.to_owned()));
        self.lost(now);
    }

    /// The current transport closed: reconnects unless disabled.
    pub fn handle_transport_closed(&mut self, now: Instant) {
        if self.link == Link::None {
            return;
        }
        self.lost(now);
    }

    /// One glue message received on the current transport (ignored when none is open).
    /// Malformed messages are dropped.
    pub fn handle_message(&mut self, now: Instant, raw: &[u8]) {
        if self.link != Link::Open {
            return;
        }
        // Anything received proves the server alive.
        self.timers[Timer::Ping as usize] = now.checked_add(self.config.ping_interval);
        self.timers[Timer::PingTimeout as usize] = None;
        match Message::decode(raw) {
            Ok(Message::Ping) => self.send_protocol(Message::Pong.encode()),
            Ok(Message::DontReconnect) => self.dont_reconnect = true,
            Ok(Message::Init(json)) if !self.ready => match parse_init_reply(json) {
                Some(id) => self.initialized(id),
                None => {
                    // glue.js closes itself (its `cl` is never transmitted: not ready).
                    self.drop_transport();
                    self.disconnected();
                }
            },
            Ok(Message::ChannelData { channel, data }) => {
                if channel.is_empty() || data.is_empty() {
                    return;
                }
                if self.ready {
                    self.events.push_back(ClientEvent::Message {
                        channel: channel.to_owned(),
                        data: data.to_owned(),
                    });
                } else if self.held_in.len() < self.config.max_buffered {
                    self.held_in.push_back((channel.to_owned(), data.to_owned()));
                }
            }
            // `po`, `iv`, a repeated `in`, a `cl` the server never sends, garbage: nothing.
            Ok(_) | Err(_) => {}
        }
    }

    /// A deadline passed; early calls do nothing. Timers that became due before the call are
    /// handled in deadline order; ones set to an already passed instant during the call are
    /// reported by the next [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        // Due timers as of the call, earliest first (`None`s sort first and are skipped).
        let mut due = ALL_TIMERS
            .map(|t| self.timers[t as usize].filter(|&d| d <= now).map(|d| (d, t as usize)));
        due.sort_unstable();
        for (_, index) in due.into_iter().flatten() {
            let timer = ALL_TIMERS[index];
            if !self.expired(timer, now) {
                continue;
            }
            match timer {
                Timer::Connect => {
                    self.events.push_back(ClientEvent::ConnectTimeout);
                    self.lost(now);
                }
                Timer::Ping => {
                    self.send_protocol(Message::Ping.encode());
                    self.timers[Timer::PingTimeout as usize] =
                        now.checked_add(self.config.ping_reconnect_timeout);
                }
                Timer::PingTimeout => {
                    self.events.push_back(ClientEvent::Timeout);
                    self.lost(now);
                }
                Timer::Reconnect => self.start_attempt(now),
                Timer::SendBuffer => {
                    let had = !self.buffer.is_empty();
                    for (channel, data) in self.buffer.drain(..) {
                        self.events.push_back(ClientEvent::Discarded { channel, data });
                    }
                    if had {
                        self.events.push_back(ClientEvent::DiscardSendBuffer);
                    }
                    self.buffer_expired = true;
                }
            }
        }
    }

    /// The next thing the runtime must do.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    fn expired(&mut self, timer: Timer, now: Instant) -> bool {
        self.timers.expired(timer as usize, now)
    }

    /// Chooses the transport and asks the runtime to open it.
    fn start_attempt(&mut self, now: Instant) {
        let transport = match self.opened_transport {
            Some(t) => t,
            None if self.attempts > 1 => Transport::Ajax,
            None => self.config.force_transport.unwrap_or(Transport::WebSocket),
        };
        self.transport = Some(transport);
        if self.attempts == 0 {
            self.state = ClientState::Connecting;
            self.events.push_back(ClientEvent::Connecting);
        } else {
            self.state = ClientState::Reconnecting;
            self.events.push_back(ClientEvent::Reconnecting);
        }
        self.link = Link::Opening;
        self.timers[Timer::Connect as usize] = now.checked_add(self.config.connect_timeout);
        self.actions.push_back(Action::OpenTransport(transport));
    }

    /// The init reply arrived with a socket ID.
    fn initialized(&mut self, id: String) {
        self.ready = true;
        self.socket_id = Some(id.clone());
        for message in std::mem::take(&mut self.held_out) {
            self.actions.push_back(Action::Send(message));
        }
        self.state = ClientState::Connected;
        self.events.push_back(ClientEvent::Connected { socket_id: id });
        for (channel, data) in self.buffer.drain(..) {
            self.actions.push_back(Action::Send(encode_channel_data(&channel, &data)));
        }
        self.buffer_expired = false;
        self.timers[Timer::SendBuffer as usize] = None;
        for (channel, data) in self.held_in.drain(..) {
            self.events.push_back(ClientEvent::Message { channel, data });
        }
    }

    /// Sends a protocol message now if ready, else holds it until the init reply.
    fn send_protocol(&mut self, message: Bytes) {
        if self.ready {
            self.actions.push_back(Action::Send(message));
        } else if !self.held_out.contains(&message) {
            // Only `pi`, `po` and `cl` come here: holding each once is enough.
            self.held_out.push(message);
        }
    }

    /// Forgets the current transport (asking the runtime to drop it).
    fn drop_transport(&mut self) {
        if self.link != Link::None {
            self.actions.push_back(Action::CloseTransport);
        }
        self.link = Link::None;
        self.ready = false;
        self.socket_id = None;
        self.held_out.clear();
        self.held_in.clear();
        self.timers[Timer::Connect as usize] = None;
        self.timers[Timer::Ping as usize] = None;
        self.timers[Timer::PingTimeout as usize] = None;
    }

    /// The transport is gone: give up or schedule the next attempt.
    fn lost(&mut self, now: Instant) {
        self.drop_transport();
        let exhausted =
            self.config.reconnect_attempts > 0 && self.attempts > self.config.reconnect_attempts;
        if !self.config.reconnect || self.dont_reconnect || exhausted {
            self.disconnected();
        } else {
            self.schedule_reconnect(now);
        }
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        self.attempts = self.attempts.saturating_add(1);
        let delay = self
            .config
            .reconnect_delay
            .saturating_mul(self.attempts)
            .min(self.config.reconnect_delay_max);
        self.state = ClientState::Reconnecting;
        // A deadline beyond what `Instant` can hold never fires (likewise for every timer).
        self.timers[Timer::Reconnect as usize] = now.checked_add(delay);
    }

    fn disconnected(&mut self) {
        self.state = ClientState::Disconnected;
        self.events.push_back(ClientEvent::Disconnected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glue::{ServerSocket, SocketConfig, SocketEvent, MAIN_CHANNEL};

    const ID1: &[u8] = br#"in{"socketID":"6pbPeXBOUGcfpFuFILU1"}"#;
    const INIT: &str = r#"send in{"version":"1.9.1"}"#;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn show(a: Action) -> String {
        match a {
            Action::OpenTransport(Transport::WebSocket) => "open ws".into(),
            Action::OpenTransport(Transport::Ajax) => "open ajax".into(),
            Action::Send(b) => format!("send {}", String::from_utf8(b.to_vec()).unwrap()),
            Action::CloseTransport => "close".into(),
        }
    }

    fn msg(channel: &str, data: &str) -> ClientEvent {
        ClientEvent::Message { channel: channel.into(), data: data.into() }
    }

    fn discarded(channel: &str, data: &str) -> ClientEvent {
        ClientEvent::Discarded { channel: channel.into(), data: data.into() }
    }

    fn connected() -> ClientEvent {
        ClientEvent::Connected { socket_id: "6pbPeXBOUGcfpFuFILU1".into() }
    }

    /// A client on a virtual clock.
    struct H {
        c: GlueClient,
        t0: Instant,
        now: Instant,
    }

    impl H {
        fn new(config: ClientConfig) -> H {
            let t0 = Instant::now();
            H { c: GlueClient::new(config, t0), t0, now: t0 }
        }

        /// Moves the clock to `t0 + d` and fires due timers.
        fn at(&mut self, d: Duration) {
            self.now = self.t0 + d;
            self.c.handle_timeout(self.now);
        }

        fn next_timeout(&self) -> Option<Duration> {
            self.c.poll_timeout().map(|t| t - self.t0)
        }

        fn drain(&mut self) -> (Vec<String>, Vec<ClientEvent>) {
            let actions = std::iter::from_fn(|| self.c.poll_action()).map(show).collect();
            let events = std::iter::from_fn(|| self.c.poll_event()).collect();
            (actions, events)
        }

        fn connect(&mut self) {
            self.c.connect(self.now).unwrap();
        }

        fn open(&mut self) {
            self.c.handle_transport_open(self.now);
        }

        fn recv(&mut self, raw: &[u8]) {
            self.c.handle_message(self.now, raw);
        }

        fn fail(&mut self) {
            self.c.handle_transport_error(self.now, "boom");
        }

        fn send(&mut self, data: &str) -> SendResult {
            self.c.send(self.now, MAIN_CHANNEL, data).unwrap()
        }

        /// connect + open + init reply, output drained.
        fn connected(config: ClientConfig) -> H {
            let mut h = H::new(config);
            h.connect();
            h.open();
            h.recv(ID1);
            h.drain();
            assert_eq!(h.c.state(), ClientState::Connected);
            h
        }
    }

    #[test]
    fn connect_success() {
        let mut h = H::new(ClientConfig::default());
        assert_eq!(h.c.state(), ClientState::Disconnected);
        assert_eq!(h.c.transport(), None);
        assert_eq!(h.next_timeout(), None);
        h.connect();
        assert_eq!(h.drain(), (vec!["open ws".into()], vec![ClientEvent::Connecting]));
        assert_eq!(h.c.state(), ClientState::Connecting);
        assert_eq!(h.c.transport(), Some(Transport::WebSocket));
        assert_eq!(h.next_timeout(), Some(secs(10)));
        assert_eq!(h.c.connect(h.now), Err(ClientError::AlreadyStarted));

        h.at(secs(3));
        h.open();
        assert_eq!(h.drain(), (vec![INIT.into()], vec![]));
        assert_eq!(h.c.state(), ClientState::Connecting);
        assert_eq!(h.c.socket_id(), None);
        // the connect timer stopped; the ping timer runs from the open
        assert_eq!(h.next_timeout(), Some(secs(38)));

        h.recv(ID1);
        assert_eq!(h.drain(), (vec![], vec![connected()]));
        assert_eq!(h.c.state(), ClientState::Connected);
        assert_eq!(h.c.socket_id(), Some("6pbPeXBOUGcfpFuFILU1"));
        assert_eq!(h.next_timeout(), Some(secs(38)));

        assert_eq!(h.send("hello"), SendResult::Sent);
        assert_eq!(h.c.send(h.now, "golang", "hi&x"), Ok(SendResult::Sent));
        h.recv(b"cd1&mecho:A&B");
        h.recv(b"cd6&golangx");
        assert_eq!(
            h.drain(),
            (
                vec!["send cd1&mhello".into(), "send cd6&golanghi&x".into()],
                vec![msg("m", "echo:A&B"), msg("golang", "x")]
            )
        );
        // a repeated init reply changes nothing
        h.recv(br#"in{"socketID":"other"}"#);
        assert_eq!(h.drain(), (vec![], vec![]));
        assert_eq!(h.c.socket_id(), Some("6pbPeXBOUGcfpFuFILU1"));
    }

    #[test]
    fn websocket_failing_twice_falls_back_to_ajax_on_the_third_attempt() {
        let mut h = H::new(ClientConfig::default());
        h.connect();
        assert_eq!(h.drain().0, ["open ws"]);
        h.fail();
        assert_eq!(h.drain(), (vec!["close".into()], vec![ClientEvent::Error("boom".into())]));
        assert_eq!(h.c.state(), ClientState::Reconnecting);
        assert_eq!(h.next_timeout(), Some(secs(1)));
        h.at(ms(999));
        assert_eq!(h.drain(), (vec![], vec![]));
        h.at(secs(1));
        assert_eq!(h.drain(), (vec!["open ws".into()], vec![ClientEvent::Reconnecting]));
        h.fail();
        assert_eq!(h.drain().1, [ClientEvent::Error("boom".into())]);
        assert_eq!(h.next_timeout(), Some(secs(3)));
        h.at(secs(3));
        assert_eq!(h.drain(), (vec!["open ajax".into()], vec![ClientEvent::Reconnecting]));
        assert_eq!(h.c.transport(), Some(Transport::Ajax));
        h.open();
        h.recv(ID1);
        assert_eq!(h.drain(), (vec![INIT.into()], vec![connected()]));
        // Ajax opened: it is reused from now on, even on the first attempts after a loss
        h.c.handle_transport_closed(h.now);
        h.at(secs(4));
        assert_eq!(h.drain().0, ["close", "open ajax"]);
    }

    #[test]
    fn forced_websocket_still_falls_back_and_forced_ajax_is_used_at_once() {
        let config =
            ClientConfig { force_transport: Some(Transport::WebSocket), ..Default::default() };
        let mut h = H::new(config);
        h.connect();
        let mut opened = Vec::new();
        for at in [1, 3] {
            opened.extend(h.drain().0.into_iter().filter(|a| a.starts_with("open")));
            h.fail();
            h.at(secs(at));
        }
        opened.extend(h.drain().0.into_iter().filter(|a| a.starts_with("open")));
        assert_eq!(opened, ["open ws", "open ws", "open ajax"]);

        let mut h =
            H::new(ClientConfig { force_transport: Some(Transport::Ajax), ..Default::default() });
        h.connect();
        assert_eq!(h.drain().0, ["open ajax"]);
        h.fail();
        h.at(secs(1));
        assert_eq!(h.drain().0, ["close", "open ajax"]);
    }

    #[test]
    fn a_transport_that_opened_once_is_reused_and_resets_the_counter() {
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.open(); // WebSocket opened (the init reply never comes)
        h.c.handle_transport_closed(h.now);
        assert_eq!(h.drain().0, ["open ws", INIT, "close"]);
        // failures from here on: attempts 1, 2, 3, 4 all use WebSocket
        let mut t = 0;
        for attempt in 1..=4u64 {
            t += attempt;
            assert_eq!(h.next_timeout(), Some(secs(t)));
            h.at(secs(t));
            assert_eq!(h.drain().0, ["open ws"]);
            h.fail();
            h.drain();
        }
        // a transport open resets the counter: the next delay is 1 s again
        h.at(secs(t + 5));
        h.open();
        h.c.handle_transport_closed(h.now);
        assert_eq!(h.next_timeout(), Some(secs(t + 6)));
    }

    #[test]
    fn a_flapping_server_never_exhausts_the_attempts() {
        let mut h = H::new(ClientConfig { reconnect_attempts: 2, ..Default::default() });
        h.connect();
        for i in 1..=10 {
            h.open();
            h.recv(ID1);
            h.c.handle_transport_closed(h.now);
            h.at(secs(i));
            assert_eq!(h.c.state(), ClientState::Reconnecting);
        }
        assert!(h.drain().1.iter().all(|e| *e != ClientEvent::Disconnected));
    }

    #[test]
    fn connect_timeout_reconnects() {
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.drain();
        h.at(ms(9_999));
        assert_eq!(h.drain(), (vec![], vec![]));
        h.at(secs(10));
        assert_eq!(h.drain(), (vec!["close".into()], vec![ClientEvent::ConnectTimeout]));
        assert_eq!(h.c.state(), ClientState::Reconnecting);
        assert_eq!(h.next_timeout(), Some(secs(11)));
        h.at(secs(11));
        assert_eq!(h.drain(), (vec!["open ws".into()], vec![ClientEvent::Reconnecting]));
        assert_eq!(h.next_timeout(), Some(secs(21)));
        // a late report about the dropped transport is ignored
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.at(secs(10));
        h.drain();
        h.open();
        h.fail();
        h.c.handle_transport_closed(h.now);
        h.recv(ID1);
        assert_eq!(h.drain(), (vec![], vec![]));
    }

    #[test]
    fn client_ping_and_timeout() {
        let mut h = H::connected(ClientConfig::default());
        // any message re-arms the ping timer
        h.at(secs(20));
        h.recv(b"po");
        assert_eq!(h.next_timeout(), Some(secs(55)));
        h.at(secs(55));
        assert_eq!(h.drain(), (vec!["send pi".into()], vec![]));
        assert_eq!(h.next_timeout(), Some(secs(60)));
        // an answer cancels the timeout and re-arms the ping
        h.at(secs(57));
        h.recv(b"po");
        assert_eq!(h.next_timeout(), Some(secs(92)));
        h.at(secs(92));
        assert_eq!(h.drain().0, ["send pi"]);
        h.at(ms(96_999));
        assert_eq!(h.drain(), (vec![], vec![]));
        h.at(secs(97));
        assert_eq!(h.drain(), (vec!["close".into()], vec![ClientEvent::Timeout]));
        assert_eq!(h.c.state(), ClientState::Reconnecting);
        assert_eq!(h.c.socket_id(), None);
        assert_eq!(h.next_timeout(), Some(secs(98)));
        h.at(secs(98));
        assert_eq!(h.drain(), (vec!["open ws".into()], vec![ClientEvent::Reconnecting]));
    }

    #[test]
    fn ping_before_the_init_reply_is_held_so_a_mute_server_times_out() {
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.open();
        h.drain();
        h.at(secs(35));
        assert_eq!(h.drain(), (vec![], vec![]));
        h.at(secs(40));
        assert_eq!(h.drain(), (vec!["close".into()], vec![ClientEvent::Timeout]));
        // a held ping goes out right after the init reply
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.open();
        h.at(secs(35));
        h.drain();
        h.recv(ID1);
        assert_eq!(h.drain(), (vec!["send pi".into()], vec![connected()]));
    }

    #[test]
    fn server_ping_is_answered() {
        let mut h = H::connected(ClientConfig::default());
        h.recv(b"pi");
        assert_eq!(h.drain(), (vec!["send po".into()], vec![]));
        // before the init reply the pong is held, then sent before the buffered data
        let mut h = H::new(ClientConfig::default());
        assert_eq!(h.send("early"), SendResult::Queued);
        h.connect();
        h.open();
        h.recv(b"pi");
        h.recv(b"pi");
        assert_eq!(h.drain().0, ["open ws", INIT]);
        h.recv(ID1);
        assert_eq!(
            h.drain(),
            (vec!["send po".into(), "send cd1&mearly".into()], vec![connected()])
        );
    }

    #[test]
    fn dont_reconnect_ends_in_disconnected_on_the_next_loss() {
        let mut h = H::connected(ClientConfig::default());
        h.recv(b"dr");
        assert_eq!(h.drain(), (vec![], vec![]));
        assert_eq!(h.c.state(), ClientState::Connected);
        h.c.handle_transport_closed(h.now);
        assert_eq!(h.drain(), (vec!["close".into()], vec![ClientEvent::Disconnected]));
        assert_eq!(h.c.state(), ClientState::Disconnected);
        assert_eq!(h.next_timeout(), None);
        // reconnect() clears the flag
        assert!(h.c.reconnect(h.now));
        h.at(secs(1));
        h.open();
        h.recv(ID1);
        h.c.handle_transport_closed(h.now);
        assert_eq!(h.c.state(), ClientState::Reconnecting);
    }

    #[test]
    fn reconnect_disabled_ends_in_disconnected() {
        let mut h = H::new(ClientConfig { reconnect: false, ..Default::default() });
        h.connect();
        h.fail();
        assert_eq!(
            h.drain(),
            (
                vec!["open ws".into(), "close".into()],
                vec![
                    ClientEvent::Connecting,
                    ClientEvent::Error("boom".into()),
                    ClientEvent::Disconnected
                ]
            )
        );
        assert_eq!(h.next_timeout(), None);
    }

    #[test]
    fn attempts_exhausted_after_reconnect_attempts_plus_one_reconnects() {
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.fail();
        let mut t = Duration::ZERO;
        let mut delays = Vec::new();
        while h.c.state() != ClientState::Disconnected {
            let next = h.c.poll_timeout().unwrap() - h.t0;
            delays.push((next - t).as_secs());
            t = next;
            h.at(t);
            h.fail();
        }
        assert_eq!(delays, [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5]);
        let events = h.drain().1;
        let count = |e: ClientEvent| events.iter().filter(|x| **x == e).count();
        assert_eq!(count(ClientEvent::Reconnecting), 11);
        assert_eq!(count(ClientEvent::Connecting), 1);
        assert_eq!(count(ClientEvent::Error("boom".into())), 12);
        assert_eq!(events.last(), Some(&ClientEvent::Disconnected));
        assert_eq!(count(ClientEvent::Disconnected), 1);
        assert_eq!(h.next_timeout(), None);

        // 0 = endless, with the delay capped at the (raised) maximum
        let config = ClientConfig {
            reconnect_attempts: 0,
            reconnect_delay: secs(2),
            reconnect_delay_max: secs(1),
            ..Default::default()
        };
        let mut h = H::new(config);
        assert_eq!(h.c.config().reconnect_delay_max, secs(2));
        h.connect();
        for i in 1..=50u64 {
            h.fail();
            assert_eq!(h.next_timeout(), Some(secs(2 * i)));
            h.at(secs(2 * i));
        }
        assert_eq!(h.c.state(), ClientState::Reconnecting);
    }

    #[test]
    fn send_buffer_is_replayed_in_order_after_reconnect() {
        let mut h = H::new(ClientConfig::default());
        assert_eq!(h.send("a"), SendResult::Queued);
        h.connect();
        assert_eq!(h.send("b"), SendResult::Queued);
        h.open();
        assert_eq!(h.send("c"), SendResult::Queued); // open but not ready yet
        assert_eq!(h.c.buffered(), 3);
        h.recv(ID1);
        assert_eq!(h.send("d"), SendResult::Sent);
        assert_eq!(
            h.drain().0,
            ["open ws", INIT, "send cd1&ma", "send cd1&mb", "send cd1&mc", "send cd1&md"]
        );
        assert_eq!(h.c.buffered(), 0);
        // lost: sends during the delay and the next attempt are queued, then replayed first
        h.c.handle_transport_closed(h.now);
        assert_eq!(h.c.state(), ClientState::Reconnecting);
        assert_eq!(h.send("e"), SendResult::Queued);
        assert_eq!(h.c.send(h.now, "x", "f"), Ok(SendResult::Queued));
        h.at(secs(1));
        assert_eq!(h.send("g"), SendResult::Queued);
        h.open();
        h.recv(ID1);
        assert_eq!(h.send("h"), SendResult::Sent);
        assert_eq!(
            h.drain().0,
            ["close", "open ws", INIT, "send cd1&me", "send cd1&xf", "send cd1&mg", "send cd1&mh"]
        );
        // the buffer timer was cleared by the connection
        assert_eq!(h.next_timeout(), Some(secs(36)));
    }

    #[test]
    fn send_buffer_expires_with_one_discard_per_message() {
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.drain();
        assert_eq!(h.send("a"), SendResult::Queued);
        h.at(secs(4));
        assert_eq!(h.c.send(h.now, "ch", "b"), Ok(SendResult::Queued));
        // the timer runs from the first buffered message and is not restarted
        h.at(ms(9_999));
        assert_eq!(h.drain(), (vec![], vec![]));
        h.at(secs(10));
        let (actions, events) = h.drain();
        assert_eq!(actions, ["close"]); // the connect timeout fired at the same instant
        assert_eq!(
            events,
            [
                ClientEvent::ConnectTimeout,
                discarded("m", "a"),
                discarded("ch", "b"),
                ClientEvent::DiscardSendBuffer
            ]
        );
        assert_eq!(h.c.buffered(), 0);
        // expired: immediate discards, no timer
        assert_eq!(h.send("c"), SendResult::Discarded);
        assert_eq!(h.drain().1, [discarded("m", "c")]);
        assert_eq!(h.next_timeout(), Some(secs(11)));
        // empty data: discarded without notification
        assert_eq!(h.send(""), SendResult::Discarded);
        assert_eq!(h.drain(), (vec![], vec![]));
        // a successful connection clears the expired state
        h.at(secs(11));
        h.open();
        assert_eq!(h.send("d"), SendResult::Discarded);
        h.recv(ID1);
        assert_eq!(h.send("e"), SendResult::Sent);
        h.c.handle_transport_closed(h.now);
        assert_eq!(h.send("f"), SendResult::Queued);
        let (actions, events) = h.drain();
        assert_eq!(actions, ["open ws", INIT, "send cd1&me", "close"]);
        assert_eq!(events, [ClientEvent::Reconnecting, discarded("m", "d"), connected()]);
        assert_eq!(h.next_timeout(), Some(secs(12))); // reconnect; the buffer timer at 21 s
        h.at(secs(12));
        h.at(secs(21));
        assert_eq!(
            h.drain().1,
            [ClientEvent::Reconnecting, discarded("m", "f"), ClientEvent::DiscardSendBuffer]
        );
    }

    #[test]
    fn buffer_expiry_of_an_empty_buffer_is_silent_and_the_cap_is_typed() {
        // a buffer emptied by a connection does not expire later
        let mut h = H::new(ClientConfig { max_buffered: 2, ..Default::default() });
        h.connect();
        assert_eq!(h.send("a"), SendResult::Queued);
        assert_eq!(h.send("b"), SendResult::Queued);
        assert_eq!(h.c.send(h.now, "m", "c"), Err(ClientError::SendBufferFull));
        h.open();
        h.recv(ID1);
        h.drain();
        h.at(secs(30));
        assert_eq!(h.drain(), (vec![], vec![]));
        // after close() the buffer keeps its messages and its timer
        h.c.close(h.now);
        assert_eq!(h.send("x"), SendResult::Queued);
        h.drain();
        h.at(secs(40));
        assert_eq!(h.drain().1, [discarded("m", "x"), ClientEvent::DiscardSendBuffer]);
    }

    #[test]
    fn close_when_connected_sends_cl_and_stays_closed() {
        let mut h = H::connected(ClientConfig::default());
        h.c.close(h.now);
        assert_eq!(
            h.drain(),
            (vec!["send cl".into(), "close".into()], vec![ClientEvent::Disconnected])
        );
        assert_eq!(h.c.state(), ClientState::Disconnected);
        assert_eq!(h.c.socket_id(), None);
        assert_eq!(h.next_timeout(), None);
        h.c.close(h.now); // idempotent
        assert_eq!(h.drain(), (vec![], vec![]));
        // while connecting nothing is transmitted (not ready): the transport is just dropped
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.open();
        h.c.close(h.now);
        assert_eq!(h.drain().0, ["open ws", INIT, "close"]);
        assert_eq!(h.next_timeout(), None);
    }

    #[test]
    fn close_during_the_reconnect_delay_sticks() {
        let mut h = H::connected(ClientConfig::default());
        h.c.handle_transport_closed(h.now);
        assert_eq!(h.c.state(), ClientState::Reconnecting);
        h.at(ms(500));
        h.c.close(h.now);
        assert_eq!(h.drain(), (vec!["close".into()], vec![ClientEvent::Disconnected]));
        assert_eq!(h.next_timeout(), None);
        h.at(secs(60));
        assert_eq!(h.drain(), (vec![], vec![]));
        assert_eq!(h.c.state(), ClientState::Disconnected);
    }

    #[test]
    fn reconnect_from_disconnected() {
        let mut h = H::connected(ClientConfig::default());
        assert!(!h.c.reconnect(h.now)); // ignored unless disconnected
        assert_eq!(h.drain(), (vec![], vec![]));
        h.c.close(h.now);
        h.drain();
        assert!(h.c.reconnect(h.now));
        assert!(!h.c.reconnect(h.now)); // a second call does not schedule twice
        assert_eq!(h.c.state(), ClientState::Reconnecting);
        assert_eq!(h.drain(), (vec![], vec![]));
        assert_eq!(h.next_timeout(), Some(secs(1)));
        h.at(secs(1));
        assert_eq!(h.drain(), (vec!["open ws".into()], vec![ClientEvent::Reconnecting]));
        h.open();
        h.recv(ID1);
        assert_eq!(h.drain(), (vec![INIT.into()], vec![connected()]));
        // reconnect() works even with auto-reconnect off, and after the attempts ran out
        let mut h = H::new(ClientConfig { reconnect: false, ..Default::default() });
        h.connect();
        h.fail();
        assert!(h.c.reconnect(h.now));
        h.at(secs(1));
        assert_eq!(h.drain().1.last(), Some(&ClientEvent::Reconnecting));
        // reconnect() before connect() starts the client without `Connecting`
        let mut h = H::new(ClientConfig::default());
        assert!(h.c.reconnect(h.now));
        assert_eq!(h.c.connect(h.now), Err(ClientError::AlreadyStarted));
    }

    #[test]
    fn init_reply_without_socket_id_closes_without_reconnect() {
        for reply in
            [&br#"in{"x":1}"#[..], br#"in{"socketID":""}"#, b"in", b"in[", br#"in{"socketID":3}"#]
        {
            let mut h = H::new(ClientConfig::default());
            h.connect();
            h.open();
            h.drain();
            h.recv(reply);
            assert_eq!(h.drain(), (vec!["close".into()], vec![ClientEvent::Disconnected]));
            assert_eq!(h.c.state(), ClientState::Disconnected);
            assert_eq!(h.next_timeout(), None);
        }
    }

    #[test]
    fn odd_server_messages_are_ignored() {
        let mut h = H::connected(ClientConfig::default());
        for raw in [
            &b""[..],
            b"x",
            b"zz",
            b"iv",
            b"po",
            b"cl",
            b"cd",
            b"cd1&m",    // empty data: dropped
            b"cd0&data", // empty channel name: dropped
            b"cdx&mhello",
            b"cd9&mhello",
            b"cd-1&mhello",
            b"cdmhello",
            &[0xff, 0xfe, 0x00],
            "é".as_bytes(),
        ] {
            h.recv(raw);
        }
        assert_eq!(h.drain(), (vec![], vec![]));
        assert_eq!(h.c.state(), ClientState::Connected);
        // every message, even garbage, re-armed the ping timer
        h.at(secs(10));
        h.recv(b"zz");
        assert_eq!(h.next_timeout(), Some(secs(45)));
        // nothing is accepted without an open transport
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.recv(ID1);
        h.recv(b"cd1&mx");
        h.drain();
        assert_eq!(h.c.state(), ClientState::Connecting);
    }

    #[test]
    fn data_before_the_init_reply_is_delivered_after_connected() {
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.open();
        h.recv(b"cd1&mearly");
        assert_eq!(h.drain().1, [ClientEvent::Connecting]);
        h.recv(ID1);
        assert_eq!(h.drain().1, [connected(), msg("m", "early")]);
        // dropped if the connection is lost first
        let mut h = H::new(ClientConfig::default());
        h.connect();
        h.open();
        h.recv(b"cd1&mlost");
        h.c.handle_transport_closed(h.now);
        h.at(secs(1));
        h.open();
        h.recv(ID1);
        assert!(!h.drain().1.contains(&msg("m", "lost")));
    }

    /// Drives a client against real [`ServerSocket`]s in memory.
    struct Wire {
        h: H,
        server: Option<ServerSocket>,
        next_id: u32,
        server_events: Vec<(String, SocketEvent)>,
        client_events: Vec<ClientEvent>,
    }

    impl Wire {
        fn pump(&mut self) {
            loop {
                let mut progress = false;
                let now = self.h.now;
                while let Some(action) = self.h.c.poll_action() {
                    progress = true;
                    match action {
                        Action::OpenTransport(_) => {
                            self.next_id += 1;
                            let id = format!("socket{:014}", self.next_id);
                            self.server = Some(ServerSocket::new(id, SocketConfig::default(), now));
                            self.h.c.handle_transport_open(now);
                        }
                        Action::Send(b) => self.server.as_mut().unwrap().handle_message(now, &b),
                        Action::CloseTransport => {
                            if let Some(mut s) = self.server.take() {
                                s.handle_transport_closed(now);
                                let id = s.id().to_owned();
                                self.server_events.extend(
                                    std::iter::from_fn(|| s.poll_event()).map(|e| (id.clone(), e)),
                                );
                            }
                        }
                    }
                }
                if let Some(s) = self.server.as_mut() {
                    while let Some(event) = s.poll_event() {
                        progress = true;
                        match &event {
                            SocketEvent::Initialized => s.write(now, "m", "welcome").unwrap(),
                            SocketEvent::Data { channel, data } => {
                                s.write(now, channel, &format!("echo:{data}")).unwrap()
                            }
                            _ => {}
                        }
                        self.server_events.push((s.id().to_owned(), event));
                    }
                    while let Some(b) = s.poll_transmit() {
                        progress = true;
                        self.h.c.handle_message(now, &b);
                    }
                    if s.is_terminated() {
                        progress = true;
                        self.server = None;
                        self.h.c.handle_transport_closed(now);
                    }
                }
                self.client_events.extend(std::iter::from_fn(|| self.h.c.poll_event()));
                if !progress {
                    return;
                }
            }
        }
    }

    #[test]
    fn round_trip_with_the_server_socket() {
        let mut w = Wire {
            h: H::new(ClientConfig::default()),
            server: None,
            next_id: 0,
            server_events: Vec::new(),
            client_events: Vec::new(),
        };
        w.h.send("buffered");
        w.h.connect();
        w.pump();
        let id1 = "socket00000000000001".to_string();
        assert_eq!(w.h.c.socket_id(), Some(id1.as_str()));
        assert_eq!(
            w.client_events,
            [
                ClientEvent::Connecting,
                ClientEvent::Connected { socket_id: id1.clone() },
                msg("m", "welcome"),
                msg("m", "echo:buffered"),
            ]
        );
        assert_eq!(w.h.c.send(w.h.now, "chat", "hi&there"), Ok(SendResult::Sent));
        w.pump();
        assert_eq!(w.client_events.last(), Some(&msg("chat", "echo:hi&there")));
        assert_eq!(
            w.server_events.iter().filter(|(_, e)| matches!(e, SocketEvent::Data { .. })).count(),
            2
        );
        // keep-alive: the server pings after 30 s of client silence; the client answers
        w.h.at(secs(30));
        w.server.as_mut().unwrap().handle_timeout(w.h.now);
        w.pump();
        assert_eq!(w.server.as_ref().unwrap().poll_timeout(), Some(w.h.t0 + secs(60)));

        // server-initiated close: reconnect after 1 s with a new socket ID
        w.client_events.clear();
        w.server.as_mut().unwrap().close(w.h.now);
        w.pump();
        assert!(w.server.is_none());
        assert_eq!(w.h.c.state(), ClientState::Reconnecting);
        assert_eq!(w.h.send("while away"), SendResult::Queued);
        w.h.at(secs(31));
        w.pump();
        let id2 = "socket00000000000002".to_string();
        assert_eq!(
            w.client_events,
            [
                ClientEvent::Reconnecting,
                ClientEvent::Connected { socket_id: id2.clone() },
                msg("m", "welcome"),
                msg("m", "echo:while away"),
            ]
        );
        assert!(w
            .server_events
            .contains(&(id1.clone(), SocketEvent::Closed(crate::glue::SocketCloseReason::Local))));
        // client close: the server sees `cl`
        w.h.c.close(w.h.now);
        w.pump();
        assert_eq!(
            w.server_events.last(),
            Some(&(id2, SocketEvent::Closed(crate::glue::SocketCloseReason::ClientClosed)))
        );
        assert_eq!(w.h.c.state(), ClientState::Disconnected);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Connect,
        Reconnect,
        Close,
        Send(bool, String),
        Open,
        Error,
        Closed,
        Raw(Vec<u8>),
        Known(usize),
        Advance(u64),
    }

    const KNOWN: &[&[u8]] = &[
        br#"in{"socketID":"abc"}"#,
        br#"in{"nope":1}"#,
        b"pi",
        b"po",
        b"dr",
        b"iv",
        b"cl",
        b"cd1&mx",
        b"cd1&m",
        b"cd2&chy",
    ];

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            1 => Just(Op::Connect),
            1 => Just(Op::Reconnect),
            1 => Just(Op::Close),
            1 => (any::<bool>(), "[a-z]{0,3}").prop_map(|(c, d)| Op::Send(c, d)),
            3 => Just(Op::Open),
            1 => Just(Op::Error),
            1 => Just(Op::Closed),
            1 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(Op::Raw),
            3 => (0..KNOWN.len()).prop_map(Op::Known),
            3 => (0u64..15_000).prop_map(Op::Advance),
        ]
    }

    proptest::proptest! {
        #[test]
        fn random_server_bytes_never_panic(
            msgs in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..24), 0..16)
        ) {
            let mut h = H::connected(ClientConfig::default());
            for m in &msgs {
                h.recv(m);
                let mut prefixed = b"cd".to_vec();
                prefixed.extend_from_slice(m);
                h.recv(&prefixed);
            }
            h.drain();
        }

        #[test]
        fn random_operations_never_panic_and_keep_invariants(
            ops in proptest::collection::vec(op(), 0..60)
        ) {
            let config = ClientConfig { max_buffered: 3, reconnect_attempts: 3, ..Default::default() };
            let mut h = H::new(config);
            let mut elapsed = 0;
            let mut has_transport = false;
            for op in ops {
                match op {
                    Op::Connect => { let _ = h.c.connect(h.now); }
                    Op::Reconnect => { h.c.reconnect(h.now); }
                    Op::Close => h.c.close(h.now),
                    Op::Send(main, data) => {
                        let channel = if main { "m" } else { "ch" };
                        let _ = h.c.send(h.now, channel, &data);
                    }
                    Op::Open => h.open(),
                    Op::Error => h.fail(),
                    Op::Closed => h.c.handle_transport_closed(h.now),
                    Op::Raw(raw) => h.recv(&raw),
                    Op::Known(i) => h.recv(KNOWN[i]),
                    Op::Advance(d) => { elapsed += d; h.at(ms(elapsed)); }
                }
                while let Some(action) = h.c.poll_action() {
                    match action {
                        Action::OpenTransport(_) => {
                            proptest::prop_assert!(!has_transport);
                            has_transport = true;
                        }
                        Action::Send(_) => proptest::prop_assert!(has_transport),
                        Action::CloseTransport => has_transport = false,
                    }
                }
                while h.c.poll_event().is_some() {}
                let state = h.c.state();
                proptest::prop_assert_eq!(state == ClientState::Connected, h.c.socket_id().is_some());
                proptest::prop_assert!(h.c.buffered() <= 3);
                if state == ClientState::Connected {
                    proptest::prop_assert_eq!(h.c.buffered(), 0);
                }
                if matches!(state, ClientState::Connecting | ClientState::Reconnecting) {
                    proptest::prop_assert!(h.c.poll_timeout().is_some());
                }
                if state == ClientState::Disconnected {
                    proptest::prop_assert!(!has_transport);
                }
            }
        }
    }
}
