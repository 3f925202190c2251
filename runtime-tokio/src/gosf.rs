//! A GOSF-style framework (`ambelovsky/gosf`, issue 5) on the tokio Socket.IO server:
//! endpoints answered by `async` controllers, the standard [`Message`] envelope, hooks,
//! guards, plugins, rooms and broadcasts, app context. The logic lives once in
//! [`glue_protocol::gosf`]; this module adds the async controllers, the per-client ordered
//! executor, and serving.
//!
//! Each client has one task that runs its requests in order: a request's controller future is
//! spawned (a panic becomes failure `E_INTERNAL` and the server goes on) and awaited before
//! the client's next request starts; the `disconnect` hooks run after its last request.
//!
//! ```no_run
//! use glue_tokio::gosf::{App, Message, ServerConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let app = App::new(ServerConfig::builder().port(9999).path("/socket.io/").build()?)?;
//! app.listen("echo", |client, request| async move {
//!     client.join("echoers");
//!     Some(Message::ok().text(request.message.text.clone()))
//! })?;
//! app.on_disconnect(|client, _request| {
//!     let _ = client.hub().broadcast("", "left", &Message::ok().text(client.id()));
//! });
//! app.register_plugin(glue_tokio::gosf::Logging::new());
//! app.run().await?;
//! # Ok(())
//! # }
//! ```

use crate::sio::{AckResponder, Payload, SioHandle, SioServer, SioServerOptions, SioSocket};
use glue_protocol::gosf::app_core::AppCore;
use glue_protocol::gosf::context::AppData;
use glue_protocol::gosf::{
    event_args, reply_message, ClientRequestError, Endpoints, FrameworkError, GosfSession, Outcome,
    Step,
};
use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub use crate::gosf_micro::{Microservice, Microservices};
pub use glue_protocol::gosf::context::{Configs, Env};
pub use glue_protocol::gosf::{
    AppHandle, ConfigError, Logging, Message, MicroserviceError, MicroserviceOptions, Plugin,
    RateLimit, Request, ServeError, ServerConfig, DEFAULT_CALL_TIMEOUT, E_FORBIDDEN, E_INTERNAL,
    E_RATE_LIMIT,
};

/// A connection's persistent handle: id, rooms, session storage, handshake, push, requests,
/// client broadcast, disconnect.
pub type Client = glue_protocol::gosf::Client<SioHandle>;
/// The framework's shared state ([`App`] dereferences to it): hooks, guards, clients,
/// broadcast, app context.
pub type Hub = glue_protocol::gosf::Hub<SioHandle>;
/// The permission plugin on this runtime.
pub type Permission = glue_protocol::gosf::Permission<SioHandle>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type Controller = Arc<dyn Fn(Client, Request) -> BoxFuture<Option<Message>> + Send + Sync>;

impl GosfSession for SioHandle {
    /// The client's answer, as a future.
    type Reply = BoxFuture<Result<Message, ClientRequestError>>;

    fn request_message(
        socket: &SioSocket,
        endpoint: &str,
        message: Message,
        timeout: Option<Duration>,
    ) -> Self::Reply {
        if let Err(e) = glue_protocol::sio::check_emittable(endpoint) {
            return Box::pin(async move { Err(ClientRequestError::Emit(e.into())) });
        }
        let answer =
            socket.request(endpoint, Payload { args: event_args(&message), bins: vec![] }, timeout);
        Box::pin(async move { reply_message(answer.await) })
    }
}

enum Job {
    Request { endpoint: String, payload: Payload, ack: Option<AckResponder> },
    Disconnect,
}

/// The client's request queue (in its session storage; private type).
#[derive(Clone)]
struct Queue(mpsc::UnboundedSender<Job>);

