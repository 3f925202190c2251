//! Blocking WebSocket client: connect to a `ws://` or `wss://` URL.

use super::WebSocket;
use crate::glue::GlueStream;
use crate::tls::TlsClientConfig;
use crate::{Error, OsEntropy};
use glue_protocol::http::{parse_response_head, Limits};
use glue_protocol::ws::handshake::{ClientHandshake, WsUrl};
use glue_protocol::ws::Connection;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Instant;

pub use glue_protocol::ws::ClientConfig;

/// Connects to `url` (`ws://host:port/path`, or `wss://` with WebPKI verification) with
/// default settings.
pub fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, ClientConfig::default())
}

/// Connects to `url` with `config` (`wss://`: WebPKI verification of the URL's host).
pub fn connect_with(url: &str, config: ClientConfig) -> Result<WebSocket, Error> {
    let url = WsUrl::parse(url)?;
    let tls = if url.secure { Some(TlsClientConfig::default()) } else { None };
    connect_url(url, config, tls.as_ref())
}

/// Connects to `url` with `config`; a `wss://` URL uses `tls` (verification, server name).
pub fn connect_with_tls(
    url: &str,
    config: ClientConfig,
    tls: &TlsClientConfig,
) -> Result<WebSocket, Error> {
    let url = WsUrl::parse(url)?;
    let tls = if url.secure { Some(tls) } else { None };
    connect_url(url, config, tls)
}

fn connect_url(
    url: WsUrl,
    config: ClientConfig,
    tls: Option<&TlsClientConfig>,
) -> Result<WebSocket, Error> {
    let deadline = Instant::now() + config.connect_timeout;
    let addr = (url.host.as_str(), url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
    let tcp = TcpStream::connect_timeout(&addr, config.connect_timeout)?;
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().ok();
    let stream: Arc<dyn GlueStream> = match tls {
        None => Arc::new(tcp),
        Some(tls) => {
            let left = deadline.saturating_duration_since(Instant::now());
            match tls.connect(&url.host, tcp, left) {
                Ok(s) => Arc::new(s),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(Error::Timeout),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let mut entropy = OsEntropy::new();
    let protocols: Vec<&str> = config.protocols.iter().map(String::as_str).collect();
    let headers: Vec<(&str, &str)> =
        config.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let hs = ClientHandshake::new(&url, &protocols, &headers, &mut entropy)?;
    stream.write_all_shared(hs.request())?;
    let limits = Limits::default();
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let (head, rest) = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout);
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read_shared(&mut chunk) {
            Ok(0) => return Err(Error::Closed),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(Error::Timeout)
            }
            Err(e) => return Err(e.into()),
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, n)) = parse_response_head(&buf, &limits)? {
            break (head, buf.split_off(n));
        }
    };
    stream.set_read_timeout(None)?;
    hs.verify(&head)?;
    let now = Instant::now();
    let mut conn = Connection::client(config.ws, Box::new(entropy), now);
    conn.handle_data(now, &rest);
    Ok(WebSocket::new(conn, stream, peer)?)
}
