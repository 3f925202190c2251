//! A Socket.IO v2 server (protocol revision 4 over Engine.IO revision 3): namespaces with
//! connection handlers and admission middleware, events and acks both ways, binary
//! attachments, rooms, broadcasts encoded once.
//!
//! ```no_run
//! use glue_tokio::sio::{SioServer, SioServerOptions};
//!
//! # async fn run() -> std::io::Result<()> {
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
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! server.serve_tcp(listener).await
//! # }
//! ```

use crate::engine::{Engine, Fallback, Session};
use glue_protocol::engine::sio::SioSession;
use glue_protocol::session_handle;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use glue_protocol::engine::sio::{AckError, EmitError, Middleware, Payload, SioServerOptions};
pub use glue_protocol::sio::DisconnectReason;

type SioLayer = glue_protocol::engine::sio::SioLayer<SioHandle>;

session_handle!(
    /// The tokio engine's handle to a Socket.IO session (what a [`SioSocket`] holds).
    SioHandle(Session<SioLayer>),
    SioLayer
);

/// One namespace socket of a client. Cheap to clone.
pub type SioSocket = glue_protocol::engine::sio::SioSocket<SioHandle>;
/// A namespace. Cheap to clone.
pub type Namespace = glue_protocol::engine::sio::Namespace<SioHandle>;
/// A broadcast being built: `to(room)` adds rooms (union), `except(room)` removes members.
pub type Broadcast = glue_protocol::engine::sio::Broadcast<SioHandle>;
/// Answers a client's request (its ack). Dropping it sends nothing.
pub type AckResponder = glue_protocol::engine::sio::AckResponder<SioHandle>;

impl SioSession for SioHandle {
    /// The answer, as a future (`'static`: spawn it or await it anywhere).
    type Request = Pin<Box<dyn Future<Output = Result<Payload, AckError>> + Send>>;

    /// [`SioSocket::emit_with_ack`] as a future.
    fn request(
        socket: &SioSocket,
        event: &str,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> Self::Request {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = socket.emit_with_ack(event, payload, timeout, move |r| {
            let _ = tx.send(r);
        });
        Box::pin(async move {
            if sent.is_err() {
                return Err(AckError::Disconnected);
            }
            rx.await.unwrap_or(Err(AckError::Disconnected))
        })
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

    /// Serves connections from `listener` until [`release`](Self::release).
    pub async fn serve_tcp(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        self.engine.serve_tcp(listener).await
    }

    /// Serves `https`/`wss` from `listener` until [`release`](Self::release): each accepted
    /// connection does its TLS handshake in its own task (within `tls`'s handshake timeout),
    /// then is served like [`serve_connection`](Self::serve_connection) with `secure` true.
    pub async fn serve_tls(
        &self,
        listener: tokio::net::TcpListener,
        tls: crate::tls::TlsServerConfig,
    ) -> std::io::Result<()> {
        self.engine.serve_tls(listener, tls).await
    }

    /// Serves one accepted connection (your own accept loop, TLS streams…).
    pub async fn serve_connection<S>(&self, stream: S, peer: String, secure: bool)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        self.engine.clone().serve_connection(stream, peer, secure).await
    }

    /// How many Engine.IO sessions exist.
    pub fn session_count(&self) -> usize {
        self.engine.count()
    }

    /// Stops accepting, closes every session, and waits up to `grace` for them to end.
    pub async fn release(&self, grace: Duration) {
        self.engine.release_start();
        self.engine.wait_empty(grace).await;
    }
}
