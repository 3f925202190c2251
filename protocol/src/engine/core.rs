//! What both runtimes' engines hold and do without I/O: options, the layer, the fallback,
//! the session registry, request ids, and the answers that need no waiting.

use super::{Layer, LayerState, SessionHost};
use crate::eio::server::{
    error_response, new_sid, polling_headers, polling_response, post_ok_response,
    preflight_response, route, server_error_response, EioErrorCode, EioRoute, EioServerOptions,
    Handshake,
};
use crate::eio::session::{EioSession, EncodedPacket, PostKind, RequestError, RequestId};
use crate::eio::PollingMode;
use crate::http::{HttpError, Request, RequestHead, Response, ServerConnection};
use crate::Entropy;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Answers requests outside the Engine.IO path.
pub type Fallback = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// The sessions of an engine by sid.
pub type SessionMap<S> = HashMap<Arc<str>, Arc<S>>;

/// The runtime-independent part of an Engine.IO server engine over sessions `S` of layer
/// `L` (a runtime's engine derefs to it).
pub struct EngineCore<L: Layer, S> {
    /// The options.
    pub opts: EioServerOptions,
    /// The normalized Engine.IO path.
    pub path: String,
    /// The layer on top of Engine.IO.
    pub layer: L,
    /// Answers requests outside the path (else 404).
    pub fallback: Option<Fallback>,
    sessions: Mutex<SessionMap<S>>,
    next_request: AtomicU64,
    blocked: AtomicBool,
}

impl<L: Layer, S: SessionHost<L>> EngineCore<L, S> {
    /// An engine core without sessions.
    pub fn new(opts: EioServerOptions, layer: L, fallback: Option<Fallback>) -> Self {
        EngineCore {
            path: opts.normalized_path(),
            opts,
            layer,
            fallback,
            sessions: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(1),
            blocked: AtomicBool::new(false),
        }
    }

    /// The registry, locked.
    pub fn sessions(&self) -> MutexGuard<'_, SessionMap<S>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A session by sid.
    pub fn get(&self, sid: &str) -> Option<Arc<S>> {
        self.sessions().get(sid).cloned()
    }

    /// A snapshot of the sessions.
    pub fn all(&self) -> Vec<Arc<S>> {
        self.sessions().values().cloned().collect()
    }

    /// How many sessions exist.
    pub fn count(&self) -> usize {
        self.sessions().len()
    }

    /// Removes `s` from the registry (if it is still the one under its sid).
    pub fn forget(&self, s: &Arc<S>) {
        let mut m = self.sessions();
        if m.get(s.sid()).is_some_and(|x| Arc::ptr_eq(x, s)) {
            m.remove(s.sid());
        }
    }

    /// Creates and registers a session under a fresh sid: the layer opens it, `eio` makes
    /// its Engine.IO session (given the sid and the packets that follow `open`), `make`
    /// wraps its state into the runtime's session.
    pub fn create(
        &self,
        entropy: &mut dyn Entropy,
        handshake: Handshake,
        eio: impl FnOnce(&str, &[EncodedPacket]) -> EioSession,
        make: impl FnOnce(Arc<str>, LayerState<L>) -> Arc<S>,
    ) -> Arc<S> {
        let mut map = self.sessions();
        let sid: Arc<str> = loop {
            let s: Arc<str> = new_sid(entropy).into();
            if !map.contains_key(&s) {
                break s;
            }
        };
        let (upper, initial, work) = self.layer.open(&sid, handshake);
        let eio = eio(&sid, &initial);
        let session = make(sid.clone(), LayerState::new(eio, upper, work));
        map.insert(sid, session.clone());
        session
    }

    /// A fresh id for a poll.
    pub fn next_request(&self) -> RequestId {
        self.next_request.fetch_add(1, Ordering::Relaxed)
    }

    /// Refuses new sessions from now on and closes every session.
    pub fn block_and_close_all(&self) {
        self.blocked.store(true, Ordering::SeqCst);
        for s in self.all() {
            s.with(|st, now| st.eio.close(now));
        }
    }

