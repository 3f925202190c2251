//! The user-facing blocking WebSocket.

use crate::glue::GlueStream;
use crate::Error;
use glue_protocol::ws::{CloseCode, CloseReason, Connection, Event, Message};
use glue_protocol::Outbox;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const READ_BUF: usize = 16 * 1024;
const SMALL_READ_BUF: usize = 1024;
/// Longest blocking read while another thread may have changed the deadlines.
const MAX_WAIT_WITH_SENDERS: Duration = Duration::from_millis(250);

struct Inner {
    conn: Connection,
    /// The socket (shared with the reader: one descriptor per connection); written only while
    /// the lock is held, so frames never interleave.
    writer: Arc<dyn GlueStream>,
    outbox: Outbox,
    shut_down: bool,
}

impl Inner {
    /// Writes all pending output (vectored); shuts the socket down once the machine is
    /// terminated.
    fn flush(&mut self) -> io::Result<()> {
        loop {
            self.outbox.fill(&mut self.conn);
            if self.outbox.is_empty() {
                break;
            }
            if self.shut_down {
                self.outbox.clear();
                continue;
            }
            let slices = self.outbox.io_slices();
            let written = self.writer.write_vectored_shared(&slices[..self.outbox.chunks()]);
            match written {
                Ok(0) => return Err(self.write_failed(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.outbox.advance(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.write_failed(e)),
            }
        }
        if self.conn.is_terminated() && !self.shut_down {
            self.shut_down = true;
            let _ = self.writer.shutdown(Shutdown::Both);
        }
        Ok(())
    }

    fn write_failed(&mut self, e: io::Error) -> io::Error {
        self.shut_down = true;
        self.outbox.clear();
        self.conn.handle_eof(Instant::now());
        e
    }
}

struct Shared {
    inner: Mutex<Inner>,
    has_senders: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An open WebSocket connection. Its owner calls [`recv`](Self::recv), which drives the
/// connection (reads, answers pings, keep-alive and close timers); other threads send through a
/// [`WsSender`].
pub struct WebSocket {
    shared: Arc<Shared>,
    reader: Arc<dyn GlueStream>,
    /// The read timeout last set on the socket.
    read_timeout: Option<Option<Duration>>,
    close_reason: Option<CloseReason>,
    peer: Option<SocketAddr>,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").field("peer", &self.peer).finish_non_exhaustive()
    }
}

impl WebSocket {
    pub(crate) fn new(
        conn: Connection,
        stream: Arc<dyn GlueStream>,
        peer: Option<SocketAddr>,
    ) -> io::Result<Self> {
        let writer = stream.clone();
        Ok(WebSocket {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner { conn, writer, outbox: Outbox::new(), shut_down: false }),
                has_senders: AtomicBool::new(false),
            }),
            reader: stream,
            read_timeout: None,
            close_reason: None,
            peer,
        })
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Why the connection closed, once it has.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    /// A handle other threads can send through (`Clone + Send + Sync`).
    pub fn sender(&self) -> WsSender {
        self.shared.has_senders.store(true, Ordering::Relaxed);
        WsSender { shared: self.shared.clone() }
    }

    /// Blocks for the next message; `None` once the connection is closed (see
    /// [`close_reason`](Self::close_reason)). An `Err` is an I/O error on the socket.
    pub fn recv(&mut self) -> Option<Result<Message, Error>> {
        self.recv_until(None).and_then(|r| r.transpose())
    }

    /// Like [`recv`](Self::recv), giving up after `timeout` with `Some(Ok(None))`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Result<Option<Message>, Error>> {
        self.recv_until(Some(Instant::now() + timeout))
    }

    fn recv_until(&mut self, until: Option<Instant>) -> Option<Result<Option<Message>, Error>> {
        // Idle connections block in `read` with a small stack buffer; a read that fills it
        // switches to a heap buffer for the burst, freed when the burst ends.
        let mut small = [0u8; SMALL_READ_BUF];
        let mut big: Vec<u8> = Vec::new();
        loop {
            let deadline = {
                let mut inner = self.shared.lock();
                while let Some(event) = inner.conn.poll_event() {
                    match event {
                        Event::Message(m) => {
                            let _ = inner.flush();
                            return Some(Ok(Some(m)));
                        }
                        Event::Closed(reason) => self.close_reason = Some(reason),
                        Event::Ping(_) | Event::Pong(_) => {}
                    }
                }
                if let Err(e) = inner.flush() {
                    if self.close_reason.is_none() {
                        return Some(Err(e.into()));
                    }
                }
                if inner.shut_down {
                    return None;
                }
                inner.conn.poll_timeout()
            };
            let now = Instant::now();
            if until.is_some_and(|u| u <= now) {
                return Some(Ok(None));
            }
            let mut wait = [deadline, until].into_iter().flatten().min().map(|d| d - now.min(d));
            if self.shared.has_senders.load(Ordering::Relaxed) {
                wait = Some(wait.map_or(MAX_WAIT_WITH_SENDERS, |w| w.min(MAX_WAIT_WITH_SENDERS)));
            }
            let wait = wait.map(|w| w.max(Duration::from_millis(1)));
            // A setsockopt per read only when the timeout changes.
            if self.read_timeout != Some(wait) && self.reader.set_read_timeout(wait).is_ok() {
                self.read_timeout = Some(wait);
            } else if self.read_timeout != Some(wait) {
                self.shared.lock().conn.handle_eof(Instant::now());
                continue;
            }
            let buf: &mut [u8] = if big.is_empty() { &mut small } else { &mut big };
            let result = self.reader.read_shared(buf);
            let mut inner = self.shared.lock();
            let now = Instant::now();
            match result {
                Ok(0) => inner.conn.handle_eof(now),
                Ok(n) => {
                    let full = n == buf.len();
                    inner.conn.handle_data(now, &buf[..n]);
                    if big.is_empty() && full {
                        big = vec![0; READ_BUF];
                    } else if !big.is_empty() && n < SMALL_READ_BUF {
                        big = Vec::new();
                    }
                }
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
                {
                    inner.conn.handle_timeout(now)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => inner.conn.handle_eof(now),
            }
        }
    }

    /// Sends a message and writes it out.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        send(&self.shared, message.into())
    }

    /// Sends a ping; the pong is consumed by [`recv`](Self::recv).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let mut inner = self.shared.lock();
        inner.conn.ping(Instant::now(), payload)?;
        inner.flush()?;
        Ok(())
    }

    /// Starts the closing handshake and blocks until it completes (or times out), discarding
    /// messages that arrive meanwhile.
    pub fn close(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        {
            let mut inner = self.shared.lock();
            inner.conn.close(Instant::now(), code, reason)?;
            inner.flush()?;
        }
        while self.recv().is_some() {}
        Ok(())
    }
}

fn send(shared: &Shared, message: Message) -> Result<(), Error> {
    let mut inner = shared.lock();
    inner.conn.send(Instant::now(), message)?;
    inner.flush()?;
    Ok(())
}

/// Sends on a [`WebSocket`] from any thread. Cheap to clone.
#[derive(Clone)]
pub struct WsSender {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsSender").finish_non_exhaustive()
    }
}

impl WsSender {
    /// Sends a message and writes it out.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        send(&self.shared, message.into())
    }

    /// Starts the closing handshake (the owner's `recv` completes it).
    pub fn close(&self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        let mut inner = self.shared.lock();
        inner.conn.close(Instant::now(), code, reason)?;
        inner.flush()?;
        Ok(())
    }
}
