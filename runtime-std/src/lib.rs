//! # glue-std
//!
//! The blocking runtime of glue-rs: a thread per connection drives the sans-IO state machines
//! of [`glue_protocol`], with `set_read_timeout` derived from their `poll_timeout`. Same API
//! shape as `glue-tokio`, without async.
//!
//! ```no_run
//! use glue_std::ws::{WsServer, ServerConfig};
//!
//! let server = WsServer::bind("127.0.0.1:9001", ServerConfig::default())?;
//! server.serve(|mut ws| {
//!     // echo every message
//!     while let Some(Ok(msg)) = ws.recv() {
//!         if ws.send(msg).is_err() {
//!             break;
//!         }
//!     }
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Modules: [`ws`] (WebSocket server and client), [`eio`] (Engine.IO revision 3 server),
//! [`sio`] (Socket.IO v2 server on it) and [`glue`] (the glue protocol: server over
//! WebSocket and AjaxSocket long-polling, and the client; see its module docs).
#![warn(missing_docs)]

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

pub use error::Error;
pub use glue_protocol as protocol;
pub use glue_protocol::rand::OsEntropy;
