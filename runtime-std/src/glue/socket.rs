//! The user-facing glue socket and its channels, and the per-socket state the transports
//! drive.
//!
//! Threads: a WebSocket has its connection thread (reading); an AjaxSocket has none of its
//! own (HTTP connection threads and the server's Ajax timer thread drive it). Every other
//! thread acts on a socket through *commands*: lock the state, change the [`SocketCore`], then
//! let the transport act on it ([`Shared::after`]): WebSocket output is written by the thread
//! that finds nobody else writing (the *flusher*), AjaxSocket poll answers are written to the
//! waiting HTTP connections. Events are collected under the lock and their callbacks run after
//! it is released.

use super::server::{GlueStream, ServerInner};
use crate::Error;
use bytes::Bytes;
use glue_protocol::glue::{
    AjaxSocket, CoreEvent, ReadMode, SocketCloseReason, SocketCore, Transport, WriteError,
    WsSocket, MAIN_CHANNEL,
};
use glue_protocol::rand::OsEntropy;
use glue_protocol::Machine;
use std::any::Any;

/// A glue message encoded once (see [`encode`](super::encode)); cheap to clone.
#[derive(Clone, Debug)]
pub struct Encoded(pub(crate) bytes::Bytes);
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

type Handler = Arc<dyn Fn(String) + Send + Sync>;
type CloseHandler = Box<dyn FnOnce() + Send>;

/// Most chunks one vectored write of the WebSocket flusher carries.
pub(crate) const MAX_IOV: usize = 64;
/// Most bytes the flusher takes from the machine per write.
pub(crate) const BATCH_BYTES: usize = 256 * 1024;

/// A WebSocket socket: the machine and the connection it writes to.
pub(crate) struct WsBound {
    pub(crate) ws: WsSocket,
    /// The connection (shared with the connection thread, which reads); `None` once that
    /// thread ended.
    pub(crate) io: Option<Arc<dyn GlueStream>>,
    /// A thread is writing the machine's output (others only queue).
    flushing: bool,
    /// The connection is shut down (terminated, or a write failed).
    pub(crate) shut_down: bool,
}

impl WsBound {
    pub(crate) fn new(ws: WsSocket, io: Arc<dyn GlueStream>) -> Self {
        WsBound { ws, io: Some(io), flushing: false, shut_down: false }
    }
}

/// An AjaxSocket socket.
pub(crate) struct AjaxBound {
    pub(crate) sock: AjaxSocket,
    /// The earliest deadline handed to the server's Ajax timer and not yet reached.
    pub(crate) scheduled: Option<Instant>,
}

/// The transport half of a socket's state.
pub(crate) enum Bound {
    Ws(Box<WsBound>),
    Ajax(Box<AjaxBound>),
}

impl Bound {
    pub(crate) fn core(&self) -> &SocketCore {
        match self {
            Bound::Ws(w) => w.ws.core(),
            Bound::Ajax(a) => a.sock.core(),
        }
    }

    pub(crate) fn core_mut(&mut self) -> &mut SocketCore {
        match self {
            Bound::Ws(w) => w.ws.core_mut(),
            Bound::Ajax(a) => a.sock.core_mut(),
        }
    }
}

/// Everything behind a socket's lock.
pub(crate) struct State {
    pub(crate) bound: Bound,
    /// Threads waiting in `read` (on `readable`).
    readers: u32,
    /// Threads waiting in `write` (on `writable`).
    writers: u32,
    /// Threads waiting on `wake` (the connection thread while it may not read; AjaxSocket
    /// pushes while the new-socket callback runs).
    pub(crate) parked: u32,
}

impl State {
    /// Whether threads wait in `write` for room in the send queue.
    pub(crate) fn has_writers(&self) -> bool {
        self.writers > 0
    }
}

pub(crate) type Guard<'a> = MutexGuard<'a, State>;

pub(crate) struct Shared {
    pub(crate) id: String,
    pub(crate) remote_addr: Mutex<String>,
    pub(crate) user_agent: String,
    pub(crate) transport: Transport,
    state: Mutex<State>,
    pub(crate) server: Weak<ServerInner>,
    readable: Condvar,
    writable: Condvar,
    pub(crate) wake: Condvar,
    handlers: Mutex<HashMap<String, Handler>>,
    on_close: Mutex<Vec<CloseHandler>>,
    closed_seen: Mutex<bool>,
    closed_cv: Condvar,
    /// Handler messages waiting, and whether a thread is running handlers.
    dispatch: Mutex<(VecDeque<(String, String)>, bool)>,
    value: Mutex<Option<Box<dyn Any + Send + Sync>>>,
}

