//! The Socket.IO v2 client (socket.io-client 2.x semantics) over Engine.IO polling and
//! WebSocket, blocking: one driver thread per client.
//!
//! ```no_run
//! use glue_std::sio_client::{json, SioClient, SioClientOptions};
//!
//! let client = SioClient::connect("http://127.0.0.1:3000", SioClientOptions::default())?;
//! client.on("message-back", |args, _bins, _ack| println!("got {args:?}"));
//! client.emit("message", vec![json!("hello")], vec![])?; // buffered until connected
//! let (answer, _bins) = client.emit_with_ack("message-with-ack", vec![json!(1)], vec![])?;
//! let chat = client.socket("/chat")?;
//! chat.on_connect(|| println!("chat connected"));
//! client.close();
//! # let _ = answer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`SioClient::connect`] returns at once; a spawned thread runs the sans-IO
//! [`SioClient`](glue_protocol::sio::client::SioClient) machine: it performs its HTTP requests
//! (each on its own TCP connection and thread) and WebSockets (one reader thread each; writes
//! go out from the driver thread), sleeps until the machine's deadlines with `recv_timeout`,
//! and calls the handlers. Handlers run on the driver thread and must not block; they may call
//! any method except the blocking [`Socket::emit_with_ack`] (which returns
//! [`AckError::WouldBlock`] there; use [`Socket::emit_with_ack_then`]).
//!
//! The client works until [`SioClient::close`], or until every namespace has disconnected
//! (then a new [`Socket::connect`] starts it again), or until every handle is dropped. Handler
//! closures that hold a handle keep the client alive: call `close` to end it.

use crate::tls::TlsClientConfig;
use crate::ws::{self, Message as WsMessage, WsSender};
use crate::{Error, OsEntropy};
use bytes::Bytes;
use glue_protocol::eio::client::{EioAction, RequestId};
use glue_protocol::http::{ClientConnection, Limits, Request};
use glue_protocol::sio::client::{SioClient as Machine, SioClientState};
use glue_protocol::sio::client_dispatch::{AckEnd, AckRefused, ClientCore, Idle};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::ops::Deref;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

pub use glue_protocol::sio::client::{
    DisconnectReason, NamespaceState, SioClientError, SioClientEvent, SioClientOptions,
    TlsClientOptions, TlsVerify, Transports,
};
pub use glue_protocol::sio::serde_json::{self, json, Value};

/// Why [`Socket::emit_with_ack`] produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The packet was refused (see the inner error).
    #[error(transparent)]
    Emit(#[from] SioClientError),
    /// No answer within the ack timeout.
    #[error("ack timed out")]
    Timeout,
    /// The namespace closed for good, or the client stopped.
    #[error("ack cancelled")]
    Cancelled,
    /// [`Socket::emit_with_ack`] was called on the client's own thread (in a handler), where
    /// waiting would block the client forever. Nothing was sent.
    #[error("emit_with_ack would block the client thread")]
    WouldBlock,
}

/// The answer to an ack request: its arguments and binary values.
pub type AckResult = Result<(Vec<Value>, Vec<Bytes>), AckError>;
type State = glue_protocol::sio::client_dispatch::ClientState<AckResponder>;

impl From<AckEnd> for AckError {
    fn from(e: AckEnd) -> Self {
        match e {
            AckEnd::Timeout => AckError::Timeout,
            AckEnd::Cancelled => AckError::Cancelled,
        }
    }
}

impl From<AckRefused> for AckError {
    fn from(e: AckRefused) -> Self {
        match e {
            AckRefused::Stopped => AckError::Cancelled,
            AckRefused::Emit(e) => AckError::Emit(e),
        }
    }
}

struct Shared {
    core: ClientCore<AckResponder>,
    /// Wakes the driver thread (commands) and carries the I/O threads' reports.
    tx: Mutex<mpsc::Sender<Report>>,
    driver: OnceLock<ThreadId>,
    target: Target,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.core.lock()
    }

    fn wake(&self) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let _ = tx.send(Report::Wake);
    }

    fn reporter(&self) -> mpsc::Sender<Report> {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs a command on the machine and wakes the thread.
    fn command<R>(&self, f: impl FnOnce(&mut Machine, Instant) -> R) -> R {
        let r = self.core.command(Instant::now(), f);
        self.wake();
        r
    }
}

/// Where the server is and how to talk to it.
struct Target {
    host: String,
    port: u16,
    /// The `Host` header value.
    authority: String,
    headers: Vec<(String, String)>,
    user_agent: String,
    max_message_size: usize,
    ack_timeout: Option<Duration>,
    connect_timeout: Duration,
    /// TLS for `https`/`wss` URLs.
    tls: Option<TlsClientConfig>,
}

