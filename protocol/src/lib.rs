//! # glue-protocol
//!
//! The sans-IO core of glue-rs: HTTP/1.1 heads and bodies, WebSocket (RFC 6455), and (in
//! later layers) glue, Engine.IO and Socket.IO. Nothing here opens a socket, reads a clock,
//! spawns, or draws randomness: bytes come in as `&[u8]`, go out as [`bytes::Bytes`], time is
//! a `now: Instant` argument, and randomness comes from an [`Entropy`] the caller supplies.
//!
//! Every state machine has one shape:
//!
//! * `handle_data(now, &[u8])`, `handle_eof(now)`, `handle_timeout(now)`: input;
//! * verbs such as `send_text`, `ping`, `close`: commands;
//! * `poll_transmit()`, `poll_event()`, `poll_timeout()`: output.
//!
//! After every input or command, drain `poll_transmit` and `poll_event` until `None`, then
//! sleep until `poll_timeout`. The canonical run loop over a WebSocket connection:
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::time::Instant;
//! use glue_protocol::ws::{Config, Connection, Event, Message};
//!
//! fn drive(mut stream: std::net::TcpStream, mut conn: Connection) -> std::io::Result<()> {
//!     let mut buf = [0u8; 16 * 1024];
//!     loop {
//!         // 1. output: write what the machine wants written, react to its events
//!         while let Some(bytes) = conn.poll_transmit() {
//!             stream.write_all(&bytes)?;
//!         }
//!         while let Some(event) = conn.poll_event() {
//!             match event {
//!                 Event::Message(Message::Text(t)) => conn.send_text(Instant::now(), t).unwrap(),
//!                 Event::Message(Message::Binary(b)) => conn.send_binary(Instant::now(), b).unwrap(),
//!                 Event::Closed(_) => {}
//!                 _ => {}
//!             }
//!         }
//!         while let Some(bytes) = conn.poll_transmit() {
//!             stream.write_all(&bytes)?;
//!         }
//!         if conn.is_terminated() {
//!             return Ok(());
//!         }
//!         // 2. sleep until bytes arrive or the next deadline
//!         let timeout = conn.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!         stream.set_read_timeout(timeout.map(|d| d.max(std::time::Duration::from_millis(1))))?;
//!         // 3. input
//!         match stream.read(&mut buf) {
//!             Ok(0) => conn.handle_eof(Instant::now()),
//!             Ok(n) => conn.handle_data(Instant::now(), &buf[..n]),
//!             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
//!                 || e.kind() == std::io::ErrorKind::TimedOut => conn.handle_timeout(Instant::now()),
//!             Err(e) => return Err(e),
//!         }
//!     }
//! }
//! # let _ = Config::default();
//! ```
#![warn(missing_docs)]

pub mod eio;
pub mod engine;
pub mod glue;
pub mod gosf;
pub mod http;
pub mod outbox;
pub mod rand;
pub mod sio;
pub mod timers;
pub mod ws;

pub use outbox::Outbox;
pub use rand::Entropy;
pub use timers::Timers;

use bytes::Bytes;
use std::time::Instant;

/// The shape every state machine shares, so each runtime needs one generic driver.
///
/// Contract: after any input or command, drain [`poll_transmit`](Machine::poll_transmit) and
/// [`poll_event`](Machine::poll_event) until `None`, then sleep until
/// [`poll_timeout`](Machine::poll_timeout) or the next input.
pub trait Machine {
    /// What the machine reports.
    type Event;
    /// Bytes received from the peer.
    fn handle_data(&mut self, now: Instant, data: &[u8]);
    /// The peer closed its side, or the transport failed.
    fn handle_eof(&mut self, now: Instant);
    /// A deadline passed; early calls are harmless.
    fn handle_timeout(&mut self, now: Instant);
    /// The next bytes to write.
    #[must_use]
    fn poll_transmit(&mut self) -> Option<Bytes>;
    /// The next event.
    #[must_use]
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// When to call `handle_timeout` next.
    #[must_use]
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether the transport should be shut down once the pending output is written.
    fn is_terminated(&self) -> bool;
    /// Whether the machine accepts more input now (false applies back-pressure).
    fn wants_read(&self) -> bool {
        true
    }
}
