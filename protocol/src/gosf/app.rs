//! The framework server written once for both runtimes (spec §4–§7, §12): the [`Hub`]
//! (hook, guard and client registries, broadcasts, app context), the persistent per-connection
//! [`Client`] handle, the endpoint table ([`Endpoints`]) and the request/response cycle
//! ([`Hub::begin`] → the runtime calls the controller → [`Hub::finish`]).
//!
//! Everything here is generic over the runtime's Socket.IO session handle `H`
//! ([`SioSession`]) and, for the endpoint table, over the runtime's controller type `C`
//! (a plain function on `glue_std`, an async one on `glue_tokio`). No I/O, no threads, no
//! clock: the runtimes call in from their connection dispatch (in order per client) and pass
//! the current [`Instant`] where a guard needs it.
//!
//! Locking rule: every registry is read under a `std::sync` lock and the lock is dropped before
//! any user code (hook, guard, controller) runs, so a hook may register hooks, broadcast, look
//! up clients or disconnect (a broadcast from a `disconnect` hook works, spec §11.3).

use super::error::FrameworkError;
use super::hooks::{check_endpoint_name, Hook};
use super::message::Message;
use super::response::{ack_args, event_args, prepare_response, Correlation, ResponsePolicy};
use super::{context::AppData, RequestError};
use crate::eio::server::Handshake;
use crate::engine::sio::{
    AckError, AckResponder, EmitError, Namespace, Payload, SioSession, SioSocket,
};
use serde_json::Value;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};
use thiserror::Error;

/// The failure text of a response whose controller, guard or hook panicked (the server goes
/// on; the panic is logged).
pub const E_INTERNAL: &str = "E_INTERNAL";

/// The failure text for an event whose endpoint was removed between routing and handling.
pub const E_NO_ENDPOINT: &str = "E_NO_ENDPOINT";

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
fn lock<T>(l: &Mutex<T>) -> MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

/// GOSF's `Request`: one incoming event (or, for the `connect` / `disconnect` hooks, the
/// connection event).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The endpoint (event name); `"connect"` / `"disconnect"` for the connection hooks.
    pub endpoint: String,
    /// The decoded message. For the connection hooks, and for an event whose arguments are
    /// not a message ([`invalid`](Request::invalid)), the default message (with whatever
    /// `id`/`guid`/`uuid` could be salvaged).
    pub message: Message,
    /// Why the event's arguments are not a message (`null`, not an object, a wrong field
    /// type…); such a request skips the controller and gets the error's failure response.
    pub invalid: Option<RequestError>,
}

impl Request {
    /// The request of a connection hook (`"connect"` / `"disconnect"`).
    pub fn connection(endpoint: &str) -> Request {
        Request { endpoint: endpoint.to_owned(), ..Request::default() }
    }
}

type ConnHook<H> = Arc<dyn Fn(&Client<H>, &Request) + Send + Sync>;
type RespHook<H> = Arc<dyn Fn(&Client<H>, &Request, Option<&Message>) + Send + Sync>;
type ClientBcHook<H> = Arc<dyn Fn(&Client<H>, &str, &str, &Message) + Send + Sync>;
type BcHook = Arc<dyn Fn(&str, &str, &Message) + Send + Sync>;
/// A request guard: `Some(response)` refuses the request, answering it with `response`
/// instead of calling the controller; `None` lets it through (see [`Hub::guard`]).
pub type Guard<H> = Arc<dyn Fn(&Client<H>, &Request, Instant) -> Option<Message> + Send + Sync>;

struct Hooks<H> {
    connect: Vec<ConnHook<H>>,
    disconnect: Vec<ConnHook<H>>,
    before_request: Vec<ConnHook<H>>,
    after_request: Vec<RespHook<H>>,
    before_response: Vec<RespHook<H>>,
    after_response: Vec<RespHook<H>>,
    before_client_broadcast: Vec<ClientBcHook<H>>,
    after_client_broadcast: Vec<ClientBcHook<H>>,
    before_broadcast: Vec<BcHook>,
    after_broadcast: Vec<BcHook>,
    guards: Vec<Guard<H>>,
}

