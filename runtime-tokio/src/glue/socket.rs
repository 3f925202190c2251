//! The user-facing glue socket and its channels.

use super::server::ServerInner;
use crate::Error;
use glue_protocol::glue::{
    AjaxSocket, CoreEvent, ReadMode, SocketCloseReason, SocketCore, Transport, WriteError,
    WsSocket, MAIN_CHANNEL,
};
use glue_protocol::rand::OsEntropy;
use std::any::Any;

/// A glue message encoded once (see [`encode`](super::encode)); cheap to clone.
#[derive(Clone, Debug)]
pub struct Encoded(pub(crate) bytes::Bytes);
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

type Handler = Arc<dyn Fn(String) + Send + Sync>;
type CloseHandler = Box<dyn FnOnce() + Send>;

/// The transport half of a socket's state.
#[allow(clippy::large_enum_variant)] // similar sizes; boxing would add an allocation
pub(crate) enum Bound {
    Ws(WsSocket),
    Ajax(AjaxSocket),
}

impl Bound {
    pub(crate) fn core(&self) -> &SocketCore {
        match self {
            Bound::Ws(w) => w.core(),
            Bound::Ajax(a) => a.core(),
        }
    }

    fn core_mut(&mut self) -> &mut SocketCore {
        match self {
            Bound::Ws(w) => w.core_mut(),
            Bound::Ajax(a) => a.core_mut(),
        }
    }
}

/// What the transport must do after a command changed the state.
pub(crate) enum Kick {
    /// Wake the WebSocket connection task.
    Ws(Notify),
    /// AjaxSocket: process answers here and re-arm the server's Ajax timer.
    Ajax,
}

pub(crate) struct Shared {
    pub(crate) id: String,
    pub(crate) remote_addr: Mutex<String>,
    pub(crate) user_agent: String,
    pub(crate) transport: Transport,
    pub(crate) state: Mutex<Bound>,
    pub(crate) kick: Kick,
    pub(crate) server: Weak<ServerInner>,
    readable: Notify,
    pub(crate) writable: Notify,
    handlers: Mutex<Vec<(String, Handler)>>,
    on_close: Mutex<Vec<CloseHandler>>,
    closed_seen: Mutex<bool>,
    /// Handler messages waiting, and whether a thread is running handlers.
    dispatch: Mutex<(VecDeque<(String, String)>, bool)>,
    value: Mutex<Option<Box<dyn Any + Send + Sync>>>,
}

/// Side effects collected under the state lock, run after it is released.
#[derive(Default)]
pub(crate) struct Effects {
    pub(crate) initialized: bool,
    pub(crate) readable: bool,
    pub(crate) closed: Option<SocketCloseReason>,
}

impl Effects {
    /// Takes the events of `core`, and moves its handler messages to `shared`'s dispatch queue
    /// (under the state lock, so the order across threads is the arrival order).
    pub(crate) fn collect(shared: &Shared, core: &mut SocketCore) -> Effects {
        let mut fx = Effects::default();
        while let Some(e) = core.poll_event() {
            match e {
                CoreEvent::Initialized => fx.initialized = true,
                CoreEvent::Readable(_) => fx.readable = true,
                CoreEvent::Invalid(e) => tracing::debug!("glue socket {}: {e}", core.id()),
                CoreEvent::Dropped { channel, reason } => {
                    tracing::debug!(
                        "glue socket {}: dropped data on {channel:?}: {reason:?}",
                        core.id()
                    )
                }
                CoreEvent::Closed(r) => fx.closed = Some(r),
            }
        }
        let mut dispatch = shared.dispatch.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(d) = core.poll_dispatch() {
            dispatch.0.push_back(d);
        }
        fx
    }
}

