//! One server-side glue socket with its unread data: a [`ServerSocket`] plus an [`Inbox`],
//! independent of the transport. [`WsSocket`](super::WsSocket) and
//! [`AjaxSocket`](super::AjaxSocket) put it on a transport.

use super::inbox::{Delivery, DropReason, Inbox, InboxConfig, ReadMode};
use super::server_socket::{
    ServerSocket, SocketCloseReason, SocketConfig, SocketEvent, WriteError,
};
use super::GlueError;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::Instant;

/// What happened on a socket, for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreEvent {
    /// The init handshake completed: run the new-socket callback.
    Initialized,
    /// Data was queued on this channel (wake its readers).
    Readable(String),
    /// A message the server could not use (for logging).
    Invalid(GlueError),
    /// A message was not kept (see the [`inbox`](super::inbox) policy).
    Dropped {
        /// The channel.
        channel: String,
        /// Why.
        reason: DropReason,
    },
    /// The socket closed; emitted once. Data already queued can still be read.
    Closed(SocketCloseReason),
}

/// A glue socket and its unread data.
#[derive(Debug)]
pub struct SocketCore {
    socket: ServerSocket,
    inbox: Inbox,
    paused: bool,
    init_pending: bool,
    events: VecDeque<CoreEvent>,
}

impl SocketCore {
    /// A new socket.
    pub fn new(id: String, config: SocketConfig, inbox: InboxConfig, now: Instant) -> Self {
        SocketCore {
            socket: ServerSocket::new(id, config, now),
            inbox: Inbox::new(inbox),
            paused: false,
            init_pending: false,
            events: VecDeque::new(),
        }
    }

    /// The socket ID.
    pub fn id(&self) -> &str {
        self.socket.id()
    }

    /// The protocol state machine (read-only).
    pub fn socket(&self) -> &ServerSocket {
        &self.socket
    }

    /// Releases the capacity of empty queues (call when the socket goes idle).
    pub fn shrink_idle(&mut self) {
        self.socket.shrink_idle();
        self.inbox.shrink_idle();
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
    }

    /// Whether the socket is closed (writes fail; queued data can still be read).
    pub fn is_closed(&self) -> bool {
        self.socket.is_closed()
    }

    /// Whether the transport should be closed once the queued messages are sent.
    pub fn is_terminated(&self) -> bool {
        self.socket.is_terminated()
    }

    /// Whether the runtime must stop reading the transport (the application is behind).
    pub fn is_backed_up(&self) -> bool {
        self.paused
    }

    /// Whether [`CoreEvent::Initialized`] was emitted and the runtime has not yet called
    /// [`init_done`](Self::init_done): transports hold further input meanwhile, so channels
    /// the new-socket callback opens see the messages that follow `in` (as upstream, whose
    /// read loop runs the callback before the next read).
    pub fn is_init_pending(&self) -> bool {
        self.init_pending
    }

    /// The new-socket callback returned.
    pub fn init_done(&mut self) {
        self.init_pending = false;
    }

    /// A glue message from the client.
    pub fn handle_message(&mut self, now: Instant, raw: &[u8]) {
        self.socket.handle_message(now, raw);
        self.collect(now);
    }

    /// The transport closed or failed.
    pub fn handle_transport_closed(&mut self, now: Instant) {
        self.socket.handle_transport_closed(now);
        self.collect(now);
    }

