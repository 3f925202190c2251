//! The glue client (the glue.js API) over WebSocket and AjaxSocket, one task per client.
//!
//! [`Client::connect`] returns at once; a spawned task opens the transport, runs the
//! [`GlueClient`] machine's timers and reconnects as glue.js does (spec §6). Sends made
//! before the connection is up are buffered and go out, in order, once it is.
//!
//! ```no_run
//! use glue_tokio::glue::client::{Client, ClientOptions};
//!
//! # async fn run() -> Result<(), glue_tokio::Error> {
//! let client = Client::connect("http://127.0.0.1:8080", ClientOptions::default())?;
//! client.send("hello").unwrap(); // buffered until connected
//! if let Some(reply) = client.recv().await {
//!     println!("server said {reply}");
//! }
//! let chat = client.channel("chat");
//! chat.on_message(|data| println!("chat: {data}"));
//! client.close();
//! # Ok(())
//! # }
//! ```
//!
//! The client's task is the only one touching the transport: commands ([`Client::send`],
//! [`Client::close`], …) update the machine under a short lock and wake the task. Handlers
//! ([`Client::on_event`], [`Channel::on_message`]) run on that task and must not block.
//!
//! Bounds: the machine's send buffer holds [`ClientConfig::max_buffered`] messages, and as
//! many sent messages may wait to be written ([`ClientError::SendBufferFull`] beyond). Each
//! channel queues at most [`ClientOptions::recv_queue`] messages for `recv`; while any queue
//! is full the client stops reading from the transport (nothing is dropped; the server's
//! queue fills instead). Messages held back before the init reply may push a queue past its
//! bound once. The event queue keeps the newest [`ClientOptions::event_queue`] events.

use crate::ws::{self, Message as WsMessage, WebSocket};
use crate::Error;
use bytes::Bytes;
use glue_protocol::glue::{Action, ClientError, ClientEvent, GlueClient, MAIN_CHANNEL};
use glue_protocol::http::ClientConnection;
use glue_protocol::ws::Utf8Bytes;
use std::collections::{HashMap, VecDeque};
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use glue_protocol::glue::client_target::ClientTarget;
pub use glue_protocol::glue::client_target::{ClientOptions, Event};
pub use glue_protocol::glue::{ClientConfig, ClientState, SendResult, Transport};

/// glue.js's timeout of a push (and init) request.
const SEND_TIMEOUT: Duration = Duration::from_secs(8);
/// glue.js's timeout of a poll request (longer than the server's 35 s hold).
const POLL_TIMEOUT: Duration = Duration::from_secs(45);

type EventHandler = Arc<dyn Fn(&Event) + Send + Sync>;
type MessageHandler = Arc<dyn Fn(String) + Send + Sync>;

type Target = ClientTarget;

/// Runtime-specific connection helpers of a [`ClientTarget`].
trait TargetExt {
    async fn tcp(&self) -> io::Result<TcpStream>;
}

impl TargetExt for ClientTarget {
    async fn tcp(&self) -> io::Result<TcpStream> {
        let s = TcpStream::connect((self.addr.as_str(), self.port)).await?;
        let _ = s.set_nodelay(true);
        Ok(s)
    }
}

const FAILED: &str = "the ajax socket closed the connection with an error.";
const TIMED_OUT: &str = "the ajax socket closed the connection with the error: timeout";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// A poll's outcome: the connection if reusable, and the answer body.
type PollResult = Result<(Option<HttpConn>, Bytes), Failure>;

/// One keep-alive HTTP/1.1 connection to the AjaxSocket endpoint.
struct HttpConn {
    stream: TcpStream,
    conn: ClientConnection,
}

impl HttpConn {
    fn reusable(&self) -> bool {
        !self.conn.is_finished() && self.conn.pending_responses() == 0
    }
}

/// How an exchange failed.
struct Failure {
    message: String,
    /// Nothing was answered on a reused connection: the server may have closed it idle.
    stale: bool,
}

