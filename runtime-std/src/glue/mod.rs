//! glue (desertbit/glue 1.9.1 compatible): server over WebSocket and AjaxSocket, and the client.
//!
//! Blocking: a thread per connection; [`Socket::read`] and [`Socket::write`] block the
//! calling thread.
//!
//! ```no_run
//! use glue_std::glue::{Server, ServerOptions};
//!
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
//! server.run()?; // returns after `server.release(grace)` from another thread
//! # Ok::<(), std::io::Error>(())
//! ```

mod ajax;
pub mod client;
pub(crate) mod server;
pub(crate) mod socket;

pub use glue_protocol::glue::{DropReason, InboxConfig, SocketConfig, Transport, WriteError};
pub use server::{GlueStream, HttpHandler, OriginCheck, Server, ServerOptions, SocketType};
pub use socket::{Channel, Encoded, Socket};

/// Encodes `data` for `channel` once (`"m"` = the main channel), to send it to many sockets
/// with [`Socket::try_write_encoded`].
pub fn encode(channel: &str, data: &str) -> Encoded {
    Encoded(glue_protocol::glue::encode_channel_data(channel, data))
}
