//! The glue server: HTTP front (WebSocket upgrade, AjaxSocket, client script, the
//! application's own handler), the socket registry, and the WebSocket connection thread.
//!
//! One thread per TCP connection. A WebSocket's thread reads (with `set_read_timeout` from
//! the machine's next deadline) and parks on a condition variable while the application is
//! behind (back-pressure); output is written by whichever thread produced it (see
//! [`socket`](super::socket)). An HTTP connection thread serves requests; while it holds an
//! AjaxSocket poll it keeps reading its connection, so a client that goes away is noticed at
//! once, and the poll's answer is written by the thread that produced it.
//!
//! Idle sockets cost a blocked thread each and no wake-ups (the read timeout is the glue
//! keep-alive deadline). One limit of blocking reads: a deadline that another thread moves
//! *earlier* is seen by the connection thread only when its current read times out. The only
//! such case is the WebSocket close handshake after [`Socket::close`] from another thread: a
//! client that never answers the close frame keeps its thread until the old deadline (at
//! most the ping interval); the socket itself is closed and unregistered at once.

use super::ajax::{self, AjaxTimer, Responder};
use super::socket::{Bound, Shared, Socket, WsBound};
use glue_protocol::glue::front::{
    client_script_response, error_response, front_route, FrontConfig, FrontRoute,
};
use glue_protocol::glue::ids::{AJAX_UID_LEN, SOCKET_ID_LEN};
use glue_protocol::glue::registry::IdMap;
use glue_protocol::glue::routing::remote_addr;
use glue_protocol::glue::{SocketCore, WsSocket};
use glue_protocol::http::{RequestHead, Response, ServerConnection};
use glue_protocol::rand::OsEntropy;
use glue_protocol::ws::handshake::respond;
use glue_protocol::ws::Connection;
use glue_protocol::Machine;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Stack size of connection threads. The new-socket callback and read handlers may run on
/// them, so more than the bare loop needs (untouched stack costs no memory).
pub(crate) const THREAD_STACK: usize = 256 * 1024;
/// A write that makes no progress for this long fails (and closes its connection), so a
/// stalled client cannot hold a writing thread for longer (upstream's write timeout).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const SMALL_READ_BUF: usize = 1024;
const READ_BUF: usize = 16 * 1024;