/// One request/answer exchange on `conn` (or a new connection); returns the connection if it
/// can be reused, and the answer body.
async fn exchange(
    target: Arc<Target>,
    conn: Option<HttpConn>,
    body: Bytes,
    timeout: Duration,
) -> Result<(Option<HttpConn>, Bytes), Failure> {
    let reused = conn.is_some();
    let run = async {
        let mut c = match conn {
            Some(c) => c,
            None => HttpConn {
                stream: target.tcp().await.map_err(|_| (FAILED, false))?,
                conn: ClientConnection::new(target.limits()),
            },
        };
        let bytes = c.conn.send(&target.request(body));
        c.stream.write_all(&bytes).await.map_err(|_| (FAILED, reused))?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut got_any = false;
        loop {
            match c.conn.poll_response() {
                Some(Ok(r)) if r.head.status < 200 => continue,
                Some(Ok(r)) => return Ok((c.reusable().then_some(c), r.body)),
                Some(Err(_)) => return Err((FAILED, false)),
                None if c.conn.is_finished() => return Err((FAILED, reused && !got_any)),
                None => {}
            }
            match c.stream.read(&mut buf).await {
                Ok(0) => c.conn.handle_eof(),
                Ok(n) => {
                    got_any = true;
                    c.conn.handle_data(&buf[..n]);
                }
                Err(_) => return Err((FAILED, reused && !got_any)),
            }
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err((message, stale))) => Err(Failure { message: message.into(), stale }),
        Err(_) => Err(Failure { message: TIMED_OUT.into(), stale: false }),
    }
}

/// One AjaxSocket push (`u<uid>&<message>`); its answer is ignored, as glue.js does. A
/// kept-alive connection that fails before any answer byte is retried once on a new one.
async fn push(
    target: Arc<Target>,
    conn: Option<HttpConn>,
    body: Bytes,
) -> Result<Option<HttpConn>, String> {
    let conn = conn.filter(HttpConn::reusable);
    match exchange(target.clone(), conn, body.clone(), SEND_TIMEOUT).await {
        Ok((conn, _)) => Ok(conn),
        Err(f) if f.stale => match exchange(target, None, body, SEND_TIMEOUT).await {
            Ok((conn, _)) => Ok(conn),
            Err(f) => Err(f.message),
        },
        Err(f) => Err(f.message),
    }
}

/// What an opened transport is.
enum Opened {
    Ws(Box<WebSocket>),
    Ajax(Box<Ajax>),
}

async fn open(target: Arc<Target>, kind: Transport) -> Result<Opened, String> {
    match kind {
        Transport::WebSocket => {
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
            match ws::connect_with(&target.ws_url, config).await {
                Ok(ws) => Ok(Opened::Ws(Box::new(ws))),
                // Out of time: the machine's connect timer reports it.
                Err(Error::Timeout) => Err(String::new()),
                Err(e) => Err(format!("the websocket closed the connection with an error: {e}")),
            }
        }
        Transport::Ajax => {
            let timeout = target.connect_timeout.min(SEND_TIMEOUT);
            let (conn, body) = exchange(target, None, Bytes::from_static(b"i"), timeout)
                .await
                .map_err(|f| if f.message == TIMED_OUT { String::new() } else { f.message })?;
            let text = String::from_utf8_lossy(&body);
            let Some((uid, token)) = text.split_once('&') else {
                return Err("ajax socket: failed to split uid and poll token from data!".into());
            };
            Ok(Opened::Ajax(Box::new(Ajax {
                uid: uid.to_owned(),
                token: token.to_owned(),
                poll_conn: None,
                poll: None,
                push_conn: conn,
                push: None,
                queue: VecDeque::new(),
            })))
        }
    }
}

/// An open AjaxSocket: one poll and one push in flight at most, each on its own connection.
struct Ajax {
    uid: String,
    token: String,
    poll_conn: Option<HttpConn>,
    poll: Option<BoxFuture<PollResult>>,
    push_conn: Option<HttpConn>,
    push: Option<BoxFuture<Result<Option<HttpConn>, String>>>,
    queue: VecDeque<Bytes>,
}

