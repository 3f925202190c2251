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

use crate::engine::{Engine, Fallback, Layer, Session, State};
use crate::glue::GlueStream;
use glue_protocol::eio::server::Handshake;
use glue_protocol::eio::session::{CloseReason, EioEvent, EncodedPacket, SendError};
use glue_protocol::eio::PacketData;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use glue_protocol::eio::server::{CookieOptions, EioServerOptions, Origins};
pub use glue_protocol::eio::session::EioConfig;

type ConnectionHandler = Arc<dyn Fn(EioSocket) + Send + Sync>;
type MessageHandler = Arc<dyn Fn(&EioSocket, PacketData) + Send + Sync>;
type CloseHandler = Arc<dyn Fn(&EioSocket, CloseReason) + Send + Sync>;

pub(crate) struct EioLayer {
    on_connection: RwLock<Option<ConnectionHandler>>,
}

pub(crate) struct EioConn {
    handshake: Arc<Handshake>,
    on_message: Option<MessageHandler>,
    on_close: Option<CloseHandler>,
}

pub(crate) enum EioWork {
    Connected,
    Message(PacketData),
    Closed(CloseReason),
}

impl Layer for EioLayer {
    type Conn = EioConn;
    type Work = EioWork;

    fn open(
        &self,
        _sid: &Arc<str>,
        handshake: Handshake,
    ) -> (EioConn, Vec<EncodedPacket>, Vec<EioWork>) {
        let conn = EioConn { handshake: Arc::new(handshake), on_message: None, on_close: None };
        (conn, Vec::new(), vec![EioWork::Connected])
    }

    fn pump(&self, state: &mut State<Self>, _now: Instant) {
        while let Some(e) = state.eio.poll_event() {
            match e {
                EioEvent::Message(m) => state.work.push_back(EioWork::Message(m)),
                EioEvent::Closed(r) => state.work.push_back(EioWork::Closed(r)),
                EioEvent::Upgraded => {}
            }
        }
    }

    fn run(&self, session: &Arc<Session<Self>>, work: EioWork) {
        let socket = EioSocket { session: session.clone() };
        match work {
            EioWork::Connected => {
                let h = self.on_connection.read().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(h) = h {
                    h(socket);
                }
            }
            EioWork::Message(m) => {
                let h = session.lock().upper.on_message.clone();
                if let Some(h) = h {
                    h(&socket, m);
                }
            }
            EioWork::Closed(r) => {
                let h = session.lock().upper.on_close.take();
                if let Some(h) = h {
                    h(&socket, r);
                }
                session.lock().upper.on_message = None;
            }
        }
    }
}

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
        let layer = EioLayer { on_connection: RwLock::new(None) };
        EioServer { engine: Engine::new(options, layer, fallback) }
    }

    /// Sets the callback run for every new session (before any of its messages).
    pub fn on_connection(&self, f: impl Fn(EioSocket) + Send + Sync + 'static) {
        *self.engine.layer.on_connection.write().unwrap_or_else(|e| e.into_inner()) =
            Some(Arc::new(f));
    }

    /// Serves connections accepted from `listener` (a thread each) until
    /// [`release`](Self::release), then returns `Ok`.
    pub fn serve_tcp(&self, listener: std::net::TcpListener) -> std::io::Result<()> {
        self.engine.serve_tcp(listener)
    }

    /// The same as [`serve_tcp`](Self::serve_tcp).
    pub fn serve(&self, listener: std::net::TcpListener) -> std::io::Result<()> {
        self.serve_tcp(listener)
    }

    /// Serves one accepted connection on the calling thread until it ends (your own accept
    /// loop, TLS streams…). `peer` is the client address (`ip:port`), `secure` whether the
    /// connection is TLS (both for [`Handshake`]).
    pub fn serve_connection<S: GlueStream>(&self, stream: S, peer: String, secure: bool) {
        self.engine.serve_connection(Arc::new(stream), &peer, secure)
    }

    /// A session by id.
    pub fn get(&self, sid: &str) -> Option<EioSocket> {
        self.engine.get(sid).map(|session| EioSocket { session })
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

/// One Engine.IO session. Cheap to clone.
#[derive(Clone)]
pub struct EioSocket {
    session: Arc<Session<EioLayer>>,
}

impl fmt::Debug for EioSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EioSocket").field("id", &self.id()).finish()
    }
}

impl EioSocket {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.session.sid
    }

    /// The handshake request's data.
    pub fn handshake(&self) -> Arc<Handshake> {
        self.session.lock().upper.handshake.clone()
    }

    /// Sends a message (text or binary).
    pub fn send(&self, data: PacketData) -> Result<(), SendError> {
        self.send_encoded(EncodedPacket::from_data(&data))
    }

    /// Sends a packet encoded once (for many sessions).
    pub fn send_encoded(&self, packet: EncodedPacket) -> Result<(), SendError> {
        self.session.with(|st, now| st.eio.send(now, packet))
    }

    /// Whether the session uses its WebSocket.
    pub fn is_websocket(&self) -> bool {
        self.session.lock().eio.is_websocket()
    }

    /// Whether the session is open.
    pub fn is_open(&self) -> bool {
        self.session.lock().eio.is_open()
    }

    /// Closes the session (queued messages are delivered first).
    pub fn close(&self) {
        self.session.with(|st, now| st.eio.close(now));
    }

    /// Sets the message handler (runs in order, one message at a time, on the thread that
    /// received it; do not block in it for long).
    pub fn on_message(&self, f: impl Fn(&EioSocket, PacketData) + Send + Sync + 'static) {
        self.session.lock().upper.on_message = Some(Arc::new(f));
    }

    /// Sets the handler run once when the session closes.
    pub fn on_close(&self, f: impl Fn(&EioSocket, CloseReason) + Send + Sync + 'static) {
        self.session.lock().upper.on_close = Some(Arc::new(f));
    }
}
