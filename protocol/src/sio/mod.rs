//! Socket.IO protocol revision 4 (socket.io 2.x), see `shared/spec/socketio-v2-protocol.md` §2.
//!
//! This module holds the packet codec ([`SioPacket`]), binary attachment reconstruction
//! ([`Reconstructor`], placeholders) and the reserved event names. A Socket.IO packet is the
//! data of an Engine.IO `message` packet; its binary attachments are the Engine.IO binary
//! messages right after it.
//!
//! ```
//! use bytes::Bytes;
//! use glue_protocol::sio::{placeholder, Reconstructor, SioPacket, SioPacketType};
//! use serde_json::json;
//!
//! // Decode (the Engine.IO message `42/chat,7["hi"]` without its `4`).
//! let (p, attachments) = SioPacket::decode(r#"2/chat,7["hi"]"#)?;
//! assert_eq!((p.kind, p.nsp.as_str(), p.id, attachments), (SioPacketType::Event, "/chat", Some(7), 0));
//! assert_eq!(p.event_name(), Some("hi"));
//!
//! // Encode an ack for it, with one binary argument.
//! let ack = SioPacket::ack("/chat", 7, vec![placeholder(0)], vec![Bytes::from_static(b"\x01\x02")])?;
//! assert_eq!(ack.encode(), r#"61-/chat,7[{"_placeholder":true,"num":0}]"#);
//! // ...then send ack.attachments, in order, as Engine.IO binary messages.
//!
//! // Reconstruct on the receiving side: the header, then its attachment.
//! let mut r = Reconstructor::new(1 << 20);
//! assert_eq!(r.handle_text(&ack.encode())?, None);
//! assert!(r.is_pending());
//! let done = r.handle_binary(Bytes::from_static(b"\x01\x02"))?.expect("complete");
//! assert_eq!(done, ack);
//! assert_eq!(done.args(), &[json!({"_placeholder": true, "num": 0})]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod binary;
pub mod client;
pub mod client_dispatch;
mod client_options;
mod client_url;
mod error;
mod packet;
mod reserved;
pub mod rooms;
pub mod server_conn;
#[cfg(test)]
mod tests;

/// The JSON crate of the packet data ([`serde_json::Value`]), for runtimes and applications.
pub use serde_json;

pub use binary::{count_placeholders, is_placeholder, placeholder, Reconstructor};
pub use error::{SioError, SioUsageError};
pub use packet::{SioPacket, SioPacketType, MAX_ATTACHMENTS, MAX_ID};
pub use reserved::{
    check_emittable, is_reserved_client_event, is_reserved_server_event, CLIENT_RESERVED_EVENTS,
    SERVER_RESERVED_EVENTS,
};
pub use rooms::RoomIndex;
pub use server_conn::{
    encode_packet, AckFailure, ConnEvent, ConnUsageError, DisconnectReason, SioConnConfig,
    SioServerConn,
};