impl Ajax {
    /// Starts the next push unless one is in flight; true if it carries user data.
    fn start_push(&mut self, target: &Arc<Target>) -> bool {
        if self.push.is_some() {
            return false;
        }
        let Some(message) = self.queue.pop_front() else { return false };
        let data = message.starts_with(b"cd");
        let mut body = Vec::with_capacity(self.uid.len() + 2 + message.len());
        body.push(b'u');
        body.extend_from_slice(self.uid.as_bytes());
        body.push(b'&');
        body.extend_from_slice(&message);
        self.push = Some(Box::pin(push(target.clone(), self.push_conn.take(), Bytes::from(body))));
        data
    }

    /// Finishes the queued pushes (for the final `cl`), within `limit`.
    async fn flush(&mut self, target: &Arc<Target>, limit: Duration) {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let _ = self.start_push(target);
                let Some(p) = self.push.as_mut() else { return };
                let r = p.await;
                self.push = None;
                match r {
                    Ok(conn) => self.push_conn = conn,
                    Err(_) => return,
                }
            }
        })
        .await;
    }
}

/// The current transport.
enum Io {
    None,
    Opening(BoxFuture<Result<Opened, String>>),
    Ws(Box<WebSocket>),
    Ajax(Box<Ajax>),
}

/// What the transport produced.
enum Input {
    Nothing,
    Opened(Result<Opened, String>),
    Message(Bytes),
    Closed,
    Error(String),
}

impl Io {
    /// Waits for the transport (never returns when there is none).
    async fn next(&mut self, shared: &Shared, can_read: bool) -> Input {
        let target = &shared.target;
        match self {
            Io::None => std::future::pending().await,
            Io::Opening(f) => Input::Opened(f.await),
            Io::Ws(ws) if can_read => match ws.recv().await {
                Some(Ok(WsMessage::Text(t))) => Input::Message(t.into_bytes()),
                Some(Ok(_)) => Input::Nothing,
                Some(Err(e)) => {
                    Input::Error(format!("the websocket closed the connection with an error: {e}"))
                }
                None => Input::Closed,
            },
            Io::Ws(_) => std::future::pending().await,
            Io::Ajax(a) => {
                if a.start_push(target) {
                    let mut st = shared.lock();
                    st.unsent = st.unsent.saturating_sub(1);
                }
                if a.poll.is_none() && can_read {
                    let body = Bytes::from(format!("o{}&{}", a.uid, a.token));
                    let conn = a.poll_conn.take().filter(HttpConn::reusable);
                    a.poll = Some(Box::pin(exchange(target.clone(), conn, body, POLL_TIMEOUT)));
                }
                enum Done {
                    Push(Result<Option<HttpConn>, String>),
                    Poll(Result<(Option<HttpConn>, Bytes), Failure>),
                }
                let done = poll_fn(|cx| {
                    if let Some(p) = a.push.as_mut() {
                        if let Poll::Ready(r) = p.as_mut().poll(cx) {
                            a.push = None;
                            return Poll::Ready(Done::Push(r));
                        }
                    }
                    if let Some(p) = a.poll.as_mut() {
                        if let Poll::Ready(r) = p.as_mut().poll(cx) {
                            a.poll = None;
                            return Poll::Ready(Done::Poll(r));
                        }
                    }
                    Poll::Pending
                })
                .await;
                match done {
                    Done::Push(Ok(conn)) => {
                        a.push_conn = conn;
                        Input::Nothing
                    }
                    Done::Push(Err(e)) => Input::Error(e),
                    Done::Poll(Err(f)) => Input::Error(f.message),
                    Done::Poll(Ok((conn, body))) => {
                        a.poll_conn = conn;
                        match &body[..] {
                            b"t" => Input::Nothing,
                            b"c" => Input::Closed,
                            _ => match body.iter().position(|&b| b == b'&') {
                                Some(i) => {
                                    a.token = String::from_utf8_lossy(&body[..i]).into_owned();
                                    Input::Message(body.slice(i + 1..))
                                }
                                None => Input::Error(
                                    "ajax socket: failed to split poll token from data!".into(),
                                ),
                            },
                        }
                    }
                }
            }
        }
    }
}

struct ChannelState {
    queue: VecDeque<String>,
    handler: Option<MessageHandler>,
}

