//! GOSF microservices (spec §10), re-exported from [`crate::gosf`]: see [`Microservice`].

use crate::gosf::App;
use crate::sio_client::{AckError, SioClient, Socket};
use glue_protocol::gosf::event_args;
use glue_protocol::gosf::microservice::{
    listener_event, read_response, Link, Listener, MicroserviceHandle, Registry,
};
use glue_protocol::gosf::{Message, MicroserviceError, MicroserviceOptions};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// The app's microservices by name (kept in the app context, see
/// [`Hub::extension`](glue_protocol::gosf::Hub::extension)).
pub type Microservices = Registry<Microservice>;

type State = Link<SioClient, oneshot::Sender<()>>;

struct Inner {
    name: String,
    options: MicroserviceOptions,
    state: Mutex<State>,
    connected: Notify,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A named outgoing Socket.IO v2 connection used as RPC with the [`Message`] envelope
/// (GOSF's `Microservice`). Cheap to clone (shared). Created by
/// [`App::register_microservice`] or [`Microservice::new`] + [`connect`](Self::connect).
///
/// The connection is one Socket.IO client on the URL's namespace; it reconnects by itself
/// with the client's backoff (1 s doubling to 5 s, jitter, forever, by default) after any
/// loss, and after a server DISCONNECT too. Its handlers run on the client's task.
///
/// The client is our [`SioClient`](crate::sio_client::SioClient); the server may be any
/// Socket.IO v2 server speaking the [`Message`] envelope (ours, or Node `socket.io@2.5.1`). On
/// this runtime: `call` (an `async` RPC over the ack, with a timeout), `lob`
/// (fire-and-forget that reports what it can), `listen` (pushed events, kept across
/// reconnections), automatic reconnection with backoff, and the app's registry
/// ([`App::register_microservice`], [`App::microservice`], [`App::deregister_microservice`]).
/// The shared rules, options and errors are in [`glue_protocol::gosf::microservice`].
///
/// ```no_run
/// use glue_tokio::gosf::{App, Message, MicroserviceOptions, ServerConfig};
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::new(ServerConfig::builder().port(9999).build()?)?;
/// // Stored even if the service is down; the connection retries with backoff.
/// let svc = app.register_microservice("users", MicroserviceOptions::new("http://127.0.0.1:9000"))?;
/// svc.listen("user-changed", |m| println!("pushed: {}", m.text));
/// svc.wait_connected(Duration::from_secs(5)).await;
/// let handle = app.clone();
/// app.listen("lookup", move |_, request| {
///     let app = handle.clone();
///     async move {
///         let svc = app.microservice("users")?;
///         Some(match svc.call("find", &request.message).await {
///             Ok(answer) => answer,
///             Err(e) => Message::fail().text(e.to_string()),
///         })
///     }
/// })?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Microservice {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Microservice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Microservice")
            .field("name", &self.inner.name)
            .field("url", &self.inner.options.url)
            .field("connected", &self.connected())
            .finish_non_exhaustive()
    }
}

/// Unregisters a call from the disconnect table when it ends (or its future is dropped).
struct CallGuard<'a> {
    inner: &'a Inner,
    key: u64,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.inner.lock().calls.remove(self.key);
    }
}

