//! The user-facing WebSocket: receive, send, ping, close.

use crate::driver::{Driver, Wake};
use crate::tls::MaybeTlsStream;
use crate::Error;
use glue_protocol::ws::{CloseCode, CloseReason, Connection, Event, Message};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

pub(crate) enum Command {
    Send(Message, oneshot::Sender<Result<(), Error>>),
    Close(Option<CloseCode>, String),
}

/// An open WebSocket connection, owned by one task.
///
/// [`recv`](Self::recv) drives the connection (reads, answers pings, runs keep-alive and
/// close timers), so keep calling it while the connection lives. Other tasks send through a
/// [`WsSender`] from [`sender`](Self::sender).
pub struct WebSocket {
    driver: Driver<Connection, MaybeTlsStream>,
    commands: Option<mpsc::Receiver<Command>>,
    command_tx: Option<mpsc::WeakSender<Command>>,
    close_reason: Option<CloseReason>,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").field("peer", &self.peer_addr()).finish_non_exhaustive()
    }
}

impl WebSocket {
    pub(crate) fn new(conn: Connection, stream: MaybeTlsStream) -> Self {
        WebSocket {
            driver: Driver::new(conn, stream),
            commands: None,
            command_tx: None,
            close_reason: None,
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.driver.stream().peer_addr().ok()
    }

    /// The protocol state machine (read-only view).
    pub fn connection(&self) -> &Connection {
        &self.driver.machine
    }

    /// Why the connection closed, once it has.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    /// A handle other tasks can send through (`Clone + Send + Sync`). Their messages go out
    /// while this socket's owner waits in [`recv`](Self::recv).
    pub fn sender(&mut self) -> WsSender {
        if let Some(tx) = self.command_tx.as_ref().and_then(|w| w.upgrade()) {
            return WsSender { tx };
        }
        let (tx, rx) = mpsc::channel(64);
        self.commands = Some(rx);
        self.command_tx = Some(tx.downgrade());
        WsSender { tx }
    }

    /// The next message; `None` once the connection is closed (see
    /// [`close_reason`](Self::close_reason)). An `Err` is an I/O error on the socket.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        loop {
            while let Some(event) = self.driver.machine.poll_event() {
                match event {
                    Event::Message(m) => return Some(Ok(m)),
                    Event::Closed(reason) => self.close_reason = Some(reason),
                    Event::Ping(_) | Event::Pong(_) => {}
                }
            }
            if let Err(e) = self.driver.flush().await {
                if self.close_reason.is_none() {
                    return Some(Err(e.into()));
                }
            }
            if self.driver.is_shut_down() {
                return None;
            }
            match self.driver.wait(self.commands.as_mut()).await {
                Wake::Machine => {}
                Wake::Command(Command::Send(msg, done)) => {
                    let r = self.driver.machine.send(Instant::now(), msg).map_err(Error::from);
                    let _ = done.send(r);
                }
                Wake::Command(Command::Close(code, reason)) => {
                    let _ = self.driver.machine.close(Instant::now(), code, &reason);
                }
                Wake::CommandsClosed => self.commands = None,
            }
        }
    }

    /// Sends a message and writes it out.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.driver.machine.send(Instant::now(), message.into())?;
        self.driver.flush().await?;
        Ok(())
    }

    /// Sends a ping; the pong is consumed by [`recv`](Self::recv).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.driver.machine.ping(Instant::now(), payload)?;
        self.driver.flush().await?;
        Ok(())
    }

    /// Starts the closing handshake and waits until it completes (or times out), discarding
    /// messages that arrive meanwhile.
    pub async fn close(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        self.driver.machine.close(Instant::now(), code, reason)?;
        while self.recv().await.is_some() {}
        Ok(())
    }
}

/// Sends on a [`WebSocket`] from any task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WsSender {
    tx: mpsc::Sender<Command>,
}

impl WsSender {
    /// Queues a message; resolves once the connection accepted it (it is written while the
    /// owner is in `recv`).
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Command::Send(message.into(), done)).await.map_err(|_| Error::Closed)?;
        wait.await.map_err(|_| Error::Closed)?
    }

    /// Starts the closing handshake.
    pub async fn close(&self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        self.tx.send(Command::Close(code, reason.to_owned())).await.map_err(|_| Error::Closed)
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(m, _) => f.debug_tuple("Send").field(m).finish(),
            Command::Close(c, r) => f.debug_tuple("Close").field(c).field(r).finish(),
        }
    }
}
