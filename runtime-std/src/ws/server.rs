//! Blocking WebSocket server: a thread per connection.

use super::WebSocket;
use crate::Error;
use glue_protocol::http::{parse_request_head, RequestHead};
use glue_protocol::ws::handshake::{reject, respond, ServerHandshake, UpgradeCheck};
use glue_protocol::ws::Connection;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The upgrade request being accepted (path, headers, origin, offered subprotocols).
pub type Handshake = ServerHandshake;

/// Decides on an upgrade: `Ok(subprotocol)` accepts, `Err(status)` refuses with that HTTP
/// status.
pub type HandshakeCheck = UpgradeCheck;

/// Stack size of connection threads: the loop needs little (a 1 KiB read buffer on the stack).
const THREAD_STACK: usize = 64 * 1024;

pub use glue_protocol::ws::ServerConfig;

/// A listening WebSocket server.
#[derive(Debug)]
pub struct WsServer {
    listener: TcpListener,
    config: Arc<ServerConfig>,
}

impl WsServer {
    /// Binds a listener.
    pub fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> io::Result<Self> {
        Ok(WsServer { listener: TcpListener::bind(addr)?, config: Arc::new(config) })
    }

    /// Wraps an existing listener.
    pub fn from_listener(listener: TcpListener, config: ServerConfig) -> Self {
        WsServer { listener, config: Arc::new(config) }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections forever, running `handler` on a thread per accepted WebSocket.
    pub fn serve<F>(self, handler: F) -> io::Result<()>
    where
        F: Fn(WebSocket) + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let config = self.config.clone();
            let handler = handler.clone();
            let spawned = std::thread::Builder::new().stack_size(THREAD_STACK).spawn(move || {
                if let Ok(ws) = accept(stream, &config) {
                    handler(ws);
                }
            });
            if let Err(e) = spawned {
                tracing::warn!("cannot spawn a connection thread: {e}");
            }
        }
    }
}

/// Runs the server side of the handshake on an accepted TCP stream.
pub fn accept(mut stream: TcpStream, config: &ServerConfig) -> Result<WebSocket, Error> {
    let _ = stream.set_nodelay(true);
    let (head, rest) = read_request(&mut stream, config)?;
    upgrade(stream, head, &rest, config)
}

/// Reads one request head from `stream` (within the handshake timeout and head limits),
/// answering a malformed or oversized head with its status. Returns the head and the bytes
/// that followed it. With [`upgrade`], this is the entry point for embedding: serve your own
/// HTTP on the connection and hand upgrade requests to glue.
pub fn read_request(
    stream: &mut TcpStream,
    config: &ServerConfig,
) -> Result<(RequestHead, Vec<u8>), Error> {
    let deadline = Instant::now() + config.handshake_timeout;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout);
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(Error::Closed),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(Error::Timeout)
            }
            Err(e) => return Err(e.into()),
        };
        buf.extend_from_slice(&chunk[..n]);
        match parse_request_head(&buf, &config.limits) {
            Ok(Some((head, n))) => break (head, buf.split_off(n)),
            Ok(None) => {}
            Err(e) => {
                let _ = stream.write_all(&reject(e.status(), &e.to_string()));
                return Err(e.into());
            }
        }
    };
    stream.set_read_timeout(None)?;
    Ok(result)
}

/// Completes a WebSocket upgrade for a request head already read from `stream`; `rest` are
/// the bytes read after the head. Refuses invalid upgrades (and those `config.check`
/// refuses) with their HTTP status.
pub fn upgrade(
    mut stream: TcpStream,
    head: RequestHead,
    rest: &[u8],
    config: &ServerConfig,
) -> Result<WebSocket, Error> {
    let (response, outcome) = respond(head, config.check.as_deref());
    let written = stream.write_all(&response);
    outcome?;
    written?;
    let now = Instant::now();
    let mut conn = Connection::server(config.ws.clone(), now);
    conn.handle_data(now, rest);
    let peer = stream.peer_addr().ok();
    Ok(WebSocket::new(conn, Arc::new(stream), peer)?)
}
