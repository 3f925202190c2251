//! Frame headers (RFC 6455 §5.2) and whole-frame encoding.

use super::mask::apply_mask;
use bytes::{Bytes, BytesMut};

/// Frame opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continuation of a fragmented message.
    Continuation,
    /// 0x1: text.
    Text,
    /// 0x2: binary.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
    /// A reserved opcode (0x3–0x7, 0xB–0xF).
    Reserved(u8),
}

impl OpCode {
    /// Decodes the low four bits of the first header byte.
    pub fn from_u8(v: u8) -> OpCode {
        match v & 0x0f {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(v) => v & 0x0f,
        }
    }

    /// Whether this is a control opcode (close, ping, pong, or reserved 0xB–0xF).
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN bit: last frame of a message.
    pub fin: bool,
    /// RSV1..RSV3 as the three low bits.
    pub rsv: u8,
    /// Opcode.
    pub opcode: OpCode,
    /// Masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub payload_len: u64,
}

/// Maximum encoded header size: 2 + 8 (length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

impl FrameHeader {
    /// Total header length announced by the first two header bytes.
    pub fn len_from_prefix(b0_b1: [u8; 2]) -> usize {
        let b1 = b0_b1[1];
        let ext = match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
    }

    /// Parses a header from the start of `buf`. `None` if `buf` is shorter than the header.
    /// Returns the header and its encoded length. Semantic checks (reserved bits, opcodes,
    /// control-frame rules, masking by role) are the connection's job.
    pub fn parse(buf: &[u8]) -> Option<(FrameHeader, usize)> {
        if buf.len() < 2 {
            return None;
        }
        let len = Self::len_from_prefix([buf[0], buf[1]]);
        if buf.len() < len {
            return None;
        }
        let (b0, b1) = (buf[0], buf[1]);
        let (payload_len, mut pos) = match b1 & 0x7f {
            126 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
            127 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&buf[2..10]);
                (u64::from_be_bytes(n), 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = if b1 & 0x80 != 0 {
            let m = [buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]];
            pos += 4;
            Some(m)
        } else {
            None
        };
        debug_assert_eq!(pos, len);
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x7,
            opcode: OpCode::from_u8(b0),
            mask,
            payload_len,
        };
        Some((header, len))
    }

    /// Writes the encoded header into `out`, returning its length.
    pub fn write_to(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode.as_u8();
        let mut pos = match self.payload_len {
            n if n < 126 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n if n <= u64::from(u16::MAX) => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(m) = self.mask {
            out[pos..pos + 4].copy_from_slice(&m);
            pos += 4;
        }
        pos
    }

    /// Appends the encoded header to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = self.write_to(&mut out);
        dst.extend_from_slice(&out[..n]);
    }

    /// Encoded length of this header.
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            n if n < 126 => 0,
            n if n <= u64::from(u16::MAX) => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }
}

/// Appends one whole frame (header and payload, masked when `mask` is set) to `dst`.
pub fn encode_frame(
    dst: &mut BytesMut,
    fin: bool,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) {
    let header = FrameHeader { fin, rsv: 0, opcode, mask, payload_len: payload.len() as u64 };
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.write_to(&mut head);
    dst.reserve(n + payload.len());
    dst.extend_from_slice(&head[..n]);
    let start = dst.len();
    dst.extend_from_slice(payload);
    if let Some(m) = mask {
        apply_mask(&mut dst[start..], m, 0);
    }
}

/// A server-to-client frame encoded once, to be sent on many connections (a broadcast):
/// cloning it clones a reference count, not the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame(Bytes);

impl EncodedFrame {
    /// Encodes an unmasked, unfragmented data frame (text or binary).
    pub fn new(opcode: OpCode, payload: &[u8]) -> Self {
        let mut b = BytesMut::new();
        encode_frame(&mut b, true, opcode, None, payload);
        EncodedFrame(b.freeze())
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}
