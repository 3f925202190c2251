//! The Engine.IO server driver shared by [`crate::eio`] and [`crate::sio`]: HTTP requests
//! (handshakes, held polls, posts), WebSocket tasks (one per connection), one timer task for
//! polling sessions, and ordered dispatch of the layer above's callbacks.
//!
//! A [`Layer`] is what sits on top of Engine.IO: it keeps per-session state next to the
//! [`EioSession`] (under the same lock), turns the session's events into work, and runs that
//! work (application callbacks) unlocked, in order, one session at a time.

use crate::driver::{Driver, Wake};
use crate::tls::TlsServerConfig;
use bytes::Bytes;
use glue_protocol::eio::server::{
    error_response, polling_headers, polling_response, route, ws_error_response, EioErrorCode,
    EioRoute, EioServerOptions, Handshake,
};
use glue_protocol::eio::session::{EioSession, PollAnswer, WsId};
pub use glue_protocol::engine::Fallback;
use glue_protocol::engine::{request_error_response, EngineCore, Layer, LayerState, SessionHost};
use glue_protocol::http::{HttpError, Limits, RequestHead, Response, ServerConnection};
use glue_protocol::rand::OsEntropy;
use glue_protocol::ws::handshake::respond;
use glue_protocol::ws::Connection;
use glue_protocol::Machine;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::{poll_fn, Future};
use std::io;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{oneshot, Notify};

/// Polling sessions' deadlines, earliest first (stale entries are skipped when due).
type TimerHeap = BinaryHeap<Reverse<(Instant, Arc<str>)>>;

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

/// A session's state under its lock.
pub(crate) struct State<L: Hosted> {
    pub ls: LayerState<L>,
    waiter: Option<(u64, oneshot::Sender<PollAnswer>)>,
}

/// One Engine.IO session as the runtime holds it.
pub(crate) struct Session<L: Hosted> {
    pub sid: Arc<str>,
    state: Mutex<State<L>>,
    wake: Notify,
    pub engine: Weak<Engine<L>>,
}

impl<L: Hosted> Session<L> {
    pub fn lock(&self) -> MutexGuard<'_, State<L>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then settles (answers, wakes, work).
    pub fn with<R>(self: &Arc<Self>, f: impl FnOnce(&mut State<L>, Instant) -> R) -> R {
        let now = Instant::now();
        let mut g = self.lock();
        let r = f(&mut g, now);
        self.settle(g, now);
        r
    }

    /// After any operation: let the layer pump, hand poll answers to their waiters, register
    /// the polling timer, wake the WebSocket task, forget a finished session, and dispatch
    /// work in order (only one task dispatches a session's work at a time).
    pub fn settle(self: &Arc<Self>, g: MutexGuard<'_, State<L>>, now: Instant) {
        self.settle_from(g, now, true)
    }

    /// [`settle`](Self::settle); `wake_ws` false when called by the WebSocket task itself.
    fn settle_from(self: &Arc<Self>, mut g: MutexGuard<'_, State<L>>, now: Instant, wake_ws: bool) {
        let Some(engine) = self.engine.upgrade() else { return };
        let st = &mut *g;
        engine.layer.pump(&mut st.ls, now);
        let answers = st.ls.take_answers(&mut st.waiter);
        let finished = st.ls.is_gone();
        let new_timer = if !st.ls.eio.is_websocket() && !finished {
            let deadline = st.ls.next_deadline(&engine.layer);
            st.ls.arm_timer(deadline)
        } else {
            None
        };
        let dispatch = st.ls.claim_dispatch();
        let wake_ws = wake_ws && st.ls.eio.has_websocket();
        drop(g);
        for (tx, answer) in answers {
            let _ = tx.send(answer);
        }
        if wake_ws {
            self.wake.notify_one();
        }
        if let Some(t) = new_timer {
            engine.add_timer(t, self.sid.clone());
        }
        if finished {
            engine.forget(self);
        }
        if dispatch {
            glue_protocol::engine::dispatch(&engine.layer, &self.clone().into());
        }
    }
}

/// The engine: its core (options, layer, sessions), the polling timer, shutdown.
pub(crate) struct Engine<L: Hosted> {
    core: EngineCore<L, Session<L>>,
    timers: Mutex<TimerHeap>,
    timer_wake: Arc<Notify>,
    timer_started: AtomicBool,
    shutdown: Notify,
    live: Notify,
}

