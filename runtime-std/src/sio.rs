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

use crate::engine::{Engine, Fallback, Layer, Session, State};
use crate::glue::GlueStream;
use bytes::Bytes;
use glue_protocol::eio::server::{EioServerOptions, Handshake};
use glue_protocol::eio::session::{EncodedPacket, SendError};
use glue_protocol::sio::{
    encode_packet, AckFailure, ConnEvent, ConnUsageError, RoomIndex, SioConnConfig, SioPacket,
    SioServerConn, SioUsageError,
};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::{mpsc, Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;

pub use glue_protocol::sio::DisconnectReason;

/// Event arguments: JSON values (binary values as placeholders
/// `{"_placeholder":true,"num":N}`, see [`glue_protocol::sio::placeholder`]) and the
/// attachments they name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// The arguments.
    pub args: Vec<Value>,
    /// The binary attachments.
    pub bins: Vec<Bytes>,
}

/// Why an emit failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The packet may not be sent (reserved name, bad placeholders…).
    #[error(transparent)]
    Usage(#[from] SioUsageError),
    /// The socket is not connected (any more).
    #[error("socket not connected")]
    NotConnected,
    /// The client is too far behind (its send buffer is full).
    #[error("send buffer full")]
    Full,
    /// Too many requests wait for acks.
    #[error("too many pending acks")]
    TooManyAcks,
}

impl From<SendError> for EmitError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Full => EmitError::Full,
            _ => EmitError::NotConnected,
        }
    }
}

impl From<ConnUsageError> for EmitError {
    fn from(e: ConnUsageError) -> Self {
        match e {
            ConnUsageError::TooManyAcks => EmitError::TooManyAcks,
            _ => EmitError::NotConnected,
        }
    }
}

/// Why a request (emit with ack) got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AckError {
    /// No answer within the timeout.
    #[error("ack timed out")]
    Timeout,
    /// The socket disconnected first.
    #[error("socket disconnected")]
    Disconnected,
}

type EventHandler = Arc<dyn Fn(&SioSocket, Payload, Option<AckResponder>) + Send + Sync>;
type DisconnectHandler = Box<dyn FnOnce(&SioSocket, DisconnectReason) + Send>;
type AckCallback = Box<dyn FnOnce(Result<Payload, AckError>) + Send>;
type ConnectionHandler = Arc<dyn Fn(SioSocket) + Send + Sync>;
/// Namespace admission: `Err(data)` refuses with an ERROR packet carrying `data`.
pub type Middleware = Arc<dyn Fn(&Handshake, Option<&str>) -> Result<(), Value> + Send + Sync>;

/// Socket.IO server options.
#[derive(Debug, Clone)]
pub struct SioServerOptions {
    /// Engine.IO options; the path defaults to `/socket.io/`.
    pub eio: EioServerOptions,
    /// Per-connection limits.
    pub conn: SioConnConfig,
}

impl Default for SioServerOptions {
    fn default() -> Self {
        SioServerOptions {
            eio: EioServerOptions { path: "/socket.io/".into(), ..EioServerOptions::default() },
            conn: SioConnConfig::default(),
        }
    }
}

struct NsInner {
    name: Arc<str>,
    rooms: Mutex<RoomIndex>,
    sockets: Mutex<HashMap<Arc<str>, SioSocket>>,
    on_connection: RwLock<Option<ConnectionHandler>>,
    middleware: RwLock<Option<Middleware>>,
}

impl NsInner {
    fn rooms(&self) -> MutexGuard<'_, RoomIndex> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn sockets(&self) -> MutexGuard<'_, HashMap<Arc<str>, SioSocket>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct SioLayer {
    conn: SioConnConfig,
    namespaces: RwLock<HashMap<String, Arc<NsInner>>>,
}

impl SioLayer {
    fn namespace(&self, name: &str) -> Option<Arc<NsInner>> {
        self.namespaces.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }
}

#[derive(Default)]
struct NsSocket {
    handlers: HashMap<String, EventHandler>,
    on_disconnect: Option<DisconnectHandler>,
    acks: HashMap<u64, AckCallback>,
}

pub(crate) struct SioConnState {
    conn: SioServerConn,
    handshake: Arc<Handshake>,
    sockets: HashMap<Arc<str>, NsSocket>,
}

impl Layer for SioLayer {
    type Conn = SioConnState;
    type Work = ConnEvent;

