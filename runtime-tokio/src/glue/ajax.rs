//! AjaxSocket requests (init, push, held polls) and the server's one Ajax timer task.

use super::server::{read_some, Server, ServerInner};
use super::socket::{Bound, Effects, Kick, Shared};
use bytes::Bytes;
use glue_protocol::glue::ajax::{AjaxError, AjaxRequest, AjaxSession, PollAnswer};
use glue_protocol::glue::front::{error_response, text_response};
use glue_protocol::glue::routing::remote_addr;
use glue_protocol::glue::{AjaxSocket, SocketCore};
use glue_protocol::http::{Request, ServerConnection};
use glue_protocol::rand::OsEntropy;
use std::sync::{Arc, MutexGuard, Weak};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// Finishes an operation on an Ajax socket: takes its events and poll answers under the
/// lock, then (unlocked) hands the answers to the waiting requests, unregisters a finished
/// session and runs the callbacks.
pub(crate) fn settle<'a>(
    server: &Arc<ServerInner>,
    shared: &'a Arc<Shared>,
    mut state: MutexGuard<'a, Bound>,
    notify_timer: bool,
) {
    loop {
        let Bound::Ajax(a) = &mut *state else { return };
        let fx = Effects::collect(shared, a.core_mut());
        let answers: Vec<PollAnswer> = std::iter::from_fn(|| a.poll_answer()).collect();
        let finished = a.is_finished();
        drop(state);
        let mut undelivered = Vec::new();
        for answer in answers {
            let waiter = server.take_waiter(answer.request);
            let message = answer.message.clone();
            let sent = waiter.map(|w| w.send(answer).is_ok()).unwrap_or(false);
            if !sent {
                if let Some(m) = message {
                    undelivered.push(m);
                }
            }
        }
        if finished {
            let uid = shared_uid(shared);
            server.ajax.lock().unwrap_or_else(|e| e.into_inner()).remove(&uid);
        }
        if notify_timer {
            server.ajax_timer.notify_one();
        }
        // Room in the send queue (polls took messages) or in the inbox (a read): wake the
        // writers and the pushes that wait.
        shared.writable.notify_waiters();
        shared.apply(fx);
        if undelivered.is_empty() {
            return;
        }
        state = shared.lock();
        if let Bound::Ajax(a) = &mut *state {
            for m in undelivered.into_iter().rev() {
                a.requeue_front(m, &mut OsEntropy::new());
            }
        }
    }
}

/// Runs `f` on the socket's Ajax state and settles; an error leaves the state untouched.
fn with_ajax(
    server: &Arc<ServerInner>,
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut AjaxSocket) -> Result<(), AjaxError>,
) -> Result<(), AjaxError> {
    let mut state = shared.lock();
    let Bound::Ajax(a) = &mut *state else { return Err(AjaxError::UnknownUid) };
    f(a)?;
    settle(server, shared, state, true);
    Ok(())
}

fn shared_uid(shared: &Shared) -> String {
    match &*shared.lock() {
        Bound::Ajax(a) => a.session().uid().to_owned(),
        Bound::Ws(_) => String::new(),
    }
}