impl<L: Hosted> Deref for Engine<L> {
    type Target = EngineCore<L, Session<L>>;
    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl<L: Hosted> Engine<L> {
    pub fn new(opts: EioServerOptions, layer: L, fallback: Option<Fallback>) -> Arc<Self> {
        Arc::new(Engine {
            core: EngineCore::new(opts, layer, fallback),
            timers: Mutex::new(BinaryHeap::new()),
            timer_wake: Arc::new(Notify::new()),
            timer_started: AtomicBool::new(false),
            shutdown: Notify::new(),
            live: Notify::new(),
        })
    }

    fn forget(&self, s: &Arc<Session<L>>) {
        self.core.forget(s);
        self.live.notify_waiters();
    }

    /// Wraps a new session's state (for [`EngineCore::create`]).
    fn session(self: &Arc<Self>) -> impl FnOnce(Arc<str>, LayerState<L>) -> Arc<Session<L>> {
        let engine = Arc::downgrade(self);
        move |sid, ls| {
            Arc::new(Session {
                sid,
                state: Mutex::new(State { ls, waiter: None }),
                wake: Notify::new(),
                engine,
            })
        }
    }

    fn add_timer(self: &Arc<Self>, at: Instant, sid: Arc<str>) {
        let mut heap = self.timers.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = heap.peek().map_or(true, |Reverse((t, _))| at < *t);
        heap.push(Reverse((at, sid)));
        drop(heap);
        if !self.timer_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(timer_task(Arc::downgrade(self)));
        }
        if earliest {
            self.timer_wake.notify_one();
        }
    }

    pub fn release_start(&self) {
        self.shutdown.notify_waiters();
        self.core.block_and_close_all();
    }

