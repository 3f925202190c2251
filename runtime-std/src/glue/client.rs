//! The glue client (the glue.js API) over WebSocket and AjaxSocket, on one thread per client.
//!
//! [`Client::connect`] returns at once; a background thread opens the transport, runs the
//! [`GlueClient`] machine's timers and reconnects as glue.js does (spec §6). Sends made
//! before the connection is up are buffered and go out, in order, once it is.
//!
//! ```no_run
//! use glue_std::glue::client::{Client, ClientOptions};
//! use std::time::Duration;
//!
//! let client = Client::connect("http://127.0.0.1:8080", ClientOptions::default())?;
//! client.send("hello").unwrap(); // buffered until connected
//! if let Some(reply) = client.read_timeout(Duration::from_secs(5)) {
//!     println!("server said {reply}");
//! }
//! let chat = client.channel("chat");
//! chat.on_message(|data| println!("chat: {data}"));
//! client.close();
//! # Ok::<(), glue_std::Error>(())
//! ```
//!
//! Threads: the client thread reads the transport and runs the timers. Sends are written by
//! the calling thread (an AjaxSocket push waits for its HTTP answer, at most 8 s). Handlers
//! ([`Client::on_event`], [`Channel::on_message`]) run on whichever of these threads drains
//! the machine, one at a time; they must not block.
//!
//! Bounds: the machine's send buffer holds [`ClientConfig::max_buffered`] messages, and as
//! many sent messages may wait to be written ([`ClientError::SendBufferFull`] beyond). Each
//! channel queues at most [`ClientOptions::recv_queue`] messages for `read`; while any queue
//! is full the client stops reading from the transport (nothing is dropped; the server's
//! queue fills instead). Messages held back before the init reply may push a queue past its
//! bound once. The event queue keeps the newest [`ClientOptions::event_queue`] events.

use crate::ws::{self, Message as WsMessage, WebSocket, WsSender};
use crate::Error;
use bytes::Bytes;
use glue_protocol::glue::{Action, ClientError, ClientEvent, GlueClient, MAIN_CHANNEL};
use glue_protocol::http::ClientConnection;
use glue_protocol::ws::Utf8Bytes;
use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use glue_protocol::glue::client_target::ClientTarget;
pub use glue_protocol::glue::client_target::{ClientOptions, Event};
pub use glue_protocol::glue::{ClientConfig, ClientState, SendResult, Transport};

/// glue.js's timeout of a push (and init) request.
const SEND_TIMEOUT: Duration = Duration::from_secs(8);
/// glue.js's timeout of a poll request (longer than the server's 35 s hold).
const POLL_TIMEOUT: Duration = Duration::from_secs(45);
/// Longest blocking read before the client thread looks at its state again.
const MAX_WAIT: Duration = Duration::from_millis(250);

type EventHandler = Arc<dyn Fn(&Event) + Send + Sync>;
type MessageHandler = Arc<dyn Fn(String) + Send + Sync>;

type Target = ClientTarget;

/// Runtime-specific connection helpers of a [`ClientTarget`].
trait TargetExt {
    fn socket_addr(&self) -> io::Result<SocketAddr>;
    fn tcp(&self, timeout: Duration) -> io::Result<TcpStream>;
}

impl TargetExt for ClientTarget {
    fn socket_addr(&self) -> io::Result<SocketAddr> {
        (self.addr.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))
    }

    fn tcp(&self, timeout: Duration) -> io::Result<TcpStream> {
        let s = TcpStream::connect_timeout(
            &self.socket_addr()?,
            timeout.max(Duration::from_millis(1)),
        )?;
        let _ = s.set_nodelay(true);
        Ok(s)
    }
}

/// One keep-alive HTTP/1.1 connection to the AjaxSocket endpoint.
struct HttpConn {
    stream: Arc<TcpStream>,
    conn: ClientConnection,
}