struct State {
    machine: GlueClient,
    channels: HashMap<String, ChannelState>,
    events: VecDeque<Event>,
    handlers: Vec<EventHandler>,
    /// The client task is alive.
    running: bool,
    /// Every handle is gone: close and stop.
    abandoned: bool,
    /// Data messages sent while connected and not yet written (bounded by `max_buffered`).
    unsent: usize,
}

impl State {
    fn queues_full(&self, bound: usize) -> bool {
        self.channels.values().any(|c| c.queue.len() >= bound)
    }

    /// Whether the task is needed (a transport or a timer).
    fn busy(&self) -> bool {
        self.machine.poll_timeout().is_some() || self.machine.state() != ClientState::Disconnected
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the client task (commands, queue space, abandonment).
    wake: Notify,
    /// Wakes receivers (messages, events, stop).
    readable: Notify,
    target: Arc<Target>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn dispatch(&self, event: ClientEvent, handlers: &[EventHandler]) {
        let event = match event {
            ClientEvent::Message { channel, data } => {
                let handler = {
                    let mut st = self.lock();
                    let Some(ch) = st.channels.get_mut(&channel) else { return };
                    match &ch.handler {
                        Some(h) => h.clone(),
                        None => {
                            ch.queue.push_back(data);
                            self.readable.notify_waiters();
                            return;
                        }
                    }
                };
                handler(data);
                return;
            }
            other => match Event::from_machine(other) {
                Some(e) => e,
                None => return,
            },
        };
        if self.target.event_queue > 0 {
            let mut st = self.lock();
            if st.events.len() >= self.target.event_queue {
                st.events.pop_front();
            }
            st.events.push_back(event.clone());
            self.readable.notify_waiters();
        }
        for h in handlers {
            h(&event);
        }
    }
}

/// Carries out one action of the machine.
async fn execute(shared: &Shared, io: &mut Io, action: Action) {
    let target = &shared.target;
    match action {
        Action::OpenTransport(kind) => {
            *io = Io::Opening(Box::pin(open(target.clone(), kind)));
        }
        Action::CloseTransport => {
            if let Io::Ajax(a) = io {
                // glue.js pushes `cl` and then drops the transport: let that push finish.
                if a.queue.back().is_some_and(|m| &m[..] == b"cl") {
                    a.flush(target, Duration::from_secs(2)).await;
                }
            }
            // Dropping a WebSocket closes its TCP connection; dropping the futures aborts
            // the HTTP requests. Every data message counted as unsent went before.
            *io = Io::None;
            shared.lock().unsent = 0;
        }
        Action::Send(bytes) => {
            // User data is counted as unsent until written (WebSocket) or pushed (Ajax).
            if bytes.starts_with(b"cd") && !matches!(io, Io::Ajax(_)) {
                let mut st = shared.lock();
                st.unsent = st.unsent.saturating_sub(1);
            }
            match io {
                Io::Ws(ws) => {
                    let Ok(text) = Utf8Bytes::try_from_bytes(bytes) else { return };
                    if let Err(e) = ws.send(WsMessage::Text(text)).await {
                        *io = Io::None;
                        let message =
                            format!("the websocket closed the connection with an error: {e}");
                        shared.lock().machine.handle_transport_error(Instant::now(), &message);
                    }
                }
                Io::Ajax(a) => a.queue.push_back(bytes),
                Io::None | Io::Opening(_) => {}
            }
        }
    }
}

async fn run(shared: Arc<Shared>) {
    let mut io = Io::None;
    loop {
        let (actions, events, handlers) = {
            let mut st = shared.lock();
            if st.abandoned && st.machine.state() != ClientState::Disconnected {
                st.machine.close(Instant::now());
            }
            let actions: Vec<Action> = std::iter::from_fn(|| st.machine.poll_action()).collect();
            let events: Vec<ClientEvent> = std::iter::from_fn(|| st.machine.poll_event()).collect();
            (actions, events, st.handlers.clone())
        };
        if !actions.is_empty() || !events.is_empty() {
            for action in actions {
                execute(&shared, &mut io, action).await;
            }
            for event in events {
                shared.dispatch(event, &handlers);
            }
            continue;
        }
        let (deadline, can_read) = {
            let mut st = shared.lock();
            if matches!(io, Io::None) && !st.busy() {
                st.running = false;
                shared.readable.notify_waiters();
                return;
            }
            (st.machine.poll_timeout(), !st.queues_full(shared.target.recv_queue))
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let input = tokio::select! {
            biased;
            _ = shared.wake.notified() => Input::Nothing,
            _ = sleep => {
                shared.lock().machine.handle_timeout(Instant::now());
                Input::Nothing
            }
            input = io.next(&shared, can_read) => input,
        };
        let now = Instant::now();
        match input {
            Input::Nothing => {}
            Input::Opened(Ok(opened)) => {
                io = match opened {
                    Opened::Ws(ws) => Io::Ws(ws),
                    Opened::Ajax(ajax) => Io::Ajax(ajax),
                };
                shared.lock().machine.handle_transport_open(now);
            }
            Input::Opened(Err(e)) => {
                io = Io::None;
                if !e.is_empty() {
                    shared.lock().machine.handle_transport_error(now, &e);
                }
            }
            Input::Message(m) => shared.lock().machine.handle_message(now, &m),
            Input::Closed => {
                io = Io::None;
                shared.lock().machine.handle_transport_closed(now);
            }
            Input::Error(e) => {
                io = Io::None;
                shared.lock().machine.handle_transport_error(now, &e);
            }
        }
    }
}

/// Counts the user-facing handles so the client closes when the last one goes.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.lock().abandoned = true;
        self.shared.wake.notify_one();
    }
}

