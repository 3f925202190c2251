//! WebSocket client: connect to a `ws://` or `wss://` URL.

use super::WebSocket;
use crate::tls::{MaybeTlsStream, TlsClientConfig};
use crate::{Error, OsEntropy};
use glue_protocol::http::{parse_response_head, Limits};
use glue_protocol::ws::handshake::{ClientHandshake, WsUrl};
use glue_protocol::ws::Connection;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use glue_protocol::ws::ClientConfig;

/// Connects to `url` (`ws://host:port/path`, or `wss://` with WebPKI verification) with
/// default settings.
pub async fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, ClientConfig::default()).await
}

/// Connects to `url` with `config` (`wss://`: WebPKI verification of the URL's host).
pub async fn connect_with(url: &str, config: ClientConfig) -> Result<WebSocket, Error> {
    let url = WsUrl::parse(url)?;
    let tls = if url.secure { Some(TlsClientConfig::default()) } else { None };
    connect_url(url, config, tls.as_ref()).await
}

/// Connects to `url` with `config`; a `wss://` URL uses `tls` (verification, server name).
pub async fn connect_with_tls(
    url: &str,
    config: ClientConfig,
    tls: &TlsClientConfig,
) -> Result<WebSocket, Error> {
    let url = WsUrl::parse(url)?;
    let tls = if url.secure { Some(tls) } else { None };
    connect_url(url, config, tls).await
}

async fn connect_url(
    url: WsUrl,
    config: ClientConfig,
    tls: Option<&TlsClientConfig>,
) -> Result<WebSocket, Error> {
    tokio::time::timeout(config.connect_timeout, handshake(url, config, tls))
        .await
        .map_err(|_| Error::Timeout)?
}

async fn handshake(
    url: WsUrl,
    config: ClientConfig,
    tls: Option<&TlsClientConfig>,
) -> Result<WebSocket, Error> {
    let mut stream = MaybeTlsStream::connect(&url.host, url.port, tls).await?;
    let mut entropy = OsEntropy::new();
    let protocols: Vec<&str> = config.protocols.iter().map(String::as_str).collect();
    let headers: Vec<(&str, &str)> =
        config.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let hs = ClientHandshake::new(&url, &protocols, &headers, &mut entropy)?;
    stream.write_all(hs.request()).await?;
    stream.flush().await?;
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