impl HttpConn {
    fn open(target: &Target, timeout: Duration) -> io::Result<HttpConn> {
        let stream = Arc::new(target.tcp(timeout)?);
        Ok(HttpConn { stream, conn: ClientConnection::new(target.limits()) })
    }

    /// Writes a request (the answer is read with [`read_answer`](Self::read_answer)).
    fn write_request(&mut self, target: &Target, body: Bytes) -> io::Result<()> {
        let bytes = self.conn.send(&target.request(body));
        (&*self.stream).write_all(&bytes)
    }

    /// Reads until the answer is complete or `until`, at most `slice` at a time; `Ok(None)`
    /// when `slice` passed without an answer.
    fn read_answer(&mut self, until: Instant, slice: Duration) -> Result<Option<Bytes>, String> {
        let mut buf = [0u8; 16 * 1024];
        let slice_end = Instant::now() + slice;
        loop {
            match self.conn.poll_response() {
                Some(Ok(r)) if r.head.status < 200 => continue,
                Some(Ok(r)) => return Ok(Some(r.body)),
                Some(Err(e)) => return Err(format!("ajax socket: {e}")),
                None if self.conn.is_finished() => {
                    return Err("the ajax socket closed the connection with an error.".into())
                }
                None => {}
            }
            let now = Instant::now();
            if now >= until {
                return Err("the ajax socket closed the connection with the error: timeout".into());
            }
            if now >= slice_end {
                return Ok(None);
            }
            let wait = until.min(slice_end) - now;
            let _ = self.stream.set_read_timeout(Some(wait.max(Duration::from_millis(1))));
            match (&*self.stream).read(&mut buf) {
                Ok(0) => self.conn.handle_eof(),
                Ok(n) => self.conn.handle_data(&buf[..n]),
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err("the ajax socket closed the connection with an error.".into()),
            }
        }
    }

    /// One whole request/answer exchange.
    fn exchange(
        &mut self,
        target: &Target,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, String> {
        let until = Instant::now() + timeout;
        self.write_request(target, body)
            .map_err(|_| "the ajax socket closed the connection with an error.".to_string())?;
        loop {
            if let Some(body) = self.read_answer(until, timeout)? {
                return Ok(body);
            }
        }
    }

    fn reusable(&self) -> bool {
        !self.conn.is_finished() && self.conn.pending_responses() == 0
    }
}

/// The current transport as seen by the threads that send on it.
enum Link {
    None,
    Ws(WsSender),
    Ajax(Arc<AjaxLink>),
}

/// The sending half of an AjaxSocket.
struct AjaxLink {
    uid: String,
    push: Mutex<Option<HttpConn>>,
    /// The poll connection, shut down to wake the client thread on close.
    poll: Mutex<Option<Arc<TcpStream>>>,
}

struct ChannelState {
    queue: VecDeque<String>,
    handler: Option<MessageHandler>,
}

struct State {
    machine: GlueClient,
    link: Link,
    /// Bumped whenever a transport is opened or dropped; stale reports are ignored.
    generation: u64,
    open_request: Option<(Transport, u64)>,
    channels: HashMap<String, ChannelState>,
    events: VecDeque<Event>,
    handlers: Vec<EventHandler>,
    /// The client thread is alive.
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
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the client thread (open request, queue space, timers) and readers.
    cond: Condvar,
    exec: Mutex<()>,
    dirty: AtomicBool,
    target: Target,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Performs the machine's actions and dispatches its events, in order, on whichever thread
    /// holds the executor lock (the others leave their work to it).
    fn pump(self: &Arc<Self>) {
        loop {
            self.dirty.store(true, Ordering::SeqCst);
            let Ok(guard) = self.exec.try_lock() else { return };
            while self.dirty.swap(false, Ordering::SeqCst) {
                loop {
                    let (actions, events, handlers) = {
                        let mut st = self.lock();
                        let actions: Vec<Action> =
                            std::iter::from_fn(|| st.machine.poll_action()).collect();
                        let events: Vec<ClientEvent> =
                            std::iter::from_fn(|| st.machine.poll_event()).collect();
                        (actions, events, st.handlers.clone())
                    };
                    if actions.is_empty() && events.is_empty() {
                        break;
                    }
                    for action in actions {
                        self.execute(action);
                    }
                    for event in events {
                        self.dispatch(event, &handlers);
                    }
                }
            }
            drop(guard);
            if !self.dirty.load(Ordering::SeqCst) {
                return;
            }
        }
    }