impl<H> Default for Hooks<H> {
    fn default() -> Self {
        Hooks {
            connect: Vec::new(),
            disconnect: Vec::new(),
            before_request: Vec::new(),
            after_request: Vec::new(),
            before_response: Vec::new(),
            after_response: Vec::new(),
            before_client_broadcast: Vec::new(),
            after_client_broadcast: Vec::new(),
            before_broadcast: Vec::new(),
            after_broadcast: Vec::new(),
            guards: Vec::new(),
        }
    }
}

/// Runs `f`, catching a panic (logged with `what`); true if it returned normally.
fn guarded(what: &str, f: impl FnOnce()) -> bool {
    let ok = catch_unwind(AssertUnwindSafe(f)).is_ok();
    if !ok {
        tracing::error!("gosf: {what} panicked; going on");
    }
    ok
}

/// The framework's shared state: hooks and guards, the connected clients, the response
/// policy, the namespace the endpoints live on, and the app context. Runtimes' `App`s
/// dereference to it, so everything here is part of their API.
pub struct Hub<H> {
    hooks: RwLock<Hooks<H>>,
    clients: Mutex<HashMap<Arc<str>, Client<H>>>,
    namespace: RwLock<Option<Namespace<H>>>,
    policy: ResponsePolicy,
    data: RwLock<AppData>,
    extensions: Mutex<TypeMap>,
}

impl<H> fmt::Debug for Hub<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// Why a server-initiated request ([`Client::request`]) got no message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClientRequestError {
    /// The request could not be sent.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No answer within the timeout.
    #[error("the client did not answer in time")]
    Timeout,
    /// The client disconnected first.
    #[error("the client disconnected")]
    Disconnected,
    /// The client answered with something that is not a message.
    #[error(transparent)]
    Invalid(#[from] RequestError),
}

/// Reads a client's ack to a server-initiated request as a message.
pub fn reply_message(answer: Result<Payload, AckError>) -> Result<Message, ClientRequestError> {
    match answer {
        Ok(p) => Ok(Message::from_args(&p.args)?),
        Err(AckError::Timeout) => Err(ClientRequestError::Timeout),
        Err(AckError::Disconnected) => Err(ClientRequestError::Disconnected),
    }
}

/// How a runtime waits for a client's answer to a server-initiated request: a future on
/// tokio, a blocking call on std (see [`Client::request`]).
pub trait GosfSession: SioSession {
    /// What [`Client::request`] returns.
    type Reply;
    /// Emits `endpoint` with `[message]` and an ack, and waits the runtime's way for the
    /// answer read with [`reply_message`].
    fn request_message(
        socket: &SioSocket<Self>,
        endpoint: &str,
        message: Message,
        timeout: Option<Duration>,
    ) -> Self::Reply;
}

#[derive(Default)]
struct TypeMap(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl TypeMap {
    fn set<T: Any + Send + Sync>(&mut self, v: T) -> Option<T> {
        self.0.insert(TypeId::of::<T>(), Box::new(v)).and_then(|b| b.downcast().ok()).map(|b| *b)
    }
    fn get<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        self.0.get(&TypeId::of::<T>()).and_then(|b| b.downcast_ref::<T>()).cloned()
    }
    fn remove<T: Any + Send + Sync>(&mut self) -> Option<T> {
        self.0.remove(&TypeId::of::<T>()).and_then(|b| b.downcast().ok()).map(|b| *b)
    }
    fn with<T: Any + Send + Sync + Default, R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R {
        let b = self.0.entry(TypeId::of::<T>()).or_insert_with(|| Box::<T>::default());
        f(b.downcast_mut::<T>().expect("type map entry of its own type"))
    }
}

struct ClientState {
    session: Mutex<TypeMap>,
}

/// A connection's persistent handle (GOSF's `Client`, fixed: §11.5). Cheap to clone; every
/// request and hook of one connection gets the same client.
pub struct Client<H> {
    socket: SioSocket<H>,
    state: Arc<ClientState>,
    hub: Arc<Hub<H>>,
}