impl Microservice {
    /// A microservice `name` for `options`, not connected yet. The URL is checked here
    /// ([`MicroserviceError::InvalidUrl`]).
    pub fn new(
        name: &str,
        options: MicroserviceOptions,
    ) -> Result<Microservice, MicroserviceError> {
        options.validate()?;
        Ok(Microservice {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                options,
                state: Mutex::new(State::default()),
                connected: Notify::new(),
            }),
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The options.
    pub fn options(&self) -> &MicroserviceOptions {
        &self.inner.options
    }

    /// Starts connecting and returns at once (GOSF's `Connect`, which dialled and returned the
    /// first error: here a refused or failed connection is retried in the background; see
    /// [`connected`](Self::connected) and [`wait_connected`](Self::wait_connected)). Does
    /// nothing while connecting or connected. Errors only when the client cannot be started
    /// ([`MicroserviceError::Connect`], e.g. `https` before the client supports TLS). Must be
    /// called within a tokio runtime.
    pub fn connect(&self) -> Result<(), MicroserviceError> {
        let mut st = self.inner.lock();
        if let Some(client) = st.want() {
            return client.connect().map_err(MicroserviceError::from);
        }
        let client = SioClient::connect(&self.inner.options.url, self.inner.options.client.clone())
            .map_err(|e| MicroserviceError::Connect(e.to_string()))?;
        let name = &self.inner.name;
        st.attach(
            client,
            |client, generation| {
                let weak = Arc::downgrade(&self.inner);
                client.on_connect(move || {
                    if let Some(inner) = weak.upgrade() {
                        if inner.lock().is_current(generation) {
                            inner.connected.notify_waiters();
                        }
                    }
                });
                let weak = Arc::downgrade(&self.inner);
                client.on_disconnect(move |reason| on_disconnect(&weak, generation, reason));
            },
            |client, endpoint, handler| {
                client.on(endpoint, listener_event(name, endpoint, handler))
            },
        );
        Ok(())
    }

    /// Whether the connection is up now (GOSF's `Connected`).
    pub fn connected(&self) -> bool {
        self.inner.lock().client().is_some_and(|c| c.is_connected())
    }

    /// Waits until connected, at most `timeout`; whether it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.connected.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.connected() {
                return true;
            }
            if tokio::time::timeout_at(deadline.into(), notified).await.is_err() {
                return self.connected();
            }
        }
    }

    /// Closes the connection (a DISCONNECT to the server, no reconnection) until the next
    /// [`connect`](Self::connect). Calls in flight end with
    /// [`MicroserviceError::Disconnected`]; listeners stay registered.
    pub fn disconnect(&self) {
        let (client, waiting) = self.inner.lock().release();
        for w in waiting {
            let _ = w.send(());
        }
        if let Some(c) = client {
            c.close();
        }
    }

    /// Calls `endpoint` with `message` and returns the response (the ack's first argument),
    /// waiting at most the configured call timeout (GOSF's `Call`; its `Go` is this future).
    pub async fn call(
        &self,
        endpoint: &str,
        message: &Message,
    ) -> Result<Message, MicroserviceError> {
        self.call_with_timeout(endpoint, message, self.inner.options.call_timeout).await
    }

    /// As [`call`](Self::call) with this timeout. [`MicroserviceError::NotConnected`] at once
    /// when the connection is down (nothing sent), [`MicroserviceError::Disconnected`] as
    /// soon as it drops while waiting, [`MicroserviceError::Timeout`] after `timeout` (a
    /// later answer is dropped), [`MicroserviceError::BadResponse`] for an answer that is not
    /// one message.
    pub async fn call_with_timeout(
        &self,
        endpoint: &str,
        message: &Message,
        timeout: Duration,
    ) -> Result<Message, MicroserviceError> {
        let (socket, key, mut lost) = {
            let mut st = self.inner.lock();
            let socket = connected_socket(&st)?;
            let (tx, rx) = oneshot::channel();
            (socket, st.calls.insert(tx), rx)
        };
        let _guard = CallGuard { inner: &self.inner, key };
        let answer =
            socket.emit_with_ack_timeout(endpoint, event_args(message), Vec::new(), Some(timeout));
        tokio::select! {
            r = answer => match r {
                Ok((args, _)) => read_response(&args),
                Err(AckError::Timeout) => Err(MicroserviceError::Timeout(timeout)),
                Err(AckError::Emit(e)) => Err(MicroserviceError::Emit(e)),
                Err(_) => Err(MicroserviceError::Disconnected),
            },
            _ = &mut lost => Err(MicroserviceError::Disconnected),
            _ = tokio::time::sleep(timeout) => Err(MicroserviceError::Timeout(timeout)),
        }
    }

    /// Sends `endpoint` with `message`, no answer expected (GOSF's `Lob`, which hid every
    /// failure). [`MicroserviceError::NotConnected`] when the connection is down (nothing is
    /// sent or buffered), [`MicroserviceError::Emit`] for a refused packet. A packet handed to
    /// a transport that dies right after is still lost: use [`call`](Self::call) for a
    /// receipt.
    pub fn lob(&self, endpoint: &str, message: &Message) -> Result<(), MicroserviceError> {
        let socket = connected_socket(&self.inner.lock())?;
        socket.emit(endpoint, event_args(message), Vec::new())?;
        Ok(())
    }

    /// Calls `handler` with every event `endpoint` the service pushes (GOSF's `Listen`, which
    /// crashed the process on the first event and lost its handlers on `Connect`). Replaces
    /// an earlier handler of `endpoint`; kept across reconnections and `disconnect` /
    /// `connect`. Runs on the client's task: must not block (spawn for async work). A push
    /// that is not one message object is logged and dropped; a panic is caught and logged.
    /// A GOSF service answers each call with an event on the endpoint as well as the ack, so a
    /// handler on an endpoint you also `call` sees those responses too.
    pub fn listen(&self, endpoint: &str, handler: impl Fn(Message) + Send + Sync + 'static) {
        let handler: Listener = Arc::new(handler);
        let mut st = self.inner.lock();
        if let Some(client) = st.listen(endpoint, handler.clone()) {
            client.on(endpoint, listener_event(&self.inner.name, endpoint, handler));
        }
    }
}

