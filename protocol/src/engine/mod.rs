//! The runtime-independent half of the Engine.IO server engine: what sits on top of an
//! [`EioSession`] (a [`Layer`]: the Engine.IO message API in [`eio`], Socket.IO in [`sio`]),
//! the per-session state a runtime keeps under one lock ([`LayerState`]), and the handle
//! through which the layers' public types reach their session ([`SessionHandle`]).
//!
//! A runtime's engine owns the I/O: HTTP serving, held polls, WebSocket connections, timers,
//! and the "settle" step after every input or command (let the layer [`pump`](Layer::pump),
//! write, answer polls, then run the queued work unlocked, in order, one session at a time,
//! with [`dispatch`]). Nothing here spawns, reads a clock or does I/O: `now` comes from the
//! caller. The shared registries (namespaces, rooms, sockets) use `std::sync` locks.

mod core;
pub mod eio;
pub mod sio;
mod small_map;

pub use self::core::{request_error_response, EngineCore, Fallback, SessionMap};

use crate::eio::server::Handshake;
use crate::eio::session::{EioSession, EncodedPacket, PollAnswer, RequestId};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// What sits on top of Engine.IO, for one session: its state next to the [`EioSession`]
/// (under the same lock), the work its events turn into, and how that work runs.
pub trait Layer: Send + Sync + Sized + 'static {
    /// How the layer's public types (sockets) reach their session.
    type Handle: SessionHandle<Self>;
    /// Per-session state, kept under the session's lock.
    type Conn: Send + 'static;
    /// Work to run unlocked (application callbacks).
    type Work: Send + 'static;
    /// A new session: its state, the packets that follow `open`, and its first work.
    fn open(
        &self,
        sid: &Arc<str>,
        handshake: Handshake,
    ) -> (Self::Conn, Vec<EncodedPacket>, Vec<Self::Work>);
    /// After every input or command, under the lock: consume the session's events (and run
    /// the layer's own machine), queueing work.
    fn pump(&self, state: &mut LayerState<Self>, now: Instant);
    /// Runs one piece of work, unlocked.
    fn run(&self, session: &Self::Handle, work: Self::Work);
    /// The layer's own next deadline for this session.
    fn poll_timeout(&self, _conn: &Self::Conn) -> Option<Instant> {
        None
    }
    /// Runs the layer's due deadlines (under the lock).
    fn handle_timeout(&self, _state: &mut LayerState<Self>, _now: Instant) {}
    /// Gives back the layer's idle memory (drained queues) before the connection sleeps.
    fn shrink_idle(&self, _conn: &mut Self::Conn) {}
}

/// A runtime's handle to one session of layer `L` (cheap to clone).
pub trait SessionHandle<L: Layer>: Clone + Send + Sync + 'static {
    /// The Engine.IO session id.
    fn sid(&self) -> &Arc<str>;
    /// Runs `f` on the state under the session's lock, without settling: for reads and for
    /// changes that produce no output (handlers, callbacks).
    fn peek<R>(&self, f: impl FnOnce(&mut LayerState<L>) -> R) -> R;
    /// Runs `f` on the state under the lock with the current time, then settles (the layer
    /// pumps, output is written, polls are answered, queued work runs).
    fn with<R>(&self, f: impl FnOnce(&mut LayerState<L>, Instant) -> R) -> R;
}

/// A runtime's session of layer `L`, generically: what a [`crate::session_handle!`] handle
/// delegates to.
pub trait SessionHost<L: Layer>: Send + Sync + 'static {
    /// The Engine.IO session id.
    fn sid(&self) -> &Arc<str>;
    /// See [`SessionHandle::peek`].
    fn peek<R>(&self, f: impl FnOnce(&mut LayerState<L>) -> R) -> R;
    /// See [`SessionHandle::with`].
    fn with<R>(self: &Arc<Self>, f: impl FnOnce(&mut LayerState<L>, Instant) -> R) -> R;
}