    pub async fn wait_empty(&self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let live = self.live.notified();
            tokio::pin!(live);
            live.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, live).await.is_err() {
                return;
            }
        }
    }

    /// Accepts from `listener` until released.
    pub async fn serve_tcp(self: &Arc<Self>, listener: tokio::net::TcpListener) -> io::Result<()> {
        self.serve_accepting(listener, None).await
    }

    /// Accepts from `listener` until released; each connection does its TLS handshake in its
    /// own task (within the handshake timeout), then is served as secure.
    pub async fn serve_tls(
        self: &Arc<Self>,
        listener: tokio::net::TcpListener,
        tls: TlsServerConfig,
    ) -> io::Result<()> {
        self.serve_accepting(listener, Some(tls)).await
    }

    async fn serve_accepting(
        self: &Arc<Self>,
        listener: tokio::net::TcpListener,
        tls: Option<TlsServerConfig>,
    ) -> io::Result<()> {
        let shutdown = self.shutdown.notified();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                a = listener.accept() => a,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let engine = self.clone();
                    match &tls {
                        None => tokio::spawn(async move {
                            engine.serve_connection(stream, peer.to_string(), false).await;
                        }),
                        Some(tls) => {
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                match tls.accept(stream).await {
                                    Ok(stream) => {
                                        engine
                                            .serve_connection(stream, peer.to_string(), true)
                                            .await
                                    }
                                    Err(e) => tracing::debug!("TLS handshake with {peer}: {e}"),
                                }
                            })
                        }
                    };
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Serves one connection: HTTP/1.1 keep-alive requests, WebSocket upgrades.
    pub async fn serve_connection<S>(self: Arc<Self>, mut stream: S, peer: String, secure: bool)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = Limits { max_body: self.opts.session.max_payload, ..Limits::default() };
        let mut http = ServerConnection::new(limits);
        let mut buf = vec![0u8; 4096];
        loop {
            while let Some(request) = http.poll_request() {
                let request = match request {
                    Ok(r) => r,
                    Err(e) => {
                        self.refused_body(&http, &e);
                        if !matches!(e, HttpError::BodyTooLarge { .. }) {
                            let _ = write_out(&mut stream, &Response::error(&e).encode()).await;
                        }
                        return;
                    }
                };
                let keep_alive = request.head.keep_alive();
                let r = route(&request.head, &self.opts, &self.path);
                let plain = self.answer_plain(&r, &request, keep_alive);
                let answer = match (plain, r) {
                    (Some(answer), _) => answer,
                    (None, EioRoute::Error(code)) => {
                        let _ = write_out(&mut stream, &ws_error_response(code)).await;
                        return;
                    }
                    (None, EioRoute::HandshakeWebSocket { b64 }) => {
                        if self.is_blocked() {
                            let _ = write_out(
                                &mut stream,
                                &ws_error_response(EioErrorCode::BadRequest),
                            )
                            .await;
                            return;
                        }
                        let rest = http.take_remaining();
                        let engine = self.clone();
                        tokio::spawn(async move {
                            engine
                                .websocket(stream, request.head, rest, peer, secure, None, b64)
                                .await
                        });
                        return;
                    }
                    (None, EioRoute::Probe { sid, b64 }) => {
                        if self.get(&sid).is_none() {
                            let _ = write_out(
                                &mut stream,
                                &ws_error_response(EioErrorCode::UnknownSid),
                            )
                            .await;
                            return;
                        }
                        let rest = http.take_remaining();
                        let engine = self.clone();
                        tokio::spawn(async move {
                            engine
                                .websocket(stream, request.head, rest, peer, secure, Some(sid), b64)
                                .await
                        });
                        return;
                    }
                    (None, EioRoute::HandshakePolling { mode }) => self.handshake_polling(
                        &mut OsEntropy::new(),
                        &request.head,
                        mode,
                        &peer,
                        secure,
                        keep_alive,
                        (Instant::now(), epoch_ms()),
                        self.session(),
                    ),
                    (None, EioRoute::Poll { sid }) => {
                        match self.poll(&mut stream, &request.head, &sid, keep_alive).await {
                            Some(a) => a,
                            None => return,
                        }
                    }
                    (None, _) => unreachable!("answered by answer_plain"),
                };
                if write_out(&mut stream, &answer).await.is_err() || !keep_alive {
                    let _ = stream.shutdown().await;
                    return;
                }
            }
            if http.is_finished() {
                let _ = stream.shutdown().await;
                return;
            }
            let read = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await;
            match read {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    http.handle_eof();
                    if http.is_idle() {
                        return;
                    }
                }
                Ok(Ok(n)) => http.handle_data(&buf[..n]),
                Err(_) => return,
            }
        }
    }

    async fn poll<S: AsyncRead + Unpin>(
        &self,
        stream: &mut S,
        head: &RequestHead,
        sid: &str,
        keep_alive: bool,
    ) -> Option<Bytes> {
        let Some(session) = self.get(sid) else {
            return Some(error_response(EioErrorCode::UnknownSid, head, keep_alive));
        };
        let req = self.next_request();
        let (tx, mut rx) = oneshot::channel();
        let (result, jsonp) = session.with(|st, now| {
            let jsonp = matches!(
                st.ls.eio.polling_mode(),
                Some(glue_protocol::eio::PollingMode::Jsonp { .. })
            );
            let r = st.ls.eio.handle_get(now, req);
            if r.is_ok() {
                st.waiter = Some((req, tx));
            }
            (r, jsonp)
        });
        if let Err(e) = result {
            return Some(request_error_response(e, head, keep_alive));
        }
        // Hold the poll; a client that goes away fails the session.
        let mut probe = [0u8; 1];
        let answer = tokio::select! {
            a = &mut rx => a.ok(),
            _ = read_some(stream, &mut probe) => None,
        };
        let answer = match answer {
            Some(a) => a,
            None => {
                // Maybe answered meanwhile.
                if let Ok(a) = rx.try_recv() {
                    a
                } else {
                    session.with(|st, now| {
                        if st.waiter.as_ref().is_some_and(|(id, _)| *id == req) {
                            st.waiter = None;
                        }
                        st.ls.eio.poll_aborted(now, req)
                    });
                    return None;
                }
            }
        };
        let headers = polling_headers(head, &self.opts, sid, jsonp);
        Some(polling_response(&headers, answer.content_type, answer.body, keep_alive))
    }

    #[allow(clippy::too_many_arguments)]
    async fn websocket<S>(
        self: Arc<Self>,
        mut stream: S,
        head: RequestHead,
        rest: Bytes,
        peer: String,
        secure: bool,
        probe_of: Option<String>,
        b64: bool,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let hs = Handshake::from_request(&head, &peer, secure, epoch_ms());
        {
            let (response, outcome) = respond(head, None);
            if write_out(&mut stream, &response).await.is_err() || outcome.is_err() {
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
                    self.session(),
                );
                (session, 0)
            }
            Some(sid) => {
                let Some(session) = self.get(&sid) else { return };
                let attached = session.lock().ls.eio.attach_probe(now, conn, b64);
                match attached {
                    Ok(id) => (session, id),
                    Err(_) => {
                        // Already upgraded or upgrading: accept and close at once.
                        let mut c = Connection::server(self.opts.session.ws_config(), now);
                        let _ = c.close(now, None, "");
                        let mut driver = Driver::new(Detached(c), stream);
                        let _ = tokio::time::timeout(Duration::from_secs(1), driver.flush()).await;
                        return;
                    }
                }
            }
        };
        if !rest.is_empty() {
            session.lock().ls.eio.handle_ws_data(now, id, &rest);
        }
        // The connection's own task: holds only the driver and the session, not this
        // handshake's state (an idle WebSocket costs one small task).
        tokio::spawn(run_ws(
            Driver::new(WsPort { session: session.clone(), id }, stream),
            session,
            id,
        ));
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The task of one WebSocket of a session.
async fn run_ws<L: Hosted, S: AsyncRead + AsyncWrite + Unpin + Send>(
    mut driver: Driver<WsPort<L>, S>,
    session: Arc<Session<L>>,
    id: WsId,
) {
    loop {
        session.settle_from(session.lock(), Instant::now(), false);
        let flushed = driver.flush().await;
        if flushed.is_err() || driver.is_shut_down() {
            break;
        }
        let wait = driver.wait_or(session.wake.notified());
        let mut wait = std::pin::pin!(wait);
        let woke = match poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await {
            Poll::Ready(w) => w,
            Poll::Pending => {
                // Nothing to do right now: give back the queues' capacity before sleeping.
                if let Some(e) = session.engine.upgrade() {
                    let mut g = session.lock();
                    g.ls.eio.ws_shrink_idle(id);
                    g.ls.shrink_idle(&e.layer);
                }
                wait.await
            }
        };
        if let Wake::Command(()) = woke {
            // Something was sent: the flush at the top writes it.
        }
    }
    let now = Instant::now();
    let mut g = session.lock();
    g.ls.eio.handle_ws_eof(now, id);
    session.settle_from(g, now, false);
}

