//! glue (desertbit/glue 1.9.1 compatible): server over WebSocket and AjaxSocket, and the client.
//!
//! ```no_run
//! use glue_tokio::glue::{Server, ServerOptions};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::new(ServerOptions {
//!     listen_address: "127.0.0.1:8080".into(),
//!     ..ServerOptions::default()
//! });
//! server.on_new_socket(|socket| {
//!     let s = socket.clone();
//!     socket.on_read(move |data| {
//!         let _ = s.try_write(&data); // echo
//!     });
//! });
//! server.run().await
//! # }
//! ```

mod ajax;
pub mod client;
mod server;
mod socket;

pub use glue_protocol::glue::{DropReason, InboxConfig, SocketConfig, Transport, WriteError};
pub use server::{HttpHandler, OriginCheck, Server, ServerOptions, SocketType};
pub use socket::{Channel, Encoded, Socket};

/// Encodes `data` for `channel` once (`"m"` = the main channel), to send it to many sockets
/// with [`Socket::try_write_encoded`].
pub fn encode(channel: &str, data: &str) -> Encoded {
    Encoded(glue_protocol::glue::encode_channel_data(channel, data))
}