impl<H: Clone> Clone for Client<H> {
    fn clone(&self) -> Self {
        Client { socket: self.socket.clone(), state: self.state.clone(), hub: self.hub.clone() }
    }
}

impl<H: SioSession> fmt::Debug for Client<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("id", &self.id()).finish()
    }
}

impl<H: SioSession> Client<H> {
    /// The stable id: the Socket.IO socket id (the Engine.IO sid on `/`). Also the name of
    /// the client's own room.
    pub fn id(&self) -> &str {
        self.socket.id()
    }

    /// The underlying Socket.IO socket (for anything the framework does not wrap).
    pub fn socket(&self) -> &SioSocket<H> {
        &self.socket
    }

    /// The handshake request's data (query, headers, remote address, TLS…).
    pub fn handshake(&self) -> Arc<Handshake> {
        self.socket.handshake()
    }

    /// Whether the client is still connected.
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Joins `room` (a real, server-wide membership, §11.5).
    pub fn join(&self, room: &str) {
        self.socket.join(room);
    }

    /// Leaves `room`.
    pub fn leave(&self, room: &str) {
        self.socket.leave(room);
    }

    /// Leaves every room but the client's own-id room.
    pub fn leave_all(&self) {
        self.socket.leave_all();
    }

    /// The rooms the client is in (its own-id room included), sorted.
    pub fn rooms(&self) -> Vec<String> {
        let mut r = self.socket.rooms();
        r.sort();
        r
    }

    /// Stores `value` in the client's session storage (one value per type), returning the
    /// previous one.
    pub fn set<T: Any + Send + Sync>(&self, value: T) -> Option<T> {
        lock(&self.state.session).set(value)
    }

    /// A clone of the client's session value of type `T`.
    pub fn get<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        lock(&self.state.session).get()
    }

    /// Removes the client's session value of type `T`.
    pub fn remove<T: Any + Send + Sync>(&self) -> Option<T> {
        lock(&self.state.session).remove()
    }

    /// Runs `f` on the client's session value of type `T` (created with `T::default()` if
    /// absent), under the session's lock: keep it short and do not call back into this
    /// client's session from `f`.
    pub fn with_session<T: Any + Send + Sync + Default, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        lock(&self.state.session).with(f)
    }

    /// The message as it goes to clients (meta stripped unless exposed).
    fn outgoing(&self, message: &Message) -> Message {
        self.hub.outgoing(message)
    }

    /// Pushes `message` to this client as event `endpoint` (meta stripped unless exposed).
    pub fn emit(&self, endpoint: &str, message: &Message) -> Result<(), EmitError> {
        self.socket.emit(endpoint, event_args(&self.outgoing(message)))
    }

    /// A server-initiated request: emits `endpoint` with `message` and an ack, and waits (the
    /// runtime's way: a future on tokio, blocking on std) for the client's answer, read as a
    /// message. `None`: wait until the client disconnects.
    pub fn request(&self, endpoint: &str, message: &Message, timeout: Option<Duration>) -> H::Reply
    where
        H: GosfSession,
    {
        H::request_message(&self.socket, endpoint, self.outgoing(message), timeout)
    }

    /// GOSF's `Client.Broadcast`: emits `message` as event `endpoint` to the members of
    /// `room` except this client; `room == ""` means every client but this one (GOSF sent
    /// nothing, §11.13). Runs the client-broadcast hooks `(client, endpoint, room, message)`
    /// around the send. Returns how many clients it was queued for.
    pub fn broadcast(
        &self,
        room: &str,
        endpoint: &str,
        message: &Message,
    ) -> Result<usize, EmitError> {
        self.hub.fire_client_broadcast(true, self, endpoint, room, message);
        let b = if room.is_empty() { self.socket.broadcast() } else { self.socket.to(room) };
        let r = b.emit(endpoint, event_args(&self.outgoing(message)));
        self.hub.fire_client_broadcast(false, self, endpoint, room, message);
        r
    }

    /// Disconnects the client with a Socket.IO DISCONNECT packet (the client does not
    /// reconnect; GOSF just dropped the TCP connection, §11.12).
    pub fn disconnect(&self) {
        self.socket.disconnect();
    }

    /// Disconnects every namespace of the client and closes its connection.
    pub fn close(&self) {
        self.socket.disconnect_all();
    }

    /// The framework hub this client belongs to.
    pub fn hub(&self) -> &Arc<Hub<H>> {
        &self.hub
    }
}

