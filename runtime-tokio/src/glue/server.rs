//! The glue server: HTTP front (WebSocket upgrade, AjaxSocket, client script, the
//! application's own handler), the socket registry, and the WebSocket connection task.

use super::ajax;
use super::socket::{Bound, Effects, Kick, Shared, Socket};
use crate::driver::{Driver, Wake};
use bytes::Bytes;
use glue_protocol::glue::ajax::PollAnswer;
use glue_protocol::glue::front::{
    client_script_response, error_response, front_route, FrontConfig, FrontRoute,
};
use glue_protocol::glue::ids::{AJAX_UID_LEN, SOCKET_ID_LEN};
use glue_protocol::glue::registry::IdMap;
use glue_protocol::glue::routing::remote_addr;
use glue_protocol::glue::{CoreEvent, SocketCore, WsSocket};
use glue_protocol::http::{HttpError, RequestHead, Response, ServerConnection};
use glue_protocol::rand::OsEntropy;
use glue_protocol::ws::handshake::respond;
use glue_protocol::ws::Connection;
use glue_protocol::Machine;
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{oneshot, Notify};

pub use glue_protocol::glue::server_options::{
    HttpHandler, OriginCheck, ServerOptions, SocketType,
};

type NewSocketHandler = Arc<dyn Fn(Socket) + Send + Sync>;

pub(crate) struct ServerInner {
    pub(crate) options: ServerOptions,
    front: FrontConfig,
    sockets: Mutex<IdMap<Socket>>,
    pub(crate) ajax: Mutex<IdMap<Arc<Shared>>>,
    pub(crate) ajax_timer: Notify,
    pub(crate) waiters: Mutex<HashMap<u64, oneshot::Sender<PollAnswer>>>,
    ajax_timer_started: AtomicBool,
    on_new_socket: RwLock<Option<NewSocketHandler>>,
    blocked: AtomicBool,
    shutdown: Notify,
    next_request: AtomicU64,
    live: Notify,
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
                ajax: Mutex::new(IdMap::new(AJAX_UID_LEN)),
                ajax_timer: Notify::new(),
                waiters: Mutex::new(HashMap::new()),
                ajax_timer_started: AtomicBool::new(false),
                on_new_socket: RwLock::new(None),
                blocked: AtomicBool::new(false),
                shutdown: Notify::new(),
                next_request: AtomicU64::new(1),
                live: Notify::new(),
            }),
        }
    }

    /// Sets the callback run for every socket once its init handshake completed (on the
    /// connection's task: do not block in it).
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
        self.inner.blocked.load(Ordering::SeqCst)
    }

    /// Listens as configured and serves until [`release`](Self::release) (then returns
    /// `Ok`). [`SocketType::None`] waits for `release` without listening.
    pub async fn run(&self) -> io::Result<()> {
        match self.inner.options.socket_type {
            SocketType::None => {
                self.inner.shutdown.notified().await;
                Ok(())
            }
            SocketType::Tcp => {
                let l = tokio::net::TcpListener::bind(&self.inner.options.listen_address).await?;
                self.serve_tcp(l).await
            }
            SocketType::Unix => self.serve_unix().await,
        }
    }

    /// Serves connections accepted from `listener` until [`release`](Self::release).
    pub async fn serve_tcp(&self, listener: tokio::net::TcpListener) -> io::Result<()> {
        let shutdown = self.inner.shutdown.notified();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                a = listener.accept() => a,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let server = self.clone();
                    tokio::spawn(async move {
                        server.serve_connection(stream, peer.to_string()).await;
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    #[cfg(unix)]
    async fn serve_unix(&self) -> io::Result<()> {
        let path = &self.inner.options.listen_address;
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path)?;
        let shutdown = self.inner.shutdown.notified();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                a = listener.accept() => a,
            };
            match accepted {
                Ok((stream, _)) => {
                    let server = self.clone();
                    tokio::spawn(
                        async move { server.serve_connection(stream, "unix".into()).await },
                    );
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    #[cfg(not(unix))]
    async fn serve_unix(&self) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "Unix sockets are not available"))
    }

    /// Closes every socket (their written messages are sent first), stops `run`, and waits
    /// up to `grace` for the sockets to finish. New sockets are refused from now on.
    pub async fn release(&self, grace: Duration) {
        self.block(true);
        self.inner.shutdown.notify_waiters();
        for s in self.sockets() {
            s.close();
        }
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let live = self.inner.live.notified();
            tokio::pin!(live);
            live.as_mut().enable();
            if self.socket_count() == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, live).await.is_err() {
                return;
            }
        }
    }

    /// Serves one accepted connection (HTTP/1.1 with keep-alive; WebSocket upgrades stay on
    /// it): the embedding entry point for your own accept loop. `peer` is the client address
    /// (`ip:port`), used for [`Socket::remote_addr`].
    pub async fn serve_connection<S>(&self, mut stream: S, peer: String)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let opts = &self.inner.options;
        let mut http = ServerConnection::new(opts.limits);
        let mut buf = vec![0u8; 4096];
        loop {
            while let Some(request) = http.poll_request() {
                let request = match request {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = stream.write_all(&Response::error(&e).encode()).await;
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
                        // A new task: this one's HTTP state and read buffer are freed, so
                        // an idle socket holds only the WebSocket task.
                        let rest = http.take_remaining();
                        let server = self.clone();
                        tokio::spawn(async move {
                            server.serve_websocket(stream, request.head, rest, &peer).await;
                        });
                        return;
                    }
                    FrontRoute::Ajax => {
                        match ajax::handle(self, &mut stream, &mut http, request, &peer, &cors)
                            .await
                        {
                            Some(answer) => answer,
                            None => return,
                        }
                    }
                };
                if stream.write_all(&answer).await.is_err() || !keep_alive {
                    let _ = stream.shutdown().await;
                    return;
                }
            }
            if http.is_finished() {
                let _ = stream.shutdown().await;
                return;
            }
            let read = tokio::time::timeout(opts.http_idle_timeout, stream.read(&mut buf)).await;
            match read {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    http.handle_eof();
                    if http.is_idle() {
                        return;
                    }
                }
                Ok(Ok(n)) => http.handle_data(&buf[..n]),
                Err(_) => {
                    if http.is_idle() {
                        return;
                    }
                    let e = HttpError::UnexpectedEof;
                    let _ = stream.write_all(&Response::new(408).encode()).await;
                    tracing::debug!("HTTP connection from {peer} timed out: {e}");
                    return;
                }
            }
        }
    }

    async fn serve_websocket<S>(&self, mut stream: S, head: RequestHead, rest: Bytes, peer: &str)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let user_agent = head.headers.get("user-agent").unwrap_or("").to_owned();
        let remote = remote_addr(&head, peer);
        {
            let (response, outcome) = respond(head, None);
            if stream.write_all(&response).await.is_err() || outcome.is_err() {
                return;
            }
        }
        let now = Instant::now();
        let mut conn = Connection::server(self.inner.options.ws.clone(), now);
        conn.handle_data(now, &rest);
        drop(rest);
        if self.is_blocked() {
            let _ = conn.close(now, None, "");
            let mut driver = Driver::new(Detached(conn), stream);
            let _ = tokio::time::timeout(Duration::from_secs(1), driver.flush()).await;
            return;
        }
        let shared = self.inner.new_ws_socket(conn, remote, user_agent, now);
        // The connection's own task holds only the driver and the socket.
        tokio::spawn(run_ws(Driver::new(Locked(shared.clone()), stream), shared));
    }
}

