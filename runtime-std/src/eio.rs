//! An Engine.IO (revision 3) server: sessions over long-polling (XHR, JSONP) and WebSocket
//! with the upgrade between them, and a message API. Socket.IO ([`crate::sio`]) builds on
//! the same engine.
//!
//! Blocking: a thread per connection (a WebSocket's reader runs its session's callbacks),
//! one timer thread for polling sessions; output is written by the thread that produced it.
//! See the engine's design notes in the crate source (`engine.rs`).
//!
//! ```no_run
//! use glue_std::eio::{EioServer, EioServerOptions};
//!
//! let server = EioServer::new(EioServerOptions::default());
//! server.on_connection(|socket| {
//!     // echo
//!     socket.on_message(|socket, data| {
//!         let _ = socket.send(data);
//!     });
//! });
//! let listener = std::net::TcpListener::bind("127.0.0.1:3000")?;
//! server.serve_tcp(listener) // returns after `server.release(grace)`
//! # ; Ok::<(), std::io::Error>(())
//! ```

use crate::engine::{Engine, Fallback, Session};
use crate::glue::GlueStream;
use glue_protocol::session_handle;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use glue_protocol::eio::server::{CookieOptions, EioServerOptions, Origins};
pub use glue_protocol::eio::session::EioConfig;

type EioLayer = glue_protocol::engine::eio::EioLayer<EioHandle>;

session_handle!(
    /// The blocking engine's handle to an Engine.IO session (what an [`EioSocket`] holds).
    EioHandle(Session<EioLayer>),
    EioLayer
);

/// One Engine.IO session. Cheap to clone. Its handlers run in order, one message at a
/// time, on the thread that received it: do not block in them for long.
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

    /// A session by id.
    pub fn get(&self, sid: &str) -> Option<EioSocket> {
        self.engine.get(sid).map(|session| EioSocket::new(session.into()))
    }

    /// How many sessions exist.
    pub fn count(&self) -> usize {
        self.engine.count()
    }

    /// Stops [`serve_tcp`](Self::serve_tcp), refuses new sessions, closes every session, and
    /// waits up to `grace` for them to end.
    pub fn release(&self, grace: Duration) {
        self.engine.release_start();
        self.engine.wait_empty(grace);
    }
}
