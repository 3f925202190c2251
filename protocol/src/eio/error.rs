//! Engine.IO decode errors: the peer broke the protocol. Every one closes the session (as the
//! reference does); over polling the request is answered 400 first.

use thiserror::Error;

/// Why Engine.IO input was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EioError {
    /// An empty packet or payload.
    #[error("empty packet or payload")]
    Empty,
    /// The packet type is not 0–6.
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// A `b` packet whose data is not standard base64.
    #[error("invalid base64 data")]
    InvalidBase64,
    /// A text packet or payload that is not UTF-8.
    #[error("text is not UTF-8")]
    NotUtf8,
    /// A payload length prefix is missing, not decimal, or too long.
    #[error("invalid payload length")]
    InvalidLength,
    /// A payload length runs past the end of the payload (or splits a surrogate pair).
    #[error("payload length past the end of the body")]
    Truncated,
}

impl EioError {
    /// The HTTP status a polling request that carried this input is answered with.
    pub fn status(&self) -> u16 {
        400
    }
}