struct Running {
    server: SioServer,
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

type Inner = AppCore<SioHandle, Controller, App, Running>;

/// The framework app (GOSF's global `App` and package functions, as a value). Cheap to
/// clone. Dereferences to [`Hub`] for hooks, guards, clients, broadcast and context.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("config", &self.inner.config()).finish_non_exhaustive()
    }
}

impl Deref for App {
    type Target = Hub;
    fn deref(&self) -> &Hub {
        self.inner.hub()
    }
}

impl AppHandle for App {
    type Handle = SioHandle;
    fn hub(&self) -> &Arc<Hub> {
        self.inner.hub()
    }
}

impl App {
    /// An app for `config` (validated: a bad configuration is a typed error), with the
    /// process environment as [`Env`].
    pub fn new(config: ServerConfig) -> Result<App, ConfigError> {
        let data = AppData { env: Env::from_pairs(std::env::vars()), configs: Configs::default() };
        let inner = Inner::new(config, data)?;
        inner.hub().set_extension(Microservices::default());
        Ok(App { inner: Arc::new(inner) })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        self.inner.config()
    }

    /// GOSF's `LoadConfig(name, path)`: reads the JSON object file at `path` into the app
    /// context under `name` (see [`Hub::config`]).
    pub fn load_config(
        &self,
        name: &str,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path.as_ref())
            .map_err(|e| ConfigError::Json(format!("{}: {e}", path.as_ref().display())))?;
        self.with_data_mut(|d| d.configs.load_str(name, &text))
    }

    /// GOSF's `Listen`: routes event `endpoint` to the async `controller(client, request)`;
    /// its response is delivered per the [`ResponsePolicy`](glue_protocol::gosf::ResponsePolicy).
    /// Reserved or empty names are refused. May be called before or after startup (a later
    /// registration replaces the controller).
    pub fn listen<F, Fut>(&self, endpoint: &str, controller: F) -> Result<(), FrameworkError>
    where
        F: Fn(Client, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Message>> + Send + 'static,
    {
        let c: Controller = Arc::new(move |client, request| Box::pin(controller(client, request)));
        self.inner.endpoints().insert(endpoint, c)?;
        for client in self.clients() {
            if let Some(q) = client.get::<Queue>() {
                route(&client, endpoint, q);
            }
        }
        Ok(())
    }

    /// Like [`listen`](Self::listen) with a plain (synchronous) controller.
    pub fn listen_sync(
        &self,
        endpoint: &str,
        controller: impl Fn(&Client, &Request) -> Option<Message> + Send + Sync + 'static,
    ) -> Result<(), FrameworkError> {
        let controller = Arc::new(controller);
        self.listen(endpoint, move |client, request| {
            let c = controller.clone();
            async move { c(&client, &request) }
        })
    }

    /// The registered endpoint names, sorted.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints().names()
    }

    /// GOSF's `RegisterPlugin`: adds `plugin`, activated (in registration order) when the
    /// server starts — at once if it already runs — and deactivated on
    /// [`shutdown`](Self::shutdown).
    pub fn register_plugin(&self, plugin: impl Plugin<App> + 'static) {
        self.inner.register_plugin(self, Arc::new(plugin));
    }

    /// Starts serving on `host:port` + `path` (TLS through rustls when `secure`, with the
    /// `ssl-cert` / `ssl-key` PEM files); activates the plugins first. Returns the bound address
    /// (useful with port 0). Must be called within a tokio runtime.
    pub async fn start(&self) -> Result<SocketAddr, ServeError> {
        if self.inner.running().is_some() {
            return Err(ServeError::AlreadyStarted);
        }
        let config = self.inner.config();
        let options =
            SioServerOptions { eio: config.to_eio_options()?, conn: config.sio_conn_config() };
        let tls = match config.tls() {
            Some(files) => Some(
                crate::tls::TlsServerConfig::from_pem_files(&files.cert, &files.key)
                    .map_err(|e| ServeError::Tls(e.to_string()))?,
            ),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(config.listen_addr()).await?;
        let addr = listener.local_addr()?;
        let server = self.prepare(options);
        let s = server.clone();
        let task = match tls {
            // `secure`: https/wss through rustls, the handshake in each connection's task.
            Some(tls) => tokio::spawn(async move { s.serve_tls(listener, tls).await }),
            None => tokio::spawn(async move { s.serve_tcp(listener).await }),
        };
        *self.inner.running() = Some(Running { server, addr, task: Some(task) });
        Ok(addr)
    }

    /// Activates the plugins, creates the server and attaches the framework namespace.
    fn prepare(&self, options: SioServerOptions) -> SioServer {
        self.inner.activate_plugins(self);
        let server = SioServer::new(options);
        let ns = server.of(&self.inner.config().namespace);
        self.inner.hub().attach(ns.clone());
        let app = self.clone();
        ns.on_connection(move |socket| app.connection(socket));
        server
    }

    fn connection(&self, socket: SioSocket) {
        let client = self.inner.hub().register(socket.clone());
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Queue(tx);
        client.set(queue.clone());
        for endpoint in self.inner.endpoints().names() {
            route(&client, &endpoint, queue.clone());
        }
        socket.on_disconnect(move |_, _| {
            let _ = queue.0.send(Job::Disconnect);
        });
        self.inner.hub().connected(&client);
        tokio::spawn(worker(self.inner.hub().clone(), self.inner.endpoints().clone(), client, rx));
    }

    /// The address the server is bound to, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.running().as_ref().map(|r| r.addr)
    }

    /// [`start`](Self::start), then serves until [`shutdown`](Self::shutdown) (or an I/O
    /// error of the listener).
    pub async fn run(&self) -> Result<(), ServeError> {
        self.start().await?;
        let task = self.inner.running().as_mut().and_then(|r| r.task.take());
        match task {
            Some(t) => match t.await {
                Ok(r) => r.map_err(ServeError::Io),
                Err(e) => Err(ServeError::Io(std::io::Error::other(e.to_string()))),
            },
            None => Ok(()),
        }
    }

    /// GOSF's `Shutdown`: deactivates the plugins (in registration order), then stops the
    /// server, closing every connection and waiting up to `grace` for them to end.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.deactivate_plugins(self);
        self.disconnect_microservices();
        let running = self.inner.running().take();
        if let Some(r) = running {
            r.server.release(grace).await;
            if let Some(t) = r.task {
                let _ = t.await;
            }
        }
    }
}