/// How a routed request continues (see [`Hub::begin`]). Built and consumed once per
/// request, so the size difference of the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Step<C> {
    /// Answer with this response without calling a controller (invalid payload, a guard
    /// refused, a before-request hook panicked, the endpoint vanished).
    Respond(Request, Message),
    /// Call this controller with the request, then [`Hub::finish`].
    Call(C, Request),
}

/// The outcome of a controller call, for [`Hub::finish`].
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The controller returned (a response or none).
    Returned(Option<Message>),
    /// The controller panicked: answered with failure [`E_INTERNAL`].
    Panicked,
}

/// The endpoint table: endpoint name → the runtime's controller.
pub struct Endpoints<C> {
    map: RwLock<HashMap<String, C>>,
}

impl<C> Default for Endpoints<C> {
    fn default() -> Self {
        Endpoints { map: RwLock::new(HashMap::new()) }
    }
}

impl<C: Clone> Endpoints<C> {
    /// Registers `controller` for `endpoint` (replacing an earlier one), unless the name is
    /// [reserved](super::is_reserved_endpoint) or empty.
    pub fn insert(&self, endpoint: &str, controller: C) -> Result<(), FrameworkError> {
        check_endpoint_name(endpoint)?;
        write(&self.map).insert(endpoint.to_owned(), controller);
        Ok(())
    }
    /// Removes `endpoint`'s controller.
    pub fn remove(&self, endpoint: &str) -> Option<C> {
        write(&self.map).remove(endpoint)
    }
    /// `endpoint`'s controller.
    pub fn get(&self, endpoint: &str) -> Option<C> {
        read(&self.map).get(endpoint).cloned()
    }
    /// The registered endpoint names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = read(&self.map).keys().cloned().collect();
        v.sort();
        v
    }
}

impl<H: SioSession> Hub<H> {
    /// A hub with the response policy `policy` and app context `data`.
    pub fn new(policy: ResponsePolicy, data: AppData) -> Arc<Hub<H>> {
        Arc::new(Hub {
            hooks: RwLock::new(Hooks::default()),
            clients: Mutex::new(HashMap::new()),
            namespace: RwLock::new(None),
            policy,
            data: RwLock::new(data),
            extensions: Mutex::new(TypeMap::default()),
        })
    }

    /// The response policy (double delivery, meta exposure).
    pub fn policy(&self) -> ResponsePolicy {
        self.policy
    }

    fn outgoing(&self, message: &Message) -> Message {
        if self.policy.expose_meta {
            message.clone()
        } else {
            message.clone().without_meta()
        }
    }

    // ----- app context -----

    /// Runs `f` on the app context (environment, JSON configs), read-only.
    pub fn with_data<R>(&self, f: impl FnOnce(&AppData) -> R) -> R {
        f(&read(&self.data))
    }

    /// Runs `f` on the app context, mutably (e.g. `configs.load_str`).
    pub fn with_data_mut<R>(&self, f: impl FnOnce(&mut AppData) -> R) -> R {
        f(&mut write(&self.data))
    }

    /// An environment value (GOSF's `App.Env[name]`).
    pub fn env(&self, name: &str) -> Option<String> {
        read(&self.data).env.get(name).map(str::to_owned)
    }

    /// A loaded JSON configuration (GOSF's `GetConfig(name)`).
    pub fn config(&self, name: &str) -> Option<serde_json::Map<String, Value>> {
        read(&self.data).configs.get(name).cloned()
    }

