//! The Socket.IO v2 client (socket.io-client 2.x semantics) over Engine.IO polling and
//! WebSocket, driven by one task per client.
//!
//! ```no_run
//! use glue_tokio::sio_client::{json, SioClient, SioClientOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = SioClient::connect("http://127.0.0.1:3000", SioClientOptions::default())?;
//! client.on("message-back", |args, _bins, _ack| println!("got {args:?}"));
//! client.emit("message", vec![json!("hello")], vec![])?; // buffered until connected
//! let (answer, _bins) = client.emit_with_ack("message-with-ack", vec![json!(1)], vec![]).await?;
//! let chat = client.socket("/chat")?;
//! chat.on_connect(|| println!("chat connected"));
//! client.close();
//! # let _ = answer;
//! # Ok(())
//! # }
//! ```
//!
//! [`SioClient::connect`] returns at once; a spawned task runs the sans-IO
//! [`SioClient`](glue_protocol::sio::client::SioClient) machine: it performs its HTTP requests
//! (each on its own TCP connection and task) and WebSockets (one task each), runs its timers,
//! and calls the handlers. Handlers run on that task and must not block; they may call any
//! method of the client. Commands update the machine under a short lock and wake the task.
//!
//! The client works until [`SioClient::close`], or until every namespace has disconnected
//! (then a new [`Socket::connect`] starts it again), or until every handle is dropped. Handler
//! closures that hold a handle keep the client alive: call `close` to end it.

use crate::tls::{MaybeTlsStream, TlsClientConfig};
use crate::ws::{self, Message as WsMessage};
use crate::Error;
use crate::OsEntropy;
use bytes::Bytes;
use glue_protocol::eio::client::{EioAction, RequestId};
use glue_protocol::http::{ClientConnection, Limits, Request};
use glue_protocol::sio::client::{SioClient as Machine, SioClientState};
use glue_protocol::sio::client_dispatch::{AckEnd, AckRefused, ClientCore, Idle};
use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

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
}

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

type AckResult = Result<(Vec<Value>, Vec<Bytes>), AckError>;
type State = glue_protocol::sio::client_dispatch::ClientState<AckResponder>;

