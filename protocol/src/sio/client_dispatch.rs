//! The runtime-independent half of a Socket.IO client handle: the [`SioClient`] machine under a
//! lock, the handler tables, the routing of [`SioClientEvent`]s to them, and the table of
//! outstanding acks. A runtime wraps a [`ClientCore`], performs the machine's I/O, sleeps until
//! its deadlines, and wakes its driver after commands; no I/O, thread or clock here (the caller
//! passes `now`).
//!
//! `R` is the runtime's ack responder (handed to event handlers when the server asks for an
//! ack), built by the runtime in [`ClientCore::dispatch`].

use super::client::{SioClient, SioClientError, SioClientEvent, SioClientState};
use crate::eio::client::EioAction;
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why an ack request got no answer (after it was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckEnd {
    /// No answer within the ack timeout.
    Timeout,
    /// The namespace closed for good, or the client stopped.
    Cancelled,
}

/// Why an ack request was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckRefused {
    /// The client has stopped.
    Stopped,
    /// The machine refused the packet.
    Emit(SioClientError),
}

/// The answer to an ack request: its arguments and binary values.
pub type AckAnswer = Result<(Vec<Value>, Vec<Bytes>), AckEnd>;
/// Called once with the answer to an ack request.
pub type AckCallback = Box<dyn FnOnce(AckAnswer) + Send>;
/// An event handler: arguments, binary values, and the responder when an ack is asked for.
pub type EventHandler<R> = Arc<dyn Fn(Vec<Value>, Vec<Bytes>, Option<R>) + Send + Sync>;
type ConnectHandler = Arc<dyn Fn() + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(&str) + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(&Value) + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&SioClientEvent) + Send + Sync>;

struct NsHandlers<R> {
    events: HashMap<String, EventHandler<R>>,
    connect: Vec<ConnectHandler>,
    disconnect: Vec<DisconnectHandler>,
    connect_error: Vec<ErrorHandler>,
}

impl<R> Default for NsHandlers<R> {
    fn default() -> Self {
        NsHandlers {
            events: HashMap::new(),
            connect: Vec::new(),
            disconnect: Vec::new(),
            connect_error: Vec::new(),
        }
    }
}

/// What the lock guards: the machine, the handlers and the outstanding acks.
pub struct ClientState<R> {
    /// The sans-IO client.
    pub machine: SioClient,
    handlers: HashMap<String, NsHandlers<R>>,
    client_handlers: Vec<AnyHandler>,
    acks: HashMap<(String, u64), AckCallback>,
    /// Every user handle is gone: the driver closes the machine and stops when it is idle.
    pub abandoned: bool,
    /// The driver has ended.
    pub stopped: bool,
}

impl<R> ClientState<R> {
    fn ns(&mut self, nsp: &str) -> &mut NsHandlers<R> {
        self.handlers.entry(nsp.to_owned()).or_default()
    }
}

/// What the driver does next when the machine has nothing to do at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Wait for a report or a command, until this deadline if any (then call
    /// [`SioClient::handle_timeout`]).
    Wait(Option<Instant>),
    /// Every handle is gone and the machine is done: end the driver.
    Stop,
}

/// The machine, handler tables and ack table of one client, shared by its handles and driver.
pub struct ClientCore<R> {
    state: Mutex<ClientState<R>>,
}

impl<R> ClientCore<R> {
    /// A core around `machine`, with no handlers.
    pub fn new(machine: SioClient) -> Self {
        ClientCore {
            state: Mutex::new(ClientState {
                machine,
                handlers: HashMap::new(),
                client_handlers: Vec::new(),
                acks: HashMap::new(),
                abandoned: false,
                stopped: false,
            }),
        }
    }

    /// Locks the state (a poisoned lock is taken over).
    pub fn lock(&self) -> MutexGuard<'_, ClientState<R>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the machine under the lock (the caller then wakes its driver).
    pub fn command<T>(&self, now: Instant, f: impl FnOnce(&mut SioClient, Instant) -> T) -> T {
        f(&mut self.lock().machine, now)
    }

    /// Marks every handle gone.
    pub fn abandon(&self) {
        self.lock().abandoned = true;
    }

    /// Sets the handler of `event` on `nsp` (replacing an earlier one).
    pub fn on(
        &self,
        nsp: &str,
        event: &str,
        handler: impl Fn(Vec<Value>, Vec<Bytes>, Option<R>) + Send + Sync + 'static,
    ) {
        self.lock().ns(nsp).events.insert(event.to_owned(), Arc::new(handler));
    }

    /// Adds a handler of every (re)connection of `nsp`.
    pub fn on_connect(&self, nsp: &str, f: impl Fn() + Send + Sync + 'static) {
        self.lock().ns(nsp).connect.push(Arc::new(f));
    }

    /// Adds a handler of every disconnection of `nsp` (with the reason).
    pub fn on_disconnect(&self, nsp: &str, f: impl Fn(&str) + Send + Sync + 'static) {
        self.lock().ns(nsp).disconnect.push(Arc::new(f));
    }