/// Side effects collected under the state lock, run after it is released.
#[derive(Default)]
pub(crate) struct Effects {
    initialized: bool,
    closed: Option<SocketCloseReason>,
}

impl Effects {
    /// Takes the events of the socket, moves its handler messages to the dispatch queue
    /// (under the state lock, so the order across threads is the arrival order) and wakes
    /// the readers if data arrived.
    pub(crate) fn collect(&mut self, shared: &Shared, state: &mut State) {
        let core = state.bound.core_mut();
        let mut readable = false;
        while let Some(e) = core.poll_event() {
            match e {
                CoreEvent::Initialized => self.initialized = true,
                CoreEvent::Readable(_) => readable = true,
                CoreEvent::Invalid(e) => tracing::debug!("glue socket {}: {e}", core.id()),
                CoreEvent::Dropped { channel, reason } => {
                    tracing::debug!(
                        "glue socket {}: dropped data on {channel:?}: {reason:?}",
                        core.id()
                    )
                }
                CoreEvent::Closed(r) => self.closed = Some(r),
            }
        }
        {
            let mut dispatch = shared.dispatch.lock().unwrap_or_else(|e| e.into_inner());
            while let Some(d) = core.poll_dispatch() {
                dispatch.0.push_back(d);
            }
        }
        if readable && state.readers > 0 {
            shared.readable.notify_all();
        }
    }
}

impl Shared {
    pub(crate) fn new(
        id: String,
        remote_addr: String,
        user_agent: String,
        bound: Bound,
        server: Weak<ServerInner>,
    ) -> Arc<Shared> {
        let transport = match bound {
            Bound::Ws(_) => Transport::WebSocket,
            Bound::Ajax(_) => Transport::Ajax,
        };
        Arc::new(Shared {
            id,
            remote_addr: Mutex::new(remote_addr),
            user_agent,
            transport,
            state: Mutex::new(State { bound, readers: 0, writers: 0, parked: 0 }),
            server,
            readable: Condvar::new(),
            writable: Condvar::new(),
            wake: Condvar::new(),
            handlers: Mutex::new(HashMap::new()),
            on_close: Mutex::new(Vec::new()),
            closed_seen: Mutex::new(false),
            closed_cv: Condvar::new(),
            dispatch: Mutex::new((VecDeque::new(), false)),
            value: Mutex::new(None),
        })
    }

