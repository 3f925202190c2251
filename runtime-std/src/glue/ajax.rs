//! AjaxSocket requests (init, push, held polls), poll answers, and the server's one Ajax
//! timer thread.
//!
//! A held poll keeps its HTTP connection thread blocked in `read` on that connection: a
//! client that gives up (closes the connection) is noticed at once and the poll is withdrawn.
//! The poll's answer is written to the connection by the thread that produced it (a writer,
//! a push, the timer) through the poll's [`Responder`]; the connection thread learns of it
//! when the client sends its next request or closes. A held poll costs no wake-ups.

use super::server::{GlueStream, ReadBuffer, Server, ServerInner};
use super::socket::{AjaxBound, Bound, Effects, Guard, Shared};
use bytes::Bytes;
use glue_protocol::glue::ajax::{AjaxError, AjaxRequest, AjaxSession, PollAnswer};
use glue_protocol::glue::front::{error_response, text_response};
use glue_protocol::glue::routing::remote_addr;
use glue_protocol::glue::{AjaxSocket, SocketCore};
use glue_protocol::http::{Request, ServerConnection};
use glue_protocol::rand::OsEntropy;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io;
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Instant;

/// Finishes an operation on an Ajax socket: takes its events and poll answers under the
/// lock, schedules its next deadline, then (unlocked) writes the answers to the waiting
/// requests, unregisters a finished session and runs the callbacks.
pub(crate) fn settle<'a>(shared: &'a Arc<Shared>, mut state: Guard<'a>) {
    let server = shared.server.upgrade();
    loop {
        let mut fx = Effects::default();
        fx.collect(shared, &mut state);
        let writers = state.has_writers();
        if state.parked > 0 {
            // Pushes wait for the new-socket callback or for a reader to catch up.
            shared.wake.notify_all();
        }
        let Bound::Ajax(a) = &mut state.bound else { return };
        let answers: Vec<PollAnswer> = std::iter::from_fn(|| a.sock.poll_answer()).collect();
        let finished = a.sock.is_finished().then(|| a.sock.session().uid().to_owned());
        if let (Some(server), Some(t)) = (&server, a.sock.poll_timeout()) {
            if a.scheduled.map_or(true, |s| t < s) {
                a.scheduled = Some(t);
                server.timer.schedule(t, Arc::downgrade(shared));
            }
        }
        if writers {
            // Polls take messages from the send queue: there may be room.
            shared.notify_writers();
        }
        drop(state);
        let mut undelivered = Vec::new();
        for answer in answers {
            let responder = server.as_ref().and_then(|s| s.take_waiter(answer.request));
            let sent = responder.is_some_and(|r| r.answer(&answer));
            if !sent {
                if let Some(m) = answer.message {
                    undelivered.push(m);
                }
            }
        }
        if let (Some(uid), Some(server)) = (finished, &server) {
            server.ajax.lock().unwrap_or_else(|e| e.into_inner()).remove(&uid);
        }
        shared.apply(fx);
        if undelivered.is_empty() {
            return;
        }
        state = shared.lock();
        if let Bound::Ajax(a) = &mut state.bound {
            for m in undelivered.into_iter().rev() {
                a.sock.requeue_front(m, &mut OsEntropy::new());
            }
        }
    }
}

/// Runs `f` on the socket's Ajax state and settles; an error leaves the state untouched.
fn with_ajax(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut AjaxSocket) -> Result<(), AjaxError>,
) -> Result<(), AjaxError> {
    let mut state = shared.lock();
    let Bound::Ajax(a) = &mut state.bound else { return Err(AjaxError::UnknownUid) };
    f(&mut a.sock)?;
    settle(shared, state);
    Ok(())
}

/// Where a held poll's answer goes: its HTTP connection.
pub(crate) struct Responder {
    stream: Arc<dyn GlueStream>,
    state: Mutex<Reply>,
}

enum Reply {
    Waiting { cors: Vec<(&'static str, String)>, keep_alive: bool },
    Answered,
    Failed,
    Aborted,
}

impl Responder {
    /// Writes `answer` as the 200 response (once); false if it could not be written.
    fn answer(&self, answer: &PollAnswer) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Reply::Waiting { cors, keep_alive } = &*state else { return false };
        let keep_alive = *keep_alive;
        let bytes = text_response(200, answer.body.clone(), cors, keep_alive);
        match self.stream.write_all_shared(&bytes) {
            Ok(()) => {
                *state = Reply::Answered;
                if !keep_alive {
                    let _ = self.stream.shutdown(Shutdown::Write);
                }
                true
            }
            Err(_) => {
                *state = Reply::Failed;
                // Wakes the connection thread, which drops the connection.
                let _ = self.stream.shutdown(Shutdown::Both);
                false
            }
        }
    }

    /// The client went away: withdraws the poll unless it was answered. True if withdrawn.
    fn abort(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*state, Reply::Waiting { .. }) {
            *state = Reply::Aborted;
            return true;
        }
        false
    }