    /// A deadline passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.socket.handle_timeout(now);
        self.collect(now);
    }

    /// Writes `data` on `channel`.
    pub fn write(&mut self, now: Instant, channel: &str, data: &str) -> Result<(), WriteError> {
        self.socket.write(now, channel, data)
    }

    /// Queues an already encoded glue message (a broadcast encoded once).
    pub fn write_encoded(&mut self, message: Bytes) -> Result<(), WriteError> {
        self.socket.write_encoded(message)
    }

    /// Messages waiting to be sent.
    pub fn queued(&self) -> usize {
        self.socket.queued()
    }

    /// Closes the socket (idempotent).
    pub fn close(&mut self, now: Instant) {
        self.socket.close(now);
        self.collect(now);
    }

    /// Opens a channel so that its data is kept.
    pub fn open_channel(&mut self, channel: &str) {
        self.inbox.open(channel);
    }

    /// Sets how a channel is consumed (see [`ReadMode`]).
    pub fn set_read_mode(&mut self, now: Instant, channel: &str, mode: ReadMode) {
        self.inbox.set_mode(channel, mode);
        self.sync_flow(now);
    }

    /// Takes the oldest unread message of `channel` (the channel becomes a read channel).
    pub fn read(&mut self, now: Instant, channel: &str) -> Option<String> {
        let data = self.inbox.pop(channel);
        self.sync_flow(now);
        data
    }

    /// The inbox (read-only).
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// The next message for a channel handler (drain after every input: handlers are not
    /// subject to back-pressure).
    #[must_use]
    pub fn poll_dispatch(&mut self) -> Option<(String, String)> {
        self.inbox.poll_dispatch()
    }

    /// The next glue message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.socket.poll_transmit()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<CoreEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.socket.poll_timeout()
    }

    fn collect(&mut self, now: Instant) {
        while let Some(e) = self.socket.poll_event() {
            let event = match e {
                SocketEvent::Initialized => {
                    self.init_pending = true;
                    CoreEvent::Initialized
                }
                SocketEvent::Data { channel, data } => match self.inbox.push(&channel, data) {
                    Delivery::Queued => CoreEvent::Readable(channel),
                    Delivery::Dispatch => continue,
                    Delivery::Dropped(reason) => CoreEvent::Dropped { channel, reason },
                },
                SocketEvent::Invalid(e) => CoreEvent::Invalid(e),
                SocketEvent::Closed(r) => CoreEvent::Closed(r),
            };
            self.events.push_back(event);
        }
        self.sync_flow(now);
    }

    fn sync_flow(&mut self, now: Instant) {
        let backed_up = self.inbox.is_backed_up();
        if backed_up != self.paused {
            self.paused = backed_up;
            self.socket.set_reading(now, !backed_up);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn core(now: Instant) -> SocketCore {
        let inbox = InboxConfig { max_messages: 2, max_bytes: 1 << 20 };
        let mut c = SocketCore::new("id".into(), SocketConfig::default(), inbox, now);
        c.handle_message(now, br#"in{"version":"1.9.1"}"#);
        assert_eq!(c.poll_event(), Some(CoreEvent::Initialized));
        while c.poll_transmit().is_some() {}
        c
    }

    #[test]
    fn backed_up_reader_pauses_keepalive_instead_of_timing_out() {
        let t0 = Instant::now();
        let mut c = core(t0);
        c.open_channel("a");
        assert_eq!(c.read(t0, "a"), None);
        c.handle_message(t0, b"cd1&ax");
        c.handle_message(t0, b"cd1&ay");
        assert!(c.is_backed_up());
        assert_eq!(c.poll_timeout(), None, "no ping while the server is not reading");
        let later = t0 + Duration::from_secs(600);
        c.handle_timeout(later);
        assert!(!c.is_closed());
        assert_eq!(c.read(later, "a").as_deref(), Some("x"));
        assert!(!c.is_backed_up());
        assert_eq!(c.poll_timeout(), Some(later + Duration::from_secs(30)));
    }

    #[test]
    fn unopened_channel_is_dropped_and_reported() {
        let t0 = Instant::now();
        let mut c = core(t0);
        c.handle_message(t0, b"cd1&zq");
        assert_eq!(
            c.poll_event(),
            Some(CoreEvent::Dropped { channel: "z".into(), reason: DropReason::UnknownChannel })
        );
        c.handle_message(t0, b"cd1&mhello");
        assert_eq!(c.poll_event(), Some(CoreEvent::Readable("m".into())));
        assert_eq!(c.read(t0, "m").as_deref(), Some("hello"));
    }

    #[test]
    fn queued_data_survives_close() {
        let t0 = Instant::now();
        let mut c = core(t0);
        c.handle_message(t0, b"cd1&mlast");
        c.handle_message(t0, b"cl");
        assert!(c.is_closed());
        assert_eq!(c.read(t0, "m").as_deref(), Some("last"));
    }
}