/// The connection task of a WebSocket glue socket: holds only the driver and the socket.
async fn run_ws<S: AsyncRead + AsyncWrite + Unpin + Send>(
    mut driver: Driver<Locked, S>,
    shared: Arc<Shared>,
) {
    loop {
        let fx = {
            let mut state = shared.lock();
            let Bound::Ws(w) = &mut *state else { unreachable!("a WebSocket socket") };
            Effects::collect(&shared, w.core_mut())
        };
        shared.apply(fx);
        let flushed = driver.flush().await;
        shared.writable.notify_waiters();
        if flushed.is_err() || driver.is_shut_down() {
            break;
        }
        let Kick::Ws(wake) = &shared.kick else { unreachable!("a WebSocket socket") };
        let wait = driver.wait_or(wake.notified());
        let mut wait = std::pin::pin!(wait);
        let woke = match poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await {
            Poll::Ready(w) => w,
            Poll::Pending => {
                // Nothing to do right now: give back the queues' capacity before sleeping.
                if let Bound::Ws(w) = &mut *shared.lock() {
                    w.shrink_idle();
                }
                wait.await
            }
        };
        if let Wake::Command(()) = woke {
            let mut state = shared.lock();
            if let Bound::Ws(w) = &mut *state {
                w.after_command(Instant::now());
            }
        }
    }
    let fx = {
        let mut state = shared.lock();
        let Bound::Ws(w) = &mut *state else { unreachable!("a WebSocket socket") };
        w.core_mut().handle_transport_closed(Instant::now());
        Effects::collect(&shared, w.core_mut())
    };
    shared.apply(fx);
}

impl ServerInner {
    fn new_ws_socket(
        self: &Arc<Self>,
        conn: Connection,
        remote: String,
        user_agent: String,
        now: Instant,
    ) -> Arc<Shared> {
        self.register_new(|id| {
            let core = SocketCore::new(id.clone(), self.options.socket, self.options.inbox, now);
            Shared::new(
                id,
                remote,
                user_agent,
                Bound::Ws(WsSocket::new(conn, core, now)),
                Kick::Ws(Notify::new()),
                Arc::downgrade(self),
            )
        })
    }

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
        self.live.notify_waiters();
    }

    pub(crate) fn ensure_ajax_timer(self: &Arc<Self>) {
        if !self.ajax_timer_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(ajax::timer_task(Arc::downgrade(self)));
        }
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::SeqCst)
    }
}

/// The WebSocket machine of a socket, locked per call so that other tasks can write.
struct Locked(Arc<Shared>);

impl Locked {
    fn with<R>(&self, f: impl FnOnce(&mut WsSocket) -> R) -> R {
        let mut state = self.0.lock();
        match &mut *state {
            Bound::Ws(w) => f(w),
            Bound::Ajax(_) => unreachable!("a WebSocket socket"),
        }
    }
}

impl Machine for Locked {
    type Event = CoreEvent;
    fn handle_data(&mut self, now: Instant, data: &[u8]) {
        self.with(|w| w.handle_data(now, data))
    }
    fn handle_eof(&mut self, now: Instant) {
        self.with(|w| w.handle_eof(now))
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.with(|w| w.handle_timeout(now))
    }
    fn poll_transmit(&mut self) -> Option<bytes::Bytes> {
        self.with(|w| w.poll_transmit())
    }
    fn poll_event(&mut self) -> Option<CoreEvent> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.with(|w| w.poll_timeout())
    }
    fn is_terminated(&self) -> bool {
        self.with(|w| w.is_terminated())
    }
    fn wants_read(&self) -> bool {
        self.with(|w| w.wants_read())
    }
}

/// A WebSocket refused after the upgrade (blocked server): only its close is flushed.
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
    fn poll_transmit(&mut self) -> Option<bytes::Bytes> {
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

/// Reads from a stream while a poll is held, to notice the client going away.
pub(crate) async fn read_some<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut [u8]) -> usize {
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