/// A request's connection: plain TCP, or TLS ([`StreamOwned`](crate::tls::StreamOwned)).
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// What the I/O threads (and commands) report to the driver thread.
enum Report {
    Wake,
    Http { id: RequestId, result: Option<(u16, Option<String>, Bytes)> },
    WsOpen(RequestId, WsSender),
    WsMessage(RequestId, WsMessage),
    WsClosed(RequestId),
}

/// A request's connection, for cancelling it from the driver thread.
#[derive(Default)]
struct HttpSlot {
    cancelled: bool,
    stream: Option<TcpStream>,
}

enum WsSlot {
    /// Opening: what to send once it is open.
    Opening(Vec<WsMessage>),
    Open(WsSender),
}

/// The I/O in flight.
#[derive(Default)]
struct Io {
    http: HashMap<RequestId, Arc<Mutex<HttpSlot>>>,
    ws: HashMap<RequestId, WsSlot>,
}

impl Drop for Io {
    /// The client thread is ending: close the WebSockets still open (their reader threads end
    /// with them). HTTP requests finish on their own (a closing POST must still go out).
    fn drop(&mut self) {
        for slot in self.ws.values() {
            if let WsSlot::Open(sender) = slot {
                let _ = sender.close(None, "");
            }
        }
    }
}

fn lock_slot(slot: &Mutex<HttpSlot>) -> MutexGuard<'_, HttpSlot> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// One HTTP exchange on a fresh connection: `(status, content type, body)`, `None` on failure
/// or cancellation.
fn http(
    target: &Target,
    slot: &Mutex<HttpSlot>,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> Option<(u16, Option<String>, Bytes)> {
    let addr = (target.host.as_str(), target.port).to_socket_addrs().ok()?.next()?;
    let tcp = TcpStream::connect_timeout(&addr, target.connect_timeout).ok()?;
    let _ = tcp.set_nodelay(true);
    {
        let mut s = lock_slot(slot);
        if s.cancelled {
            return None;
        }
        s.stream = tcp.try_clone().ok();
    }
    // Cancelling shuts the TCP connection down, which ends a TLS handshake or read too.
    let mut stream: Box<dyn ReadWrite> = match &target.tls {
        None => Box::new(tcp),
        Some(tls) => Box::new(tls.stream_owned(&target.host, tcp).ok()?),
    };
    let mut req = Request::new(method, &target.authority, path)
        .header("User-Agent", &target.user_agent)
        .header("Accept", "*/*");
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    for (k, v) in &target.headers {
        req = req.header(k, v);
    }
    let mut conn =
        ClientConnection::new(Limits { max_body: target.max_message_size, ..Limits::default() });
    let bytes = conn.send(&req.body(body));
    stream.write_all(&bytes).ok()?;
    stream.flush().ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match conn.poll_response() {
            Some(Ok(r)) if r.head.status < 200 => continue,
            Some(Ok(r)) => {
                let ct = r.head.headers.get("Content-Type").map(str::to_owned);
                return Some((r.head.status, ct, r.body));
            }
            Some(Err(_)) => return None,
            None if conn.is_finished() => return None,
            None => {}
        }
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(),
            Ok(n) => conn.handle_data(&buf[..n]),
            Err(_) => return None,
        }
    }
}

fn websocket(shared: Arc<Shared>, id: RequestId, url: String, reports: mpsc::Sender<Report>) {
    let target = &shared.target;
    let mut headers = vec![("User-Agent".to_string(), target.user_agent.clone())];
    headers.extend(target.headers.iter().cloned());
    let config = ws::ClientConfig {
        ws: glue_protocol::ws::Config {
            max_message_size: target.max_message_size,
            max_frame_size: target.max_message_size,
            ..Default::default()
        },
        protocols: Vec::new(),
        headers,
        connect_timeout: target.connect_timeout,
    };
    let tls = target.tls.clone().unwrap_or_default();
    drop(shared);
    let mut ws = match ws::connect_with_tls(&url, config, &tls) {
        Ok(ws) => ws,
        Err(_) => {
            let _ = reports.send(Report::WsClosed(id));
            return;
        }
    };
    if reports.send(Report::WsOpen(id, ws.sender())).is_err() {
        return;
    }
    while let Some(Ok(m)) = ws.recv() {
        if reports.send(Report::WsMessage(id, m)).is_err() {
            return;
        }
    }
    let _ = reports.send(Report::WsClosed(id));
}

