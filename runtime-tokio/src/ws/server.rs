//! WebSocket server: accept loop and the server side of the handshake.

use super::WebSocket;
use crate::Error;
use glue_protocol::http::{parse_request_head, RequestHead};
use glue_protocol::ws::handshake::{reject, respond, ServerHandshake, UpgradeCheck};
use glue_protocol::ws::Connection;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

/// The upgrade request being accepted (path, headers, origin, offered subprotocols).
pub type Handshake = ServerHandshake;

/// Decides on an upgrade: `Ok(subprotocol)` accepts, `Err(status)` refuses with that HTTP
/// status.
pub type HandshakeCheck = UpgradeCheck;

pub use glue_protocol::ws::ServerConfig;

/// A listening WebSocket server.
#[derive(Debug)]
pub struct WsServer {
    listener: TcpListener,
    config: Arc<ServerConfig>,
}

impl WsServer {
    /// Binds a listener.
    pub async fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> io::Result<Self> {
        Ok(WsServer { listener: TcpListener::bind(addr).await?, config: Arc::new(config) })
    }

    /// Wraps an existing listener.
    pub fn from_listener(listener: TcpListener, config: ServerConfig) -> Self {
        WsServer { listener, config: Arc::new(config) }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections forever, running `handler` in a task per accepted WebSocket.
    pub async fn serve<F, Fut>(self, handler: F) -> io::Result<()>
    where
        F: Fn(WebSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        loop {
            let (stream, _) = match self.listener.accept().await {
                Ok(s) => s,
                Err(e) if is_transient(&e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let config = self.config.clone();
            let handler = handler.clone();
            // The handshake runs in a short-lived task; the connection then lives in a task
            // holding only the handler's future, so an idle connection stays small.
            tokio::spawn(async move {
                if let Ok(ws) = accept(stream, &config).await {
                    tokio::spawn(handler(ws));
                }
            });
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    !matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported)
}

/// Runs the server side of the handshake on an accepted TCP stream.
pub async fn accept(mut stream: TcpStream, config: &ServerConfig) -> Result<WebSocket, Error> {
    let _ = stream.set_nodelay(true);
    let (head, rest) = read_request(&mut stream, config).await?;
    upgrade(stream, head, &rest, config).await
}

/// Reads one request head from `stream` (within the handshake timeout and head limits),
/// answering a malformed or oversized head with its status. Returns the head and the bytes
/// that followed it. With [`upgrade`], this is the entry point for embedding: serve your own
/// HTTP on the connection and hand upgrade requests to glue.
pub async fn read_request(
    stream: &mut TcpStream,
    config: &ServerConfig,
) -> Result<(RequestHead, Vec<u8>), Error> {
    let read_head = async {
        let mut buf = Vec::with_capacity(512);
        loop {
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(Error::Closed);
            }
            match parse_request_head(&buf, &config.limits) {
                Ok(Some((head, n))) => return Ok((head, buf.split_off(n))),
                Ok(None) => {}
                Err(e) => {
                    let _ = stream.write_all(&reject(e.status(), &e.to_string())).await;
                    return Err(e.into());
                }
            }
        }
    };
    tokio::time::timeout(config.handshake_timeout, read_head).await.map_err(|_| Error::Timeout)?
}

/// Completes a WebSocket upgrade for a request head already read from `stream`; `rest` are
/// the bytes read after the head. Refuses invalid upgrades (and those `config.check`
/// refuses) with their HTTP status.
pub async fn upgrade(
    mut stream: TcpStream,
    head: RequestHead,
    rest: &[u8],
    config: &ServerConfig,
) -> Result<WebSocket, Error> {
    let (response, outcome) = respond(head, config.check.as_deref());
    let written = stream.write_all(&response).await;
    outcome?;
    written?;
    let now = Instant::now();
    let mut conn = Connection::server(config.ws.clone(), now);
    conn.handle_data(now, rest);
    Ok(WebSocket::new(conn, crate::tls::MaybeTlsStream::Plain(stream)))
}
