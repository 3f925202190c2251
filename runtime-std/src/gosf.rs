//! A GOSF-style framework (`ambelovsky/gosf`, issue 5) on the blocking Socket.IO server:
//! endpoints answered by plain-function controllers, the standard [`Message`] envelope,
//! hooks, guards, plugins, rooms and broadcasts, app context. The logic lives once in
//! [`glue_protocol::gosf`]; this module adds the controllers' type and serving.
//!
//! A client's requests run on its connection's dispatch thread, one after the other, in
//! order (a panicking controller becomes failure `E_INTERNAL` and the server goes on); the
//! `disconnect` hooks run after its last request. Do not block a controller for long, and
//! never wait in one for that same client's answer ([`Client::request`] from a controller of
//! the same client times out): call it from a thread of your own.
//!
//! ```no_run
//! use glue_std::gosf::{App, Message, ServerConfig};
//!
//! let app = App::new(ServerConfig::builder().port(9999).path("/socket.io/").build()?)?;
//! app.listen("echo", |client, request| {
//!     client.join("echoers");
//!     Some(Message::ok().text(request.message.text.clone()))
//! })?;
//! app.on_disconnect(|client, _request| {
//!     let _ = client.hub().broadcast("", "left", &Message::ok().text(client.id()));
//! });
//! app.register_plugin(glue_std::gosf::Logging::new());
//! app.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::sio::{Payload, SioHandle, SioServer, SioServerOptions, SioSocket};
use glue_protocol::gosf::app_core::AppCore;
use glue_protocol::gosf::context::AppData;
use glue_protocol::gosf::{
    event_args, reply_message, ClientRequestError, FrameworkError, GosfSession,
};
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

type Controller = Arc<dyn Fn(&Client, &Request) -> Option<Message> + Send + Sync>;

impl GosfSession for SioHandle {
    /// The client's answer: the call blocks (see [`SioSession::request`](glue_protocol::engine::sio::SioSession::request)).
    type Reply = Result<Message, ClientRequestError>;

    fn request_message(
        socket: &SioSocket,
        endpoint: &str,
        message: Message,
        timeout: Option<Duration>,
    ) -> Self::Reply {
        glue_protocol::sio::check_emittable(endpoint)
            .map_err(|e| ClientRequestError::Emit(e.into()))?;
        reply_message(socket.request(
            endpoint,
            Payload { args: event_args(&message), bins: vec![] },
            timeout,
        ))
    }
}

struct Running {
    server: SioServer,
    addr: SocketAddr,
    thread: Option<JoinHandle<std::io::Result<()>>>,
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

    /// GOSF's `Listen`: routes event `endpoint` to `controller(client, request)`; its
    /// response is delivered per the
    /// [`ResponsePolicy`](glue_protocol::gosf::ResponsePolicy). Reserved or empty names are
    /// refused. May be called before or after startup (a later registration replaces the
    /// controller).
    pub fn listen(
        &self,
        endpoint: &str,
        controller: impl Fn(&Client, &Request) -> Option<Message> + Send + Sync + 'static,
    ) -> Result<(), FrameworkError> {
        self.inner.endpoints().insert(endpoint, Arc::new(controller))?;
        for client in self.clients() {
            self.route(&client, endpoint);
        }
        Ok(())
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

    /// Starts serving on `host:port` + `path` on a thread of its own (TLS through rustls when
    /// `secure`, with the `ssl-cert` / `ssl-key` PEM files); activates the plugins first. Returns
    /// the bound address (useful with port 0).
    pub fn start(&self) -> Result<SocketAddr, ServeError> {
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
        let listener = std::net::TcpListener::bind(config.listen_addr())?;
        let addr = listener.local_addr()?;
        let server = self.prepare(options);
        let s = server.clone();
        let thread = std::thread::Builder::new().name("gosf-accept".into()).spawn(move || {
            match tls {
                // `secure`: https/wss through rustls, the handshake in each connection's thread.
                Some(tls) => s.serve_tls(listener, tls),
                None => s.serve_tcp(listener),
            }
        })?;
        *self.inner.running() = Some(Running { server, addr, thread: Some(thread) });
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
        for endpoint in self.inner.endpoints().names() {
            self.route(&client, &endpoint);
        }
        let hub = self.inner.hub().clone();
        let c = client.clone();
        socket.on_disconnect(move |_, _| hub.disconnected(&c));
        self.inner.hub().connected(&client);
    }

    /// Routes `endpoint` of `client`'s socket to the request cycle (on its dispatch thread).
    fn route(&self, client: &Client, endpoint: &str) {
        let (hub, endpoints, c) =
            (self.inner.hub().clone(), self.inner.endpoints().clone(), client.clone());
        let name = endpoint.to_owned();
        client.socket().on(endpoint, move |_, payload, ack| {
            hub.handle_sync(&endpoints, &c, &name, payload, ack, Instant::now(), |f, client, r| {
                f(client, r)
            });
        });
    }

    /// The address the server is bound to, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.running().as_ref().map(|r| r.addr)
    }

    /// [`start`](Self::start), then serves until [`shutdown`](Self::shutdown) (from another
    /// thread) or an I/O error of the listener.
    pub fn run(&self) -> Result<(), ServeError> {
        self.start()?;
        let thread = self.inner.running().as_mut().and_then(|r| r.thread.take());
        match thread {
            Some(t) => match t.join() {
                Ok(r) => r.map_err(ServeError::Io),
                Err(_) => Err(ServeError::Io(std::io::Error::other("the accept thread panicked"))),
            },
            None => Ok(()),
        }
    }

    /// GOSF's `Shutdown`: deactivates the plugins (in registration order), then stops the
    /// server, closing every connection and waiting up to `grace` for them to end.
    pub fn shutdown(&self, grace: Duration) {
        self.inner.deactivate_plugins(self);
        self.disconnect_microservices();
        let running = self.inner.running().take();
        if let Some(r) = running {
            r.server.release(grace);
            if let Some(t) = r.thread {
                let _ = t.join();
            }
        }
    }
}