/// A glue client (glue.js `glue()` socket). Cheap to clone; closes when the last clone and
/// the last [`Channel`] are dropped.
#[derive(Clone)]
pub struct Client {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state())
            .field("socket_id", &self.socket_id())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts connecting to `host` (`http://host:port`, optionally with a path prefix) in a
    /// spawned task and returns at once. Fails for an unusable host or option, or outside a
    /// tokio runtime.
    pub fn connect(host: &str, options: ClientOptions) -> Result<Client, Error> {
        let target = Target::new(host, &options)?;
        tokio::runtime::Handle::try_current().map_err(|e| Error::Io(io::Error::other(e)))?;
        let now = Instant::now();
        let mut machine = GlueClient::new(options.config.clone(), now);
        machine.connect(now).expect("a new client starts once");
        let mut channels = HashMap::new();
        channels.insert(
            MAIN_CHANNEL.to_owned(),
            ChannelState { queue: VecDeque::new(), handler: None },
        );
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                machine,
                channels,
                events: VecDeque::new(),
                handlers: Vec::new(),
                running: false,
                abandoned: false,
                unsent: 0,
            }),
            wake: Notify::new(),
            readable: Notify::new(),
            target: Arc::new(target),
        });
        let client = Client { handle: Arc::new(Handle { shared }) };
        client.ensure_running(&mut client.shared().lock());
        Ok(client)
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    fn ensure_running(&self, st: &mut State) {
        if st.running || !st.busy() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            st.running = true;
            rt.spawn(run(self.shared().clone()));
        }
    }

    /// Runs `f` on the machine, then wakes the task to carry out what it asked for.
    fn command<R>(&self, f: impl FnOnce(&mut State, Instant) -> R) -> R {
        let mut st = self.shared().lock();
        let r = f(&mut st, Instant::now());
        self.ensure_running(&mut st);
        drop(st);
        self.shared().wake.notify_one();
        r
    }

    /// Sends `data` on the main channel: sent, buffered until connected, or discarded (empty
    /// data, or the send buffer expired: an [`Event::Discarded`] follows).
    pub fn send(&self, data: &str) -> Result<SendResult, ClientError> {
        self.send_on(MAIN_CHANNEL, data)
    }

    fn send_on(&self, channel: &str, data: &str) -> Result<SendResult, ClientError> {
        self.command(|st, now| {
            if st.unsent >= st.machine.config().max_buffered {
                return Err(ClientError::SendBufferFull);
            }
            let result = st.machine.send(now, channel, data);
            if result == Ok(SendResult::Sent) {
                st.unsent += 1;
            }
            result
        })
    }

    /// The named channel (created on first use; data for channels never created is dropped,
    /// as glue.js does).
    pub fn channel(&self, name: &str) -> Channel {
        let mut st = self.shared().lock();
        st.channels
            .entry(name.to_owned())
            .or_insert_with(|| ChannelState { queue: VecDeque::new(), handler: None });
        Channel { client: self.clone(), name: name.to_owned() }
    }

    /// The next message on the main channel; `None` once the client is closed for good
    /// (disconnected with nothing pending) and the queue is empty.
    pub async fn recv(&self) -> Option<String> {
        recv_channel(self.shared(), MAIN_CHANNEL).await
    }

    /// Handles main-channel messages with `f` from now on (replacing a previous handler),
    /// starting with those already queued.
    pub fn on_message(&self, f: impl Fn(String) + Send + Sync + 'static) {
        set_handler(self.shared(), MAIN_CHANNEL, Arc::new(f));
    }

    /// Adds an event listener (glue.js `socket.on`), called for every later event.
    pub fn on_event(&self, f: impl Fn(&Event) + Send + Sync + 'static) {
        self.shared().lock().handlers.push(Arc::new(f));
    }

    /// The oldest queued event; `None` once the client is closed for good and no event is
    /// left.
    pub async fn recv_event(&self) -> Option<Event> {
        let shared = self.shared();
        loop {
            let notified = shared.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = shared.lock();
                if let Some(e) = st.events.pop_front() {
                    return Some(e);
                }
                if !st.running {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.shared().lock().machine.state()
    }

    /// The server-assigned socket ID while connected.
    pub fn socket_id(&self) -> Option<String> {
        self.shared().lock().machine.socket_id().map(str::to_owned)
    }

    /// The transport of the current or last attempt.
    pub fn transport(&self) -> Option<Transport> {
        self.shared().lock().machine.transport()
    }

    /// Reconnects once [`ClientState::Disconnected`] (after `reconnect_delay`); false in any
    /// other state.
    pub fn reconnect(&self) -> bool {
        self.command(|st, now| st.machine.reconnect(now))
    }

    /// Closes the client: sends `cl` when connected, drops the transport and stops
    /// reconnecting. Buffered messages stay buffered (see [`reconnect`](Self::reconnect)).
    pub fn close(&self) {
        self.command(|st, now| st.machine.close(now))
    }
}

async fn recv_channel(shared: &Shared, name: &str) -> Option<String> {
    loop {
        let notified = shared.readable.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut st = shared.lock();
            if let Some(m) = st.channels.get_mut(name).and_then(|c| c.queue.pop_front()) {
                drop(st);
                // The task may wait for queue space.
                shared.wake.notify_one();
                return Some(m);
            }
            if !st.running {
                return None;
            }
        }
        notified.await;
    }
}

