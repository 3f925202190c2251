//! A glue socket over a server-side WebSocket connection: one [`Machine`] the runtime drives
//! like a plain WebSocket (bytes in, bytes out, one deadline).
//!
//! Every glue message is one text message (the client's binary messages are accepted as
//! upstream does). Messages move from the socket's queue to the WebSocket only while the
//! WebSocket's own buffer is below [`WS_HIGH_WATER`] bytes, so a slow client fills the glue
//! queue and writers see [`WriteError::Full`](super::WriteError::Full) instead of memory
//! growing. When the glue socket closes, the queued messages are sent and then a close frame
//! without a status code (as upstream).

use super::socket_core::{CoreEvent, SocketCore};
use crate::ws::{Connection, Event, Message, Utf8Bytes};
use crate::Machine;
use bytes::Bytes;
use std::time::Instant;

/// Bytes the WebSocket may hold unsent before the glue queue stops feeding it.
pub const WS_HIGH_WATER: usize = 256 * 1024;

/// A glue socket on a WebSocket.
#[derive(Debug)]
pub struct WsSocket {
    conn: Connection,
    core: SocketCore,
    now: Instant,
}

impl WsSocket {
    /// Wraps an open server-side WebSocket and a new glue socket.
    pub fn new(conn: Connection, core: SocketCore, now: Instant) -> Self {
        WsSocket { conn, core, now }
    }

    /// The glue socket.
    pub fn core(&self) -> &SocketCore {
        &self.core
    }

    /// The glue socket, for commands (write, read, close). Call
    /// [`after_command`](Self::after_command) afterwards.
    pub fn core_mut(&mut self) -> &mut SocketCore {
        &mut self.core
    }

    /// Releases the capacity of empty queues of the socket and the WebSocket (call before
    /// the connection waits for input).
    pub fn shrink_idle(&mut self) {
        self.core.shrink_idle();
        self.conn.shrink_idle();
    }

    /// Moves what a command queued onto the WebSocket (closing it if the socket closed).
    pub fn after_command(&mut self, now: Instant) {
        self.now = now;
        self.pump();
    }

    fn pump(&mut self) {
        let now = self.now;
        while !self.core.is_init_pending() {
            let Some(event) = self.conn.poll_event() else { break };
            match event {
                Event::Message(Message::Text(t)) => self.core.handle_message(now, t.as_bytes()),
                Event::Message(Message::Binary(b)) => self.core.handle_message(now, &b),
                Event::Ping(_) | Event::Pong(_) => {}
                Event::Closed(_) => self.core.handle_transport_closed(now),
            }
        }
        while self.conn.buffered_amount() < WS_HIGH_WATER {
            let Some(message) = self.core.poll_transmit() else { break };
            // Glue messages are built from `&str`s: valid UTF-8.
            if self.conn.send_text(now, Utf8Bytes::from_validated(message)).is_err() {
                break;
            }
        }
        if self.core.is_terminated()
            && self.core.queued() == 0
            && self.conn.state() == crate::ws::State::Open
        {
            let _ = self.conn.close(now, None, "");
        }
    }
}

impl Machine for WsSocket {
    type Event = CoreEvent;

    fn handle_data(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        self.conn.handle_data(now, data);
        self.pump();
    }

    fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.conn.handle_eof(now);
        self.pump();
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.conn.handle_timeout(now);
        self.core.handle_timeout(now);
        self.pump();
    }

    fn poll_transmit(&mut self) -> Option<Bytes> {
        if let Some(b) = self.conn.poll_transmit() {
            return Some(b);
        }
        self.pump();
        self.conn.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<CoreEvent> {
        self.core.poll_event()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.conn.poll_timeout(), self.core.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn is_terminated(&self) -> bool {
        self.conn.is_terminated()
    }

    fn wants_read(&self) -> bool {
        self.conn.wants_read() && !self.core.is_backed_up() && !self.core.is_init_pending()
    }
}
