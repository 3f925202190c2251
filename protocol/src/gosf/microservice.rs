//! The runtime-independent part of GOSF's microservices (spec §10): named outgoing Socket.IO
//! v2 connections used as RPC with the [`Message`] envelope. The runtimes
//! (`glue_tokio::gosf::Microservice`, `glue_std::gosf::Microservice`) drive the connection
//! with their Socket.IO client; this module holds what they share: the options
//! ([`MicroserviceOptions`]), the errors ([`MicroserviceError`]), reading a call's answer
//! ([`read_response`]), the table of calls in flight ([`Calls`]) and the app's registry
//! ([`Registry`]).
//!
//! Semantics (fixing §11.16 and §11.2):
//!
//! * One connection per microservice (GOSF's fixed pool of 2 is not reproduced: Socket.IO
//!   multiplexes acks on one connection), any Socket.IO v2 server speaking the envelope
//!   (ours, or Node `socket.io@2.5.1`), configurable path (default `/socket.io/`), call
//!   timeout (default [`DEFAULT_CALL_TIMEOUT`], 2 s) and every client option
//!   ([`MicroserviceOptions::client`]), reconnection with backoff on by default.
//! * `call(endpoint, message)` emits `42<n>["endpoint",message]` and reads the ack's first
//!   argument as the response ([`read_response`]): [`MicroserviceError::Timeout`] when no
//!   answer came in time (a later answer is dropped), [`MicroserviceError::NotConnected`]
//!   at once when the connection is down (nothing is sent or buffered),
//!   [`MicroserviceError::Disconnected`] as soon as the connection is lost while waiting,
//!   [`MicroserviceError::BadResponse`] for an ack that is not one message object (`null`
//!   included, which GOSF turned into an empty message).
//! * `lob(endpoint, message)` reports what can be known locally ([`MicroserviceError::NotConnected`],
//!   a refused packet) instead of GOSF's silent loss; a packet handed to a transport that
//!   then dies is still lost (no ack means no delivery receipt: use `call` for that).
//! * `listen(endpoint, handler)` handlers receive the pushed [`Message`]; pushes that are not
//!   a message are logged and dropped, a panicking handler is caught; handlers stay
//!   registered across reconnections and across `disconnect` / `connect`.
//! * A server DISCONNECT (`io server disconnect`), after which socket.io-client stops,
//!   is followed by a new connection after [`MicroserviceOptions::client`]'s
//!   `reconnection_delay` while the microservice is wanted connected
//!   ([`reconnects_after`]).

use super::error::RequestError;
use super::Message;
#[cfg(doc)]
use crate::sio::client::TlsVerify;
use crate::sio::client::{
    DisconnectReason, SioClientError, SioClientOptions, TlsClientOptions, Transports,
};
use bytes::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

/// GOSF's fixed call timeout, our default: 2 s.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// How to reach a microservice and how long to wait for it.
///
/// ```
/// use glue_protocol::gosf::microservice::MicroserviceOptions;
/// use std::time::Duration;
///
/// let o = MicroserviceOptions::new("http://127.0.0.1:9999")
///     .path("/api/socket.io/")
///     .call_timeout(Duration::from_millis(500));
/// assert_eq!(o.client.path, "/api/socket.io/");
/// assert!(o.client.reconnection);
/// ```
#[derive(Debug, Clone)]
pub struct MicroserviceOptions {
    /// `http(s)://host:port[/namespace][?query]` (the namespace defaults to `/`); `https`
    /// connects over TLS (`wss`), verified as [`tls`](MicroserviceOptions::tls) says.
    pub url: String,
    /// How long a runtime's `call` waits for the answer. Default [`DEFAULT_CALL_TIMEOUT`].
    pub call_timeout: Duration,
    /// The Socket.IO client's options, passed through unchanged: `path` (default
    /// `/socket.io/`), reconnection and its backoff (on; 1 s doubling to 5 s), headers, and
    /// whatever TLS settings the client gains. Default: the client's defaults with
    /// [`Transports::WebSocketOnly`] (as GOSF: one WebSocket, no polling round trips).
    pub client: SioClientOptions,
}