    /// Stores an app-wide value of type `T` (one per type): where plugins and later
    /// components (the microservice registry) keep their state. Returns the previous one.
    pub fn set_extension<T: Any + Send + Sync>(&self, value: T) -> Option<T> {
        lock(&self.extensions).set(value)
    }

    /// A clone of the app-wide value of type `T`.
    pub fn extension<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        lock(&self.extensions).get()
    }

    // ----- hook registration (spec §5; documented argument order) -----

    /// `connect(client, request)`: a client connected (before any of its requests).
    pub fn on_connect(&self, f: impl Fn(&Client<H>, &Request) + Send + Sync + 'static) {
        write(&self.hooks).connect.push(Arc::new(f));
    }
    /// `disconnect(client, request)`: the client's connection closed (after its last
    /// request; rooms already left; no framework lock held).
    pub fn on_disconnect(&self, f: impl Fn(&Client<H>, &Request) + Send + Sync + 'static) {
        write(&self.hooks).disconnect.push(Arc::new(f));
    }
    /// `before-request(client, request)`.
    pub fn on_before_request(&self, f: impl Fn(&Client<H>, &Request) + Send + Sync + 'static) {
        write(&self.hooks).before_request.push(Arc::new(f));
    }
    /// `after-request(client, request, response)`: the controller's response as returned.
    pub fn on_after_request(
        &self,
        f: impl Fn(&Client<H>, &Request, Option<&Message>) + Send + Sync + 'static,
    ) {
        write(&self.hooks).after_request.push(Arc::new(f));
    }
    /// `before-response(client, request, response)`: just before sending (response as
    /// returned).
    pub fn on_before_response(
        &self,
        f: impl Fn(&Client<H>, &Request, Option<&Message>) + Send + Sync + 'static,
    ) {
        write(&self.hooks).before_response.push(Arc::new(f));
    }
    /// `after-response(client, request, response)`: the response as sent (ids echoed, meta
    /// stripped unless exposed), after the event, before the ack.
    pub fn on_after_response(
        &self,
        f: impl Fn(&Client<H>, &Request, Option<&Message>) + Send + Sync + 'static,
    ) {
        write(&self.hooks).after_response.push(Arc::new(f));
    }
    /// `before-client-broadcast(client, endpoint, room, message)`.
    pub fn on_before_client_broadcast(
        &self,
        f: impl Fn(&Client<H>, &str, &str, &Message) + Send + Sync + 'static,
    ) {
        write(&self.hooks).before_client_broadcast.push(Arc::new(f));
    }
    /// `after-client-broadcast(client, endpoint, room, message)`.
    pub fn on_after_client_broadcast(
        &self,
        f: impl Fn(&Client<H>, &str, &str, &Message) + Send + Sync + 'static,
    ) {
        write(&self.hooks).after_client_broadcast.push(Arc::new(f));
    }
    /// `before-broadcast(endpoint, room, message)`.
    pub fn on_before_broadcast(&self, f: impl Fn(&str, &str, &Message) + Send + Sync + 'static) {
        write(&self.hooks).before_broadcast.push(Arc::new(f));
    }
    /// `after-broadcast(endpoint, room, message)`.
    pub fn on_after_broadcast(&self, f: impl Fn(&str, &str, &Message) + Send + Sync + 'static) {
        write(&self.hooks).after_broadcast.push(Arc::new(f));
    }

    /// Registers a request guard (beyond GOSF; what the rate-limit and permission plugins
    /// use): guards run after the before-request hooks, in registration order, with the
    /// runtime's current time; the first that returns `Some(response)` refuses the request:
    /// it is answered with that response and the controller is skipped (the remaining hooks
    /// still run). `None` lets the request through.
    pub fn guard(
        &self,
        f: impl Fn(&Client<H>, &Request, Instant) -> Option<Message> + Send + Sync + 'static,
    ) {
        write(&self.hooks).guards.push(Arc::new(f));
    }

    fn conn_hooks(&self, hook: Hook) -> Vec<ConnHook<H>> {
        let h = read(&self.hooks);
        match hook {
            Hook::Connect => h.connect.clone(),
            Hook::Disconnect => h.disconnect.clone(),
            _ => h.before_request.clone(),
        }
    }

    fn resp_hooks(&self, hook: Hook) -> Vec<RespHook<H>> {
        let h = read(&self.hooks);
        match hook {
            Hook::AfterRequest => h.after_request.clone(),
            Hook::BeforeResponse => h.before_response.clone(),
            _ => h.after_response.clone(),
        }
    }

    /// Runs the `(client, request)` hooks of `hook`; false if one panicked.
    fn fire_conn(&self, hook: Hook, client: &Client<H>, request: &Request) -> bool {
        let mut ok = true;
        for f in self.conn_hooks(hook) {
            ok &= guarded(hook.as_str(), || f(client, request));
        }
        ok
    }

    fn fire_resp(
        &self,
        hook: Hook,
        client: &Client<H>,
        req: &Request,
        resp: Option<&Message>,
    ) -> bool {
        let mut ok = true;
        for f in self.resp_hooks(hook) {
            ok &= guarded(hook.as_str(), || f(client, req, resp));
        }
        ok
    }

    fn fire_client_broadcast(
        &self,
        before: bool,
        client: &Client<H>,
        endpoint: &str,
        room: &str,
        message: &Message,
    ) {
        let hooks = {
            let h = read(&self.hooks);
            if before {
                h.before_client_broadcast.clone()
            } else {
                h.after_client_broadcast.clone()
            }
        };
        let name = if before { Hook::BeforeClientBroadcast } else { Hook::AfterClientBroadcast };
        for f in hooks {
            guarded(name.as_str(), || f(client, endpoint, room, message));
        }
    }

    fn fire_broadcast(&self, before: bool, endpoint: &str, room: &str, message: &Message) {
        let hooks = {
            let h = read(&self.hooks);
            if before {
                h.before_broadcast.clone()
            } else {
                h.after_broadcast.clone()
            }
        };
        let name = if before { Hook::BeforeBroadcast } else { Hook::AfterBroadcast };
        for f in hooks {
            guarded(name.as_str(), || f(endpoint, room, message));
        }
    }

    // ----- clients -----

    /// Sets the namespace the framework serves (the runtime does, at startup).
    pub fn attach(&self, namespace: Namespace<H>) {
        *write(&self.namespace) = Some(namespace);
    }

    /// A new connection on the framework's namespace: its persistent client, registered
    /// (the runtime then routes its endpoints and calls [`connected`](Hub::connected)).
    pub fn register(self: &Arc<Self>, socket: SioSocket<H>) -> Client<H> {
        let client = Client {
            socket,
            state: Arc::new(ClientState { session: Mutex::new(TypeMap::default()) }),
            hub: self.clone(),
        };
        lock(&self.clients).insert(client.id().into(), client.clone());
        client
    }

    /// Runs the `connect` hooks for a registered client.
    pub fn connected(&self, client: &Client<H>) {
        self.fire_conn(Hook::Connect, client, &Request::connection("connect"));
    }

    /// The client's connection closed: unregisters it, then runs the `disconnect` hooks
    /// (no lock held). Call it after the client's last request finished.
    pub fn disconnected(&self, client: &Client<H>) {
        lock(&self.clients).remove(client.id());
        self.fire_conn(Hook::Disconnect, client, &Request::connection("disconnect"));
    }

    /// A snapshot of the connected clients, sorted by id.
    pub fn clients(&self) -> Vec<Client<H>> {
        let mut v: Vec<Client<H>> = lock(&self.clients).values().cloned().collect();
        v.sort_by(|a, b| a.id().cmp(b.id()));
        v
    }

    /// The connected client with id `id`.
    pub fn client(&self, id: &str) -> Option<Client<H>> {
        lock(&self.clients).get(id).cloned()
    }

    /// Pushes `message` as event `endpoint` to the client with id `id`.
    pub fn emit_to(&self, id: &str, endpoint: &str, message: &Message) -> Result<(), EmitError> {
        self.client(id).ok_or(EmitError::NotConnected)?.emit(endpoint, message)
    }

    /// GOSF's `Broadcast`: emits `message` as event `endpoint` to every client (`room ==
    /// ""`) or to the members of `room`, the caller's own connection included. Runs the
    /// broadcast hooks `(endpoint, room, message)` around the send. Returns how many
    /// clients it was queued for (0 before startup).
    pub fn broadcast(
        &self,
        room: &str,
        endpoint: &str,
        message: &Message,
    ) -> Result<usize, EmitError> {
        self.fire_broadcast(true, endpoint, room, message);
        let ns = read(&self.namespace).clone();
        let r = match ns {
            None => Ok(0),
            Some(ns) => {
                let b = if room.is_empty() { ns.broadcast() } else { ns.to(room) };
                b.emit(endpoint, event_args(&self.outgoing(message)))
            }
        };
        self.fire_broadcast(false, endpoint, room, message);
        r
    }

    // ----- the request/response cycle (spec §4.2, §12) -----

    /// First half of a request: decodes the event's arguments ([`Message::from_args`]),
    /// runs the `before-request` hooks and the guards, and looks up the controller. A
    /// runtime calls it from the client's ordered executor, then calls the controller (for
    /// [`Step::Call`]) catching panics, then [`finish`](Hub::finish).
    pub fn begin<C: Clone>(
        &self,
        endpoints: &Endpoints<C>,
        client: &Client<H>,
        endpoint: &str,
        args: &[Value],
        now: Instant,
    ) -> Step<C> {
        let mut request = Request { endpoint: endpoint.to_owned(), ..Request::default() };
        let mut early = match Message::from_args(args) {
            Ok(m) => {
                request.message = m;
                None
            }
            Err(e) => {
                let c = Correlation::salvage(args);
                request.message =
                    Message { id: c.id, guid: c.guid, uuid: c.uuid, ..Message::default() };
                let r = e.to_response();
                request.invalid = Some(e);
                Some(r)
            }
        };
        if !self.fire_conn(Hook::BeforeRequest, client, &request) && early.is_none() {
            early = Some(Message::fail().text(E_INTERNAL));
        }
        if early.is_none() {
            let guards = read(&self.hooks).guards.clone();
            for g in guards {
                let mut verdict = None;
                if !guarded("a request guard", || verdict = g(client, &request, now)) {
                    verdict = Some(Message::fail().text(E_INTERNAL));
                }
                if let Some(m) = verdict {
                    early = Some(m);
                    break;
                }
            }
        }
        if let Some(m) = early {
            return Step::Respond(request, m);
        }
        match endpoints.get(endpoint) {
            Some(c) => Step::Call(c, request),
            None => Step::Respond(request, Message::fail().text(E_NO_ENDPOINT)),
        }
    }

    /// Second half of a request: `after-request` and `before-response` hooks, the response
    /// prepared ([`prepare_response`]: ids echoed, meta stripped unless exposed), the event on
    /// the endpoint (per the [`ResponsePolicy`]), the `after-response` hooks, then the ack.
    /// A hook that panics turns the response into failure [`E_INTERNAL`].
    pub fn finish(
        &self,
        client: &Client<H>,
        request: &Request,
        outcome: Outcome,
        ack: Option<AckResponder<H>>,
    ) {
        let mut response = match outcome {
            Outcome::Returned(r) => r,
            Outcome::Panicked => {
                tracing::error!("gosf: the controller of {:?} panicked", request.endpoint);
                Some(Message::fail().text(E_INTERNAL))
            }
        };
        let internal = || Some(Message::fail().text(E_INTERNAL));
        if !self.fire_resp(Hook::AfterRequest, client, request, response.as_ref()) {
            response = internal();
        }
        if !self.fire_resp(Hook::BeforeResponse, client, request, response.as_ref()) {
            response = internal();
        }
        let prepared =
            response.map(|r| prepare_response(r, &Correlation::of(&request.message), self.policy));
        let delivery = self.policy.delivery(ack.is_some(), prepared.is_some());
        if let (true, Some(p)) = (delivery.event, &prepared) {
            let _ = client.socket.emit(&request.endpoint, event_args(p));
        }
        self.fire_resp(Hook::AfterResponse, client, request, prepared.as_ref());
        if let (true, Some(ack)) = (delivery.ack, ack) {
            let _ = ack.send(ack_args(prepared.as_ref()), Vec::new());
        }
    }

    /// The whole cycle for a synchronous controller (the std runtime; tokio's sync
    /// controllers too): [`begin`](Hub::begin), the controller with panics caught,
    /// [`finish`](Hub::finish).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_sync<C: Clone>(
        &self,
        endpoints: &Endpoints<C>,
        client: &Client<H>,
        endpoint: &str,
        payload: Payload,
        ack: Option<AckResponder<H>>,
        now: Instant,
        call: impl FnOnce(C, &Client<H>, &Request) -> Option<Message>,
    ) {
        match self.begin(endpoints, client, endpoint, &payload.args, now) {
            Step::Respond(req, m) => self.finish(client, &req, Outcome::Returned(Some(m)), ack),
            Step::Call(c, req) => {
                let outcome = match catch_unwind(AssertUnwindSafe(|| call(c, client, &req))) {
                    Ok(r) => Outcome::Returned(r),
                    Err(_) => Outcome::Panicked,
                };
                self.finish(client, &req, outcome, ack);
            }
        }
    }
}