    /// Whether new sessions are refused.
    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::SeqCst)
    }

    /// A request the HTTP parser refused: if it was a POST refused for its size, its
    /// session fails (the connection is dropped), as with the reference.
    pub fn refused_body(&self, http: &ServerConnection, e: &HttpError) {
        let Some(head) = http.failed_head().or(http.pending_head()) else { return };
        if let EioRoute::Post { sid } = route(head, &self.opts, &self.path) {
            if let Some(s) = self.get(&sid) {
                tracing::debug!("engine.io: {sid}: POST refused ({e}); closing the session");
                s.with(|st, now| st.eio.close(now));
            }
        }
    }

    /// The answer to a request whose route needs no waiting and no connection of its own
    /// (outside the path, preflight, bad method, an error of a non-upgrade request, a
    /// POST); `None` for the others.
    pub fn answer_plain(&self, r: &EioRoute, request: &Request, keep_alive: bool) -> Option<Bytes> {
        let head = &request.head;
        Some(match r {
            EioRoute::Outside => {
                let mut r = match &self.fallback {
                    Some(h) => h(request),
                    None => Response::new(404).body("Not Found\n"),
                };
                if !keep_alive {
                    r = r.header("Connection", "close");
                }
                r.encode()
            }
            EioRoute::Preflight => preflight_response(head, keep_alive),
            EioRoute::BadMethod => server_error_response(keep_alive),
            EioRoute::Error(code) if !head.is_upgrade() => error_response(*code, head, keep_alive),
            EioRoute::Post { sid } => self.post(request, sid, keep_alive),
            _ => return None,
        })
    }

    fn post(&self, request: &Request, sid: &str, keep_alive: bool) -> Bytes {
        let head = &request.head;
        let Some(session) = self.get(sid) else {
            return error_response(EioErrorCode::UnknownSid, head, keep_alive);
        };
        let result = session.with(|st, now| {
            let mode = st.eio.polling_mode();
            let kind = PostKind::from_content_type(head.headers.get("content-type"), mode);
            let jsonp = matches!(mode, Some(PollingMode::Jsonp { .. }));
            st.eio.handle_post(now, kind, &request.body).map(|()| jsonp)
        });
        match result {
            Ok(jsonp) => {
                post_ok_response(&polling_headers(head, &self.opts, sid, jsonp), keep_alive)
            }
            Err(e) => request_error_response(e, head, keep_alive),
        }
    }

    /// A polling handshake: creates the session (see [`create`](Self::create); `make` as
    /// there) and answers with its `open` packet. `issued` is the wall clock in ms.
    #[allow(clippy::too_many_arguments)]
    pub fn handshake_polling(
        &self,
        entropy: &mut dyn Entropy,
        head: &RequestHead,
        mode: PollingMode,
        peer: &str,
        secure: bool,
        keep_alive: bool,
        (now, issued): (Instant, u64),
        make: impl FnOnce(Arc<str>, LayerState<L>) -> Arc<S>,
    ) -> Bytes {
        if self.is_blocked() {
            return error_response(EioErrorCode::BadRequest, head, keep_alive);
        }
        let jsonp = matches!(mode, PollingMode::Jsonp { .. });
        let hs = Handshake::from_request(head, peer, secure, issued);
        let req = self.next_request();
        let cfg = self.opts.session.clone();
        let session = self.create(
            entropy,
            hs,
            |sid, initial| EioSession::new_polling(now, sid, cfg, mode, req, initial),
            make,
        );
        let answer = session.with(|st, _| st.eio.poll_answer());
        let headers = polling_headers(head, &self.opts, session.sid(), jsonp);
        match answer {
            Some(a) => polling_response(&headers, a.content_type, a.body, keep_alive),
            None => server_error_response(keep_alive),
        }
    }
}

/// The answer to a request the session refused.
pub fn request_error_response(e: RequestError, head: &RequestHead, keep_alive: bool) -> Bytes {
    match EioErrorCode::of(e) {
        Some(code) => error_response(code, head, keep_alive),
        None => server_error_response(keep_alive),
    }
}