impl MicroserviceOptions {
    /// The defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        MicroserviceOptions {
            url: url.into(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            client: SioClientOptions {
                transports: Transports::WebSocketOnly,
                ..SioClientOptions::default()
            },
        }
    }

    /// Sets the Engine.IO path (`/socket.io/` by default; GOSF could not change it).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.client.path = path.into();
        self
    }

    /// Sets the default call timeout.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Switches automatic reconnection on or off (on by default).
    pub fn reconnection(mut self, on: bool) -> Self {
        self.client.reconnection = on;
        self
    }

    /// Sets the first and the largest reconnection delay (1 s and 5 s by default).
    pub fn reconnection_delay(mut self, first: Duration, max: Duration) -> Self {
        self.client.reconnection_delay = first;
        self.client.reconnection_delay_max = max;
        self
    }

    /// Sets how an `https` service's certificate is verified (default: the WebPKI roots and
    /// the URL's host name; [`TlsVerify::CustomRootsPem`] for a private CA,
    /// [`TlsVerify::Insecure`] only for tests) — GOSF's `rejectInvalidHostnames`.
    pub fn tls(mut self, tls: TlsClientOptions) -> Self {
        self.client.tls = tls;
        self
    }

    /// Sets the transports (WebSocket only by default).
    pub fn transports(mut self, transports: Transports) -> Self {
        self.client.transports = transports;
        self
    }

    /// Checks the URL and the options as the client will read them.
    pub fn validate(&self) -> Result<(), MicroserviceError> {
        self.client
            .build(&self.url)
            .map(|_| ())
            .map_err(|e| MicroserviceError::InvalidUrl(format!("{}: {e}", self.url)))
    }
}

/// Why a microservice operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MicroserviceError {
    /// The URL or options cannot be used (see the text).
    #[error("invalid microservice URL {0}")]
    InvalidUrl(String),
    /// The client could not be started.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// [`Registry::insert`]: the name is taken.
    #[error("microservice {0:?} is already registered")]
    Duplicate(String),
    /// The connection is down (not connected yet, reconnecting, or disconnected on purpose):
    /// nothing was sent.
    #[error("the microservice is not connected")]
    NotConnected,
    /// The connection was lost while waiting for the answer.
    #[error("the microservice disconnected before answering")]
    Disconnected,
    /// No answer within this timeout; a later answer is dropped.
    #[error("the microservice did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer is not one message object.
    #[error("bad response from the microservice: {0}")]
    BadResponse(RequestError),
    /// The client refused the packet (e.g. a reserved event name).
    #[error(transparent)]
    Emit(#[from] SioClientError),
    /// A blocking call from the microservice client's own thread (a `listen` handler of the
    /// std runtime), which would wait for itself: nothing was sent.
    #[error("a blocking call from the microservice's own client thread would deadlock")]
    WouldBlock,
}

/// A call's answer (the ack's arguments) as the response message: exactly one message
/// object, else [`MicroserviceError::BadResponse`].
///
/// ```
/// use glue_protocol::gosf::microservice::{read_response, MicroserviceError};
/// use serde_json::json;
///
/// let m = read_response(&[json!({"success": true, "text": "hi"})]).unwrap();
/// assert!(m.success && m.text == "hi");
/// assert!(matches!(read_response(&[json!(null)]), Err(MicroserviceError::BadResponse(_))));
/// assert!(matches!(read_response(&[]), Err(MicroserviceError::BadResponse(_))));
/// ```
pub fn read_response(args: &[Value]) -> Result<Message, MicroserviceError> {
    Message::from_args(args).map_err(MicroserviceError::BadResponse)
}

/// Whether the microservice connects again by itself after this disconnection while it is
/// wanted connected: only after a server DISCONNECT, the one case socket.io-client does not
/// retry (engine losses are retried by the client's own backoff; a client disconnect is ours).
pub fn reconnects_after(reason: &str) -> bool {
    reason == DisconnectReason::ServerDisconnect.as_str()
}

/// The calls in flight of one microservice connection: how each waiter is told
/// [`MicroserviceError::Disconnected`] when the connection drops (the client itself keeps
/// pending acks across reconnections, so without this a call would wait for its timeout).
/// `S` is the runtime's one-shot sender.
#[derive(Debug)]
pub struct Calls<S> {
    next: u64,
    waiting: HashMap<u64, S>,
}

impl<S> Default for Calls<S> {
    fn default() -> Self {
        Calls { next: 0, waiting: HashMap::new() }
    }
}

impl<S> Calls<S> {
    /// Adds a waiter; returns its key.
    pub fn insert(&mut self, waiter: S) -> u64 {
        self.next += 1;
        self.waiting.insert(self.next, waiter);
        self.next
    }

    /// Removes a waiter (its call ended).
    pub fn remove(&mut self, key: u64) -> Option<S> {
        self.waiting.remove(&key)
    }

    /// Every waiter (the connection dropped).
    pub fn drain(&mut self) -> Vec<S> {
        self.waiting.drain().map(|(_, s)| s).collect()
    }

