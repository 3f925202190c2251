//! The blocking Engine.IO server driver shared by [`crate::eio`] and [`crate::sio`]: HTTP
//! requests (handshakes, held polls, posts), WebSocket connections, one timer thread, and
//! ordered dispatch of the layer above's callbacks.
//!
//! A [`Layer`] is what sits on top of Engine.IO: it keeps per-session state next to the
//! [`EioSession`] (under the same lock), turns the session's events into work, and runs that
//! work (application callbacks) unlocked, in order, one thread per session at a time.
//!
//! Threads:
//! * One thread per TCP connection, serving HTTP/1.1 keep-alive requests; a WebSocket upgrade
//!   stays on it and the thread becomes the WebSocket's reader: it blocks in `read` with the
//!   session's next deadline as read timeout ([`EioSession::poll_timeout`] and the layer's
//!   [`Layer::poll_timeout`]).
//! * Output is written by whichever thread produced it, outside the session lock: WebSocket
//!   bytes by the thread that finds nobody else writing that connection (the *flusher*; a
//!   per-connection `flushing` flag is the write lock), a held poll's answer by the thread that
//!   produced it, through the poll's [`Responder`]. So no thread ever needs waking to write.
//!   One exception: the thread running a session's handlers writes that session's WebSocket
//!   output when they are done (see [`Session::settle`]).
//! * A held poll keeps its HTTP thread blocked in `read` on its connection: a client that goes
//!   away is noticed at once (→ [`EioSession::poll_aborted`]).
//! * One timer thread (a deadline heap, one live entry per session): every deadline of a
//!   polling session, and the layer's deadlines (Socket.IO ack timeouts) of a WebSocket
//!   session, which other threads may set earlier than the one its reader sleeps on.
//!
//! One limit of blocking reads: an Engine.IO WebSocket deadline that another thread moves
//! *earlier* (the close handshake after [`EioSession::close`] from an application thread) is
//! seen by the reader only when its current read times out (at most `ping_interval +
//! ping_timeout`). The session itself closes at once (and leaves the registry).

use crate::glue::server::{
    is_timeout, GlueStream, ReadBuffer, ReadTimeout, THREAD_STACK, WRITE_TIMEOUT,
};
use crate::glue::socket::{write_batch, BATCH_BYTES, MAX_IOV};
use crate::tls::TlsServerConfig;
use bytes::Bytes;
use glue_protocol::eio::server::{
    error_response, polling_headers, polling_response, route, server_error_response,
    ws_error_response, EioErrorCode, EioRoute, EioServerOptions, Handshake,
};
use glue_protocol::eio::session::{EioSession, PollAnswer, WsId};
use glue_protocol::eio::PollingMode;
pub use glue_protocol::engine::Fallback;
use glue_protocol::engine::{request_error_response, EngineCore, Layer, LayerState, SessionHost};
use glue_protocol::http::{HttpError, Limits, RequestHead, Response, ServerConnection};
use glue_protocol::rand::OsEntropy;
use glue_protocol::ws::handshake::respond;
use glue_protocol::ws::Connection;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant, SystemTime};

/// How long an HTTP connection may sit idle between requests.
const HTTP_IDLE: Duration = Duration::from_secs(60);

/// A [`Layer`] this engine can host: its handle is made from the engine's session (see
/// [`glue_protocol::session_handle!`]).
pub(crate) trait Hosted: Layer<Handle: From<Arc<Session<Self>>>> {}

impl<L: Layer<Handle: From<Arc<Session<L>>>>> Hosted for L {}

impl<L: Hosted> SessionHost<L> for Session<L> {
    fn sid(&self) -> &Arc<str> {
        &self.sid
    }
    fn peek<R>(&self, f: impl FnOnce(&mut LayerState<L>) -> R) -> R {
        f(&mut self.lock().ls)
    }
    fn with<R>(self: &Arc<Self>, f: impl FnOnce(&mut LayerState<L>, Instant) -> R) -> R {
        Session::with(self, |st, now| f(&mut st.ls, now))
    }
}

/// One WebSocket of a session as the runtime holds it: where its output goes.
struct WsPort {
    id: WsId,
    io: Arc<dyn GlueStream>,
    /// A thread is writing this connection (others leave their output to it).
    flushing: bool,
}