/// Handles one AjaxSocket request; returns the bytes to write (empty if already written),
/// or `None` if the connection must be dropped.
pub(crate) async fn handle<S>(
    server: &Server,
    stream: &mut S,
    http: &mut ServerConnection,
    request: Request,
    peer: &str,
    cors: &[(&'static str, String)],
) -> Option<Bytes>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
                    inner.register_new(|id| {
                        let core = SocketCore::new(id.clone(), opts.socket, opts.inbox, now);
                        Shared::new(
                            id,
                            remote_addr(&request.head, peer),
                            ua.clone(),
                            Bound::Ajax(AjaxSocket::new(session, core)),
                            Kick::Ajax,
                            Arc::downgrade(inner),
                        )
                    })
                },
            );
            inner.ensure_ajax_timer();
            inner.ajax_timer.notify_one();
            Some(text_response(200, body, cors, keep_alive))
        }
        Ok(AjaxRequest::Push { uid, message }) => {
            let Some(shared) = inner.ajax_session(uid) else {
                return refuse(AjaxError::UnknownUid);
            };
            *shared.remote_addr.lock().unwrap_or_else(|e| e.into_inner()) =
                remote_addr(&request.head, peer);
            // Back-pressure as upstream: the push is not answered while the application is
            // behind (a read channel is full) or its new-socket callback has not returned.
            loop {
                let room = shared.writable.notified();
                tokio::pin!(room);
                room.as_mut().enable();
                let ready = match &*shared.lock() {
                    Bound::Ajax(a) => {
                        let core = a.core();
                        core.is_closed() || !(core.is_backed_up() || core.is_init_pending())
                    }
                    Bound::Ws(_) => true,
                };
                if ready {
                    break;
                }
                room.await;
            }
            if let Err(e) = with_ajax(inner, &shared, |a| {
                a.handle_push(Instant::now(), &ua, message, &mut OsEntropy::new())
            }) {
                return refuse(e);
            }
            Some(text_response(200, Bytes::new(), cors, keep_alive))
        }
        Ok(AjaxRequest::Poll { uid, token }) => {
            let Some(shared) = inner.ajax_session(uid) else {
                return refuse(AjaxError::UnknownUid);
            };
            let request_id = inner.next_request_id();
            let (tx, mut rx) = oneshot::channel();
            inner.add_waiter(request_id, tx);
            if let Err(e) = with_ajax(inner, &shared, |a| {
                a.handle_poll(Instant::now(), request_id, &ua, token, &mut OsEntropy::new())
            }) {
                inner.take_waiter(request_id);
                return refuse(e);
            }
            let mut buf = [0u8; 1024];
            let answer = loop {
                tokio::select! {
                    answer = &mut rx => match answer {
                        Ok(a) => break a,
                        Err(_) => return None,
                    },
                    n = read_some(stream, &mut buf) => {
                        if n == 0 {
                            // The client gave up on this poll.
                            inner.take_waiter(request_id);
                            rx.close();
                            let answer = rx.try_recv().ok();
                            let _ = with_ajax(inner, &shared, |a| {
                                a.poll_aborted(request_id);
                                if let Some(m) = answer.and_then(|a| a.message) {
                                    a.requeue_front(m, &mut OsEntropy::new());
                                }
                                Ok(())
                            });
                            return None;
                        }
                        http.handle_data(&buf[..n]);
                    }
                }
            };
            let bytes = text_response(200, answer.body.clone(), cors, keep_alive);
            if tokio::io::AsyncWriteExt::write_all(stream, &bytes).await.is_err() {
                if let Some(m) = answer.message {
                    let _ = with_ajax(inner, &shared, |a| {
                        a.requeue_front(m, &mut OsEntropy::new());
                        Ok(())
                    });
                }
                return None;
            }
            Some(Bytes::new())
        }
    }
}

/// The server's one timer for all AjaxSocket sessions: poll timeouts and socket keep-alive.
pub(crate) async fn timer_task(server: Weak<ServerInner>) {
    loop {
        let Some(inner) = server.upgrade() else { return };
        let notified = inner.ajax_timer.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let sessions: Vec<Arc<Shared>> = inner
            .ajax
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for shared in sessions {
            let mut state = shared.lock();
            let Bound::Ajax(a) = &mut *state else { continue };
            if a.poll_timeout().is_some_and(|t| t <= now) {
                a.handle_timeout(now, &mut OsEntropy::new());
            }
            if let Some(t) = a.poll_timeout() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            settle(&inner, &shared, state, false);
        }
        if inner.is_blocked() && inner.ajax.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            return;
        }
        match next {
            Some(t) => {
                let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(t));
                tokio::select! {
                    _ = sleep => {}
                    _ = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

impl ServerInner {
    pub(crate) fn add_waiter(&self, request: u64, tx: oneshot::Sender<PollAnswer>) {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(request, tx);
    }

    pub(crate) fn take_waiter(&self, request: u64) -> Option<oneshot::Sender<PollAnswer>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&request)
    }

    pub(crate) fn ajax_session(&self, uid: &str) -> Option<Arc<Shared>> {
        self.ajax.lock().unwrap_or_else(|e| e.into_inner()).get(uid).cloned()
    }
}