fn set_handler(shared: &Shared, name: &str, f: MessageHandler) {
    let queued: Vec<String> = {
        let mut st = shared.lock();
        let ch = st
            .channels
            .entry(name.to_owned())
            .or_insert_with(|| ChannelState { queue: VecDeque::new(), handler: None });
        ch.handler = Some(f.clone());
        ch.queue.drain(..).collect()
    };
    shared.wake.notify_one();
    for m in queued {
        f(m);
    }
}

/// A named channel of a [`Client`] (glue.js `socket.channel(name)`). Cheap to clone.
#[derive(Clone)]
pub struct Channel {
    client: Client,
    name: String,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Channel {
    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `data` on this channel (see [`Client::send`]).
    pub fn send(&self, data: &str) -> Result<SendResult, ClientError> {
        self.client.send_on(&self.name, data)
    }

    /// The next message on this channel (see [`Client::recv`]).
    pub async fn recv(&self) -> Option<String> {
        recv_channel(self.client.shared(), &self.name).await
    }

    /// Handles this channel's messages with `f` (replacing a previous handler), starting with
    /// those already queued.
    pub fn on_message(&self, f: impl Fn(String) + Send + Sync + 'static) {
        set_handler(self.client.shared(), &self.name, Arc::new(f));
    }
}
