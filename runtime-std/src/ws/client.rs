//! Blocking WebSocket client.

use super::WebSocket;
use crate::{Error, OsEntropy};
use glue_protocol::http::{parse_response_head, Limits};
use glue_protocol::ws::handshake::{ClientHandshake, HandshakeError, WsUrl};
use glue_protocol::ws::Connection;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

pub use glue_protocol::ws::ClientConfig;

/// Connects to `url` (`ws://host:port/path`) with default settings.
pub fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, ClientConfig::default())
}

/// Connects to `url` with `config`.
pub fn connect_with(url: &str, config: ClientConfig) -> Result<WebSocket, Error> {
    let url = WsUrl::parse(url)?;
    if url.secure {
        return Err(HandshakeError::InvalidUrl("wss:// is not supported yet").into());
    }
    let deadline = Instant::now() + config.connect_timeout;
    let addr = (url.host.as_str(), url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, config.connect_timeout)?;
    let _ = stream.set_nodelay(true);
    let mut entropy = OsEntropy::new();
    let protocols: Vec<&str> = config.protocols.iter().map(String::as_str).collect();
    let headers: Vec<(&str, &str)> =
        config.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let hs = ClientHandshake::new(&url, &protocols, &headers, &mut entropy)?;
    stream.write_all(hs.request())?;
    let limits = Limits::default();
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let (head, rest) = loop {
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
        if let Some((head, n)) = parse_response_head(&buf, &limits)? {
            break (head, buf.split_off(n));
        }
    };
    stream.set_read_timeout(None)?;
    hs.verify(&head)?;
    let now = Instant::now();
    let mut conn = Connection::client(config.ws, Box::new(entropy), now);
    conn.handle_data(now, &rest);
    Ok(WebSocket::new(conn, stream)?)
}