    pub(crate) fn lock(&self) -> Guard<'_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits on `cv` (`None`: without a time limit).
    pub(crate) fn wait<'a>(
        &self,
        cv: &Condvar,
        guard: Guard<'a>,
        timeout: Option<Duration>,
    ) -> Guard<'a> {
        match timeout {
            None => cv.wait(guard).unwrap_or_else(|e| e.into_inner()),
            Some(t) => cv.wait_timeout(guard, t).unwrap_or_else(|e| e.into_inner()).0,
        }
    }

    /// Wakes the threads waiting for room in the send queue (call with the lock held).
    pub(crate) fn notify_writers(&self) {
        self.writable.notify_all();
    }

    /// Runs a command on the core, then lets the transport act on it.
    fn command<R>(self: &Arc<Self>, f: impl FnOnce(&mut SocketCore, Instant) -> R) -> R {
        let mut state = self.lock();
        let r = f(state.bound.core_mut(), Instant::now());
        self.after(state);
        r
    }

    /// After an input or a command: moves the output to the transport (writing it, or
    /// answering polls), collects the events, releases the lock and runs the callbacks.
    pub(crate) fn after(self: &Arc<Self>, mut state: Guard<'_>) {
        if matches!(state.bound, Bound::Ajax(_)) {
            let now = Instant::now();
            if let Bound::Ajax(a) = &mut state.bound {
                a.sock.after_command(now, &mut OsEntropy::new());
            }
            super::ajax::settle(self, state);
            return;
        }
        let mut fx = Effects::default();
        if let Bound::Ws(w) = &mut state.bound {
            w.ws.after_command(Instant::now());
        }
        fx.collect(self, &mut state);
        let mut state = self.flush_ws(state);
        fx.collect(self, &mut state);
        if state.parked > 0 {
            self.wake.notify_all();
        }
        drop(state);
        self.apply(fx);
    }

    /// Writes the WebSocket machine's output unless another thread is already doing so (it
    /// then writes ours too). The lock is released while writing; returns it re-taken.
    pub(crate) fn flush_ws<'a>(&'a self, mut state: Guard<'a>) -> Guard<'a> {
        {
            let Bound::Ws(w) = &mut state.bound else { return state };
            if w.flushing {
                return state;
            }
            w.flushing = true;
        }
        let mut batch: VecDeque<Bytes> = VecDeque::new();
        loop {
            let writers = state.writers;
            let Bound::Ws(w) = &mut state.bound else { unreachable!("a WebSocket socket") };
            let mut bytes = 0;
            while batch.len() < MAX_IOV && bytes < BATCH_BYTES {
                match w.ws.poll_transmit() {
                    Some(b) if b.is_empty() => {}
                    Some(b) => {
                        bytes += b.len();
                        batch.push_back(b);
                    }
                    None => break,
                }
            }
            if writers > 0 {
                // The machine took messages from the send queue: there may be room.
                self.writable.notify_all();
            }
            let io = match &w.io {
                Some(io) if !w.shut_down && !batch.is_empty() => io.clone(),
                _ => {
                    batch.clear();
                    if (w.ws.is_terminated() || w.io.is_none()) && !w.shut_down {
                        w.shut_down = true;
                        if let Some(io) = &w.io {
                            let _ = io.shutdown(Shutdown::Both);
                        }
                    }
                    w.flushing = false;
                    if state.parked > 0 {
                        self.wake.notify_all();
                    }
                    return state;
                }
            };
            drop(state);
            let written = write_batch(&*io, &mut batch);
            state = self.lock();
            if written.is_err() {
                batch.clear();
                let Bound::Ws(w) = &mut state.bound else { unreachable!("a WebSocket socket") };
                w.shut_down = true;
                let now = Instant::now();
                w.ws.handle_eof(now);
                // Directly too: the machine holds input while the new-socket callback runs,
                // and a writer blocked in that callback must see the socket closed.
                w.ws.core_mut().handle_transport_closed(now);
                let _ = io.shutdown(Shutdown::Both);
            }
        }
    }

    /// Runs the side effects of an input: callbacks, wake-ups, registry changes.
    pub(crate) fn apply(self: &Arc<Self>, fx: Effects) {
        if fx.initialized {
            if let Some(server) = self.server.upgrade() {
                server.socket_initialized(Socket { shared: self.clone() });
            }
            self.command(|core, _| core.init_done());
            // AjaxSocket pushes wait for the callback.
            self.wake.notify_all();
        }
        self.run_handlers();
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
            let handler =
                self.handlers.lock().unwrap_or_else(|e| e.into_inner()).get(&next.0).cloned();
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
            self.closed_cv.notify_all();
        }
        tracing::debug!("glue socket {} closed: {reason:?}", self.id);
        if let Some(server) = self.server.upgrade() {
            server.socket_closed(&self.id);
        }
        {
            // Under the lock: a waiter checked `is_closed` before waiting.
            let _state = self.lock();
            self.readable.notify_all();
            self.writable.notify_all();
            self.wake.notify_all();
        }
        let handlers =
            std::mem::take(&mut *self.on_close.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handlers {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(h)).is_err() {
                tracing::error!("glue socket {}: a close handler panicked", self.id);
            }
        }
    }

    fn is_closed(&self) -> bool {
        *self.closed_seen.lock().unwrap_or_else(|e| e.into_inner())
            || self.lock().bound.core().is_closed()
    }
}