/// A connection the server can serve: read and written through shared references (one
/// thread reads while others write), with timeouts and shutdown. Implemented for
/// [`TcpStream`] and (on Unix) `UnixStream`.
pub trait GlueStream: Send + Sync + 'static {
    /// Reads like [`Read::read`].
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes like [`Write::write_vectored`].
    fn write_vectored_shared(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Sets the read timeout (`None`: block).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets the write timeout (`None`: block).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Shuts down one or both directions.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// Writes all of `buf`.
    fn write_all_shared(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_vectored_shared(&[IoSlice::new(buf)]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl GlueStream for TcpStream {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
    fn write_vectored_shared(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }
}

#[cfg(unix)]
impl GlueStream for std::os::unix::net::UnixStream {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
    fn write_vectored_shared(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, how)
    }
}

pub use glue_protocol::glue::server_options::{
    HttpHandler, OriginCheck, ServerOptions, SocketType,
};

type NewSocketHandler = Arc<dyn Fn(Socket) + Send + Sync>;

/// How to wake a listener blocked in `accept` (by connecting to it).
#[derive(Clone, PartialEq, Eq)]
enum ListenerWake {
    Tcp(SocketAddr),
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

pub(crate) struct ServerInner {
    pub(crate) options: ServerOptions,
    front: FrontConfig,
    sockets: Mutex<IdMap<Socket>>,
    /// Signalled when a socket leaves the registry.
    live: Condvar,
    pub(crate) ajax: Mutex<IdMap<Arc<Shared>>>,
    pub(crate) timer: Arc<AjaxTimer>,
    pub(crate) waiters: Mutex<HashMap<u64, Arc<Responder>>>,
    on_new_socket: RwLock<Option<NewSocketHandler>>,
    blocked: AtomicBool,
    released: Mutex<bool>,
    released_cv: Condvar,
    listeners: Mutex<Vec<ListenerWake>>,
    next_request: AtomicU64,
}

impl Drop for ServerInner {
    fn drop(&mut self) {
        self.timer.stop();
    }
}

/// A glue server. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<ServerInner>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("options", &self.inner.options).finish_non_exhaustive()
    }
}

impl Server {
    /// A server with `options` (nothing listens until [`run`](Self::run)).
    pub fn new(options: ServerOptions) -> Server {
        let front = options.front_config();
        Server {
            inner: Arc::new(ServerInner {
                options,
                front,
                sockets: Mutex::new(IdMap::new(SOCKET_ID_LEN)),
                live: Condvar::new(),
                ajax: Mutex::new(IdMap::new(AJAX_UID_LEN)),
                timer: Arc::new(AjaxTimer::new()),
                waiters: Mutex::new(HashMap::new()),
                on_new_socket: RwLock::new(None),
                blocked: AtomicBool::new(false),
                released: Mutex::new(false),
                released_cv: Condvar::new(),
                listeners: Mutex::new(Vec::new()),
                next_request: AtomicU64::new(1),
            }),
        }
    }

    /// Sets the callback run for every socket once its init handshake completed. It runs on
    /// the connection's thread before further input of that socket is processed, so channels
    /// it opens see the data sent right after the handshake; do not block in it.
    pub fn on_new_socket(&self, f: impl Fn(Socket) + Send + Sync + 'static) {
        *self.inner.on_new_socket.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// A registered socket by ID (initialized or not).
    pub fn get_socket(&self, id: &str) -> Option<Socket> {
        self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// A snapshot of the registered sockets.
    pub fn sockets(&self) -> Vec<Socket> {
        self.inner
            .sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// How many sockets are registered.
    pub fn socket_count(&self) -> usize {
        self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Blocks (`true`) or admits new sockets; blocked transports are closed at once.
    pub fn block(&self, blocked: bool) {
        self.inner.blocked.store(blocked, Ordering::SeqCst);
    }

    /// Whether new sockets are blocked.
    pub fn is_blocked(&self) -> bool {
        self.inner.is_blocked()
    }

    /// Listens as configured and serves (a thread per connection) until
    /// [`release`](Self::release), then returns `Ok`. [`SocketType::None`] waits for
    /// `release` without listening. After `release` it returns at once.
    pub fn run(&self) -> io::Result<()> {
        match self.inner.options.socket_type {
            SocketType::None => {
                let mut released = self.inner.released.lock().unwrap_or_else(|e| e.into_inner());
                while !*released {
                    released =
                        self.inner.released_cv.wait(released).unwrap_or_else(|e| e.into_inner());
                }
                Ok(())
            }
            SocketType::Tcp => {
                self.serve_tcp(TcpListener::bind(&self.inner.options.listen_address)?)
            }
            SocketType::Unix => self.serve_unix(),
        }
    }

    /// Serves connections accepted from `listener` (a thread each) until
    /// [`release`](Self::release).
    pub fn serve_tcp(&self, listener: TcpListener) -> io::Result<()> {
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            let ip = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            addr.set_ip(ip);
        }
        let _listening = self.listening(ListenerWake::Tcp(addr));
        loop {
            if self.inner.is_released() {
                return Ok(());
            }
            match listener.accept() {
                Ok((stream, peer)) => {
                    if self.inner.is_released() {
                        return Ok(());
                    }
                    let _ = stream.set_nodelay(true);
                    let server = self.clone();
                    self.spawn(move || server.serve_connection(stream, peer.to_string()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    #[cfg(unix)]
    fn serve_unix(&self) -> io::Result<()> {
        use std::os::unix::net::UnixListener;
        let path = std::path::PathBuf::from(&self.inner.options.listen_address);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        let _listening = self.listening(ListenerWake::Unix(path));
        loop {
            if self.inner.is_released() {
                return Ok(());
            }
            match listener.accept() {
                Ok((stream, _)) => {
                    if self.inner.is_released() {
                        return Ok(());
                    }
                    let server = self.clone();
                    self.spawn(move || server.serve_connection(stream, "unix".into()));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    #[cfg(not(unix))]
    fn serve_unix(&self) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "Unix sockets are not available"))
    }

    fn spawn(&self, f: impl FnOnce() + Send + 'static) {
        let spawned = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(f);
        if let Err(e) = spawned {
            tracing::warn!("cannot spawn a connection thread: {e}");
        }
    }

    /// Registers a listener for `release` to wake; unregistered when the guard drops.
    fn listening(&self, wake: ListenerWake) -> impl Drop + '_ {
        self.inner.listeners.lock().unwrap_or_else(|e| e.into_inner()).push(wake.clone());
        struct Unlisten<'a>(&'a ServerInner, ListenerWake);
        impl Drop for Unlisten<'_> {
            fn drop(&mut self) {
                let mut l = self.0.listeners.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(i) = l.iter().position(|w| *w == self.1) {
                    l.remove(i);
                }
            }
        }
        Unlisten(&self.inner, wake)
    }

    /// Closes every socket (their written messages are sent first), stops `run` /
    /// `serve_tcp`, and waits up to `grace` for the sockets to leave the registry. New
    /// sockets are refused from now on.
    pub fn release(&self, grace: Duration) {
        self.block(true);
        {
            let mut released = self.inner.released.lock().unwrap_or_else(|e| e.into_inner());
            *released = true;
            self.inner.released_cv.notify_all();
        }
        let wakes = self.inner.listeners.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for w in wakes {
            match w {
                ListenerWake::Tcp(addr) => {
                    let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
                }
                #[cfg(unix)]
                ListenerWake::Unix(path) => {
                    let _ = std::os::unix::net::UnixStream::connect(path);
                }
            }
        }
        for s in self.sockets() {
            s.close();
        }
        let deadline = Instant::now() + grace;
        let mut sockets = self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner());
        while !sockets.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            sockets =
                self.inner.live.wait_timeout(sockets, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Serves one accepted connection on the calling thread until it ends (HTTP/1.1 with
    /// keep-alive; WebSocket upgrades stay on it): the embedding entry point for your own
    /// accept loop. `peer` is the client address (`ip:port`), used for
    /// [`Socket::remote_addr`].
    pub fn serve_connection<S: GlueStream>(&self, stream: S, peer: String) {
        let stream: Arc<dyn GlueStream> = Arc::new(stream);
        self.serve_http(stream, &peer);
    }

    fn serve_http(&self, stream: Arc<dyn GlueStream>, peer: &str) {
        let opts = &self.inner.options;
        if stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
            || stream
                .set_read_timeout(Some(opts.http_idle_timeout.max(Duration::from_millis(1))))
                .is_err()
        {
            return;
        }
        let mut http = ServerConnection::new(opts.limits);
        let mut buf = ReadBuffer::new();
        loop {
            while let Some(request) = http.poll_request() {
                let request = match request {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = stream.write_all_shared(&Response::error(&e).encode());
                        let _ = stream.shutdown(Shutdown::Write);
                        return;
                    }
                };
                let keep_alive = request.head.keep_alive();
                let origin_ok = opts.origin_ok(&request.head);
                let (route, cors) = front_route(&request.head, &self.inner.front, origin_ok);
                let answer = match route {
                    FrontRoute::Outside => {
                        let mut r = match &opts.fallback {
                            Some(h) => h(&request),
                            None => Response::new(404).body("404 page not found\n"),
                        };
                        if !keep_alive {
                            r = r.header("Connection", "close");
                        }
                        r.encode()
                    }
                    FrontRoute::ClientScript => client_script_response(&request.head),
                    FrontRoute::Reject(status) => {
                        if request.head.is_upgrade() {
                            http.decline_upgrade();
                        }
                        error_response(status, &cors, keep_alive)
                    }
                    FrontRoute::WebSocket => {
                        let rest = http.take_remaining();
                        self.serve_websocket(stream, request.head, &rest, peer);
                        return;
                    }
                    FrontRoute::Ajax => {
                        match ajax::handle(self, &stream, &mut http, &mut buf, request, peer, &cors)
                        {
                            Some(answer) => answer,
                            None => return,
                        }
                    }
                };
                if stream.write_all_shared(&answer).is_err() {
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
                Err(e) if is_timeout(&e) => {
                    if !http.is_idle() {
                        tracing::debug!("HTTP connection from {peer} timed out mid-request");
                        let _ = stream.write_all_shared(&Response::new(408).encode());
                    }
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    http.handle_eof();
                    if http.is_idle() {
                        return;
                    }
                }
            }
        }
    }

    fn serve_websocket(
        &self,
        stream: Arc<dyn GlueStream>,
        head: RequestHead,
        rest: &[u8],
        peer: &str,
    ) {
        let user_agent = head.headers.get("user-agent").unwrap_or("").to_owned();
        let remote = remote_addr(&head, peer);
        let (response, outcome) = respond(head, None);
        if stream.write_all_shared(&response).is_err() || outcome.is_err() {
            return;
        }
        let now = Instant::now();
        let mut conn = Connection::server(self.inner.options.ws.clone(), now);
        conn.handle_data(now, rest);
        if self.is_blocked() {
            let _ = conn.close(now, None, "");
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            while let Some(b) = conn.poll_transmit() {
                if stream.write_all_shared(&b).is_err() {
                    break;
                }
            }
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
        let shared = self.inner.register_new(|id| {
            let options = &self.inner.options;
            let core = SocketCore::new(id.clone(), options.socket, options.inbox, now);
            let ws = WsSocket::new(conn, core, now);
            Shared::new(
                id,
                remote,
                user_agent,
                Bound::Ws(Box::new(WsBound::new(ws, stream.clone()))),
                Arc::downgrade(&self.inner),
            )
        });
        ws_loop(&shared, &*stream);
    }
}

/// The WebSocket connection thread: reads (unlocked, with the machine's deadline as read
/// timeout), feeds the machine under the lock, and lets [`Shared::after`] write and run the
/// callbacks. Parks while the machine does not want input.
fn ws_loop(shared: &Arc<Shared>, stream: &dyn GlueStream) {
    let mut buf = ReadBuffer::new();
    let mut timeout = ReadTimeout::default();
    let mut state = shared.lock();
    loop {
        shared.after(state);
        state = shared.lock();
        let Bound::Ws(w) = &mut state.bound else { unreachable!("a WebSocket socket") };
        if w.shut_down {
            break;
        }
        let now = Instant::now();
        let deadline = w.ws.poll_timeout();
        if deadline.is_some_and(|d| d <= now) {
            w.ws.handle_timeout(now);
            continue;
        }
        if !w.ws.wants_read() {
            // Back-pressure (or the connection is finishing): wait for a command.
            let left = deadline.map(|d| d - now);
            state.parked += 1;
            state = shared.wait(&shared.wake, state, left);
            state.parked -= 1;
            continue;
        }
        drop(state);
        let result = match timeout.arm(stream, deadline, now) {
            Ok(()) => buf.read(stream),
            Err(e) => Err(e),
        };
        state = shared.lock();
        let Bound::Ws(w) = &mut state.bound else { unreachable!("a WebSocket socket") };
        let now = Instant::now();
        match result {
            Ok(0) => w.ws.handle_eof(now),
            Ok(n) => w.ws.handle_data(now, buf.filled(n)),
            Err(e) if is_timeout(&e) => w.ws.handle_timeout(now),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => w.ws.handle_eof(now),
        }
    }
    let Bound::Ws(w) = &mut state.bound else { unreachable!("a WebSocket socket") };
    w.ws.core_mut().handle_transport_closed(Instant::now());
    w.io = None;
    shared.after(state);
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// The read timeout set on a connection, changed only when the wanted one is far off.
#[derive(Default)]
pub(crate) struct ReadTimeout {
    current: Option<Option<Duration>>,
}

impl ReadTimeout {
    /// Sets the read timeout for `deadline` unless the current one is close enough (waking up
    /// to half of it early, or 1/16 late, is harmless: the machine checks its deadlines).
    pub(crate) fn arm(
        &mut self,
        stream: &dyn GlueStream,
        deadline: Option<Instant>,
        now: Instant,
    ) -> io::Result<()> {
        let want = deadline.map(|d| (d - now).max(Duration::from_millis(1)));
        let close_enough = match (self.current, want) {
            (Some(None), None) => true,
            (Some(Some(cur)), Some(w)) => {
                cur >= w / 2 && cur <= w + w / 16 + Duration::from_millis(1)
            }
            _ => false,
        };
        if !close_enough {
            stream.set_read_timeout(want)?;
            self.current = Some(want);
        }
        Ok(())
    }
}

/// A read buffer that is small while the connection is idle and grows for a burst.
pub(crate) struct ReadBuffer {
    small: [u8; SMALL_READ_BUF],
    big: Vec<u8>,
}

impl ReadBuffer {
    pub(crate) fn new() -> Self {
        ReadBuffer { small: [0; SMALL_READ_BUF], big: Vec::new() }
    }

    /// One read; a read that fills the small buffer switches to a big one for the next,
    /// freed when reads get small again.
    pub(crate) fn read(&mut self, stream: &dyn GlueStream) -> io::Result<usize> {
        let big = !self.big.is_empty();
        let n = if big {
            stream.read_shared(&mut self.big)?
        } else {
            stream.read_shared(&mut self.small)?
        };
        if !big && n == SMALL_READ_BUF {
            // Keep the bytes: copy them to the big buffer.
            self.big = vec![0; READ_BUF];
            self.big[..n].copy_from_slice(&self.small);
            return Ok(n);
        }
        if big && n < SMALL_READ_BUF {
            self.small[..n].copy_from_slice(&self.big[..n]);
            self.big = Vec::new();
        }
        Ok(n)
    }

    /// The `n` bytes of the last read.
    pub(crate) fn filled(&self, n: usize) -> &[u8] {
        if self.big.is_empty() {
            &self.small[..n]
        } else {
            &self.big[..n]
        }
    }
}

impl ServerInner {
    /// Registers a new socket under a fresh ID (drawn from the OS CSPRNG, unique among the
    /// registered sockets; drawn and inserted under one lock).
    pub(crate) fn register_new(&self, make: impl FnOnce(String) -> Arc<Shared>) -> Arc<Shared> {
        let mut made = None;
        self.sockets.lock().unwrap_or_else(|e| e.into_inner()).insert_new(
            &mut OsEntropy::new(),
            |id| {
                let shared = make(id.to_owned());
                made = Some(shared.clone());
                Socket { shared }
            },
        );
        made.expect("insert_new calls make")
    }

    pub(crate) fn next_request_id(&self) -> u64 {
        self.next_request.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn socket_initialized(&self, socket: Socket) {
        let handler = self.on_new_socket.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(h) = handler {
            let run = std::panic::AssertUnwindSafe(|| h(socket.clone()));
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!("glue: the new-socket callback panicked; closing {}", socket.id());
                socket.close();
            }
        }
    }

    pub(crate) fn socket_closed(&self, id: &str) {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        self.live.notify_all();
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::SeqCst)
    }

    fn is_released(&self) -> bool {
        *self.released.lock().unwrap_or_else(|e| e.into_inner())
    }
}