    /// How many calls wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether no call waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// The app's microservices by name (GOSF's `App.Microservices`), stored in the app context
/// with [`Hub::set_extension`](super::Hub::set_extension). Cheap to clone (shared).
#[derive(Debug)]
pub struct Registry<M> {
    map: Arc<Mutex<BTreeMap<String, M>>>,
}

impl<M> Clone for Registry<M> {
    fn clone(&self) -> Self {
        Registry { map: self.map.clone() }
    }
}

impl<M> Default for Registry<M> {
    fn default() -> Self {
        Registry { map: Arc::new(Mutex::new(BTreeMap::new())) }
    }
}

impl<M: Clone> Registry<M> {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, M>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `value` under `name`; [`MicroserviceError::Duplicate`] if the name is taken.
    pub fn insert(&self, name: &str, value: M) -> Result<(), MicroserviceError> {
        let mut map = self.lock();
        if map.contains_key(name) {
            return Err(MicroserviceError::Duplicate(name.to_owned()));
        }
        map.insert(name.to_owned(), value);
        Ok(())
    }

    /// The entry `name`.
    pub fn get(&self, name: &str) -> Option<M> {
        self.lock().get(name).cloned()
    }

    /// Removes and returns the entry `name` (`None`, not a panic, for an unknown name).
    pub fn remove(&self, name: &str) -> Option<M> {
        self.lock().remove(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Removes and returns every entry, by name.
    pub fn drain(&self) -> Vec<(String, M)> {
        std::mem::take(&mut *self.lock()).into_iter().collect()
    }
}

/// A handler of the events one endpoint pushes.
pub type Listener = Arc<dyn Fn(Message) + Send + Sync>;

/// The event handler that runs `handler` for each push on `endpoint` of microservice `name`:
/// a push that is not one message object is logged and dropped; a panic is caught and logged.
/// `R` is the runtime's ack responder (ignored).
pub fn listener_event<R>(
    name: &str,
    endpoint: &str,
    handler: Listener,
) -> impl Fn(Vec<Value>, Vec<Bytes>, Option<R>) + Send + Sync + 'static {
    let (name, ep) = (name.to_owned(), endpoint.to_owned());
    move |args, _, _| match Message::from_args(&args) {
        Ok(m) => {
            if catch_unwind(AssertUnwindSafe(|| handler(m))).is_err() {
                tracing::warn!("microservice {name}: the `{ep}` listener panicked");
            }
        }
        Err(e) => tracing::warn!("microservice {name}: `{ep}` push dropped: {e}"),
    }
}

/// The bookkeeping of one microservice connection, kept under the runtime's lock: its client
/// `C` (from `connect` until `disconnect`), the generation its handlers check, whether it is
/// wanted connected, the listeners (kept across clients) and the calls in flight (waiters `W`).
pub struct Link<C, W> {
    client: Option<C>,
    /// Bumped by every new client and by `disconnect`: handlers of an older client ignore
    /// their events.
    generation: u64,
    /// `connect` was called and `disconnect` was not.
    wanted: bool,
    listeners: BTreeMap<String, Listener>,
    /// Calls waiting for an answer: told when the connection drops.
    pub calls: Calls<W>,
}

impl<C, W> Default for Link<C, W> {
    fn default() -> Self {
        Link {
            client: None,
            generation: 0,
            wanted: false,
            listeners: BTreeMap::new(),
            calls: Calls::default(),
        }
    }
}

impl<C, W> Link<C, W> {
    /// The client, if any.
    pub fn client(&self) -> Option<&C> {
        self.client.as_ref()
    }

    /// `connect` was called: marks the link wanted; the current client, if any (else the
    /// runtime starts one and hands it to [`attach`](Self::attach)).
    pub fn want(&mut self) -> Option<&C> {
        self.wanted = true;
        self.client.as_ref()
    }

    /// Adopts a new client under a new generation: `on_generation(client, generation)` sets
    /// the client's own handlers, then `install(client, endpoint, listener)` is called for
    /// each listener.
    pub fn attach(
        &mut self,
        client: C,
        on_generation: impl FnOnce(&C, u64),
        mut install: impl FnMut(&C, &str, Listener),
    ) {
        self.generation += 1;
        on_generation(&client, self.generation);
        for (endpoint, handler) in &self.listeners {
            install(&client, endpoint, handler.clone());
        }
        self.client = Some(client);
    }

    /// Whether handlers of `generation` are the current client's.
    pub fn is_current(&self, generation: u64) -> bool {
        self.generation == generation
    }

    /// `disconnect`: unwanted, a new generation; the client to close and the calls to tell.
    pub fn release(&mut self) -> (Option<C>, Vec<W>) {
        self.wanted = false;
        self.generation += 1;
        (self.client.take(), self.calls.drain())
    }

