//! Engine.IO revision 3 (socket.io 2.x), see `shared/spec/socketio-v2-protocol.md` §1.
//!
//! This module holds the codecs: packets in their three forms (string, raw binary, base64),
//! polling payloads (text with UTF-16 lengths, binary, base64 mode) and the JSONP framing. Session and client
//! state machines build on them.

pub mod backoff;
pub mod client;
mod error;
mod jsonp;
mod packet;
mod payload;
pub mod server;
pub mod session;
#[cfg(test)]
mod session_tests;

pub use error::EioError;
pub use jsonp::{decode_jsonp_post, encode_jsonp};
pub use packet::{Packet, PacketData, PacketType};
pub use payload::{
    decode_binary_payload, decode_text_payload, encode_binary_payload, encode_text_payload,
    utf16_len, Decoded,
};
pub use session::{
    CloseReason, EioConfig, EioEvent, EioSession, EncodedPacket, PollAnswer, PollingMode, PostKind,
    RequestId, WsId,
};
