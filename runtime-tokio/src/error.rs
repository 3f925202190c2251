//! The runtime's error type.

use glue_protocol::http::HttpError;
use glue_protocol::ws::handshake::HandshakeError;
use glue_protocol::ws::UsageError;
use thiserror::Error;

/// What can go wrong in the runtime.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Socket error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The peer's HTTP was refused.
    #[error("HTTP: {0}")]
    Http(#[from] HttpError),
    /// The WebSocket handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The API was misused (e.g. sending after close).
    #[error("usage: {0}")]
    Usage(#[from] UsageError),
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
    /// A TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// A deadline passed (connect or handshake).
    #[error("timed out")]
    Timeout,
}