/// The polling sessions' one timer task: runs each due session's timers.
async fn timer_task<L: Hosted>(engine: Weak<Engine<L>>) {
    loop {
        let Some(e) = engine.upgrade() else { return };
        let now = Instant::now();
        let mut due = Vec::new();
        let next = {
            let mut heap = e.timers.lock().unwrap_or_else(|p| p.into_inner());
            while let Some(Reverse((t, _))) = heap.peek() {
                if *t > now {
                    break;
                }
                let Reverse((_, sid)) = heap.pop().expect("peeked");
                due.push(sid);
            }
            heap.peek().map(|Reverse((t, _))| *t)
        };
        for sid in due {
            if let Some(s) = e.get(&sid) {
                let now = Instant::now();
                let mut g = s.lock();
                g.ls.timer_visit(&e.layer, now);
                s.settle(g, now);
            }
        }
        let notify = e.timer_wake.clone();
        let wake = notify.notified();
        drop(e);
        match next {
            Some(t) => {
                let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(t), wake).await;
            }
            None => wake.await,
        }
    }
}

/// One WebSocket of a session, as a [`Machine`] for the [`Driver`].
struct WsPort<L: Hosted> {
    session: Arc<Session<L>>,
    id: WsId,
}

impl<L: Hosted> Machine for WsPort<L> {
    type Event = ();
    fn handle_data(&mut self, now: Instant, data: &[u8]) {
        self.session.lock().ls.eio.handle_ws_data(now, self.id, data)
    }
    fn handle_eof(&mut self, now: Instant) {
        self.session.lock().ls.eio.handle_ws_eof(now, self.id)
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let Some(e) = self.session.engine.upgrade() {
            self.session.lock().ls.run_timers(&e.layer, now)
        }
    }
    fn poll_transmit(&mut self) -> Option<Bytes> {
        self.session.lock().ls.eio.poll_ws_transmit(self.id)
    }
    fn poll_event(&mut self) -> Option<()> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let e = self.session.engine.upgrade()?;
        let g = self.session.lock();
        if g.ls.eio.ws_terminated(self.id) {
            None
        } else {
            g.ls.next_deadline(&e.layer)
        }
    }
    fn is_terminated(&self) -> bool {
        self.session.lock().ls.eio.ws_terminated(self.id)
    }
    fn wants_read(&self) -> bool {
        self.session.lock().ls.eio.ws_wants_read(self.id)
    }
}

/// A WebSocket refused after its 101: only the close is flushed.
struct Detached(Connection);

impl Machine for Detached {
    type Event = ();
    fn handle_data(&mut self, now: Instant, data: &[u8]) {
        self.0.handle_data(now, data)
    }
    fn handle_eof(&mut self, now: Instant) {
        self.0.handle_eof(now)
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now)
    }
    fn poll_transmit(&mut self) -> Option<Bytes> {
        self.0.poll_transmit()
    }
    fn poll_event(&mut self) -> Option<()> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
    fn is_terminated(&self) -> bool {
        self.0.is_terminated()
    }
}

/// Reads while a poll is held, to notice the client going away (or pipelining).
async fn read_some<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut [u8]) -> usize {
    poll_fn(|cx| {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(rb.filled().len()),
            Poll::Ready(Err(_)) => Poll::Ready(0),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Writes all of `bytes` and flushes (a TLS stream may hold the last bytes back otherwise).
async fn write_out<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}