    /// Adds a handler of the server's refusal of `nsp` (with its data).
    pub fn on_connect_error(&self, nsp: &str, f: impl Fn(&Value) + Send + Sync + 'static) {
        self.lock().ns(nsp).connect_error.push(Arc::new(f));
    }

    /// Adds a handler of every client event, called before the specific ones.
    pub fn on_any_event(&self, f: impl Fn(&SioClientEvent) + Send + Sync + 'static) {
        self.lock().client_handlers.push(Arc::new(f));
    }

    /// Emits `event` on `nsp` asking for an ack; `f` is called once with the answer, the
    /// timeout or the cancellation (from [`dispatch`](Self::dispatch) or
    /// [`idle`](Self::idle)), the latter two converted to the runtime's error `E`. When the
    /// packet is not sent, `f` is handed back with the reason.
    #[allow(clippy::too_many_arguments)]
    pub fn emit_with_ack<E, F>(
        &self,
        now: Instant,
        nsp: &str,
        event: &str,
        args: Vec<Value>,
        bins: Vec<Bytes>,
        timeout: Option<Duration>,
        f: F,
    ) -> Result<(), (AckRefused, F)>
    where
        E: From<AckEnd>,
        F: FnOnce(Result<(Vec<Value>, Vec<Bytes>), E>) + Send + 'static,
    {
        let mut st = self.lock();
        if st.stopped {
            return Err((AckRefused::Stopped, f));
        }
        match st.machine.emit_with_ack(now, nsp, event, args, bins, timeout) {
            Ok(id) => {
                st.acks.insert((nsp.to_owned(), id), Box::new(move |r| f(r.map_err(E::from))));
                Ok(())
            }
            Err(e) => Err((AckRefused::Emit(e), f)),
        }
    }

    /// Closes the machine if every handle is gone, then takes what it wants done: the I/O
    /// actions, then the events to [`dispatch`](Self::dispatch).
    pub fn poll(&self, now: Instant) -> (Vec<EioAction>, Vec<SioClientEvent>) {
        let mut st = self.lock();
        if st.abandoned && st.machine.state() != SioClientState::Closed {
            st.machine.close(now);
        }
        let actions: Vec<EioAction> = std::iter::from_fn(|| st.machine.poll_action()).collect();
        let events: Vec<SioClientEvent> = std::iter::from_fn(|| st.machine.poll_event()).collect();
        (actions, events)
    }

    /// When [`poll`](Self::poll) gave nothing: the deadline to wait for, or [`Idle::Stop`]
    /// (every handle gone, no timer left), in which case the core is marked stopped and the
    /// outstanding acks are cancelled.
    pub fn idle(&self) -> Idle {
        let mut st = self.lock();
        let deadline = st.machine.poll_timeout();
        if !(st.abandoned && deadline.is_none()) {
            return Idle::Wait(deadline);
        }
        st.stopped = true;
        let acks: Vec<AckCallback> = st.acks.drain().map(|(_, cb)| cb).collect();
        drop(st);
        for cb in acks {
            cb(Err(AckEnd::Cancelled));
        }
        Idle::Stop
    }

    /// Calls the handlers of one event, outside the lock (they may use the client):
    /// the any-event handlers, then the specific ones. `responder(nsp, id)` builds the
    /// responder for an event that asks for an ack.
    pub fn dispatch(&self, event: SioClientEvent, responder: impl FnOnce(String, u64) -> R) {
        let any: Vec<AnyHandler> = self.lock().client_handlers.clone();
        for h in &any {
            h(&event);
        }
        let ack = |nsp: String, id: u64, r: AckAnswer| {
            let cb = self.lock().acks.remove(&(nsp, id));
            if let Some(cb) = cb {
                cb(r);
            }
        };
        match event {
            SioClientEvent::Event { nsp, name, args, attachments, id } => {
                let handler = {
                    let st = self.lock();
                    st.handlers.get(&nsp).and_then(|h| h.events.get(&name)).cloned()
                };
                if let Some(h) = handler {
                    h(args, attachments, id.map(|id| responder(nsp, id)));
                }
            }
            SioClientEvent::Ack { nsp, id, args, attachments } => {
                ack(nsp, id, Ok((args, attachments)))
            }
            SioClientEvent::AckTimeout { nsp, id } => ack(nsp, id, Err(AckEnd::Timeout)),
            SioClientEvent::AckCancelled { nsp, id } => ack(nsp, id, Err(AckEnd::Cancelled)),
            SioClientEvent::Connect { nsp } => {
                let hs = self.lock().handlers.get(&nsp).map(|h| h.connect.clone());
                for h in hs.unwrap_or_default() {
                    h();
                }
            }
            SioClientEvent::Disconnect { nsp, reason } => {
                let hs = self.lock().handlers.get(&nsp).map(|h| h.disconnect.clone());
                for h in hs.unwrap_or_default() {
                    h(reason.as_str());
                }
            }
            SioClientEvent::ConnectError { nsp, data } => {
                let hs = self.lock().handlers.get(&nsp).map(|h| h.connect_error.clone());
                for h in hs.unwrap_or_default() {
                    h(&data);
                }
            }
            _ => {}
        }
    }
}
