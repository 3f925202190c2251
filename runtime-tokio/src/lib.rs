//! # glue-tokio
//!
//! The tokio runtime of glue-rs: it moves bytes between sockets and the sans-IO state machines
//! of [`glue_protocol`] and sleeps until their deadlines. One task per connection, no
//! per-connection timer task, no per-connection read buffer while idle.
//!
//! ```no_run
//! use glue_tokio::ws::{WsServer, ServerConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = WsServer::bind("127.0.0.1:9001", ServerConfig::default()).await?;
//! server
//!     .serve(|mut ws| async move {
//!         // echo every message
//!         while let Some(Ok(msg)) = ws.recv().await {
//!             if ws.send(msg).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//!     .await
//! # }
//! ```
//!
//! Modules: [`ws`] (WebSocket server and client) and [`glue`] (the glue protocol: server over
//! WebSocket and AjaxSocket long-polling, and the client; see its module docs).
#![warn(missing_docs)]

mod driver;
pub mod eio;
mod engine;
mod error;
pub mod glue;
pub mod gosf;
mod gosf_micro;
pub mod sio;
pub mod sio_client;
pub mod tls;
pub mod ws;

pub use driver::Driver;
pub use error::Error;
pub use glue_protocol as protocol;
pub use glue_protocol::rand::OsEntropy;
