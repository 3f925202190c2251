//! Socket.IO errors: [`SioError`] when the peer breaks the protocol (decoding and
//! reconstruction), [`SioUsageError`] when the caller asks the encoder for a packet the spec
//! says must never be emitted (§2.8).

use thiserror::Error;

/// Why Socket.IO input was refused. Every one of these should close the Engine.IO connection
/// (spec §2.8: "on decode errors from a client: close the Engine.IO connection").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SioError {
    /// An empty packet string (the Engine.IO message `4` with no data).
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type `0`–`6`. The reference turns this into an
    /// ERROR packet and keeps the connection; refusing it is the safer choice the spec allows.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A BINARY_EVENT / BINARY_ACK whose attachment count is missing, not decimal, zero, or
    /// not followed by `-`.
    #[error("illegal attachments")]
    InvalidAttachments,
    /// An attachment count above [`MAX_ATTACHMENTS`](super::MAX_ATTACHMENTS).
    #[error("too many attachments")]
    TooManyAttachments,
    /// An ack id longer than 16 digits or above [`MAX_ID`](super::MAX_ID).
    #[error("invalid ack id")]
    InvalidId,
    /// The data part is not JSON.
    #[error("invalid JSON payload")]
    InvalidJson,
    /// The data is JSON but not what the packet type allows (CONNECT: object; DISCONNECT:
    /// none; EVENT / BINARY_EVENT: a non-empty array whose first element is a string or a
    /// number; ACK / BINARY_ACK: an array; ERROR: a string or an object), or data is missing
    /// where the type needs it (EVENT, BINARY_EVENT, BINARY_ACK).
    #[error("invalid payload")]
    InvalidPayload,
    /// A placeholder (`{"_placeholder":true,...}`) whose `num` is not an integer below the
    /// packet's attachment count.
    #[error("illegal attachment placeholder")]
    IllegalPlaceholder,
    /// A binary message arrived while no BINARY_EVENT / BINARY_ACK was waiting for attachments.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
    /// A text message arrived while a BINARY_EVENT / BINARY_ACK was still waiting for
    /// attachments.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// The attachments of one packet add up to more bytes than the reconstructor allows.
    #[error("attachments too large")]
    AttachmentsTooLarge,
}

/// Why the encoder refused to build a packet: it would be one the spec says must never be
/// emitted (§2.8), or one that cannot be represented on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SioUsageError {
    /// The namespace does not start with `/`, or contains `,` (which ends the namespace on the
    /// wire).
    #[error("invalid namespace {0:?}")]
    InvalidNamespace(String),
    /// The event name is reserved (§2.9): the peer would run its own lifecycle handlers.
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    /// An ack id above [`MAX_ID`](super::MAX_ID): JS peers cannot represent it exactly.
    #[error("ack id {0} above 2^53 - 1")]
    IdTooLarge(u64),
    /// More attachments than [`MAX_ATTACHMENTS`](super::MAX_ATTACHMENTS); 2.x peers refuse
    /// the packet.
    #[error("{0} attachments, at most 10 allowed")]
    TooManyAttachments(usize),
    /// The arguments hold a placeholder whose `num` is malformed or not below the number of
    /// attachments.
    #[error("placeholder does not name an attachment")]
    PlaceholderOutOfRange,
    /// An attachment that no placeholder in the arguments refers to.
    #[error("attachment {0} has no placeholder")]
    UnreferencedAttachment(usize),
    /// ERROR data that is neither a string nor an object.
    #[error("error data must be a string or an object")]
    InvalidErrorData,
}