impl Shared {
    pub(crate) fn new(
        core_id: String,
        remote_addr: String,
        user_agent: String,
        bound: Bound,
        kick: Kick,
        server: Weak<ServerInner>,
    ) -> Arc<Shared> {
        let transport = match bound {
            Bound::Ws(_) => Transport::WebSocket,
            Bound::Ajax(_) => Transport::Ajax,
        };
        Arc::new(Shared {
            id: core_id,
            remote_addr: Mutex::new(remote_addr),
            user_agent,
            transport,
            state: Mutex::new(bound),
            kick,
            server,
            readable: Notify::new(),
            writable: Notify::new(),
            handlers: Mutex::new(Vec::new()),
            on_close: Mutex::new(Vec::new()),
            closed_seen: Mutex::new(false),
            dispatch: Mutex::new((VecDeque::new(), false)),
            value: Mutex::new(None),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Bound> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a command on the core, then lets the transport act on it.
    fn command<R>(self: &Arc<Self>, f: impl FnOnce(&mut SocketCore, Instant) -> R) -> R {
        let now = Instant::now();
        let mut state = self.lock();
        let r = f(state.core_mut(), now);
        match (&self.kick, &mut *state) {
            (Kick::Ws(wake), Bound::Ws(_)) => {
                drop(state);
                wake.notify_one();
            }
            (_, Bound::Ajax(a)) => {
                a.after_command(now, &mut OsEntropy::new());
                match self.server.upgrade() {
                    Some(server) => super::ajax::settle(&server, self, state, true),
                    None => {
                        let fx = Effects::collect(self, a.core_mut());
                        drop(state);
                        self.apply(fx);
                    }
                }
            }
            _ => {}
        }
        r
    }

    /// Runs the side effects of an input: callbacks, wake-ups, registry changes.
    pub(crate) fn apply(self: &Arc<Self>, fx: Effects) {
        if fx.initialized {
            if let Some(server) = self.server.upgrade() {
                server.socket_initialized(Socket { shared: self.clone() });
            }
            self.command(|core, _| core.init_done());
        }
        self.run_handlers();
        if fx.readable {
            self.readable.notify_waiters();
        }
        if let Some(reason) = fx.closed {
            self.closed(reason);
        }
    }

    /// Runs the queued handler messages in order; one thread at a time (a handler that
    /// triggers more input just queues it for the running loop).
    fn run_handlers(&self) {
        {
            let mut d = self.dispatch.lock().unwrap_or_else(|e| e.into_inner());
            if d.1 || d.0.is_empty() {
                return;
            }
            d.1 = true;
        }
        loop {
            let next = {
                let mut d = self.dispatch.lock().unwrap_or_else(|e| e.into_inner());
                match d.0.pop_front() {
                    Some(item) => item,
                    None => {
                        d.1 = false;
                        return;
                    }
                }
            };
            let handler = self
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|(n, _)| *n == next.0)
                .map(|(_, h)| h.clone());
            if let Some(h) = handler {
                let run = std::panic::AssertUnwindSafe(|| h(next.1));
                if std::panic::catch_unwind(run).is_err() {
                    tracing::error!("glue socket {}: a read handler panicked", self.id);
                }
            }
        }
    }

    fn closed(self: &Arc<Self>, reason: SocketCloseReason) {
        {
            let mut seen = self.closed_seen.lock().unwrap_or_else(|e| e.into_inner());
            if *seen {
                return;
            }
            *seen = true;
        }
        tracing::debug!("glue socket {} closed: {reason:?}", self.id);
        if let Some(server) = self.server.upgrade() {
            server.socket_closed(&self.id);
        }
        self.readable.notify_waiters();
        self.writable.notify_waiters();
        let handlers =
            std::mem::take(&mut *self.on_close.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handlers {
            h();
        }
    }

    fn is_closed(&self) -> bool {
        *self.closed_seen.lock().unwrap_or_else(|e| e.into_inner())
            || self.lock().core().is_closed()
    }
}

/// One connected glue client. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Socket {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.shared.id)
            .field("transport", &self.shared.transport)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// The socket ID (20 characters from the OS CSPRNG).
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The client's address (X-Forwarded-For / X-Real-Ip rules; for AjaxSocket updated on
    /// every push, as upstream).
    pub fn remote_addr(&self) -> String {
        self.shared.remote_addr.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The client's User-Agent.
    pub fn user_agent(&self) -> &str {
        &self.shared.user_agent
    }

    /// The transport carrying this socket.
    pub fn transport(&self) -> Transport {
        self.shared.transport
    }

    /// Whether the socket is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Closes the socket: messages already written are sent first. glue.js reconnects after
    /// a server-side close (with a new socket ID).
    pub fn close(&self) {
        self.shared.command(|core, now| core.close(now));
    }

    /// Runs `f` once the socket is closed (at once if it already is).
    pub fn on_close(&self, f: impl FnOnce() + Send + 'static) {
        {
            let seen = self.shared.closed_seen.lock().unwrap_or_else(|e| e.into_inner());
            if !*seen {
                self.shared.on_close.lock().unwrap_or_else(|e| e.into_inner()).push(Box::new(f));
                return;
            }
        }
        f();
    }

    /// Waits until the socket is closed.
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if *self.shared.closed_seen.lock().unwrap_or_else(|e| e.into_inner()) {
                return;
            }
            notified.await;
        }
    }

    /// Stores a value of any type on the socket (replacing the previous one).
    pub fn set_value<T: Any + Send + Sync>(&self, value: T) {
        *self.shared.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(value));
    }

