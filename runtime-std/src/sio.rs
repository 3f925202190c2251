//! A Socket.IO v2 server (protocol revision 4 over Engine.IO revision 3): namespaces with
//! connection handlers and admission middleware, events and acks both ways, binary
//! attachments, rooms, broadcasts encoded once.
//!
//! Blocking, on the engine of [`crate::eio`]: a thread per connection (a WebSocket's reader
//! runs its client's handlers, in order), one timer thread (polling sessions' deadlines and
//! ack timeouts; it runs the ack callbacks that time out). Handlers run one at a time per
//! client: do not block in them for long, and never wait in one for something only a later
//! handler (or ack) of the same client would bring — see [`SioSocket::request`].
//!
//! ```no_run
//! use glue_std::sio::{SioServer, SioServerOptions};
//!
//! let server = SioServer::new(SioServerOptions::default());
//! server.of("/").on_connection(|socket| {
//!     socket.on("chat", |socket, payload, ack| {
//!         // to everyone in the namespace but the sender
//!         let _ = socket.broadcast().emit("chat", payload.args.clone());
//!         if let Some(ack) = ack {
//!             let _ = ack.send(vec!["ok".into()], vec![]);
//!         }
//!     });
//! });
//! let listener = std::net::TcpListener::bind("127.0.0.1:3000")?;
//! server.serve_tcp(listener) // returns after `server.release(grace)`
//! # ; Ok::<(), std::io::Error>(())
//! ```

use crate::engine::{Engine, Fallback, Session};
use crate::glue::GlueStream;
use glue_protocol::engine::sio::SioSession;
use glue_protocol::session_handle;
use std::fmt;
use std::sync::{mpsc, Arc};
use std::time::Duration;

pub use glue_protocol::engine::sio::{AckError, EmitError, Middleware, Payload, SioServerOptions};
pub use glue_protocol::sio::DisconnectReason;

type SioLayer = glue_protocol::engine::sio::SioLayer<SioHandle>;

session_handle!(
    /// The blocking engine's handle to a Socket.IO session (what a [`SioSocket`] holds).
    SioHandle(Session<SioLayer>),
    SioLayer
);

/// One namespace socket of a client. Cheap to clone. Its handlers run on a thread of the
/// connection, in order; see [`SioSession::request`] for waiting on acks.
pub type SioSocket = glue_protocol::engine::sio::SioSocket<SioHandle>;
/// A namespace. Cheap to clone.
pub type Namespace = glue_protocol::engine::sio::Namespace<SioHandle>;
/// A broadcast being built: `to(room)` adds rooms (union), `except(room)` removes members.
pub type Broadcast = glue_protocol::engine::sio::Broadcast<SioHandle>;
/// Answers a client's request (its ack). Dropping it sends nothing.
pub type AckResponder = glue_protocol::engine::sio::AckResponder<SioHandle>;

impl SioSession for SioHandle {
    /// The answer itself: the call blocks.
    type Request = Result<Payload, AckError>;

    /// [`SioSocket::emit_with_ack`], blocking the calling thread until the ack,
    /// the timeout or the disconnect.
    ///
    /// Call it from a thread of your own, never from a handler of the same client (an
    /// [`on`](SioSocket::on) or `on_connection` handler, an ack callback, a disconnect handler):
    /// that client's handlers and ack callbacks run one at a time, in order, so the answer
    /// would be queued behind the handler waiting for it. Such a call cannot get its answer:
    /// it returns [`AckError::Timeout`] after `timeout`, and with `None` it blocks that client
    /// for good.
    fn request(
        socket: &SioSocket,
        event: &str,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> Self::Request {
        let (tx, rx) = mpsc::sync_channel(1);
        if socket
            .emit_with_ack(event, payload, timeout, move |r| {
                let _ = tx.send(r);
            })
            .is_err()
        {
            return Err(AckError::Disconnected);
        }
        match timeout {
            // The callback reports the timeout itself; this bound only matters when it cannot
            // run (called from a handler of the same client).
            Some(t) => match rx.recv_timeout(t) {
                Ok(r) => r,
                Err(mpsc::RecvTimeoutError::Timeout) => Err(AckError::Timeout),
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(AckError::Disconnected),
            },
            None => rx.recv().unwrap_or(Err(AckError::Disconnected)),
        }
    }
}

/// A Socket.IO server. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct SioServer {
    engine: Arc<Engine<SioLayer>>,
}

impl fmt::Debug for SioServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SioServer").field("options", &self.engine.opts).finish_non_exhaustive()
    }
}

impl SioServer {
    /// A server with `options`; namespace `/` exists.
    pub fn new(options: SioServerOptions) -> SioServer {
        SioServer::with_fallback(options, None)
    }

    /// A server that answers requests outside its path with `fallback` (else 404).
    pub fn with_fallback(options: SioServerOptions, fallback: Option<Fallback>) -> SioServer {
        let layer = SioLayer::new(options.conn);
        SioServer { engine: Engine::new(options.eio, layer, fallback) }
    }

    /// Namespace `name` (created on first use; clients can join only existing ones).
    pub fn of(&self, name: &str) -> Namespace {
        self.engine.layer.of(name)
    }

    /// Broadcast to room `room` of namespace `/`.
    pub fn to(&self, room: &str) -> Broadcast {
        self.of("/").to(room)
    }

    /// Serves connections accepted from `listener` (a thread each) until
    /// [`release`](Self::release), then returns `Ok`.
    pub fn serve_tcp(&self, listener: std::net::TcpListener) -> std::io::Result<()> {
        self.engine.serve_tcp(listener)
    }

    /// Serves `https`/`wss` from `listener` until [`release`](Self::release), then returns
    /// `Ok`: a thread per accepted connection does the TLS handshake (within `tls`'s handshake
    /// timeout), then serves it like [`serve_connection`](Self::serve_connection) with
    /// `secure` true.
    pub fn serve_tls(
        &self,
        listener: std::net::TcpListener,
        tls: crate::tls::TlsServerConfig,
    ) -> std::io::Result<()> {
        self.engine.serve_tls(listener, tls)
    }

    /// The same as [`serve_tcp`](Self::serve_tcp).
    pub fn serve(&self, listener: std::net::TcpListener) -> std::io::Result<()> {
        self.serve_tcp(listener)
    }

    /// Serves one accepted connection on the calling thread until it ends (your own accept
    /// loop, TLS streams…). `peer` is the client address (`ip:port`), `secure` whether the
    /// connection is TLS (both for [`Handshake`](glue_protocol::eio::server::Handshake)).
    pub fn serve_connection<S: GlueStream>(&self, stream: S, peer: String, secure: bool) {
        self.engine.serve_connection(Arc::new(stream), &peer, secure)
    }

    /// How many Engine.IO sessions exist.
    pub fn session_count(&self) -> usize {
        self.engine.count()
    }

    /// Stops [`serve_tcp`](Self::serve_tcp), refuses new sessions, closes every session,
    /// and waits up to `grace` for them to end.
    pub fn release(&self, grace: Duration) {
        self.engine.release_start();
        self.engine.wait_empty(grace);
    }
}