    fn execute(self: &Arc<Self>, action: Action) {
        match action {
            Action::OpenTransport(kind) => {
                let mut st = self.lock();
                st.generation += 1;
                st.link = Link::None;
                st.open_request = Some((kind, st.generation));
                self.cond.notify_all();
            }
            Action::CloseTransport => {
                let link = {
                    let mut st = self.lock();
                    st.generation += 1;
                    st.open_request = None;
                    // Every data message counted as unsent went before.
                    st.unsent = 0;
                    std::mem::replace(&mut st.link, Link::None)
                };
                match link {
                    Link::None => {}
                    Link::Ws(sender) => {
                        let _ = sender.close(None, "");
                    }
                    Link::Ajax(ajax) => {
                        if let Some(poll) =
                            ajax.poll.lock().unwrap_or_else(|p| p.into_inner()).take()
                        {
                            let _ = poll.shutdown(Shutdown::Both);
                        }
                    }
                }
                self.cond.notify_all();
            }
            Action::Send(bytes) => {
                let (link, generation) = {
                    let mut st = self.lock();
                    if bytes.starts_with(b"cd") {
                        st.unsent = st.unsent.saturating_sub(1);
                    }
                    let link = match &st.link {
                        Link::None => return,
                        Link::Ws(s) => Link::Ws(s.clone()),
                        Link::Ajax(a) => Link::Ajax(a.clone()),
                    };
                    (link, st.generation)
                };
                let result = match link {
                    Link::None => Ok(()),
                    Link::Ws(sender) => match Utf8Bytes::try_from_bytes(bytes) {
                        Ok(text) => sender.send(WsMessage::Text(text)).map_err(|e| e.to_string()),
                        Err(_) => Ok(()),
                    },
                    Link::Ajax(ajax) => self.push(&ajax, bytes),
                };
                if let Err(message) = result {
                    let mut st = self.lock();
                    if st.generation == generation {
                        st.machine.handle_transport_error(Instant::now(), &message);
                        self.dirty.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
    }

    /// One AjaxSocket push (`u<uid>&<message>`); its answer is ignored, as glue.js does.
    fn push(&self, ajax: &AjaxLink, message: Bytes) -> Result<(), String> {
        let mut body = Vec::with_capacity(ajax.uid.len() + 2 + message.len());
        body.push(b'u');
        body.extend_from_slice(ajax.uid.as_bytes());
        body.push(b'&');
        body.extend_from_slice(&message);
        let body = Bytes::from(body);
        let mut slot = ajax.push.lock().unwrap_or_else(|p| p.into_inner());
        // A kept-alive connection the server closed meanwhile fails before any answer byte:
        // retried once on a fresh connection.
        for attempt in 0..2 {
            let reused = slot.as_ref().is_some_and(HttpConn::reusable);
            let mut conn = match slot.take().filter(HttpConn::reusable) {
                Some(c) => c,
                None => HttpConn::open(&self.target, SEND_TIMEOUT).map_err(|_| {
                    "the ajax socket closed the connection with an error.".to_string()
                })?,
            };
            match conn.exchange(&self.target, body.clone(), SEND_TIMEOUT) {
                Ok(_) => {
                    if conn.reusable() {
                        *slot = Some(conn);
                    }
                    return Ok(());
                }
                Err(e)
                    if reused
                        && attempt == 0
                        && conn.conn.pending_responses() > 0
                        && e.contains("with an error") =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err("the ajax socket closed the connection with an error.".into())
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
                            self.cond.notify_all();
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
            self.cond.notify_all();
        }
        for h in handlers {
            h(&event);
        }
    }
}

/// What the client thread reads from.
enum Reader {
    None,
    Ws { ws: WebSocket, generation: u64 },
    Ajax { poll: HttpConn, uid: String, token: String, since: Option<Instant>, generation: u64 },
}

impl Reader {
    fn generation(&self) -> Option<u64> {
        match self {
            Reader::None => None,
            Reader::Ws { generation, .. } | Reader::Ajax { generation, .. } => Some(*generation),
        }
    }
}

/// What a read produced.
enum Input {
    Nothing,
    Message(Bytes),
    Closed,
    Error(String),
}

fn run(shared: Arc<Shared>) {
    let mut reader = Reader::None;
    loop {
        shared.pump();
        let mut st = shared.lock();
        if st.abandoned && !matches!(st.machine.state(), ClientState::Disconnected) {
            st.machine.close(Instant::now());
            drop(st);
            shared.pump();
            st = shared.lock();
        }
        if reader.generation().is_some_and(|g| g != st.generation) {
            reader = Reader::None;
        }
        if let Some((kind, generation)) = st.open_request.take() {
            drop(st);
            reader = open(&shared, kind, generation);
            continue;
        }
        let now = Instant::now();
        let deadline = st.machine.poll_timeout();
        if deadline.is_some_and(|d| d <= now) {
            st.machine.handle_timeout(now);
            continue;
        }
        let full = st.queues_full(shared.target.recv_queue);
        if matches!(reader, Reader::None) || full {
            let idle = deadline.is_none()
                && matches!(reader, Reader::None)
                && matches!(st.link, Link::None)
                && st.machine.state() == ClientState::Disconnected;
            if idle || st.abandoned && deadline.is_none() {
                st.running = false;
                return;
            }
            let wait = deadline.map_or(MAX_WAIT * 40, |d| d - now);
            drop(shared.cond.wait_timeout(st, wait).unwrap_or_else(|p| p.into_inner()));
            continue;
        }
        drop(st);
        let slice = deadline.map_or(MAX_WAIT, |d| (d - now).min(MAX_WAIT));
        let input = read(&shared, &mut reader, slice);
        if matches!(input, Input::Nothing) {
            continue;
        }
        let mut st = shared.lock();
        if reader.generation() != Some(st.generation) {
            reader = Reader::None;
            continue;
        }
        let now = Instant::now();
        match input {
            Input::Nothing => {}
            Input::Message(m) => st.machine.handle_message(now, &m),
            Input::Closed => {
                reader = Reader::None;
                st.machine.handle_transport_closed(now);
            }
            Input::Error(e) => {
                reader = Reader::None;
                st.machine.handle_transport_error(now, &e);
            }
        }
    }
}

/// Reads one thing from the transport, waiting at most about `slice`.
fn read(shared: &Shared, reader: &mut Reader, slice: Duration) -> Input {
    match reader {
        Reader::None => Input::Nothing,
        Reader::Ws { ws, .. } => match ws.recv_timeout(slice) {
            Some(Ok(Some(WsMessage::Text(t)))) => Input::Message(t.into_bytes()),
            Some(Ok(Some(_))) | Some(Ok(None)) => Input::Nothing,
            Some(Err(e)) => {
                Input::Error(format!("the websocket closed the connection with an error: {e}"))
            }
            None => Input::Closed,
        },
        Reader::Ajax { poll, uid, token, since, .. } => {
            let target = &shared.target;
            if since.is_none() {
                if !poll.reusable() {
                    match HttpConn::open(target, SEND_TIMEOUT) {
                        Ok(c) => *poll = c,
                        Err(_) => {
                            return Input::Error(
                                "the ajax socket closed the connection with an error.".into(),
                            )
                        }
                    }
                }
                let body = Bytes::from(format!("o{uid}&{token}"));
                if poll.write_request(target, body).is_err() {
                    return Input::Error(
                        "the ajax socket closed the connection with an error.".into(),
                    );
                }
                *since = Some(Instant::now());
            }
            let until = since.expect("poll in flight") + POLL_TIMEOUT;
            match poll.read_answer(until, slice) {
                Ok(None) => Input::Nothing,
                Err(e) => Input::Error(e),
                Ok(Some(body)) => {
                    *since = None;
                    match &body[..] {
                        b"t" => Input::Nothing,
                        b"c" => Input::Closed,
                        _ => match body.iter().position(|&b| b == b'&') {
                            Some(i) => {
                                *token = String::from_utf8_lossy(&body[..i]).into_owned();
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

/// Opens a transport on the client thread and reports the outcome to the machine.
fn open(shared: &Arc<Shared>, kind: Transport, generation: u64) -> Reader {
    let target = &shared.target;
    let started = Instant::now();
    let outcome: Result<(Link, Reader), String> = match kind {
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
            match ws::connect_with(&target.ws_url, config) {
                Ok(ws) => {
                    let sender = ws.sender();
                    Ok((Link::Ws(sender), Reader::Ws { ws, generation }))
                }
                Err(Error::Timeout) => Err(String::new()),
                Err(e) => Err(format!("the websocket closed the connection with an error: {e}")),
            }
        }
        Transport::Ajax => open_ajax(target, generation),
    };
    let mut st = shared.lock();
    if st.generation != generation {
        return Reader::None; // closed meanwhile
    }
    let now = Instant::now();
    match outcome {
        Ok((link, reader)) => {
            if let (Link::Ajax(a), Reader::Ajax { poll, .. }) = (&link, &reader) {
                *a.poll.lock().unwrap_or_else(|p| p.into_inner()) = Some(poll.stream.clone());
            }
            st.link = link;
            st.machine.handle_transport_open(now);
            reader
        }
        // Out of time: the machine's connect timer reports it.
        Err(e) if e.is_empty() || now >= started + target.connect_timeout => Reader::None,
        Err(e) => {
            st.machine.handle_transport_error(now, &e);
            Reader::None
        }
    }
}

fn open_ajax(target: &Target, generation: u64) -> Result<(Link, Reader), String> {
    let failed = || "the ajax socket closed the connection with an error.".to_string();
    let timeout = target.connect_timeout.min(SEND_TIMEOUT);
    let mut init = HttpConn::open(target, timeout).map_err(|_| failed())?;
    let body = init.exchange(target, Bytes::from_static(b"i"), timeout)?;
    let text = String::from_utf8_lossy(&body);
    let Some((uid, token)) = text.split_once('&') else {
        return Err("ajax socket: failed to split uid and poll token from data!".into());
    };
    let poll = HttpConn::open(target, timeout).map_err(|_| failed())?;
    let push = init.reusable().then_some(init);
    let link = AjaxLink { uid: uid.to_owned(), push: Mutex::new(push), poll: Mutex::new(None) };
    let reader = Reader::Ajax {
        poll,
        uid: uid.to_owned(),
        token: token.to_owned(),
        since: None,
        generation,
    };
    Ok((Link::Ajax(Arc::new(link)), reader))
}

/// Counts the user-facing handles so the client closes when the last one goes.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.abandoned = true;
        self.shared.cond.notify_all();
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
    /// Starts connecting to `host` (`http://host:port`, optionally with a path prefix) in the
    /// background and returns at once. Fails only for an unusable host or option.
    pub fn connect(host: &str, options: ClientOptions) -> Result<Client, Error> {
        let target = Target::new(host, &options)?;
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
                link: Link::None,
                generation: 0,
                open_request: None,
                channels,
                events: VecDeque::new(),
                handlers: Vec::new(),
                running: false,
                abandoned: false,
                unsent: 0,
            }),
            cond: Condvar::new(),
            exec: Mutex::new(()),
            dirty: AtomicBool::new(false),
            target,
        });
        let client = Client { handle: Arc::new(Handle { shared }) };
        client.ensure_running(&mut client.shared().lock())?;
        Ok(client)
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    fn ensure_running(&self, st: &mut State) -> Result<(), Error> {
        if st.running {
            return Ok(());
        }
        st.running = true;
        let shared = self.shared().clone();
        static THREADS: AtomicUsize = AtomicUsize::new(0);
        let n = THREADS.fetch_add(1, Ordering::Relaxed);
        std::thread::Builder::new().name(format!("glue-client-{n}")).spawn(move || run(shared))?;
        Ok(())
    }

    /// Runs `f` on the machine, then carries out what it asked for.
    fn command<R>(&self, f: impl FnOnce(&mut GlueClient, Instant) -> R) -> R {
        let r = {
            let mut st = self.shared().lock();
            let r = f(&mut st.machine, Instant::now());
            if st.machine.poll_timeout().is_some() {
                let _ = self.ensure_running(&mut st);
            }
            self.shared().cond.notify_all();
            r
        };
        self.shared().pump();
        r
    }

    /// Sends `data` on the main channel: sent, buffered until connected, or discarded (empty
    /// data, or the send buffer expired: an [`Event::Discarded`] follows).
    pub fn send(&self, data: &str) -> Result<SendResult, ClientError> {
        self.send_on(MAIN_CHANNEL, data)
    }

    fn send_on(&self, channel: &str, data: &str) -> Result<SendResult, ClientError> {
        let result = {
            let mut st = self.shared().lock();
            if st.unsent >= st.machine.config().max_buffered {
                return Err(ClientError::SendBufferFull);
            }
            let result = st.machine.send(Instant::now(), channel, data);
            if result == Ok(SendResult::Sent) {
                st.unsent += 1;
            }
            if st.machine.poll_timeout().is_some() {
                let _ = self.ensure_running(&mut st);
            }
            result
        };
        self.shared().pump();
        result
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

    /// The next message on the main channel, waiting at most `timeout`.
    pub fn read_timeout(&self, timeout: Duration) -> Option<String> {
        read_channel(self.shared(), MAIN_CHANNEL, timeout)
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

    /// The oldest queued event, waiting at most `timeout`.
    pub fn read_event_timeout(&self, timeout: Duration) -> Option<Event> {
        let until = Instant::now() + timeout;
        let mut st = self.shared().lock();
        loop {
            if let Some(e) = st.events.pop_front() {
                return Some(e);
            }
            let now = Instant::now();
            if now >= until {
                return None;
            }
            st = self
                .shared()
                .cond
                .wait_timeout(st, until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
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
        self.command(|m, now| m.reconnect(now))
    }

    /// Closes the client: sends `cl` when connected, drops the transport and stops
    /// reconnecting. Buffered messages stay buffered (see [`reconnect`](Self::reconnect)).
    pub fn close(&self) {
        self.command(|m, now| m.close(now))
    }
}

fn read_channel(shared: &Shared, name: &str, timeout: Duration) -> Option<String> {
    let until = Instant::now() + timeout;
    let mut st = shared.lock();
    loop {
        if let Some(m) = st.channels.get_mut(name).and_then(|c| c.queue.pop_front()) {
            // The client thread may wait for queue space.
            shared.cond.notify_all();
            return Some(m);
        }
        let now = Instant::now();
        if now >= until {
            return None;
        }
        st = shared.cond.wait_timeout(st, until - now).unwrap_or_else(|p| p.into_inner()).0;
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
        shared.cond.notify_all();
        ch.queue.drain(..).collect()
    };
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

    /// The next message on this channel, waiting at most `timeout`.
    pub fn read_timeout(&self, timeout: Duration) -> Option<String> {
        read_channel(self.client.shared(), &self.name, timeout)
    }

    /// Handles this channel's messages with `f` (replacing a previous handler), starting with
    /// those already queued.
    pub fn on_message(&self, f: impl Fn(String) + Send + Sync + 'static) {
        set_handler(self.client.shared(), &self.name, Arc::new(f));
    }
}
