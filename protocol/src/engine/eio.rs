//! The Engine.IO message layer: a connection callback per server, message and close
//! callbacks per session ([`EioSocket`]). The runtimes' `eio` modules serve it.

use super::{Layer, LayerState, SessionHandle};
use crate::eio::server::Handshake;
use crate::eio::session::{CloseReason, EioEvent, EncodedPacket, SendError};
use crate::eio::PacketData;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Instant;

type ConnectionHandler<H> = Arc<dyn Fn(EioSocket<H>) + Send + Sync>;
type MessageHandler<H> = Arc<dyn Fn(&EioSocket<H>, PacketData) + Send + Sync>;
type CloseHandler<H> = Arc<dyn Fn(&EioSocket<H>, CloseReason) + Send + Sync>;

/// The Engine.IO message layer, over sessions reached through `H`.
pub struct EioLayer<H> {
    on_connection: RwLock<Option<ConnectionHandler<H>>>,
}

impl<H> Default for EioLayer<H> {
    fn default() -> Self {
        EioLayer { on_connection: RwLock::new(None) }
    }
}

impl<H: SessionHandle<EioLayer<H>>> EioLayer<H> {
    /// A layer without a connection callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the callback run for every new session (before any of its messages).
    pub fn on_connection(&self, f: impl Fn(EioSocket<H>) + Send + Sync + 'static) {
        *self.on_connection.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }
}

/// An Engine.IO session's callbacks.
pub struct EioConn<H> {
    handshake: Arc<Handshake>,
    on_message: Option<MessageHandler<H>>,
    on_close: Option<CloseHandler<H>>,
}

/// What an Engine.IO session's events turn into.
pub enum EioWork {
    /// The session opened.
    Connected,
    /// A message arrived.
    Message(PacketData),
    /// The session closed.
    Closed(CloseReason),
}

impl<H: SessionHandle<EioLayer<H>>> Layer for EioLayer<H> {
    type Handle = H;
    type Conn = EioConn<H>;
    type Work = EioWork;

    fn open(
        &self,
        _sid: &Arc<str>,
        handshake: Handshake,
    ) -> (EioConn<H>, Vec<EncodedPacket>, Vec<EioWork>) {
        let conn = EioConn { handshake: Arc::new(handshake), on_message: None, on_close: None };
        (conn, Vec::new(), vec![EioWork::Connected])
    }

    fn pump(&self, state: &mut LayerState<Self>, _now: Instant) {
        while let Some(e) = state.eio.poll_event() {
            match e {
                EioEvent::Message(m) => state.work.push_back(EioWork::Message(m)),
                EioEvent::Closed(r) => state.work.push_back(EioWork::Closed(r)),
                EioEvent::Upgraded => {}
            }
        }
    }

    fn run(&self, session: &H, work: EioWork) {
        let socket = EioSocket { session: session.clone() };
        match work {
            EioWork::Connected => {
                let h = self.on_connection.read().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(h) = h {
                    h(socket);
                }
            }
            EioWork::Message(m) => {
                let h = session.peek(|st| st.upper.on_message.clone());
                if let Some(h) = h {
                    h(&socket, m);
                }
            }
            EioWork::Closed(r) => {
                let h = session.peek(|st| st.upper.on_close.take());
                if let Some(h) = h {
                    h(&socket, r);
                }
                session.peek(|st| st.upper.on_message = None);
            }
        }
    }
}

/// One Engine.IO session. Cheap to clone.
pub struct EioSocket<H> {
    session: H,
}

impl<H: Clone> Clone for EioSocket<H> {
    fn clone(&self) -> Self {
        EioSocket { session: self.session.clone() }
    }
}

impl<H: SessionHandle<EioLayer<H>>> fmt::Debug for EioSocket<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EioSocket").field("id", &self.id()).finish()
    }
}

impl<H: SessionHandle<EioLayer<H>>> EioSocket<H> {
    /// The socket of `session`.
    pub fn new(session: H) -> Self {
        EioSocket { session }
    }

    /// The session id.
    pub fn id(&self) -> &str {
        self.session.sid()
    }

    /// The handshake request's data.
    pub fn handshake(&self) -> Arc<Handshake> {
        self.session.peek(|st| st.upper.handshake.clone())
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
        self.session.peek(|st| st.eio.is_websocket())
    }

    /// Whether the session is open.
    pub fn is_open(&self) -> bool {
        self.session.peek(|st| st.eio.is_open())
    }

    /// Closes the session (queued messages are delivered first).
    pub fn close(&self) {
        self.session.with(|st, now| st.eio.close(now));
    }

    /// Sets the message handler (runs in order, one message at a time, on the runtime's
    /// task or thread of the session; do not block in it for long).
    pub fn on_message(&self, f: impl Fn(&EioSocket<H>, PacketData) + Send + Sync + 'static) {
        self.session.peek(|st| st.upper.on_message = Some(Arc::new(f)));
    }

    /// Sets the handler run once when the session closes.
    pub fn on_close(&self, f: impl Fn(&EioSocket<H>, CloseReason) + Send + Sync + 'static) {
        self.session.peek(|st| st.upper.on_close = Some(Arc::new(f)));
    }
}
