//! The Socket.IO v2 server layer (protocol revision 4 over Engine.IO revision 3):
//! namespaces with connection handlers and admission middleware, events and acks both ways,
//! binary attachments, rooms, broadcasts encoded once. The runtimes' `sio` modules serve it
//! (their `SioServer` owns the engine; the other public types are these, over the runtime's
//! [`SioSession`] handle).

use super::small_map::SmallMap;
use super::{Layer, LayerState, SessionHandle};
use crate::eio::server::{EioServerOptions, Handshake};
use crate::eio::session::{EncodedPacket, SendError};
use crate::sio::{
    encode_packet, AckFailure, ConnEvent, ConnUsageError, DisconnectReason, RoomIndex,
    SioConnConfig, SioPacket, SioServerConn, SioUsageError,
};
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use thiserror::Error;

/// A runtime's handle to a Socket.IO session, and how it waits for an ack.
pub trait SioSession: SessionHandle<SioLayer<Self>> {
    /// What [`SioSocket::request`] returns: a future of the answer on an async runtime, the
    /// answer itself on a blocking one.
    type Request;
    /// [`SioSocket::emit_with_ack`] of `event`, waiting for the answer (or the
    /// [`AckError`]) the runtime's way.
    fn request(
        socket: &SioSocket<Self>,
        event: &str,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> Self::Request;
}

/// Event arguments: JSON values (binary values as placeholders
/// `{"_placeholder":true,"num":N}`, see [`crate::sio::placeholder`]) and the
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
    /// A typed value did not serialise to JSON.
    #[error("JSON: {0}")]
    Json(String),
}

impl Payload {
    /// One JSON argument made from a typed value (serde).
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Payload, EmitError> {
        let v = serde_json::to_value(value).map_err(|e| EmitError::Json(e.to_string()))?;
        Ok(Payload { args: vec![v], bins: Vec::new() })
    }

    /// Argument `index` as a typed value (serde; by JSON names).
    pub fn arg<T: serde::de::DeserializeOwned>(
        &self,
        index: usize,
    ) -> Result<T, serde_json::Error> {
        T::deserialize(self.args.get(index).unwrap_or(&Value::Null))
    }
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

type EventHandler<H> = Arc<dyn Fn(&SioSocket<H>, Payload, Option<AckResponder<H>>) + Send + Sync>;
type DisconnectHandler<H> = Box<dyn FnOnce(&SioSocket<H>, DisconnectReason) + Send>;
type AckCallback = Box<dyn FnOnce(Result<Payload, AckError>) + Send>;
type ConnectionHandler<H> = Arc<dyn Fn(SioSocket<H>) + Send + Sync>;
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

struct NsInner<H> {
    name: Arc<str>,
    rooms: Mutex<RoomIndex>,
    sockets: Mutex<HashMap<Arc<str>, SioSocket<H>>>,
    on_connection: RwLock<Option<ConnectionHandler<H>>>,
    middleware: RwLock<Option<Middleware>>,
}

impl<H> NsInner<H> {
    fn rooms(&self) -> MutexGuard<'_, RoomIndex> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn sockets(&self) -> MutexGuard<'_, HashMap<Arc<str>, SioSocket<H>>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The Socket.IO layer: namespaces (with their rooms, sockets, handlers and middleware)
/// over sessions reached through `H`.
pub struct SioLayer<H> {
    conn: SioConnConfig,
    namespaces: RwLock<HashMap<String, Arc<NsInner<H>>>>,
}

impl<H> SioLayer<H> {
    fn namespace(&self, name: &str) -> Option<Arc<NsInner<H>>> {
        self.namespaces.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }
}

struct NsSocket<H> {
    handlers: SmallMap<Box<str>, EventHandler<H>>,
    on_disconnect: Option<DisconnectHandler<H>>,
    acks: HashMap<u64, AckCallback>,
}

/// A client's Socket.IO state.
pub struct SioConnState<H> {
    conn: SioServerConn,
    handshake: Arc<Handshake>,
    /// Per namespace joined (a client rarely has more than two).
    sockets: SmallMap<Arc<str>, NsSocket<H>>,
}

impl<H: SioSession> Layer for SioLayer<H> {
    type Handle = H;
    type Conn = SioConnState<H>;
    type Work = ConnEvent;