/// Defines `$name`, a public opaque handle (`Arc<$session>`) to a runtime's session of
/// `$layer`, where `$session: SessionHost<$layer>`: what that layer's sockets hold. (One
/// named type per layer breaks the cycle layer → socket → handle → session → layer.)
#[macro_export]
macro_rules! session_handle {
    ($(#[$m:meta])* $name:ident($session:ty), $layer:ty) => {
        $(#[$m])*
        #[derive(Clone)]
        pub struct $name(::std::sync::Arc<$session>);

        impl $crate::engine::SessionHandle<$layer> for $name {
            fn sid(&self) -> &::std::sync::Arc<str> {
                $crate::engine::SessionHost::sid(&*self.0)
            }
            fn peek<R>(&self, f: impl FnOnce(&mut $crate::engine::LayerState<$layer>) -> R) -> R {
                $crate::engine::SessionHost::peek(&*self.0, f)
            }
            fn with<R>(
                &self,
                f: impl FnOnce(&mut $crate::engine::LayerState<$layer>, ::std::time::Instant) -> R,
            ) -> R {
                $crate::engine::SessionHost::with(&self.0, f)
            }
        }

        impl ::std::convert::From<::std::sync::Arc<$session>> for $name {
            fn from(session: ::std::sync::Arc<$session>) -> $name {
                $name(session)
            }
        }
    };
}

/// A session's state under its lock (a runtime keeps its own bookkeeping next to it).
pub struct LayerState<L: Layer> {
    /// The Engine.IO session.
    pub eio: EioSession,
    /// The layer's per-session state.
    pub upper: L::Conn,
    /// Work waiting to run, in order.
    pub work: VecDeque<L::Work>,
    /// Whether a caller is running the work (only one at a time).
    pub dispatching: bool,
    /// The deadline the runtime's timer will visit the session at, if any.
    pub timer_at: Option<Instant>,
}

impl<L: Layer> LayerState<L> {
    /// Gives back the capacity of drained queues — the session's, the work queue's and the
    /// layer's (call before the connection sleeps).
    pub fn shrink_idle(&mut self, layer: &L) {
        crate::eio::session::release_if_empty(&mut self.work);
        self.eio.shrink_idle();
        layer.shrink_idle(&mut self.upper);
    }

    /// A new session's state.
    pub fn new(eio: EioSession, upper: L::Conn, work: Vec<L::Work>) -> Self {
        LayerState { eio, upper, work: work.into(), dispatching: false, timer_at: None }
    }

    /// The session's and the layer's earliest deadline.
    pub fn next_deadline(&self, layer: &L) -> Option<Instant> {
        [self.eio.poll_timeout(), layer.poll_timeout(&self.upper)].into_iter().flatten().min()
    }

    /// Runs the session's and the layer's due deadlines.
    pub fn run_timers(&mut self, layer: &L, now: Instant) {
        self.eio.handle_timeout(now);
        layer.handle_timeout(self, now);
    }

    /// A visit of the runtime's timer: forgets its entry and runs the due deadlines.
    pub fn timer_visit(&mut self, layer: &L, now: Instant) {
        self.timer_at = None;
        if self.next_deadline(layer).is_some_and(|t| t <= now) {
            self.run_timers(layer, now);
        }
    }

    /// Whether the session is gone for the registry. A closed WebSocket session is gone at
    /// once (its connection still flushes the close); a polling one stays until a poll took
    /// its close packet (or the linger ended), so that poll gets `1` rather than "unknown
    /// sid".
    pub fn is_gone(&self) -> bool {
        self.eio.is_finished() || (!self.eio.is_open() && self.eio.is_websocket())
    }

    /// Records `deadline` for the runtime's timer; `Some` if the timer must be (re)armed for
    /// it (it is earlier than the one already registered).
    pub fn arm_timer(&mut self, deadline: Option<Instant>) -> Option<Instant> {
        let t = deadline?;
        if self.timer_at.map_or(true, |at| t < at) {
            self.timer_at = Some(t);
            return Some(t);
        }
        None
    }

    /// Claims the dispatch of the queued work: true if the caller must now call
    /// [`dispatch`] (there is work and nobody else runs it).
    pub fn claim_dispatch(&mut self) -> bool {
        let claim = !self.dispatching && !self.work.is_empty();
        if claim {
            self.dispatching = true;
        }
        claim
    }

    /// The next piece of work for the dispatcher; `None` ends the dispatch.
    pub fn next_work(&mut self) -> Option<L::Work> {
        let w = self.work.pop_front();
        if w.is_none() {
            self.dispatching = false;
        }
        w
    }

    /// Takes the session's poll answers; each one for the held poll in `waiter` is returned
    /// with that poll's responder (the others are stale and dropped).
    pub fn take_answers<W>(&mut self, waiter: &mut Option<(RequestId, W)>) -> Vec<(W, PollAnswer)> {
        let mut out = Vec::new();
        while let Some(answer) = self.eio.poll_answer() {
            match waiter.take() {
                Some((id, w)) if id == answer.request => out.push((w, answer)),
                other => *waiter = other,
            }
        }
        out
    }
}

/// Runs the session's queued work in order, unlocked, until none is left (the caller
/// claimed it with [`LayerState::claim_dispatch`]). A handler that panics closes the session.
pub fn dispatch<L: Layer>(layer: &L, session: &L::Handle) {
    while let Some(w) = session.peek(|st| st.next_work()) {
        let run = std::panic::AssertUnwindSafe(|| layer.run(session, w));
        if std::panic::catch_unwind(run).is_err() {
            tracing::error!("engine.io: a handler panicked; closing session {}", session.sid());
            session.with(|st, now| {
                st.eio.close(now);
                st.dispatching = false;
            });
            return;
        }
    }
}