/// The socket if connected.
fn connected_socket(st: &State) -> Result<Socket, MicroserviceError> {
    st.connected(|c| c.is_connected()).map(|c| (**c).clone())
}

fn on_disconnect(weak: &Weak<Inner>, generation: u64, reason: &str) {
    let Some(inner) = weak.upgrade() else { return };
    let Some((waiting, again)) = inner.lock().lost(generation, reason) else { return };
    for w in waiting {
        let _ = w.send(());
    }
    if again {
        let delay = inner.options.client.reconnection_delay;
        let weak = weak.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let Some(inner) = weak.upgrade() else { return };
            let st = inner.lock();
            if let Some(c) = st.reconnect_target(generation) {
                let _ = c.connect();
            }
        });
    }
}

impl App {
    fn registry(&self) -> Microservices {
        self.extension::<Microservices>().unwrap_or_else(|| {
            // Installed by `App::new`; only a replaced extension gets here.
            let r = Microservices::default();
            self.set_extension(r.clone());
            r
        })
    }

    /// GOSF's `RegisterMicroservice`: creates microservice `name`, stores it in the app
    /// context and starts connecting it (see [`Microservice::connect`]). Refused, and not
    /// stored: a taken name ([`MicroserviceError::Duplicate`]) or a bad URL. A connection
    /// that cannot be established keeps being retried in the background; a client that cannot
    /// be started is an error after the entry is stored (as GOSF, the entry is not lost).
    pub fn register_microservice(
        &self,
        name: &str,
        options: MicroserviceOptions,
    ) -> Result<Microservice, MicroserviceError> {
        self.registry().register(name, options)
    }

    /// GOSF's `DeregisterMicroservice`: removes and disconnects microservice `name`; `None`
    /// for an unknown name (GOSF panicked).
    pub fn deregister_microservice(&self, name: &str) -> Option<Microservice> {
        self.registry().deregister(name)
    }

    /// GOSF's `GetMicroservice`: microservice `name`, if registered.
    pub fn microservice(&self, name: &str) -> Option<Microservice> {
        self.registry().get(name)
    }

    /// The registered microservices' names, sorted.
    pub fn microservice_names(&self) -> Vec<String> {
        self.registry().names()
    }

    /// Disconnects every registered microservice (they stay registered). Part of
    /// [`App::shutdown`].
    pub fn disconnect_microservices(&self) {
        self.registry().disconnect_all();
    }
}

impl MicroserviceHandle for Microservice {
    fn create(name: &str, options: MicroserviceOptions) -> Result<Self, MicroserviceError> {
        Microservice::new(name, options)
    }

    fn connect(&self) -> Result<(), MicroserviceError> {
        Microservice::connect(self)
    }

    fn disconnect(&self) {
        Microservice::disconnect(self)
    }
}
