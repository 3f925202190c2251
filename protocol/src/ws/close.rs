//! Close codes (RFC 6455 §7.4) and the close frame payload.

use bytes::{BufMut, Bytes, BytesMut};

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL: CloseCode = CloseCode(1002);
    /// 1003: unsupported data.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1005: no status received (never sent on the wire).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: abnormal closure, the connection dropped without a close frame (never sent).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: payload not consistent with the message type (e.g. invalid UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: message too big.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: a required extension was not negotiated (client side).
    pub const EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: internal server error.
    pub const INTERNAL: CloseCode = CloseCode(1011);

    /// Whether this code may appear in a close frame on the wire (RFC 6455 §7.4.1/§7.4.2 and
    /// the IANA registry): 1000–1003, 1007–1014, 3000–4999.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

/// The content of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Status code; `None` for an empty close frame.
    pub code: Option<CloseCode>,
    /// Reason text (at most 123 bytes on the wire).
    pub reason: String,
}

impl CloseFrame {
    /// Encodes the payload of a close frame.
    pub(crate) fn encode(&self) -> Bytes {
        match self.code {
            None => Bytes::new(),
            Some(code) => {
                let mut b = BytesMut::with_capacity(2 + self.reason.len());
                b.put_u16(code.0);
                b.put_slice(self.reason.as_bytes());
                b.freeze()
            }
        }
    }
}
