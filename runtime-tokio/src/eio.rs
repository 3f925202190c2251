//! An Engine.IO (revision 3) server: sessions over long-polling (XHR, JSONP) and WebSocket
//! with the upgrade between them, and a message API. Socket.IO ([`crate::sio`]) builds on
//! the same engine.
//!
//! ```no_run
//! use glue_tokio::eio::{EioServer, EioServerOptions};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = EioServer::new(EioServerOptions::default());
//! server.on_connection(|socket| {
//!     // echo
//!     socket.on_message(|socket, data| {
//!         let _ = socket.send(data);
//!     });
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! server.serve_tcp(listener).await
//! # }
//! ```

use crate::engine::{Engine, Fallback, Session};
use glue_protocol::session_handle;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use glue_protocol::eio::server::{CookieOptions, EioServerOptions, Origins};
pub use glue_protocol::eio::session::EioConfig;

type EioLayer = glue_protocol::engine::eio::EioLayer<EioHandle>;

session_handle!(
    /// The tokio engine's handle to an Engine.IO session (what an [`EioSocket`] holds).
    EioHandle(Session<EioLayer>),
    EioLayer
);

/// One Engine.IO session. Cheap to clone.
pub type EioSocket = glue_protocol::engine::eio::EioSocket<EioHandle>;

/// An Engine.IO server. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct EioServer {
    engine: Arc<Engine<EioLayer>>,
}

impl fmt::Debug for EioServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EioServer").field("options", &self.engine.opts).finish_non_exhaustive()
    }
}

impl EioServer {
    /// A server with `options`.
    pub fn new(options: EioServerOptions) -> EioServer {
        EioServer::with_fallback(options, None)
    }

    /// A server that answers requests outside its path with `fallback` (else 404).
    pub fn with_fallback(options: EioServerOptions, fallback: Option<Fallback>) -> EioServer {
        EioServer { engine: Engine::new(options, EioLayer::new(), fallback) }
    }

    /// Sets the callback run for every new session (before any of its messages).
    pub fn on_connection(&self, f: impl Fn(EioSocket) + Send + Sync + 'static) {
        self.engine.layer.on_connection(f);
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

    /// A session by id.
    pub fn get(&self, sid: &str) -> Option<EioSocket> {
        self.engine.get(sid).map(|session| EioSocket::new(EioHandle(session)))
    }

    /// How many sessions exist.
    pub fn count(&self) -> usize {
        self.engine.count()
    }

    /// Stops accepting, closes every session, and waits up to `grace` for them to end.
    pub async fn release(&self, grace: Duration) {
        self.engine.release_start();
        self.engine.wait_empty(grace).await;
    }
}