    fn open(
        &self,
        _sid: &Arc<str>,
        handshake: Handshake,
    ) -> (SioConnState, Vec<EncodedPacket>, Vec<ConnEvent>) {
        let root_auto = self.namespace("/").is_none_or_no_middleware();
        let (mut conn, initial) = SioServerConn::new(self.conn.clone(), root_auto);
        let work: Vec<ConnEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
        let state = SioConnState { conn, handshake: Arc::new(handshake), sockets: HashMap::new() };
        (state, initial, work)
    }

    fn pump(&self, st: &mut State<Self>, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(e) = st.eio.poll_event() {
                progressed = true;
                st.upper.conn.handle_eio(now, e);
            }
            while let Some(p) = st.upper.conn.poll_transmit() {
                progressed = true;
                if st.eio.send(now, p) == Err(SendError::Full) {
                    st.eio.close(now);
                }
            }
            while let Some(ev) = st.upper.conn.poll_event() {
                progressed = true;
                match ev {
                    ConnEvent::ProtocolError(e) => {
                        tracing::debug!("socket.io: protocol error ({e}); closing the session");
                        st.eio.close(now);
                    }
                    other => st.work.push_back(other),
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn run(&self, session: &Arc<Session<Self>>, work: ConnEvent) {
        match work {
            ConnEvent::ConnectRequest { nsp, query } => {
                let decision = match self.namespace(&nsp) {
                    None => Err(Value::from("Invalid namespace")),
                    Some(ns) => {
                        let mw = ns.middleware.read().unwrap_or_else(|e| e.into_inner()).clone();
                        match mw {
                            None => Ok(()),
                            Some(mw) => {
                                let hs = session.lock().upper.handshake.clone();
                                mw(&hs, query.as_deref())
                            }
                        }
                    }
                };
                session.with(|st, now| match decision {
                    Ok(()) => st.upper.conn.accept(now, &nsp),
                    Err(data) => st.upper.conn.refuse(now, &nsp, data),
                });
            }
            ConnEvent::Connected { nsp } => {
                let Some(ns) = self.namespace(&nsp) else { return };
                let id: Arc<str> = if &*nsp == "/" {
                    session.sid.clone()
                } else {
                    format!("{nsp}#{}", session.sid).into()
                };
                let socket = SioSocket { session: session.clone(), ns: ns.clone(), id: id.clone() };
                session.lock().upper.sockets.insert(nsp.clone(), NsSocket::default());
                ns.rooms().add_socket(&id);
                ns.sockets().insert(id, socket.clone());
                let h = ns.on_connection.read().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(h) = h {
                    h(socket);
                }
            }
            ConnEvent::Event { nsp, name, args, attachments, ack } => {
                let Some(socket) = self.socket_of(session, &nsp) else { return };
                let handler = {
                    let st = session.lock();
                    st.upper.sockets.get(&nsp).and_then(|s| s.handlers.get(&name).cloned())
                };
                if let Some(h) = handler {
                    let responder = ack.map(|id| AckResponder { socket: socket.clone(), id });
                    h(&socket, Payload { args, bins: attachments }, responder);
                }
            }
            ConnEvent::Ack { nsp, id, args, attachments } => {
                let cb =
                    session.lock().upper.sockets.get_mut(&nsp).and_then(|s| s.acks.remove(&id));
                if let Some(cb) = cb {
                    cb(Ok(Payload { args, bins: attachments }));
                }
            }
            ConnEvent::AckFailed { nsp, id, reason } => {
                let cb =
                    session.lock().upper.sockets.get_mut(&nsp).and_then(|s| s.acks.remove(&id));
                if let Some(cb) = cb {
                    cb(Err(match reason {
                        AckFailure::Timeout => AckError::Timeout,
                        AckFailure::Disconnected => AckError::Disconnected,
                    }));
                }
            }
            ConnEvent::Disconnected { nsp, reason } => {
                let Some(socket) = self.socket_of(session, &nsp) else { return };
                let state = session.lock().upper.sockets.remove(&nsp);
                socket.ns.rooms().remove_socket(&socket.id);
                socket.ns.sockets().remove(&socket.id);
                if let Some(mut s) = state {
                    for (_, cb) in s.acks.drain() {
                        cb(Err(AckError::Disconnected));
                    }
                    if let Some(h) = s.on_disconnect.take() {
                        h(&socket, reason);
                    }
                }
            }
            ConnEvent::ProtocolError(_) => {}
        }
    }

    fn poll_timeout(&self, conn: &SioConnState) -> Option<Instant> {
        conn.conn.poll_timeout()
    }

    fn handle_timeout(&self, st: &mut State<Self>, now: Instant) {
        st.upper.conn.handle_timeout(now);
    }
}

trait NoMiddleware {
    fn is_none_or_no_middleware(&self) -> bool;
}

impl NoMiddleware for Option<Arc<NsInner>> {
    fn is_none_or_no_middleware(&self) -> bool {
        match self {
            None => true,
            Some(ns) => ns.middleware.read().unwrap_or_else(|e| e.into_inner()).is_none(),
        }
    }
}

impl SioLayer {
    fn socket_of(&self, session: &Arc<Session<Self>>, nsp: &str) -> Option<SioSocket> {
        let ns = self.namespace(nsp)?;
        let id: Arc<str> =
            if nsp == "/" { session.sid.clone() } else { format!("{nsp}#{}", session.sid).into() };
        Some(SioSocket { session: session.clone(), ns, id })
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
        let layer = SioLayer { conn: options.conn, namespaces: RwLock::new(HashMap::new()) };
        let server = SioServer { engine: Engine::new(options.eio, layer, fallback) };
        server.of("/");
        server
    }

    /// Namespace `name` (created on first use; clients can join only existing ones).
    pub fn of(&self, name: &str) -> Namespace {
        let mut map = self.engine.layer.namespaces.write().unwrap_or_else(|e| e.into_inner());
        let ns = map
            .entry(name.to_owned())
            .or_insert_with(|| {
                Arc::new(NsInner {
                    name: name.into(),
                    rooms: Mutex::new(RoomIndex::new()),
                    sockets: Mutex::new(HashMap::new()),
                    on_connection: RwLock::new(None),
                    middleware: RwLock::new(None),
                })
            })
            .clone();
        Namespace { ns }
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

/// A namespace. Cheap to clone.
#[derive(Clone)]
pub struct Namespace {
    ns: Arc<NsInner>,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace").field("name", &self.ns.name).finish()
    }
}

impl Namespace {
    /// The name (`/chat`).
    pub fn name(&self) -> &str {
        &self.ns.name
    }

    /// Sets the handler run for every socket that joins (before any of its events).
    pub fn on_connection(&self, f: impl Fn(SioSocket) + Send + Sync + 'static) {
        *self.ns.on_connection.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// Sets the admission check: it gets the handshake and the CONNECT query; `Err(data)`
    /// refuses (the client gets an `error` with `data`). On `/` it applies to new sessions.
    pub fn use_middleware(
        &self,
        f: impl Fn(&Handshake, Option<&str>) -> Result<(), Value> + Send + Sync + 'static,
    ) {
        *self.ns.middleware.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// A connected socket by id.
    pub fn get(&self, id: &str) -> Option<SioSocket> {
        self.ns.sockets().get(id).cloned()
    }

    /// A snapshot of the connected sockets.
    pub fn sockets(&self) -> Vec<SioSocket> {
        self.ns.sockets().values().cloned().collect()
    }

    /// Broadcast to room `room`.
    pub fn to(&self, room: &str) -> Broadcast {
        Broadcast { ns: self.ns.clone(), rooms: vec![room.to_owned()], except: Vec::new() }
    }

    /// Emits to every socket of the namespace.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<usize, EmitError> {
        self.broadcast().emit(event, args)
    }

    /// A broadcast to every socket (narrow it with `to` / `except`).
    pub fn broadcast(&self) -> Broadcast {
        Broadcast { ns: self.ns.clone(), rooms: Vec::new(), except: Vec::new() }
    }

    /// The rooms of the namespace (socket-id rooms included).
    pub fn rooms(&self) -> Vec<String> {
        self.ns.rooms().all_rooms().iter().map(|r| r.to_string()).collect()
    }
}

/// A broadcast being built: `to(room)` adds rooms (union), `except(room)` removes members.
#[derive(Clone, Debug)]
pub struct Broadcast {
    ns: Arc<NsInner>,
    rooms: Vec<String>,
    except: Vec<String>,
}

impl fmt::Debug for NsInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Broadcast {
    /// Also to room `room`.
    pub fn to(mut self, room: &str) -> Broadcast {
        self.rooms.push(room.to_owned());
        self
    }

    /// Not to the members of `room` (a socket id excludes that socket).
    pub fn except(mut self, room: &str) -> Broadcast {
        self.except.push(room.to_owned());
        self
    }

    /// Emits `event` with `args`; returns how many sockets it was queued for.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<usize, EmitError> {
        self.emit_binary(event, args, Vec::new())
    }

    /// Emits with binary attachments (named by placeholders in `args`). The packet is
    /// encoded once; every recipient gets the same bytes.
    pub fn emit_binary(
        &self,
        event: &str,
        args: Vec<Value>,
        bins: Vec<Bytes>,
    ) -> Result<usize, EmitError> {
        let packet = SioPacket::event(&self.ns.name, event, args, bins, None)?;
        let encoded = encode_packet(&packet);
        let ids = {
            let rooms: Vec<&str> = self.rooms.iter().map(String::as_str).collect();
            let except: Vec<&str> = self.except.iter().map(String::as_str).collect();
            self.ns.rooms().recipients(&rooms, &except)
        };
        let targets: Vec<SioSocket> = {
            let sockets = self.ns.sockets();
            ids.iter().filter_map(|id| sockets.get(id).cloned()).collect()
        };
        let mut n = 0;
        for s in targets {
            if s.send_packets(&encoded).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Answers a client's request (its ack). Dropping it sends nothing.
pub struct AckResponder {
    socket: SioSocket,
    id: u64,
}

impl fmt::Debug for AckResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckResponder").field("id", &self.id).finish()
    }
}

impl AckResponder {
    /// Sends the ack with `args` and `bins`.
    pub fn send(self, args: Vec<Value>, bins: Vec<Bytes>) -> Result<(), EmitError> {
        let packet = SioPacket::ack(&self.socket.ns.name, self.id, args, bins)?;
        self.socket.send_packets(&encode_packet(&packet))
    }
}

/// One namespace socket of a client. Cheap to clone.
#[derive(Clone)]
pub struct SioSocket {
    session: Arc<Session<SioLayer>>,
    ns: Arc<NsInner>,
    id: Arc<str>,
}

impl fmt::Debug for SioSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SioSocket").field("id", &self.id).finish()
    }
}

impl SioSocket {
    /// The socket id: the Engine.IO sid on `/`, `"<nsp>#<sid>"` elsewhere.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The Engine.IO session id.
    pub fn sid(&self) -> &str {
        &self.session.sid
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        &self.ns.name
    }

    /// The handshake request's data (query, headers, address…).
    pub fn handshake(&self) -> Arc<Handshake> {
        self.session.lock().upper.handshake.clone()
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.session.lock().upper.conn.is_connected(&self.ns.name)
    }

    /// Sets the handler of event `event` (runs on a thread of the connection, in order; answer
    /// through the [`AckResponder`] when the client asked for an ack).
    pub fn on(
        &self,
        event: &str,
        f: impl Fn(&SioSocket, Payload, Option<AckResponder>) + Send + Sync + 'static,
    ) {
        if let Some(s) = self.session.lock().upper.sockets.get_mut(&self.ns.name) {
            s.handlers.insert(event.to_owned(), Arc::new(f));
        }
    }

    /// Sets the handler run once when the socket disconnects.
    pub fn on_disconnect(&self, f: impl FnOnce(&SioSocket, DisconnectReason) + Send + 'static) {
        if let Some(s) = self.session.lock().upper.sockets.get_mut(&self.ns.name) {
            s.on_disconnect = Some(Box::new(f));
        }
    }

    fn send_packets(&self, packets: &[EncodedPacket]) -> Result<(), EmitError> {
        let nsp = &self.ns.name;
        self.session.with(|st, now| {
            if !st.upper.conn.is_connected(nsp) {
                return Err(EmitError::NotConnected);
            }
            st.eio.send_all(now, packets).map_err(EmitError::from)
        })
    }

    /// Emits `event` with JSON `args`.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.emit_binary(event, args, Vec::new())
    }

    /// Emits with binary attachments (named by placeholders in `args`).
    pub fn emit_binary(
        &self,
        event: &str,
        args: Vec<Value>,
        bins: Vec<Bytes>,
    ) -> Result<(), EmitError> {
        let packet = SioPacket::event(&self.ns.name, event, args, bins, None)?;
        self.send_packets(&encode_packet(&packet))
    }

    /// Emits a request: `callback` gets the client's ack, or an [`AckError`] after `timeout`
    /// (`None`: wait until the socket disconnects).
    pub fn emit_with_ack(
        &self,
        event: &str,
        payload: Payload,
        timeout: Option<Duration>,
        callback: impl FnOnce(Result<Payload, AckError>) + Send + 'static,
    ) -> Result<(), EmitError> {
        glue_protocol::sio::check_emittable(event)?;
        let nsp = self.ns.name.clone();
        self.session.with(|st, now| {
            let id = st.upper.conn.register_ack(now, &nsp, timeout)?;
            let packet = match SioPacket::event(&nsp, event, payload.args, payload.bins, Some(id)) {
                Ok(p) => p,
                Err(e) => {
                    st.upper.conn.cancel_ack(id);
                    return Err(e.into());
                }
            };
            if let Err(e) = st.eio.send_all(now, &encode_packet(&packet)) {
                st.upper.conn.cancel_ack(id);
                return Err(e.into());
            }
            if let Some(s) = st.upper.sockets.get_mut(&nsp) {
                s.acks.insert(id, Box::new(callback));
            }
            Ok(())
        })
    }

    /// [`emit_with_ack`](Self::emit_with_ack), blocking the calling thread until the ack,
    /// the timeout or the disconnect.
    ///
    /// Call it from a thread of your own, never from a handler of the same client (an
    /// [`on`](Self::on) or `on_connection` handler, an ack callback, a disconnect handler):
    /// that client's handlers and ack callbacks run one at a time, in order, so the answer
    /// would be queued behind the handler waiting for it. Such a call cannot get its answer:
    /// it returns [`AckError::Timeout`] after `timeout`, and with `None` it blocks that client
    /// for good.
    pub fn request(
        &self,
        event: &str,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> Result<Payload, AckError> {
        let (tx, rx) = mpsc::sync_channel(1);
        if self
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

    /// Joins room `room`.
    pub fn join(&self, room: &str) {
        if self.connected() {
            self.ns.rooms().join(&self.id, room);
        }
    }

    /// Leaves room `room`.
    pub fn leave(&self, room: &str) {
        self.ns.rooms().leave(&self.id, room);
    }

    /// Leaves every room but its own-id room.
    pub fn leave_all(&self) {
        self.ns.rooms().leave_all(&self.id);
    }

    /// The rooms this socket is in (its own-id room included).
    pub fn rooms(&self) -> Vec<String> {
        self.ns.rooms().rooms_of(&self.id).iter().map(|r| r.to_string()).collect()
    }

    /// A broadcast to room `room`, except this socket.
    pub fn to(&self, room: &str) -> Broadcast {
        Broadcast {
            ns: self.ns.clone(),
            rooms: vec![room.to_owned()],
            except: vec![self.id.to_string()],
        }
    }

    /// A broadcast to every socket of the namespace but this one.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast { ns: self.ns.clone(), rooms: Vec::new(), except: vec![self.id.to_string()] }
    }

    /// Disconnects this namespace socket (the client gets DISCONNECT and does not reconnect
    /// it).
    pub fn disconnect(&self) {
        let nsp = self.ns.name.clone();
        self.session.with(|st, now| st.upper.conn.disconnect(now, &nsp));
    }

    /// Disconnects every namespace of this client and closes its connection.
    pub fn disconnect_all(&self) {
        self.session.with(|st, now| {
            let names: Vec<Arc<str>> = st.upper.conn.connected().cloned().collect();
            for n in names {
                st.upper.conn.disconnect(now, &n);
            }
            while let Some(p) = st.upper.conn.poll_transmit() {
                let _ = st.eio.send(now, p);
            }
            st.eio.close(now);
        });
    }
}