impl Io {
    fn execute(&mut self, shared: &Arc<Shared>, action: EioAction) {
        match action {
            EioAction::HttpGet { id, path_and_query } => {
                self.spawn_http(shared, id, "GET", path_and_query, None, Bytes::new())
            }
            EioAction::HttpPost { id, path_and_query, content_type, body } => {
                self.spawn_http(shared, id, "POST", path_and_query, Some(content_type), body)
            }
            EioAction::CancelHttp { id } => {
                if let Some(slot) = self.http.remove(&id) {
                    let mut s = lock_slot(&slot);
                    s.cancelled = true;
                    if let Some(stream) = s.stream.take() {
                        let _ = stream.shutdown(Shutdown::Both);
                    }
                }
            }
            EioAction::OpenWebSocket { id, path_and_query } => {
                self.ws.insert(id, WsSlot::Opening(Vec::new()));
                let url = shared.lock().machine.config().engine.ws_url(&path_and_query);
                let (s, tx) = (shared.clone(), shared.reporter());
                std::thread::spawn(move || websocket(s, id, url, tx));
            }
            EioAction::WsSend { ws, message } => match self.ws.get_mut(&ws) {
                Some(WsSlot::Opening(queue)) => queue.push(message),
                Some(WsSlot::Open(sender)) => {
                    // A failed write shows up as the reader's close.
                    let _ = sender.send(message);
                }
                None => {}
            },
            EioAction::CloseWebSocket { id } => {
                if let Some(WsSlot::Open(sender)) = self.ws.remove(&id) {
                    let _ = sender.close(None, "");
                }
            }
        }
    }

    fn spawn_http(
        &mut self,
        shared: &Arc<Shared>,
        id: RequestId,
        method: &'static str,
        path: String,
        content_type: Option<&'static str>,
        body: Bytes,
    ) {
        let slot = Arc::new(Mutex::new(HttpSlot::default()));
        self.http.insert(id, slot.clone());
        let (s, tx) = (shared.clone(), shared.reporter());
        std::thread::spawn(move || {
            let result = http(&s.target, &slot, method, &path, content_type, body);
            let _ = tx.send(Report::Http { id, result });
        });
    }

    /// A WebSocket opened: keep its sender (or close it if it was dropped meanwhile) and send
    /// what waited.
    fn ws_open(&mut self, id: RequestId, sender: WsSender) -> bool {
        match self.ws.remove(&id) {
            Some(WsSlot::Opening(queue)) => {
                for m in queue {
                    let _ = sender.send(m);
                }
                self.ws.insert(id, WsSlot::Open(sender));
                true
            }
            _ => {
                let _ = sender.close(None, "");
                false
            }
        }
    }
}

/// Calls the handlers of one event (outside the lock).
fn dispatch(shared: &Arc<Shared>, event: SioClientEvent) {
    shared.core.dispatch(event, |nsp, id| AckResponder { shared: shared.clone(), nsp, id });
}

fn run(shared: Arc<Shared>, rx: mpsc::Receiver<Report>) {
    let _ = shared.driver.set(std::thread::current().id());
    let mut io = Io::default();
    loop {
        let (actions, events) = shared.core.poll(Instant::now());
        if !actions.is_empty() || !events.is_empty() {
            for a in actions {
                io.execute(&shared, a);
            }
            for e in events {
                dispatch(&shared, e);
            }
            continue;
        }
        let deadline = match shared.core.idle() {
            Idle::Wait(deadline) => deadline,
            Idle::Stop => return,
        };
        let report = match deadline {
            Some(d) => match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                Ok(r) => r,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    shared.lock().machine.handle_timeout(Instant::now());
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(r) => r,
                Err(_) => return,
            },
        };
        let now = Instant::now();
        match report {
            Report::Wake => {}
            Report::Http { id, result } => {
                io.http.remove(&id);
                let mut st = shared.lock();
                match result {
                    Some((status, ct, body)) => {
                        st.machine.handle_http_response(now, id, status, ct.as_deref(), &body)
                    }
                    None => st.machine.handle_http_error(now, id),
                }
            }
            Report::WsOpen(id, sender) => {
                if io.ws_open(id, sender) {
                    shared.lock().machine.handle_ws_open(now, id);
                }
            }
            Report::WsMessage(id, m) => shared.lock().machine.handle_ws_message(now, id, &m),
            Report::WsClosed(id) => {
                io.ws.remove(&id);
                shared.lock().machine.handle_ws_closed(now, id);
            }
        }
    }
}