    fn open(
        &self,
        _sid: &Arc<str>,
        handshake: Handshake,
    ) -> (SioConnState<H>, Vec<EncodedPacket>, Vec<ConnEvent>) {
        let root_auto = self.namespace("/").is_none_or_no_middleware();
        let (mut conn, initial) = SioServerConn::new(self.conn.clone(), root_auto);
        let work: Vec<ConnEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
        let state =
            SioConnState { conn, handshake: Arc::new(handshake), sockets: SmallMap::default() };
        (state, initial, work)
    }

    fn shrink_idle(&self, conn: &mut SioConnState<H>) {
        conn.conn.shrink_idle();
    }

    fn pump(&self, st: &mut LayerState<Self>, now: Instant) {
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

    fn run(&self, session: &H, work: ConnEvent) {
        match work {
            ConnEvent::ConnectRequest { nsp, query } => {
                let decision = match self.namespace(&nsp) {
                    None => Err(Value::from("Invalid namespace")),
                    Some(ns) => {
                        let mw = ns.middleware.read().unwrap_or_else(|e| e.into_inner()).clone();
                        match mw {
                            None => Ok(()),
                            Some(mw) => {
                                let hs = session.peek(|st| st.upper.handshake.clone());
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
                let id = socket_id(&nsp, session.sid());
                let socket = SioSocket { session: session.clone(), ns: ns.clone(), id: id.clone() };
                session.peek(|st| st.upper.sockets.insert(nsp.clone(), NsSocket::default()));
                ns.rooms().add_socket(&id);
                ns.sockets().insert(id, socket.clone());
                let h = ns.on_connection.read().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(h) = h {
                    h(socket);
                }
            }
            ConnEvent::Event { nsp, name, args, attachments, ack } => {
                let Some(socket) = self.socket_of(session, &nsp) else { return };
                let handler = session.peek(|st| {
                    st.upper.sockets.get(&*nsp).and_then(|s| s.handlers.get(&*name).cloned())
                });
                if let Some(h) = handler {
                    let responder = ack.map(|id| AckResponder { socket: socket.clone(), id });
                    h(&socket, Payload { args, bins: attachments }, responder);
                }
            }
            ConnEvent::Ack { nsp, id, args, attachments } => {
                let cb = session
                    .peek(|st| st.upper.sockets.get_mut(&*nsp).and_then(|s| s.acks.remove(&id)));
                if let Some(cb) = cb {
                    cb(Ok(Payload { args, bins: attachments }));
                }
            }
            ConnEvent::AckFailed { nsp, id, reason } => {
                let cb = session
                    .peek(|st| st.upper.sockets.get_mut(&*nsp).and_then(|s| s.acks.remove(&id)));
                if let Some(cb) = cb {
                    cb(Err(match reason {
                        AckFailure::Timeout => AckError::Timeout,
                        AckFailure::Disconnected => AckError::Disconnected,
                    }));
                }
            }
            ConnEvent::Disconnected { nsp, reason } => {
                let Some(socket) = self.socket_of(session, &nsp) else { return };
                let state = session.peek(|st| st.upper.sockets.remove(&*nsp));
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

    fn poll_timeout(&self, conn: &SioConnState<H>) -> Option<Instant> {
        conn.conn.poll_timeout()
    }

    fn handle_timeout(&self, st: &mut LayerState<Self>, now: Instant) {
        st.upper.conn.handle_timeout(now);
    }
}

trait NoMiddleware {
    fn is_none_or_no_middleware(&self) -> bool;
}

impl<H> NoMiddleware for Option<Arc<NsInner<H>>> {
    fn is_none_or_no_middleware(&self) -> bool {
        match self {
            None => true,
            Some(ns) => ns.middleware.read().unwrap_or_else(|e| e.into_inner()).is_none(),
        }
    }
}

/// The socket id of session `sid` in namespace `nsp`.
fn socket_id(nsp: &str, sid: &Arc<str>) -> Arc<str> {
    if nsp == "/" {
        sid.clone()
    } else {
        format!("{nsp}#{sid}").into()
    }
}

impl<H: SioSession> SioLayer<H> {
    /// A layer with per-connection limits `conn`, and namespace `/`.
    pub fn new(conn: SioConnConfig) -> Self {
        let layer = SioLayer { conn, namespaces: RwLock::new(HashMap::new()) };
        layer.of("/");
        layer
    }

    /// Namespace `name` (created on first use; clients can join only existing ones).
    pub fn of(&self, name: &str) -> Namespace<H> {
        let mut map = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
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

    fn socket_of(&self, session: &H, nsp: &str) -> Option<SioSocket<H>> {
        let ns = self.namespace(nsp)?;
        let id = socket_id(nsp, session.sid());
        Some(SioSocket { session: session.clone(), ns, id })
    }
}

/// A namespace. Cheap to clone.
pub struct Namespace<H> {
    ns: Arc<NsInner<H>>,
}

impl<H> fmt::Debug for Namespace<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace").field("name", &self.ns.name).finish()
    }
}

impl<H: SioSession> Namespace<H> {
    /// The name (`/chat`).
    pub fn name(&self) -> &str {
        &self.ns.name
    }

    /// Sets the handler run for every socket that joins (before any of its events).
    pub fn on_connection(&self, f: impl Fn(SioSocket<H>) + Send + Sync + 'static) {
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
    pub fn get(&self, id: &str) -> Option<SioSocket<H>> {
        self.ns.sockets().get(id).cloned()
    }

    /// A snapshot of the connected sockets.
    pub fn sockets(&self) -> Vec<SioSocket<H>> {
        self.ns.sockets().values().cloned().collect()
    }

    /// Broadcast to room `room`.
    pub fn to(&self, room: &str) -> Broadcast<H> {
        Broadcast {
            ns: self.ns.clone(),
            rooms: vec![room.to_owned()],
            except: Vec::new(),
            volatile: false,
        }
    }

    /// Emits to every socket of the namespace.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<usize, EmitError> {
        self.broadcast().emit(event, args)
    }

    /// A broadcast to every socket (narrow it with `to` / `except`).
    pub fn broadcast(&self) -> Broadcast<H> {
        Broadcast { ns: self.ns.clone(), rooms: Vec::new(), except: Vec::new(), volatile: false }
    }

    /// The rooms of the namespace (socket-id rooms included).
    pub fn rooms(&self) -> Vec<String> {
        self.ns.rooms().all_rooms().iter().map(|r| r.to_string()).collect()
    }
}

/// A broadcast being built: `to(room)` adds rooms (union), `except(room)` removes members.
pub struct Broadcast<H> {
    ns: Arc<NsInner<H>>,
    rooms: Vec<String>,
    except: Vec<String>,
    volatile: bool,
}

impl<H> fmt::Debug for NsInner<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl<H: SioSession> Broadcast<H> {
    /// Also to room `room`.
    pub fn to(mut self, room: &str) -> Broadcast<H> {
        self.rooms.push(room.to_owned());
        self
    }

    /// Not to the members of `room` (a socket id excludes that socket).
    pub fn except(mut self, room: &str) -> Broadcast<H> {
        self.except.push(room.to_owned());
        self
    }

    /// Volatile (socket.io's `volatile` flag): a recipient whose transport cannot take the
    /// packet at once (polling without a waiting poll, a WebSocket with unsent output) is
    /// skipped instead of queued.
    pub fn volatile(mut self) -> Broadcast<H> {
        self.volatile = true;
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
        let targets: Vec<SioSocket<H>> = {
            let sockets = self.ns.sockets();
            ids.iter().filter_map(|id| sockets.get(id).cloned()).collect()
        };
        let mut n = 0;
        for s in targets {
            if s.send_packets_if(&encoded, self.volatile).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Answers a client's request (its ack). Dropping it sends nothing.
pub struct AckResponder<H> {
    socket: SioSocket<H>,
    id: u64,
}

impl<H> fmt::Debug for AckResponder<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckResponder").field("id", &self.id).finish()
    }
}

impl<H: SioSession> AckResponder<H> {
    /// Sends the ack with `args` and `bins`.
    pub fn send(self, args: Vec<Value>, bins: Vec<Bytes>) -> Result<(), EmitError> {
        let packet = SioPacket::ack(&self.socket.ns.name, self.id, args, bins)?;
        self.socket.send_packets(&encode_packet(&packet))
    }
}

/// One namespace socket of a client. Cheap to clone.
pub struct SioSocket<H> {
    session: H,
    ns: Arc<NsInner<H>>,
    id: Arc<str>,
}

impl<H> fmt::Debug for SioSocket<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SioSocket").field("id", &self.id).finish()
    }
}

impl<H: SioSession> SioSocket<H> {
    /// The socket id: the Engine.IO sid on `/`, `"<nsp>#<sid>"` elsewhere.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The Engine.IO session id.
    pub fn sid(&self) -> &str {
        self.session.sid()
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        &self.ns.name
    }

    /// The handshake request's data (query, headers, address…).
    pub fn handshake(&self) -> Arc<Handshake> {
        self.session.peek(|st| st.upper.handshake.clone())
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.session.peek(|st| st.upper.conn.is_connected(&self.ns.name))
    }

    /// Sets the handler of event `event` (runs on the connection's task, in order; answer
    /// through the [`AckResponder`] when the client asked for an ack).
    pub fn on(
        &self,
        event: &str,
        f: impl Fn(&SioSocket<H>, Payload, Option<AckResponder<H>>) + Send + Sync + 'static,
    ) {
        self.session.peek(|st| {
            if let Some(s) = st.upper.sockets.get_mut(&*self.ns.name) {
                s.handlers.insert(event.into(), Arc::new(f));
            }
        });
    }

    /// Sets the handler run once when the socket disconnects.
    pub fn on_disconnect(&self, f: impl FnOnce(&SioSocket<H>, DisconnectReason) + Send + 'static) {
        self.session.peek(|st| {
            if let Some(s) = st.upper.sockets.get_mut(&*self.ns.name) {
                s.on_disconnect = Some(Box::new(f));
            }
        });
    }

    fn send_packets(&self, packets: &[EncodedPacket]) -> Result<(), EmitError> {
        self.send_packets_if(packets, false)
    }

    /// Sends; with `volatile`, only if the transport can take the packets at once.
    fn send_packets_if(&self, packets: &[EncodedPacket], volatile: bool) -> Result<(), EmitError> {
        let nsp = &self.ns.name;
        self.session.with(|st, now| {
            if !st.upper.conn.is_connected(nsp) {
                return Err(EmitError::NotConnected);
            }
            if volatile && !st.eio.is_writable() {
                return Err(EmitError::Full);
            }
            st.eio.send_all(now, packets).map_err(EmitError::from)
        })
    }

    /// Emits `event` only if the transport can take it at once (socket.io's `volatile`);
    /// otherwise it is dropped with [`EmitError::Full`].
    pub fn emit_volatile(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        let packet = SioPacket::event(&self.ns.name, event, args, Vec::new(), None)?;
        self.send_packets_if(&encode_packet(&packet), true)
    }

    /// Emits `event` with one argument made from a typed value (serde).
    pub fn emit_json<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        value: &T,
    ) -> Result<(), EmitError> {
        self.emit(event, Payload::json(value)?.args)
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
        crate::sio::check_emittable(event)?;
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
            if let Some(s) = st.upper.sockets.get_mut(&*nsp) {
                s.acks.insert(id, Box::new(callback));
            }
            Ok(())
        })
    }

    /// [`emit_with_ack`](Self::emit_with_ack), waiting for the answer as the runtime waits
    /// (a future on tokio, a blocking call on std; see [`SioSession::request`]).
    pub fn request(&self, event: &str, payload: Payload, timeout: Option<Duration>) -> H::Request {
        H::request(self, event, payload, timeout)
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
    pub fn to(&self, room: &str) -> Broadcast<H> {
        Broadcast {
            ns: self.ns.clone(),
            rooms: vec![room.to_owned()],
            except: vec![self.id.to_string()],
            volatile: false,
        }
    }

    /// A broadcast to every socket of the namespace but this one.
    pub fn broadcast(&self) -> Broadcast<H> {
        Broadcast {
            ns: self.ns.clone(),
            rooms: Vec::new(),
            except: vec![self.id.to_string()],
            volatile: false,
        }
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

impl<H> Default for NsSocket<H> {
    fn default() -> Self {
        NsSocket { handlers: SmallMap::default(), on_disconnect: None, acks: HashMap::new() }
    }
}

impl<H> Clone for Namespace<H> {
    fn clone(&self) -> Self {
        Namespace { ns: self.ns.clone() }
    }
}

impl<H> Clone for Broadcast<H> {
    fn clone(&self) -> Self {
        Broadcast {
            ns: self.ns.clone(),
            rooms: self.rooms.clone(),
            except: self.except.clone(),
            volatile: self.volatile,
        }
    }
}

impl<H> fmt::Debug for Broadcast<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("ns", &self.ns)
            .field("rooms", &self.rooms)
            .field("except", &self.except)
            .finish()
    }
}

impl<H: Clone> Clone for SioSocket<H> {
    fn clone(&self) -> Self {
        SioSocket { session: self.session.clone(), ns: self.ns.clone(), id: self.id.clone() }
    }
}
