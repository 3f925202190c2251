//! WebSocket client: connect to a `ws://` URL.

use super::WebSocket;
use crate::{Error, OsEntropy};
use glue_protocol::http::{parse_response_head, Limits};
use glue_protocol::ws::handshake::{ClientHandshake, HandshakeError, WsUrl};
use glue_protocol::ws::Connection;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use glue_protocol::ws::ClientConfig;

/// Connects to `url` (`ws://host:port/path`) with default settings.
pub async fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, ClientConfig::default()).await
}

/// Connects to `url` with `config`.
pub async fn connect_with(url: &str, config: ClientConfig) -> Result<WebSocket, Error> {
    let url = WsUrl::parse(url)?;
    if url.secure {
        return Err(HandshakeError::InvalidUrl("wss:// is not supported yet").into());
    }
    tokio::time::timeout(config.connect_timeout, handshake(url, config))
        .await
        .map_err(|_| Error::Timeout)?
}

async fn handshake(url: WsUrl, config: ClientConfig) -> Result<WebSocket, Error> {
    let mut stream = TcpStream::connect((url.host.as_str(), url.port)).await?;
    let _ = stream.set_nodelay(true);
    let mut entropy = OsEntropy::new();
    let protocols: Vec<&str> = config.protocols.iter().map(String::as_str).collect();
    let headers: Vec<(&str, &str)> =
        config.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let hs = ClientHandshake::new(&url, &protocols, &headers, &mut entropy)?;
    stream.write_all(hs.request()).await?;
    let limits = Limits::default();
    let mut buf = Vec::with_capacity(512);
    let (head, rest) = loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(Error::Closed);
        }
        if let Some((head, n)) = parse_response_head(&buf, &limits)? {
            break (head, buf.split_off(n));
        }
    };
    hs.verify(&head)?;
    let now = Instant::now();
    let mut conn = Connection::client(config.ws, Box::new(entropy), now);
    conn.handle_data(now, &rest);
    Ok(WebSocket::new(conn, stream))
}