/// Counts the user-facing handles; the client closes when the last one goes.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.core.abandon();
        self.shared.wake();
    }
}

/// A Socket.IO client: the manager, plus the socket of the URL's namespace (through
/// [`Deref`]).
pub struct SioClient {
    main: Socket,
}

impl std::fmt::Debug for SioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SioClient").field("nsp", &self.main.nsp).finish_non_exhaustive()
    }
}

impl Deref for SioClient {
    type Target = Socket;
    fn deref(&self) -> &Socket {
        &self.main
    }
}

impl SioClient {
    /// Starts a client for `url` (`http://host:port[/namespace][?query]`) and connects the
    /// URL's namespace; returns at once (emits are buffered until connected). `https://` and
    /// `wss://` URLs use TLS for the polling requests and the WebSocket, verified as
    /// [`SioClientOptions::tls`] says. Fails only on a bad URL or namespace ([`Error::Io`]
    /// with `InvalidInput`) or bad TLS options ([`Error::Tls`]).
    pub fn connect(url: &str, options: SioClientOptions) -> Result<SioClient, Error> {
        let (config, url) = options.build(url).map_err(|e| {
            Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))
        })?;
        let tls = if url.secure { Some(TlsClientConfig::new(&options.tls)?) } else { None };
        let port = url.port.unwrap_or(if url.secure { 443 } else { 80 });
        let authority = if url.host.contains(':') {
            format!("[{}]:{port}", url.host)
        } else {
            format!("{}:{port}", url.host)
        };
        let mut config = config;
        config.engine.port = Some(port);
        let machine = Machine::new(config, &mut OsEntropy::new());
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            core: ClientCore::new(machine),
            tx: Mutex::new(tx),
            driver: OnceLock::new(),
            target: Target {
                host: url.host.clone(),
                port,
                authority,
                headers: options.headers.clone(),
                user_agent: options.user_agent.clone(),
                max_message_size: options.max_message_size,
                ack_timeout: options.ack_timeout,
                connect_timeout: options.connect_timeout.unwrap_or(Duration::from_secs(20)),
                tls,
            },
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("sio-client".into())
            .spawn(move || run(s, rx))
            .map_err(Error::Io)?;
        let handle = Arc::new(Handle { shared: shared.clone() });
        let main = Socket { shared, handle, nsp: url.namespace.clone() };
        main.connect_with_query(url.query.as_deref()).map_err(|e| {
            Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))
        })?;
        Ok(SioClient { main })
    }

    /// The socket of namespace `nsp` on this client's connection (multiplexed), connecting it
    /// if it is not connected or connecting yet.
    pub fn socket(&self, nsp: &str) -> Result<Socket, SioClientError> {
        let s = Socket {
            shared: self.main.shared.clone(),
            handle: self.main.handle.clone(),
            nsp: nsp.to_owned(),
        };
        s.connect()?;
        Ok(s)
    }

    /// Calls `f` with every client event (connects, disconnects, reconnection attempts,
    /// incoming events and acks…) before the specific handlers.
    pub fn on_any_event(&self, f: impl Fn(&SioClientEvent) + Send + Sync + 'static) {
        self.main.shared.core.on_any_event(f);
    }

    /// The manager's state.
    pub fn state(&self) -> SioClientState {
        self.main.shared.lock().machine.state()
    }

    /// The transport of the open engine.
    pub fn transport(&self) -> Option<glue_protocol::eio::client::Transport> {
        self.main.shared.lock().machine.transport()
    }

    /// Disconnects every namespace and closes the connection (no reconnection).
    pub fn close(&self) {
        self.main.shared.command(|m, now| m.close(now));
    }
}

/// One namespace of a client. Cheap to clone.
#[derive(Clone)]
pub struct Socket {
    shared: Arc<Shared>,
    handle: Arc<Handle>,
    nsp: String,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").field("nsp", &self.nsp).finish_non_exhaustive()
    }
}

impl Socket {
    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// Connects (again) after a disconnect; does nothing while connecting or connected.
    pub fn connect(&self) -> Result<(), SioClientError> {
        self.connect_with_query(None)
    }

    fn connect_with_query(&self, query: Option<&str>) -> Result<(), SioClientError> {
        let _ = &self.handle;
        self.shared.command(|m, now| m.connect(now, &self.nsp, query))
    }

    /// Whether the namespace is connected.
    pub fn is_connected(&self) -> bool {
        self.state() == Some(NamespaceState::Connected)
    }

    /// The namespace's state.
    pub fn state(&self) -> Option<NamespaceState> {
        self.shared.lock().machine.namespace_state(&self.nsp)
    }