    /// The client of `generation` disconnected with `reason`: the calls to tell and whether
    /// to connect again after the reconnection delay (`None`: an older client, ignore).
    pub fn lost(&mut self, generation: u64, reason: &str) -> Option<(Vec<W>, bool)> {
        if self.generation != generation {
            return None;
        }
        Some((self.calls.drain(), self.wanted && reconnects_after(reason)))
    }

    /// After the reconnection delay: the client to connect again, if it is still
    /// `generation`'s and wanted.
    pub fn reconnect_target(&self, generation: u64) -> Option<&C> {
        if self.generation == generation && self.wanted {
            self.client.as_ref()
        } else {
            None
        }
    }

    /// Sets the listener of `endpoint` (replacing an earlier one); the current client, to
    /// install it on.
    pub fn listen(&mut self, endpoint: &str, handler: Listener) -> Option<&C> {
        self.listeners.insert(endpoint.to_owned(), handler);
        self.client.as_ref()
    }

    /// The client if `is_connected` says it is up, else [`MicroserviceError::NotConnected`].
    pub fn connected(&self, is_connected: impl Fn(&C) -> bool) -> Result<&C, MicroserviceError> {
        match &self.client {
            Some(c) if is_connected(c) => Ok(c),
            _ => Err(MicroserviceError::NotConnected),
        }
    }
}

/// What the app registry needs of a runtime's microservice handle.
pub trait MicroserviceHandle: Clone + Sized {
    /// A microservice `name` for `options`, not connected yet.
    fn create(name: &str, options: MicroserviceOptions) -> Result<Self, MicroserviceError>;
    /// Starts connecting.
    fn connect(&self) -> Result<(), MicroserviceError>;
    /// Closes the connection.
    fn disconnect(&self);
}

impl<M: MicroserviceHandle> Registry<M> {
    /// GOSF's `RegisterMicroservice`: creates `name`, stores it (refused, and not stored: a
    /// taken name or a bad URL), then starts connecting it.
    pub fn register(
        &self,
        name: &str,
        options: MicroserviceOptions,
    ) -> Result<M, MicroserviceError> {
        let ms = M::create(name, options)?;
        self.insert(name, ms.clone())?;
        ms.connect()?;
        Ok(ms)
    }

    /// GOSF's `DeregisterMicroservice`: removes and disconnects `name`.
    pub fn deregister(&self, name: &str) -> Option<M> {
        let ms = self.remove(name)?;
        ms.disconnect();
        Some(ms)
    }

    /// Disconnects every entry (they stay registered).
    pub fn disconnect_all(&self) {
        for name in self.names() {
            if let Some(ms) = self.get(&name) {
                ms.disconnect();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_defaults_and_validation() {
        let o = MicroserviceOptions::new("http://127.0.0.1:1");
        assert_eq!(o.call_timeout, Duration::from_secs(2));
        assert_eq!(o.client.path, "/socket.io/");
        assert_eq!(o.client.transports, Transports::WebSocketOnly);
        assert!(o.client.reconnection);
        assert!(o.validate().is_ok());
        let bad = MicroserviceOptions::new("nope");
        assert!(matches!(bad.validate(), Err(MicroserviceError::InvalidUrl(_))));
    }

    #[test]
    fn responses() {
        assert_eq!(read_response(&[json!({"id": 2})]).unwrap().id, 2);
        assert!(matches!(
            read_response(&[json!({}), json!({})]),
            Err(MicroserviceError::BadResponse(RequestError::ExtraArguments(2)))
        ));
        assert!(matches!(
            read_response(&[json!("x")]),
            Err(MicroserviceError::BadResponse(RequestError::NotAnObject(_)))
        ));
        assert!(reconnects_after("io server disconnect"));
        assert!(!reconnects_after("transport close"));
        assert!(!reconnects_after("io client disconnect"));
    }

    #[test]
    fn calls_and_registry() {
        let mut calls = Calls::default();
        let (a, b) = (calls.insert('a'), calls.insert('b'));
        assert_ne!(a, b);
        assert_eq!(calls.remove(a), Some('a'));
        assert_eq!(calls.remove(a), None);
        assert_eq!(calls.drain(), vec!['b']);
        assert!(calls.is_empty());

        let r = Registry::default();
        r.insert("svc", 1).unwrap();
        assert_eq!(r.insert("svc", 2), Err(MicroserviceError::Duplicate("svc".into())));
        assert_eq!(r.get("svc"), Some(1));
        assert_eq!(r.clone().remove("svc"), Some(1));
        assert_eq!(r.remove("svc"), None, "unknown names are no panic");
        r.insert("a", 1).unwrap();
        r.insert("b", 2).unwrap();
        assert_eq!(r.names(), ["a", "b"]);
        assert_eq!(r.drain(), vec![("a".into(), 1), ("b".into(), 2)]);
        assert!(r.names().is_empty());
    }
}