struct Shared {
    core: ClientCore<AckResponder>,
    wake: Notify,
    target: Target,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.core.lock()
    }

    /// Runs a command on the machine and wakes the task.
    fn command<R>(&self, f: impl FnOnce(&mut Machine, Instant) -> R) -> R {
        let r = self.core.command(Instant::now(), f);
        self.wake.notify_one();
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

/// What the I/O tasks report.
enum Report {
    Http { id: RequestId, result: Option<(u16, Option<String>, Bytes)> },
    WsOpen(RequestId),
    WsMessage(RequestId, WsMessage),
    WsClosed(RequestId),
}

enum WsCmd {
    Send(WsMessage),
    Close,
}

/// The I/O in flight.
#[derive(Default)]
struct Io {
    http: HashMap<RequestId, JoinHandle<()>>,
    ws: HashMap<RequestId, mpsc::UnboundedSender<WsCmd>>,
}

/// One HTTP exchange on a fresh connection: `(status, content type, body)`, `None` on failure.
async fn http(
    target: &Target,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> Option<(u16, Option<String>, Bytes)> {
    let mut stream =
        MaybeTlsStream::connect(&target.host, target.port, target.tls.as_ref()).await.ok()?;
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
    stream.write_all(&bytes).await.ok()?;
    stream.flush().await.ok()?;
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
        match stream.read(&mut buf).await {
            Ok(0) => conn.handle_eof(),
            Ok(n) => conn.handle_data(&buf[..n]),
            Err(_) => return None,
        }
    }
}

async fn websocket(
    shared: Arc<Shared>,
    id: RequestId,
    url: String,
    mut cmds: mpsc::UnboundedReceiver<WsCmd>,
    reports: mpsc::Sender<Report>,
) {
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
    let opened = tokio::select! {
        r = ws::connect_with_tls(&url, config, &tls) => r,
        // Closed before it opened.
        _ = async { while let Some(WsCmd::Send(_)) = cmds.recv().await {} } => return,
    };
    let mut ws = match opened {
        Ok(ws) => ws,
        Err(_) => {
            let _ = reports.send(Report::WsClosed(id)).await;
            return;
        }
    };
    if reports.send(Report::WsOpen(id)).await.is_err() {
        return;
    }
    let sender = ws.sender();
    let forward = async move {
        // Until a close is asked for or the client is gone (the channel closed): then the
        // closing handshake, which the read side completes.
        while let Some(WsCmd::Send(m)) = cmds.recv().await {
            if sender.send(m).await.is_err() {
                break;
            }
        }
        let _ = sender.close(None, "").await;
        drop(sender);
        std::future::pending::<()>().await
    };
    let read = async {
        while let Some(Ok(m)) = ws.recv().await {
            if reports.send(Report::WsMessage(id, m)).await.is_err() {
                return;
            }
        }
        let _ = reports.send(Report::WsClosed(id)).await;
    };
    tokio::select! {
        _ = read => {}
        _ = forward => {}
    }
}

impl Io {
    fn execute(&mut self, shared: &Arc<Shared>, reports: &mpsc::Sender<Report>, action: EioAction) {
        let config = shared.lock().machine.config().engine.clone();
        match action {
            EioAction::HttpGet { id, path_and_query } => {
                let (s, tx) = (shared.clone(), reports.clone());
                self.http.insert(
                    id,
                    tokio::spawn(async move {
                        let result =
                            http(&s.target, "GET", &path_and_query, None, Bytes::new()).await;
                        let _ = tx.send(Report::Http { id, result }).await;
                    }),
                );
            }
            EioAction::HttpPost { id, path_and_query, content_type, body } => {
                let (s, tx) = (shared.clone(), reports.clone());
                self.http.insert(
                    id,
                    tokio::spawn(async move {
                        let result =
                            http(&s.target, "POST", &path_and_query, Some(content_type), body)
                                .await;
                        let _ = tx.send(Report::Http { id, result }).await;
                    }),
                );
            }
            EioAction::CancelHttp { id } => {
                if let Some(h) = self.http.remove(&id) {
                    h.abort();
                }
            }
            EioAction::OpenWebSocket { id, path_and_query } => {
                let (tx, rx) = mpsc::unbounded_channel();
                self.ws.insert(id, tx);
                let url = config.ws_url(&path_and_query);
                tokio::spawn(websocket(shared.clone(), id, url, rx, reports.clone()));
            }
            EioAction::WsSend { ws, message } => {
                if let Some(tx) = self.ws.get(&ws) {
                    let _ = tx.send(WsCmd::Send(message));
                }
            }
            EioAction::CloseWebSocket { id } => {
                if let Some(tx) = self.ws.remove(&id) {
                    let _ = tx.send(WsCmd::Close);
                }
            }
        }
    }
}

/// Calls the handlers of one event (outside the lock).
fn dispatch(shared: &Arc<Shared>, event: SioClientEvent) {
    shared.core.dispatch(event, |nsp, id| AckResponder { shared: shared.clone(), nsp, id });
}

async fn run(shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::channel::<Report>(256);
    let mut io = Io::default();
    loop {
        let (actions, events) = shared.core.poll(Instant::now());
        if !actions.is_empty() || !events.is_empty() {
            for a in actions {
                io.execute(&shared, &tx, a);
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
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = sleep => shared.lock().machine.handle_timeout(Instant::now()),
            Some(report) = rx.recv() => {
                let now = Instant::now();
                let mut st = shared.lock();
                match report {
                    Report::Http { id, result } => {
                        io.http.remove(&id);
                        match result {
                            Some((status, ct, body)) => {
                                st.machine.handle_http_response(now, id, status, ct.as_deref(), &body)
                            }
                            None => st.machine.handle_http_error(now, id),
                        }
                    }
                    Report::WsOpen(id) => st.machine.handle_ws_open(now, id),
                    Report::WsMessage(id, m) => st.machine.handle_ws_message(now, id, &m),
                    Report::WsClosed(id) => {
                        io.ws.remove(&id);
                        st.machine.handle_ws_closed(now, id);
                    }
                }
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
        self.shared.wake.notify_one();
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
    /// URL's namespace; returns at once (emits are buffered until connected). Must be called
    /// within a tokio runtime. `https://`/`wss://` URLs use TLS for the polling requests and
    /// the WebSocket, verified as [`SioClientOptions::tls`] says. Fails only on a bad URL or
    /// namespace ([`Error::Io`] with `InvalidInput`) or bad TLS options ([`Error::Tls`]).
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
        let shared = Arc::new(Shared {
            core: ClientCore::new(machine),
            wake: Notify::new(),
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
        tokio::spawn(run(shared.clone()));
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

    /// Emits and waits for the ack, with the client's ack timeout
    /// ([`SioClientOptions::ack_timeout`]). The packet is handed to the machine before this
    /// returns, so emits keep their order even if the future is polled later.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        bins: Vec<Bytes>,
    ) -> impl Future<Output = AckResult> + Send + 'static {
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
    ) -> impl Future<Output = AckResult> + Send + 'static {
        let (tx, rx) = oneshot::channel::<AckResult>();
        let r = self
            .shared
            .core
            .emit_with_ack(Instant::now(), &self.nsp, event, args, bins, timeout, {
                move |r: AckResult| {
                    let _ = tx.send(r);
                }
            })
            .map_err(|(e, _)| AckError::from(e));
        self.shared.wake.notify_one();
        async move {
            r?;
            rx.await.unwrap_or(Err(AckError::Cancelled))
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