/// Why the framework server could not start (both runtimes).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] super::ConfigError),
    /// Binding or serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// `secure` is set but the certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// Started twice.
    #[error("the server is already started")]
    AlreadyStarted,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_refuse_reserved_and_empty_names() {
        let e: Endpoints<u8> = Endpoints::default();
        for name in ["connection", "disconnection", "connect", "disconnect", "error", "ping"] {
            assert_eq!(e.insert(name, 1), Err(FrameworkError::ReservedEndpoint(name.into())));
        }
        assert_eq!(e.insert("", 1), Err(FrameworkError::EmptyEndpoint));
        e.insert("b", 1).unwrap();
        e.insert("a", 2).unwrap();
        e.insert("b", 3).unwrap();
        assert_eq!(e.names(), ["a", "b"]);
        assert_eq!(e.get("b"), Some(3), "a later listen replaces");
        assert_eq!(e.remove("a"), Some(2));
        assert_eq!(e.get("a"), None);
    }

    #[test]
    fn type_map_one_value_per_type() {
        let mut m = TypeMap::default();
        assert_eq!(m.set(5u32), None);
        assert_eq!(m.set(String::from("s")), None);
        assert_eq!(m.set(6u32), Some(5));
        assert_eq!(m.get::<u32>(), Some(6));
        assert_eq!(m.get::<String>().as_deref(), Some("s"));
        assert_eq!(
            m.with(|v: &mut Vec<u8>| {
                v.push(1);
                v.len()
            }),
            1
        );
        assert_eq!(m.remove::<Vec<u8>>(), Some(vec![1]));
        assert_eq!(m.get::<u64>(), None);
    }

    #[test]
    fn client_replies_read_as_messages() {
        let ok =
            Payload { args: vec![serde_json::json!({"success": true, "text": "t"})], bins: vec![] };
        assert_eq!(reply_message(Ok(ok)).unwrap(), Message::ok().text("t"));
        let null = Payload { args: vec![Value::Null], bins: vec![] };
        assert_eq!(
            reply_message(Ok(null)),
            Err(ClientRequestError::Invalid(RequestError::NullMessage))
        );
        assert_eq!(reply_message(Err(AckError::Timeout)), Err(ClientRequestError::Timeout));
        assert_eq!(
            reply_message(Err(AckError::Disconnected)),
            Err(ClientRequestError::Disconnected)
        );
    }

    #[test]
    fn connection_requests() {
        let r = Request::connection("connect");
        assert_eq!(
            (r.endpoint.as_str(), &r.message, &r.invalid),
            ("connect", &Message::default(), &None)
        );
    }
}