/// A session's state under its lock.
pub(crate) struct State<L: Hosted> {
    pub ls: LayerState<L>,
    waiter: Option<(u64, Arc<Responder>)>,
    ports: Vec<WsPort>,
    /// The thread running the session's work while `ls.dispatching`.
    dispatcher: Option<ThreadId>,
}

/// One Engine.IO session as the runtime holds it.
pub(crate) struct Session<L: Hosted> {
    pub sid: Arc<str>,
    state: Mutex<State<L>>,
    pub engine: Weak<Engine<L>>,
}

type Guard<'a, L> = MutexGuard<'a, State<L>>;

impl<L: Hosted> Session<L> {
    pub fn lock(&self) -> Guard<'_, L> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then settles (writes, answers, work).
    pub fn with<R>(self: &Arc<Self>, f: impl FnOnce(&mut State<L>, Instant) -> R) -> R {
        let now = Instant::now();
        let mut g = self.lock();
        let r = f(&mut g, now);
        self.settle(g, now);
        r
    }

    /// After any operation: let the layer pump, write the WebSocket output (unless another
    /// thread is writing it), hand poll answers to their held GETs, register the session's
    /// timer, forget a finished session, and dispatch work in order (only one thread
    /// dispatches a session's work at a time).
    ///
    /// The dispatching thread writes its WebSocket output after the handlers it runs (as the
    /// tokio runtime's WebSocket task does): the client never sees what an input produced
    /// before the work that input queued has run — e.g. Socket.IO's CONNECT before the
    /// socket is registered in its namespace.
    pub fn settle<'a>(self: &'a Arc<Self>, mut g: Guard<'a, L>, mut now: Instant) {
        let Some(engine) = self.engine.upgrade() else { return };
        // After dispatching, settle again: that writes what the handlers left to this thread.
        while self.settle_once(&engine, g, now) {
            g = self.lock();
            now = Instant::now();
        }
    }

    /// One [`settle`](Self::settle) pass; true if it dispatched work.
    fn settle_once<'a>(
        self: &'a Arc<Self>,
        engine: &Arc<Engine<L>>,
        mut g: Guard<'a, L>,
        now: Instant,
    ) -> bool {
        loop {
            engine.layer.pump(&mut g.ls, now);
            // Held back while this thread runs (or is about to run) the session's handlers.
            let hold = if g.ls.dispatching {
                g.dispatcher == Some(std::thread::current().id())
            } else {
                !g.ls.work.is_empty()
            };
            if hold {
                break;
            }
            let (g2, wrote) = self.flush(g);
            g = g2;
            if !wrote {
                break;
            }
        }
        let st = &mut *g;
        let deliver = st.ls.take_answers(&mut st.waiter);
        let finished = st.ls.is_gone();
        let mut new_timer = None;
        if !finished {
            // A polling session's deadlines are all the timer thread's. A WebSocket session's
            // reader sleeps on the deadline it computed before its read; the layer's deadlines
            // (ack timeouts) may be set meanwhile by other threads, earlier: the timer thread
            // visits the session for those too.
            let deadline = if st.ls.eio.is_websocket() {
                engine.layer.poll_timeout(&st.ls.upper)
            } else {
                st.ls.next_deadline(&engine.layer)
            };
            new_timer = st.ls.arm_timer(deadline);
        }
        let dispatch = st.ls.claim_dispatch();
        if dispatch {
            st.dispatcher = Some(std::thread::current().id());
        }
        drop(g);
        for (responder, answer) in deliver {
            responder.answer(&answer);
        }
        if let Some(t) = new_timer {
            engine.timer.schedule(t, self.sid.clone(), engine);
        }
        if finished {
            engine.forget(self);
        }
        if dispatch {
            glue_protocol::engine::dispatch(&engine.layer, &self.clone().into());
        }
        dispatch
    }

    /// Writes every WebSocket's output that no other thread is writing. The lock is released
    /// while writing; returns it re-taken, and whether it was released (the state may have
    /// changed meanwhile).
    fn flush<'a>(&'a self, mut g: Guard<'a, L>) -> (Guard<'a, L>, bool) {
        if g.ports.is_empty() {
            return (g, false);
        }
        let ids: Vec<WsId> = g.ports.iter().map(|p| p.id).collect();
        let mut released = false;
        for id in ids {
            let (g2, r) = self.flush_port(g, id);
            g = g2;
            released |= r;
        }
        (g, released)
    }

    fn flush_port<'a>(&'a self, mut g: Guard<'a, L>, id: WsId) -> (Guard<'a, L>, bool) {
        let mut released = false;
        let mut batch: VecDeque<Bytes> = VecDeque::new();
        loop {
            let st = &mut *g;
            let Some(port) = st.ports.iter_mut().find(|p| p.id == id) else {
                return (g, released);
            };
            if port.flushing {
                return (g, released);
            }
            let mut bytes = 0;
            while batch.len() < MAX_IOV && bytes < BATCH_BYTES {
                match st.ls.eio.poll_ws_transmit(id) {
                    Some(b) if b.is_empty() => {}
                    Some(b) => {
                        bytes += b.len();
                        batch.push_back(b);
                    }
                    None => break,
                }
            }
            if batch.is_empty() {
                if st.ls.eio.ws_terminated(id) {
                    // Everything is written: the connection is done (this also wakes its
                    // reader).
                    let _ = port.io.shutdown(Shutdown::Both);
                    st.ports.retain(|p| p.id != id);
                }
                return (g, released);
            }
            port.flushing = true;
            let io = port.io.clone();
            drop(g);
            released = true;
            let written = write_batch(&*io, &mut batch);
            g = self.lock();
            let st = &mut *g;
            if let Some(port) = st.ports.iter_mut().find(|p| p.id == id) {
                port.flushing = false;
            }
            if written.is_err() {
                batch.clear();
                let _ = io.shutdown(Shutdown::Both);
                st.ports.retain(|p| p.id != id);
                st.ls.eio.handle_ws_eof(Instant::now(), id);
                return (g, released);
            }
        }
    }
}