/// Writes every chunk of `batch` (vectored), removing what was written.
pub(crate) fn write_batch(io: &dyn GlueStream, batch: &mut VecDeque<Bytes>) -> io::Result<()> {
    while !batch.is_empty() {
        let n = {
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(batch.iter()) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            match io.write_vectored_shared(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let mut left = n;
        while left > 0 {
            let first = batch.front_mut().expect("written bytes were queued");
            if left < first.len() {
                bytes::Buf::advance(first, left);
                break;
            }
            left -= first.len();
            batch.pop_front();
        }
    }
    Ok(())
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

    /// Runs `f` once the socket is closed (at once, on this thread, if it already is).
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

    /// Blocks until the socket is closed.
    pub fn wait_closed(&self) {
        let mut seen = self.shared.closed_seen.lock().unwrap_or_else(|e| e.into_inner());
        while !*seen {
            seen = self.shared.closed_cv.wait(seen).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks until the socket is closed or `timeout` passed; returns whether it is closed.
    pub fn wait_closed_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut seen = self.shared.closed_seen.lock().unwrap_or_else(|e| e.into_inner());
        while !*seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            seen =
                self.shared.closed_cv.wait_timeout(seen, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
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

    /// Writes on the main channel, blocking while the send queue is full.
    pub fn write(&self, data: &str) -> Result<(), Error> {
        self.main().write(data)
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

    /// The next message on the main channel (blocking); `Err(Closed)` once the socket is
    /// closed and everything received was read.
    pub fn read(&self) -> Result<String, Error> {
        self.main().read()
    }

    /// [`read`](Self::read) with a time limit (`Err(Timeout)`).
    pub fn read_timeout(&self, timeout: Duration) -> Result<String, Error> {
        self.main().read_timeout(timeout)
    }

    /// Calls `f` for every message on the main channel (in order, one call at a time, on
    /// the thread that delivered the input — usually the connection's: keep it short).
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

    /// Writes if the send queue has room. Does not wait for room; the calling thread may
    /// write the queued output to the connection itself (bounded by the write timeout).
    pub fn try_write(&self, data: &str) -> Result<(), WriteError> {
        self.socket.shared.command(|core, now| core.write(now, &self.name, data))
    }

    /// Writes, blocking while the send queue is full (`Err(Closed)` if the socket closes).
    pub fn write(&self, data: &str) -> Result<(), Error> {
        let shared = &self.socket.shared;
        let mut state = shared.lock();
        let result = loop {
            match state.bound.core_mut().write(Instant::now(), &self.name, data) {
                Ok(()) => break Ok(()),
                Err(WriteError::Full) => {
                    state.writers += 1;
                    state = shared.wait(&shared.writable, state, None);
                    state.writers -= 1;
                }
                Err(_) => break Err(Error::Closed),
            }
        };
        shared.after(state);
        result
    }

    /// The next message (blocking); `Err(Closed)` once the socket is closed and the channel
    /// drained.
    pub fn read(&self) -> Result<String, Error> {
        self.read_until(None)
    }

    /// [`read`](Self::read) with a time limit (`Err(Timeout)`).
    pub fn read_timeout(&self, timeout: Duration) -> Result<String, Error> {
        self.read_until(Some(Instant::now() + timeout))
    }

    fn read_until(&self, deadline: Option<Instant>) -> Result<String, Error> {
        let shared = &self.socket.shared;
        let mut state = shared.lock();
        let result = loop {
            let now = Instant::now();
            let core = state.bound.core_mut();
            if let Some(d) = core.read(now, &self.name) {
                break Ok(d);
            }
            if core.is_closed() {
                break Err(Error::Closed);
            }
            let left = match deadline {
                Some(d) if d <= now => break Err(Error::Timeout),
                Some(d) => Some(d - now),
                None => None,
            };
            state.readers += 1;
            state = shared.wait(&shared.readable, state, left);
            state.readers -= 1;
        };
        // A read may let the connection be read again.
        shared.after(state);
        result
    }

    /// Calls `f` for every message (in order, one call at a time; earlier unread messages
    /// first).
    pub fn on_read(&self, f: impl Fn(String) + Send + Sync + 'static) {
        let shared = &self.socket.shared;
        shared
            .handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.name.clone(), Arc::new(f));
        // The backlog moves to the dispatch queue and runs now.
        shared.command(|core, now| core.set_read_mode(now, &self.name, ReadMode::Handler));
    }

    /// Drops everything received on this channel from now on (and what is waiting).
    pub fn discard_read(&self) {
        let shared = &self.socket.shared;
        shared.handlers.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.name);
        shared.command(|core, now| core.set_read_mode(now, &self.name, ReadMode::Discard));
    }
}