    /// A clone of the stored value, if one of type `T` is stored.
    pub fn value<T: Any + Clone>(&self) -> Option<T> {
        let v = self.shared.value.lock().unwrap_or_else(|e| e.into_inner());
        v.as_ref().and_then(|b| b.downcast_ref::<T>()).cloned()
    }

    /// A channel of this socket (opened on first use: data for channels the server never
    /// opened is dropped, as upstream).
    pub fn channel(&self, name: &str) -> Channel {
        self.shared.command(|core, _| core.open_channel(name));
        Channel { socket: self.clone(), name: name.to_owned() }
    }

    fn main(&self) -> Channel {
        Channel { socket: self.clone(), name: MAIN_CHANNEL.to_owned() }
    }

    /// Writes on the main channel, waiting while the send queue is full.
    pub async fn write(&self, data: &str) -> Result<(), Error> {
        self.main().write(data).await
    }

    /// Writes on the main channel if the send queue has room.
    pub fn try_write(&self, data: &str) -> Result<(), WriteError> {
        self.main().try_write(data)
    }

    /// Queues a message encoded once for many sockets ([`encode`](super::encode)), if the send
    /// queue has room: a broadcast shares one buffer among all recipients.
    pub fn try_write_encoded(&self, message: &Encoded) -> Result<(), WriteError> {
        let bytes = message.0.clone();
        self.shared.command(move |core, _| core.write_encoded(bytes))
    }

    /// The next message on the main channel; `Err(Closed)` once the socket is closed and
    /// everything received was read.
    pub async fn read(&self) -> Result<String, Error> {
        self.main().read().await
    }

    /// [`read`](Self::read) with a time limit (`Err(Timeout)`).
    pub async fn read_timeout(&self, timeout: Duration) -> Result<String, Error> {
        self.main().read_timeout(timeout).await
    }

    /// Calls `f` for every message on the main channel (in order, on the connection's task:
    /// keep it short or spawn).
    pub fn on_read(&self, f: impl Fn(String) + Send + Sync + 'static) {
        self.main().on_read(f)
    }

    /// Drops everything received on the main channel from now on.
    pub fn discard_read(&self) {
        self.main().discard_read()
    }
}

/// A named channel of a [`Socket`].
#[derive(Clone, Debug)]
pub struct Channel {
    socket: Socket,
    name: String,
}

impl Channel {
    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The socket.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Writes if the send queue has room.
    pub fn try_write(&self, data: &str) -> Result<(), WriteError> {
        self.socket.shared.command(|core, now| core.write(now, &self.name, data))
    }

    /// Writes, waiting while the send queue is full (`Err(Closed)` if the socket closes).
    pub async fn write(&self, data: &str) -> Result<(), Error> {
        let shared = &self.socket.shared;
        loop {
            let notified = shared.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_write(data) {
                Ok(()) => return Ok(()),
                Err(WriteError::Full) => notified.await,
                Err(_) => return Err(Error::Closed),
            }
        }
    }

    /// The next message; `Err(Closed)` once the socket is closed and the channel drained.
    pub async fn read(&self) -> Result<String, Error> {
        let shared = &self.socket.shared;
        loop {
            let notified = shared.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (data, closed) = shared.command(|core, now| {
                let d = core.read(now, &self.name);
                (d, core.is_closed())
            });
            if let Some(d) = data {
                return Ok(d);
            }
            if closed {
                return Err(Error::Closed);
            }
            notified.await;
        }
    }

    /// [`read`](Self::read) with a time limit.
    pub async fn read_timeout(&self, timeout: Duration) -> Result<String, Error> {
        tokio::time::timeout(timeout, self.read()).await.map_err(|_| Error::Timeout)?
    }

    /// Calls `f` for every message (in order; earlier unread messages first).
    pub fn on_read(&self, f: impl Fn(String) + Send + Sync + 'static) {
        let shared = &self.socket.shared;
        {
            let mut handlers = shared.handlers.lock().unwrap_or_else(|e| e.into_inner());
            handlers.retain(|(n, _)| *n != self.name);
            handlers.reserve_exact(1);
            handlers.push((self.name.clone(), Arc::new(f)));
        }
        shared.command(|core, now| core.set_read_mode(now, &self.name, ReadMode::Handler));
        // The backlog moved to the dispatch queue: run it now.
        let fx = Effects::collect(shared, shared.lock().core_mut());
        shared.apply(fx);
    }

    /// Drops everything received on this channel from now on (and what is waiting).
    pub fn discard_read(&self) {
        let shared = &self.socket.shared;
        shared.handlers.lock().unwrap_or_else(|e| e.into_inner()).retain(|(n, _)| *n != self.name);
        shared.command(|core, now| core.set_read_mode(now, &self.name, ReadMode::Discard));
    }
}
