//! WebSocket server and client over tokio.

mod client;
mod server;
mod socket;

pub use client::{connect, connect_with, connect_with_tls, ClientConfig};
pub use glue_protocol::ws::{
    CloseCode, CloseFrame, CloseReason, Config, KeepAlive, Message, Utf8Bytes,
};
pub use server::{
    accept, read_request, upgrade, Handshake, HandshakeCheck, ServerConfig, WsServer,
};
pub use socket::{WebSocket, WsSender};
