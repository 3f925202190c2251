//! The glue protocol (desertbit/glue 1.9.1, see `shared/spec/glue-protocol.md`): messages of a
//! two-character command and a payload, carried one per WebSocket text message or AjaxSocket
//! request/poll.
//!
//! This module holds the message codec; the socket, AjaxSocket session and client state
//! machines build on it.

pub mod ajax;
mod ajax_socket;
mod client;
pub mod client_target;
pub mod front;
pub mod ids;
pub mod inbox;
mod init;
mod message;
pub mod registry;
pub mod routing;
pub mod server_options;
mod server_socket;
mod socket_core;
mod ws_socket;

pub use ajax::DEFAULT_POLL_TIMEOUT;
pub use ajax_socket::{AjaxSocket, CLOSE_LINGER};
pub use client::{
    Action, ClientConfig, ClientError, ClientEvent, ClientState, GlueClient, SendResult, Transport,
};
pub use inbox::{DropReason, InboxConfig, ReadMode};
pub use init::{check_client_init, client_init, init_reply, parse_init_reply, InitCheck, Version};
pub use message::{
    decode_channel_data, encode_channel_data, utf16_len, Command, GlueError, Message, MAIN_CHANNEL,
    PROTOCOL_VERSION,
};
pub use server_socket::{ServerSocket, SocketCloseReason, SocketConfig, SocketEvent, WriteError};
pub use socket_core::{CoreEvent, SocketCore};
pub use ws_socket::{WsSocket, WS_HIGH_WATER};