    fn outcome(&self) -> Option<bool> {
        match *self.state.lock().unwrap_or_else(|e| e.into_inner()) {
            Reply::Waiting { .. } => None,
            Reply::Answered => Some(true),
            Reply::Failed | Reply::Aborted => Some(false),
        }
    }
}

/// Handles one AjaxSocket request; returns the bytes to write (empty if already written),
/// or `None` if the connection must be dropped.
pub(crate) fn handle(
    server: &Server,
    stream: &Arc<dyn GlueStream>,
    http: &mut ServerConnection,
    buf: &mut ReadBuffer,
    request: Request,
    peer: &str,
    cors: &[(&'static str, String)],
) -> Option<Bytes> {
    let inner = &server.inner;
    let keep_alive = request.head.keep_alive();
    let ua = request.head.headers.get("user-agent").unwrap_or("").to_owned();
    let refuse = |e: AjaxError| {
        tracing::debug!("AjaxSocket request from {peer} refused: {e}");
        Some(error_response(e.status(), cors, keep_alive))
    };
    match AjaxRequest::parse(&request.body) {
        Err(e) => refuse(e),
        Ok(AjaxRequest::Init) => {
            if inner.is_blocked() {
                return Some(error_response(503, cors, keep_alive));
            }
            let now = Instant::now();
            let opts = &inner.options;
            // The uid and the socket ID are drawn and registered under the registries' locks
            // (Ajax map, then sockets).
            let mut body = bytes::Bytes::new();
            let mut created = None;
            inner.ajax.lock().unwrap_or_else(|e| e.into_inner()).insert_new(
                &mut OsEntropy::new(),
                |uid| {
                    let (session, answer) = AjaxSession::new(
                        uid.to_owned(),
                        &ua,
                        opts.poll_timeout,
                        opts.ajax_queue,
                        &mut OsEntropy::new(),
                    );
                    body = answer;
                    let shared = inner.register_new(|id| {
                        let core = SocketCore::new(id.clone(), opts.socket, opts.inbox, now);
                        Shared::new(
                            id,
                            remote_addr(&request.head, peer),
                            ua.clone(),
                            Bound::Ajax(Box::new(AjaxBound {
                                sock: AjaxSocket::new(session, core),
                                scheduled: None,
                            })),
                            Arc::downgrade(inner),
                        )
                    });
                    created = Some(shared.clone());
                    shared
                },
            );
            let shared = created.expect("insert_new calls make");
            inner.timer.ensure_running(Arc::downgrade(inner));
            // Schedules the keep-alive.
            settle(&shared, shared.lock());
            Some(text_response(200, body, cors, keep_alive))
        }
        Ok(AjaxRequest::Push { uid, message }) => {
            let Some(shared) = inner.ajax_session(uid) else {
                return refuse(AjaxError::UnknownUid);
            };
            *shared.remote_addr.lock().unwrap_or_else(|e| e.into_inner()) =
                remote_addr(&request.head, peer);
            // While the new-socket callback runs, further input waits (so channels it opens
            // see the data that follows `in`). While the application is behind on a channel
            // it reads, the push waits too (up to the poll timeout, then it is taken anyway):
            // AjaxSocket's back-pressure, as upstream's blocking queues.
            let backlog_deadline = Instant::now() + inner.options.poll_timeout;
            let mut state = shared.lock();
            loop {
                let core = state.bound.core();
                let timeout = if core.is_init_pending() {
                    None
                } else if core.is_backed_up() && !core.is_closed() {
                    let left = backlog_deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    Some(left)
                } else {
                    break;
                };
                state.parked += 1;
                state = shared.wait(&shared.wake, state, timeout);
                state.parked -= 1;
            }
            let Bound::Ajax(a) = &mut state.bound else { return refuse(AjaxError::UnknownUid) };
            if let Err(e) = a.sock.handle_push(Instant::now(), &ua, message, &mut OsEntropy::new())
            {
                return refuse(e);
            }
            settle(&shared, state);
            Some(text_response(200, Bytes::new(), cors, keep_alive))
        }
        Ok(AjaxRequest::Poll { uid, token }) => {
            let Some(shared) = inner.ajax_session(uid) else {
                return refuse(AjaxError::UnknownUid);
            };
            let request_id = inner.next_request_id();
            let responder = Arc::new(Responder {
                stream: stream.clone(),
                state: Mutex::new(Reply::Waiting { cors: cors.to_vec(), keep_alive }),
            });
            inner.add_waiter(request_id, responder.clone());
            if let Err(e) = with_ajax(&shared, |a| {
                a.handle_poll(Instant::now(), request_id, &ua, token, &mut OsEntropy::new())
            }) {
                inner.take_waiter(request_id);
                return refuse(e);
            }
            // Keep reading: the client's next request (pipelined or after the answer) or its
            // going away. The answer is written by whoever produces it.
            loop {
                match responder.outcome() {
                    Some(true) => return Some(Bytes::new()),
                    Some(false) => return None,
                    None => {}
                }
                match buf.read(&**stream) {
                    Ok(0) => {
                        http.handle_eof();
                        if responder.abort() {
                            // The client gave up on this poll.
                            inner.take_waiter(request_id);
                            let _ = with_ajax(&shared, |a| {
                                a.poll_aborted(request_id);
                                Ok(())
                            });
                            return None;
                        }
                    }
                    Ok(n) => http.handle_data(buf.filled(n)),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        // Idle timeout: the poll itself is timed by the Ajax timer.
                        if responder.outcome().is_some() && http.is_idle() {
                            return None;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        if responder.abort() {
                            inner.take_waiter(request_id);
                            let _ = with_ajax(&shared, |a| {
                                a.poll_aborted(request_id);
                                Ok(())
                            });
                        }
                        return None;
                    }
                }
            }
        }
    }
}

/// A deadline of one Ajax socket in the timer's heap.
struct Entry {
    at: Instant,
    seq: u64,
    socket: Weak<Shared>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct TimerState {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    running: bool,
    stopped: bool,
}

/// The server's one timer for all AjaxSocket sessions (poll timeouts, keep-alive, close
/// linger): a heap of deadlines and one thread sleeping until the earliest.
///
/// Each socket has at most one live entry, for the earliest deadline it scheduled
/// (`AjaxBound::scheduled`); a socket whose deadline moved later is visited at the old one
/// and scheduled again, one whose deadline moved earlier adds an entry.
pub(crate) struct AjaxTimer {
    state: Mutex<TimerState>,
    cv: Condvar,
}

impl AjaxTimer {
    pub(crate) fn new() -> Self {
        AjaxTimer {
            state: Mutex::new(TimerState {
                heap: BinaryHeap::new(),
                seq: 0,
                running: false,
                stopped: false,
            }),
            cv: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TimerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Visits `socket` at `at`.
    fn schedule(&self, at: Instant, socket: Weak<Shared>) {
        let mut st = self.lock();
        st.seq += 1;
        let seq = st.seq;
        let earliest = st.heap.peek().map_or(true, |Reverse(e)| at < e.at);
        st.heap.push(Reverse(Entry { at, seq, socket }));
        if earliest {
            self.cv.notify_one();
        }
    }

    /// Starts the timer thread unless it runs.
    fn ensure_running(self: &Arc<Self>, server: Weak<ServerInner>) {
        let mut st = self.lock();
        if st.running || st.stopped {
            return;
        }
        let timer = self.clone();
        let spawned = std::thread::Builder::new()
            .name("glue-ajax-timer".into())
            .stack_size(256 * 1024)
            .spawn(move || timer.run(server));
        match spawned {
            Ok(_) => st.running = true,
            Err(e) => tracing::error!("cannot spawn the AjaxSocket timer thread: {e}"),
        }
    }

    /// The server is gone: the thread ends.
    pub(crate) fn stop(&self) {
        let mut st = self.lock();
        st.stopped = true;
        self.cv.notify_one();
    }

    fn run(&self, server: Weak<ServerInner>) {
        loop {
            let due = {
                let mut st = self.lock();
                loop {
                    if st.stopped || server.strong_count() == 0 {
                        st.running = false;
                        return;
                    }
                    let now = Instant::now();
                    match st.heap.peek() {
                        Some(Reverse(e)) if e.at <= now => break,
                        Some(Reverse(e)) => {
                            let left = e.at - now;
                            st =
                                self.cv.wait_timeout(st, left).unwrap_or_else(|e| e.into_inner()).0;
                        }
                        None => st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner()),
                    }
                }
                let now = Instant::now();
                let mut due = Vec::new();
                while st.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
                    let Reverse(e) = st.heap.pop().expect("peeked");
                    due.push((e.at, e.socket));
                }
                due
            };
            let now = Instant::now();
            for (at, socket) in due {
                let Some(shared) = socket.upgrade() else { continue };
                let mut state = shared.lock();
                let Bound::Ajax(a) = &mut state.bound else { continue };
                if a.scheduled != Some(at) {
                    continue; // a stale entry: the socket has an earlier one
                }
                a.scheduled = None;
                if a.sock.poll_timeout().is_some_and(|t| t <= now) {
                    a.sock.handle_timeout(now, &mut OsEntropy::new());
                }
                settle(&shared, state);
            }
        }
    }
}

impl ServerInner {
    pub(crate) fn add_waiter(&self, request: u64, responder: Arc<Responder>) {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(request, responder);
    }

    pub(crate) fn take_waiter(&self, request: u64) -> Option<Arc<Responder>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&request)
    }

    pub(crate) fn ajax_session(&self, uid: &str) -> Option<Arc<Shared>> {
        self.ajax.lock().unwrap_or_else(|e| e.into_inner()).get(uid).cloned()
    }
}
