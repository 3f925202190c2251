//! WebSocket (RFC 6455): handshake for both roles, frame codec, and the connection state
//! machine.
//!
//! * [`handshake`]: turn an HTTP upgrade request into a response (server) or write a request
//!   and verify the answer (client).
//! * [`frame`]: frame headers, masking, and encoding of whole frames (used for pre-encoded
//!   broadcasts: encode once, clone the [`bytes::Bytes`] per recipient).
//! * [`Connection`]: the open connection (after the handshake) for either [`Role`].

mod close;
mod connection;
mod error;
pub mod frame;
pub mod handshake;
mod mask;
mod message;
mod options;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use connection::{CloseReason, Config, Connection, Event, KeepAlive, Role, State};
pub use error::{ProtocolError, UsageError};
pub use mask::apply_mask;
pub use message::{Message, Utf8Bytes};
pub use options::{ClientConfig, ServerConfig};