/// Where a held poll's answer goes: its HTTP connection.
struct Responder {
    stream: Arc<dyn GlueStream>,
    headers: Vec<(&'static str, String)>,
    keep_alive: bool,
    state: Mutex<Reply>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reply {
    Waiting,
    Answered,
    Failed,
    Aborted,
}

impl Responder {
    fn lock(&self) -> MutexGuard<'_, Reply> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `answer` as the 200 response (once).
    fn answer(&self, answer: &PollAnswer) {
        let mut state = self.lock();
        if *state != Reply::Waiting {
            return;
        }
        let bytes = polling_response(
            &self.headers,
            answer.content_type,
            answer.body.clone(),
            self.keep_alive,
        );
        match self.stream.write_all_shared(&bytes) {
            Ok(()) => {
                *state = Reply::Answered;
                if !self.keep_alive {
                    let _ = self.stream.shutdown(Shutdown::Write);
                }
            }
            Err(_) => {
                *state = Reply::Failed;
                // Wakes the connection thread, which drops the connection.
                let _ = self.stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// The client went away: withdraws the poll unless it was answered. True if withdrawn.
    fn abort(&self) -> bool {
        let mut state = self.lock();
        if *state == Reply::Waiting {
            *state = Reply::Aborted;
            return true;
        }
        false
    }

    fn outcome(&self) -> Reply {
        *self.lock()
    }
}

/// Polling sessions' deadlines, earliest first; an entry is live only while it matches its
/// session's `timer_at` (stale entries are skipped when due).
struct TimerState {
    heap: BinaryHeap<Reverse<(Instant, Arc<str>)>>,
    running: bool,
    stopped: bool,
}

/// The engine's one timer thread (polling sessions; layer deadlines of WebSocket sessions).
struct Timer {
    state: Mutex<TimerState>,
    cv: Condvar,
}

impl Timer {
    fn lock(&self) -> MutexGuard<'_, TimerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Visits session `sid` at `at` (starting the thread if needed).
    fn schedule<L: Hosted>(self: &Arc<Self>, at: Instant, sid: Arc<str>, engine: &Arc<Engine<L>>) {
        let mut st = self.lock();
        if st.stopped {
            return;
        }
        let earliest = st.heap.peek().map_or(true, |Reverse((t, _))| at < *t);
        st.heap.push(Reverse((at, sid)));
        if !st.running {
            let timer = self.clone();
            let weak = Arc::downgrade(engine);
            let spawned = std::thread::Builder::new()
                .name("eio-timer".into())
                .stack_size(THREAD_STACK)
                .spawn(move || timer.run(weak));
            match spawned {
                Ok(_) => st.running = true,
                Err(e) => tracing::error!("engine.io: cannot spawn the timer thread: {e}"),
            }
        } else if earliest {
            self.cv.notify_one();
        }
    }

    /// The engine is gone: the thread ends.
    fn stop(&self) {
        let mut st = self.lock();
        st.stopped = true;
        st.heap.clear();
        self.cv.notify_one();
    }

    fn run<L: Hosted>(&self, engine: Weak<Engine<L>>) {
        loop {
            let due = {
                let mut st = self.lock();
                loop {
                    if st.stopped || engine.strong_count() == 0 {
                        st.running = false;
                        return;
                    }
                    let now = Instant::now();
                    match st.heap.peek() {
                        Some(Reverse((t, _))) if *t <= now => break,
                        Some(Reverse((t, _))) => {
                            let left = *t - now;
                            st =
                                self.cv.wait_timeout(st, left).unwrap_or_else(|e| e.into_inner()).0;
                        }
                        None => st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner()),
                    }
                }
                let now = Instant::now();
                let mut due = Vec::new();
                while st.heap.peek().is_some_and(|Reverse((t, _))| *t <= now) {
                    let Reverse(entry) = st.heap.pop().expect("peeked");
                    due.push(entry);
                }
                due
            };
            let Some(e) = engine.upgrade() else { continue };
            for (at, sid) in due {
                let Some(s) = e.get(&sid) else { continue };
                let now = Instant::now();
                let mut g = s.lock();
                if g.ls.timer_at != Some(at) {
                    continue; // stale: the session has an earlier entry
                }
                g.ls.timer_visit(&e.layer, now);
                s.settle(g, now);
            }
        }
    }
}

/// The engine: its core (options, layer, sessions), the timer, the listeners.
pub(crate) struct Engine<L: Hosted> {
    core: EngineCore<L, Session<L>>,
    /// Signalled when a session is forgotten.
    live: Condvar,
    timer: Arc<Timer>,
    released: AtomicBool,
    /// Addresses of the listeners `serve_tcp` blocks on (connected to, to wake them).
    listeners: Mutex<Vec<SocketAddr>>,
}

impl<L: Hosted> Deref for Engine<L> {
    type Target = EngineCore<L, Session<L>>;
    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl<L: Hosted> Drop for Engine<L> {
    fn drop(&mut self) {
        self.timer.stop();
    }
}

impl<L: Hosted> Engine<L> {
    pub fn new(opts: EioServerOptions, layer: L, fallback: Option<Fallback>) -> Arc<Self> {
        Arc::new(Engine {
            core: EngineCore::new(opts, layer, fallback),
            live: Condvar::new(),
            timer: Arc::new(Timer {
                state: Mutex::new(TimerState {
                    heap: BinaryHeap::new(),
                    running: false,
                    stopped: false,
                }),
                cv: Condvar::new(),
            }),
            released: AtomicBool::new(false),
            listeners: Mutex::new(Vec::new()),
        })
    }

    fn forget(&self, s: &Arc<Session<L>>) {
        self.core.forget(s);
        self.live.notify_all();
    }

    /// Wraps a new session's state (for [`EngineCore::create`]); `ws` is its WebSocket
    /// connection (id 0) for a WebSocket session.
    fn session(
        self: &Arc<Self>,
        ws: Option<Arc<dyn GlueStream>>,
    ) -> impl FnOnce(Arc<str>, LayerState<L>) -> Arc<Session<L>> {
        let engine = Arc::downgrade(self);
        move |sid, ls| {
            let ports = ws.map(|io| WsPort { id: 0, io, flushing: false }).into_iter().collect();
            Arc::new(Session {
                sid,
                state: Mutex::new(State { ls, waiter: None, ports, dispatcher: None }),
                engine,
            })
        }
    }

    /// Refuses new sessions, stops `serve_tcp`, closes every session.
    pub fn release_start(&self) {
        self.released.store(true, Ordering::SeqCst);
        let wakes = self.listeners.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for addr in wakes {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
        self.core.block_and_close_all();
    }

    /// Waits up to `grace` for every session to end.
    pub fn wait_empty(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let mut m = self.sessions();
        while !m.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            m = self.live.wait_timeout(m, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Accepts from `listener` (a thread per connection) until released.
    pub fn serve_tcp(self: &Arc<Self>, listener: TcpListener) -> io::Result<()> {
        self.serve_accepting(listener, None)
    }

    /// Accepts from `listener` until released; each connection's thread does the TLS
    /// handshake (within the handshake timeout), then serves it as secure.
    pub fn serve_tls(
        self: &Arc<Self>,
        listener: TcpListener,
        tls: TlsServerConfig,
    ) -> io::Result<()> {
        self.serve_accepting(listener, Some(tls))
    }

    fn serve_accepting(
        self: &Arc<Self>,
        listener: TcpListener,
        tls: Option<TlsServerConfig>,
    ) -> io::Result<()> {
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            let ip = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            addr.set_ip(ip);
        }
        self.listeners.lock().unwrap_or_else(|e| e.into_inner()).push(addr);
        struct Unlisten<'a>(&'a Mutex<Vec<SocketAddr>>, SocketAddr);
        impl Drop for Unlisten<'_> {
            fn drop(&mut self) {
                let mut l = self.0.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(i) = l.iter().position(|a| *a == self.1) {
                    l.remove(i);
                }
            }
        }
        let _unlisten = Unlisten(&self.listeners, addr);
        loop {
            if self.released.load(Ordering::SeqCst) {
                return Ok(());
            }
            match listener.accept() {
                Ok((stream, peer)) => {
                    if self.released.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    let _ = stream.set_nodelay(true);
                    let engine = self.clone();
                    let tls = tls.clone();
                    let spawned = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(
                        move || match tls {
                            None => {
                                engine.serve_connection(Arc::new(stream), &peer.to_string(), false)
                            }
                            Some(tls) => match tls.accept(stream) {
                                Ok(stream) => engine.serve_connection(
                                    Arc::new(stream),
                                    &peer.to_string(),
                                    true,
                                ),
                                Err(e) => tracing::debug!("TLS handshake with {peer}: {e}"),
                            },
                        },
                    );
                    if let Err(e) = spawned {
                        tracing::warn!("engine.io: cannot spawn a connection thread: {e}");
                    }
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// Serves one connection on the calling thread: HTTP/1.1 keep-alive requests, WebSocket
    /// upgrades (the thread then reads the WebSocket).
    pub fn serve_connection(
        self: &Arc<Self>,
        stream: Arc<dyn GlueStream>,
        peer: &str,
        secure: bool,
    ) {
        if stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
            || stream.set_read_timeout(Some(HTTP_IDLE)).is_err()
        {
            return;
        }
        let limits = Limits { max_body: self.opts.session.max_payload, ..Limits::default() };
        let mut http = ServerConnection::new(limits);
        let mut buf = ReadBuffer::new();
        loop {
            while let Some(request) = http.poll_request() {
                let request = match request {
                    Ok(r) => r,
                    Err(e) => {
                        self.refused_body(&http, &e);
                        if !matches!(e, HttpError::BodyTooLarge { .. }) {
                            let _ = stream.write_all_shared(&Response::error(&e).encode());
                        }
                        let _ = stream.shutdown(Shutdown::Both);
                        return;
                    }
                };
                let keep_alive = request.head.keep_alive();
                let r = route(&request.head, &self.opts, &self.path);
                let plain = self.answer_plain(&r, &request, keep_alive);
                let answer = match (plain, r) {
                    (Some(answer), _) => answer,
                    (None, EioRoute::Error(code)) => {
                        let _ = stream.write_all_shared(&ws_error_response(code));
                        let _ = stream.shutdown(Shutdown::Write);
                        return;
                    }
                    (None, EioRoute::HandshakeWebSocket { b64 }) => {
                        if self.is_blocked() {
                            let code = EioErrorCode::BadRequest;
                            let _ = stream.write_all_shared(&ws_error_response(code));
                            let _ = stream.shutdown(Shutdown::Write);
                            return;
                        }
                        let rest = http.take_remaining();
                        self.websocket(stream, request.head, rest, peer, secure, None, b64);
                        return;
                    }
                    (None, EioRoute::Probe { sid, b64 }) => {
                        if self.get(&sid).is_none() {
                            let code = EioErrorCode::UnknownSid;
                            let _ = stream.write_all_shared(&ws_error_response(code));
                            let _ = stream.shutdown(Shutdown::Write);
                            return;
                        }
                        let rest = http.take_remaining();
                        self.websocket(stream, request.head, rest, peer, secure, Some(sid), b64);
                        return;
                    }
                    (None, EioRoute::HandshakePolling { mode }) => self.handshake_polling(
                        &mut OsEntropy::new(),
                        &request.head,
                        mode,
                        peer,
                        secure,
                        keep_alive,
                        (Instant::now(), epoch_ms()),
                        self.session(None),
                    ),
                    (None, EioRoute::Poll { sid }) => {
                        match self.poll(&stream, &mut http, &mut buf, &request.head, &sid) {
                            Some(a) => a,
                            None => return,
                        }
                    }
                    (None, _) => unreachable!("answered by answer_plain"),
                };
                if http.is_upgrade_pending() {
                    http.decline_upgrade();
                }
                if !answer.is_empty() && stream.write_all_shared(&answer).is_err() {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
                if !keep_alive {
                    let _ = stream.shutdown(Shutdown::Write);
                    return;
                }
            }
            if http.is_finished() {
                let _ = stream.shutdown(Shutdown::Write);
                return;
            }
            match buf.read(&*stream) {
                Ok(0) => {
                    http.handle_eof();
                    if http.is_idle() {
                        return;
                    }
                }
                Ok(n) => http.handle_data(buf.filled(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
                Err(_) => {
                    http.handle_eof();
                    if http.is_idle() {
                        return;
                    }
                }
            }
        }
    }

    /// A poll: held until answered by whichever thread produces the answer (it writes the
    /// response itself). Returns the bytes to write (empty: already written), or `None` to
    /// drop the connection.
    fn poll(
        &self,
        stream: &Arc<dyn GlueStream>,
        http: &mut ServerConnection,
        buf: &mut ReadBuffer,
        head: &RequestHead,
        sid: &str,
    ) -> Option<Bytes> {
        let keep_alive = head.keep_alive();
        let Some(session) = self.get(sid) else {
            return Some(error_response(EioErrorCode::UnknownSid, head, keep_alive));
        };
        let req = self.next_request();
        let mut responder = None;
        let result = session.with(|st, now| {
            let jsonp = matches!(st.ls.eio.polling_mode(), Some(PollingMode::Jsonp { .. }));
            let r = st.ls.eio.handle_get(now, req);
            if r.is_ok() {
                let rsp = Arc::new(Responder {
                    stream: stream.clone(),
                    headers: polling_headers(head, &self.opts, sid, jsonp),
                    keep_alive,
                    state: Mutex::new(Reply::Waiting),
                });
                responder = Some(rsp.clone());
                st.waiter = Some((req, rsp));
            }
            r
        });
        let responder = match (result, responder) {
            (Ok(()), Some(r)) => r,
            (Err(e), _) => return Some(request_error_response(e, head, keep_alive)),
            (Ok(()), None) => return Some(server_error_response(keep_alive)),
        };
        // Keep reading: the client's next request (pipelined, or after the answer) or its
        // going away. The answer is written by whoever produces it.
        loop {
            match responder.outcome() {
                Reply::Answered => return Some(Bytes::new()),
                Reply::Failed | Reply::Aborted => return None,
                Reply::Waiting => {}
            }
            let gone = match buf.read(&**stream) {
                Ok(0) => true,
                Ok(n) => {
                    http.handle_data(buf.filled(n));
                    false
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                // Idle: the poll itself is timed by the session.
                Err(e) if is_timeout(&e) => false,
                Err(_) => true,
            };
            if gone {
                http.handle_eof();
                if responder.abort() {
                    // The client gave up on this poll: the session fails.
                    session.with(|st, now| {
                        if st.waiter.as_ref().is_some_and(|(id, _)| *id == req) {
                            st.waiter = None;
                        }
                        st.ls.eio.poll_aborted(now, req)
                    });
                    return None;
                }
                // Answered meanwhile (the client will not read it).
                return None;
            }
        }
    }

    /// A WebSocket connection (fresh session or upgrade probe of `probe_of`); the calling
    /// thread becomes its reader.
    #[allow(clippy::too_many_arguments)]
    fn websocket(
        self: &Arc<Self>,
        stream: Arc<dyn GlueStream>,
        head: RequestHead,
        rest: Bytes,
        peer: &str,
        secure: bool,
        probe_of: Option<String>,
        b64: bool,
    ) {
        let hs = Handshake::from_request(&head, peer, secure, epoch_ms());
        {
            let (response, outcome) = respond(head, None);
            if stream.write_all_shared(&response).is_err() || outcome.is_err() {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        }
        let now = Instant::now();
        let conn = Connection::server(self.opts.session.ws_config(), now);
        let (session, id) = match probe_of {
            None => {
                let cfg = self.opts.session.clone();
                let session = self.create(
                    &mut OsEntropy::new(),
                    hs,
                    |sid, initial| EioSession::new_websocket(now, sid, cfg, conn, b64, initial),
                    self.session(Some(stream.clone())),
                );
                (session, 0)
            }
            Some(sid) => {
                let attached = self.get(&sid).map(|session| {
                    let mut g = session.lock();
                    let r = g.ls.eio.attach_probe(now, conn, b64);
                    if let Ok(id) = r {
                        g.ports.push(WsPort { id, io: stream.clone(), flushing: false });
                    }
                    drop(g);
                    (session, r)
                });
                match attached {
                    Some((session, Ok(id))) => (session, id),
                    _ => {
                        // Gone, already upgraded or upgrading: accept and close at once.
                        let mut c = Connection::server(self.opts.session.ws_config(), now);
                        let _ = c.close(now, None, "");
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                        while let Some(b) = c.poll_transmit() {
                            if stream.write_all_shared(&b).is_err() {
                                break;
                            }
                        }
                        let _ = stream.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
        };
        {
            let mut g = session.lock();
            if !rest.is_empty() {
                g.ls.eio.handle_ws_data(now, id, &rest);
            }
            session.settle(g, now);
        }
        ws_reader(&session, id, &*stream);
    }
}

/// The reader of one WebSocket of a session: reads (unlocked, with the session's next
/// deadline as read timeout), feeds the session under the lock and settles (which writes
/// and runs the callbacks on this thread).
fn ws_reader<L: Hosted>(session: &Arc<Session<L>>, id: WsId, stream: &dyn GlueStream) {
    let mut buf = ReadBuffer::new();
    let mut timeout = ReadTimeout::default();
    loop {
        let Some(engine) = session.engine.upgrade() else { break };
        let mut g = session.lock();
        if g.ls.eio.ws_terminated(id) || !g.ls.eio.ws_wants_read(id) {
            break;
        }
        let now = Instant::now();
        let deadline = g.ls.next_deadline(&engine.layer);
        if deadline.is_some_and(|d| d <= now) {
            g.ls.run_timers(&engine.layer, now);
            session.settle(g, now);
            continue;
        }
        g.ls.eio.ws_shrink_idle(id);
        g.ls.shrink_idle(&engine.layer);
        drop(g);
        drop(engine);
        let result = match timeout.arm(stream, deadline, now) {
            Ok(()) => buf.read(stream),
            Err(e) => Err(e),
        };
        let mut g = session.lock();
        let now = Instant::now();
        match result {
            Ok(0) => g.ls.eio.handle_ws_eof(now, id),
            Ok(n) => g.ls.eio.handle_ws_data(now, id, buf.filled(n)),
            Err(e) if is_timeout(&e) => {
                if let Some(engine) = session.engine.upgrade() {
                    g.ls.run_timers(&engine.layer, now);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => g.ls.eio.handle_ws_eof(now, id),
        }
        session.settle(g, now);
    }
    let now = Instant::now();
    let mut g = session.lock();
    g.ls.eio.handle_ws_eof(now, id);
    session.settle(g, now);
    // Whatever remains to write was left to a flusher, which ends the connection; if none
    // is writing it, the connection ends now.
    let mut g = session.lock();
    if !g.ports.iter().any(|p| p.id == id && p.flushing) {
        g.ports.retain(|p| p.id != id);
        drop(g);
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