    /// The socket id (`sid`, or `nsp#sid`) while connected.
    pub fn id(&self) -> Option<String> {
        self.shared.lock().machine.socket_id(&self.nsp)
    }

    /// Handles event `event` (replacing an earlier handler): the arguments (binary values as
    /// placeholders `{"_placeholder":true,"num":N}`), the binary values by `num`, and an
    /// [`AckResponder`] when the server asks for an ack.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Vec<Bytes>, Option<AckResponder>) + Send + Sync + 'static,
    ) {
        self.shared.core.on(&self.nsp, event, handler);
    }

    /// Calls `f` on every (re)connection of the namespace.
    pub fn on_connect(&self, f: impl Fn() + Send + Sync + 'static) {
        self.shared.core.on_connect(&self.nsp, f);
    }

    /// Calls `f` with the reason (`io server disconnect`, `transport close`, …) on every
    /// disconnection of the namespace.
    pub fn on_disconnect(&self, f: impl Fn(&str) + Send + Sync + 'static) {
        self.shared.core.on_disconnect(&self.nsp, f);
    }

    /// Calls `f` with the server's data when it refuses the namespace.
    pub fn on_connect_error(&self, f: impl Fn(&Value) + Send + Sync + 'static) {
        self.shared.core.on_connect_error(&self.nsp, f);
    }

    /// Emits `event` with `args` (binary values as placeholders numbered
    /// `0..bins.len()`, see [`placeholder`](glue_protocol::sio::placeholder)) and the binary
    /// values `bins`; buffered until the namespace is connected.
    pub fn emit(
        &self,
        event: &str,
        args: Vec<Value>,
        bins: Vec<Bytes>,
    ) -> Result<(), SioClientError> {
        self.shared.command(|m, now| m.emit(now, &self.nsp, event, args, bins))
    }

    /// Emits one JSON-serialisable value as the only argument.
    pub fn emit_value(&self, event: &str, value: impl Into<Value>) -> Result<(), SioClientError> {
        self.emit(event, vec![value.into()], Vec::new())
    }

    /// Emits and blocks until the ack, with the client's ack timeout
    /// ([`SioClientOptions::ack_timeout`]). Not on the client's thread (in a handler): that is
    /// [`AckError::WouldBlock`].
    pub fn emit_with_ack(&self, event: &str, args: Vec<Value>, bins: Vec<Bytes>) -> AckResult {
        self.emit_with_ack_timeout(event, args, bins, self.shared.target.ack_timeout)
    }

    /// As [`emit_with_ack`](Self::emit_with_ack) with this timeout (`None`: wait until the
    /// answer or until the namespace closes for good).
    pub fn emit_with_ack_timeout(
        &self,
        event: &str,
        args: Vec<Value>,
        bins: Vec<Bytes>,
        timeout: Option<Duration>,
    ) -> AckResult {
        if self.shared.driver.get() == Some(&std::thread::current().id()) {
            return Err(AckError::WouldBlock);
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.emit_with_ack_then(event, args, bins, timeout, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(AckError::Cancelled))
    }

    /// Emits and calls `f` once with the answer, the timeout or the cancellation (on the
    /// client's thread, or at once on this one when the emit is refused). Usable in handlers.
    pub fn emit_with_ack_then(
        &self,
        event: &str,
        args: Vec<Value>,
        bins: Vec<Bytes>,
        timeout: Option<Duration>,
        f: impl FnOnce(AckResult) + Send + 'static,
    ) {
        let now = Instant::now();
        match self.shared.core.emit_with_ack(now, &self.nsp, event, args, bins, timeout, f) {
            Ok(()) => self.shared.wake(),
            Err((e, f)) => f(Err(e.into())),
        }
    }

    /// Leaves the namespace (`1/ns,`); the connection closes when no namespace remains.
    pub fn disconnect(&self) {
        self.shared.command(|m, now| m.disconnect(now, &self.nsp));
    }
}

/// Answers one incoming event's ack request (at most once: `send` consumes it).
pub struct AckResponder {
    shared: Arc<Shared>,
    nsp: String,
    id: u64,
}

impl std::fmt::Debug for AckResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckResponder").field("nsp", &self.nsp).field("id", &self.id).finish()
    }
}

impl AckResponder {
    /// The ack id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends the ack with these arguments and binary values.
    pub fn send(self, args: Vec<Value>, bins: Vec<Bytes>) -> Result<(), SioClientError> {
        self.shared.command(|m, now| m.ack(now, &self.nsp, self.id, args, bins))
    }
}
