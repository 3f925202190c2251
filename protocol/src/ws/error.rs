//! The two error families: the peer broke the protocol, or the caller misused the API.

use super::CloseCode;
use thiserror::Error;

/// The peer violated RFC 6455. Each variant names the close code sent in answer
/// ([`ProtocolError::close_code`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reserved bit (RSV1–3) was set without a negotiated extension.
    #[error("reserved bits set without an extension")]
    ReservedBits,
    /// A reserved opcode was used.
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A control frame had FIN clear.
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A control frame payload was longer than 125 bytes.
    #[error("control frame payload of {0} bytes (max 125)")]
    ControlTooLong(u64),
    /// A client sent an unmasked frame (server role).
    #[error("unmasked frame from client")]
    UnmaskedFrame,
    /// A server sent a masked frame (client role).
    #[error("masked frame from server")]
    MaskedFrame,
    /// The 64-bit payload length had its most significant bit set.
    #[error("payload length has the most significant bit set")]
    InvalidLength,
    /// A continuation frame came with no message in progress.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A new text/binary frame arrived while a fragmented message was unfinished.
    #[error("new data frame while a fragmented message is unfinished")]
    ExpectedContinuation,
    /// A close frame had a one-byte payload.
    #[error("close frame with a one-byte payload")]
    CloseTooShort,
    /// A close frame carried a code that may not be sent.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A close frame reason was not UTF-8.
    #[error("close reason is not valid UTF-8")]
    InvalidCloseReason,
    /// A text message was not valid UTF-8.
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
    /// A frame exceeded [`Config::max_frame_size`](super::Config).
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// Declared payload size.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message exceeded [`Config::max_message_size`](super::Config).
    #[error("message exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },
}

impl ProtocolError {
    /// The close code to answer with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCloseReason => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => {
                CloseCode::TOO_BIG
            }
            _ => CloseCode::PROTOCOL,
        }
    }
}

/// The caller used the API wrongly; the connection is unaffected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The connection is closing or closed: no more data can be sent.
    #[error("the connection is closed for sending")]
    Closed,
    /// A control frame payload (ping/pong) over 125 bytes.
    #[error("control payload of {0} bytes (max 125)")]
    ControlTooLong(usize),
    /// A close code that may not be sent (see [`CloseCode::is_sendable`]).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// A close reason without a close code (an empty close frame has no reason).
    #[error("a close reason needs a close code")]
    ReasonWithoutCode,
    /// A close reason longer than 123 bytes.
    #[error("close reason of {0} bytes (max 123)")]
    CloseReasonTooLong(usize),
    /// The send buffer holds more than [`Config::max_send_buffer`](super::Config) bytes; wait
    /// for `poll_transmit` to drain it.
    #[error("send buffer full ({buffered} bytes buffered, limit {limit})")]
    SendBufferFull {
        /// Bytes currently buffered.
        buffered: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A pre-encoded frame was handed to a client-role connection (client frames are masked
    /// per connection and cannot be shared).
    #[error("pre-encoded frames can only be sent by a server")]
    EncodedFrameOnClient,
}