/// Routes `endpoint` of `client`'s socket into its queue.
fn route(client: &Client, endpoint: &str, queue: Queue) {
    let name = endpoint.to_owned();
    client.socket().on(endpoint, move |_, payload, ack| {
        let _ = queue.0.send(Job::Request { endpoint: name.clone(), payload, ack });
    });
}

/// A client's ordered executor: its requests one after the other, then the `disconnect` hooks.
async fn worker(
    hub: Arc<Hub>,
    endpoints: Arc<Endpoints<Controller>>,
    client: Client,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(job) = rx.recv().await {
        let (endpoint, payload, ack) = match job {
            Job::Request { endpoint, payload, ack } => (endpoint, payload, ack),
            Job::Disconnect => break,
        };
        match hub.begin(&endpoints, &client, &endpoint, &payload.args, Instant::now()) {
            Step::Respond(request, m) => {
                hub.finish(&client, &request, Outcome::Returned(Some(m)), ack)
            }
            Step::Call(controller, request) => {
                let call =
                    catch_unwind(AssertUnwindSafe(|| controller(client.clone(), request.clone())));
                let outcome = match call {
                    Err(_) => Outcome::Panicked,
                    Ok(fut) => match tokio::spawn(fut).await {
                        Ok(r) => Outcome::Returned(r),
                        Err(_) => Outcome::Panicked,
                    },
                };
                hub.finish(&client, &request, outcome, ack);
            }
        }
    }
    hub.disconnected(&client);
}
