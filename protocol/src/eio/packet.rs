//! Engine.IO packets: `<type digit><text>`, `<type byte><bytes>`, `b<type digit><base64>`.

use super::EioError;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

/// Engine.IO packet types (revision 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// Handshake (server → client), data = JSON.
    Open = 0,
    /// Close (polling).
    Close = 1,
    /// Ping (client → server in revision 3); `probe` during an upgrade.
    Ping = 2,
    /// Pong (server → client).
    Pong = 3,
    /// A message, text or binary.
    Message = 4,
    /// Upgrade (client → server, on the new transport).
    Upgrade = 5,
    /// No-op (server → client), releases a pending poll.
    Noop = 6,
}

impl PacketType {
    /// The type for a numeric value 0–6.
    pub fn from_u8(v: u8) -> Result<PacketType, EioError> {
        Ok(match v {
            0 => PacketType::Open,
            1 => PacketType::Close,
            2 => PacketType::Ping,
            3 => PacketType::Pong,
            4 => PacketType::Message,
            5 => PacketType::Upgrade,
            6 => PacketType::Noop,
            other => return Err(EioError::UnknownType(other)),
        })
    }

    /// The ASCII digit of the string form.
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }
}

/// A packet's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketData {
    /// Text (possibly empty).
    Text(String),
    /// Bytes (sent as a binary frame / binary payload entry, or base64 on text channels).
    Binary(Bytes),
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The type.
    pub ty: PacketType,
    /// The data.
    pub data: PacketData,
}

impl Packet {
    /// A packet with text data.
    pub fn text(ty: PacketType, data: impl Into<String>) -> Packet {
        Packet { ty, data: PacketData::Text(data.into()) }
    }

    /// A packet with binary data.
    pub fn binary(ty: PacketType, data: impl Into<Bytes>) -> Packet {
        Packet { ty, data: PacketData::Binary(data.into()) }
    }

    /// Whether the data is binary.
    pub fn is_binary(&self) -> bool {
        matches!(self.data, PacketData::Binary(_))
    }

    /// Decodes the string form, including the base64 form `b<digit><base64>` (a WebSocket text
    /// frame, or one packet of a text payload).
    pub fn decode_str(s: &str) -> Result<Packet, EioError> {
        let bytes = s.as_bytes();
        let (&first, rest) = bytes.split_first().ok_or(EioError::Empty)?;
        if first == b'b' {
            let (&digit, b64) = rest.split_first().ok_or(EioError::Empty)?;
            let ty = type_of_digit(digit)?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| EioError::InvalidBase64)?;
            return Ok(Packet::binary(ty, data));
        }
        let ty = type_of_digit(first)?;
        Ok(Packet::text(ty, &s[1..]))
    }

    /// Decodes the raw binary form (a WebSocket binary frame): type byte, then the data.
    pub fn decode_binary(bytes: &[u8]) -> Result<Packet, EioError> {
        let (&ty, data) = bytes.split_first().ok_or(EioError::Empty)?;
        Ok(Packet::binary(PacketType::from_u8(ty)?, Bytes::copy_from_slice(data)))
    }

    /// The string form of a text packet, or the base64 form of a binary one.
    pub fn encode_str(&self) -> String {
        match &self.data {
            PacketData::Text(t) => {
                let mut s = String::with_capacity(1 + t.len());
                s.push(self.ty.digit() as char);
                s.push_str(t);
                s
            }
            PacketData::Binary(b) => {
                let mut s = String::with_capacity(2 + b.len().div_ceil(3) * 4);
                s.push('b');
                s.push(self.ty.digit() as char);
                base64::engine::general_purpose::STANDARD.encode_string(b, &mut s);
                s
            }
        }
    }

    /// The raw binary form of a binary packet (type byte + data); text packets give their
    /// string form's bytes.
    pub fn encode_binary(&self) -> Bytes {
        match &self.data {
            PacketData::Binary(b) => {
                let mut out = BytesMut::with_capacity(1 + b.len());
                out.put_u8(self.ty as u8);
                out.put_slice(b);
                out.freeze()
            }
            PacketData::Text(_) => Bytes::from(self.encode_str()),
        }
    }
}

fn type_of_digit(d: u8) -> Result<PacketType, EioError> {
    if !d.is_ascii_digit() {
        return Err(EioError::UnknownType(d));
    }
    PacketType::from_u8(d - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms() {
        assert_eq!(Packet::decode_str("4hello"), Ok(Packet::text(PacketType::Message, "hello")));
        assert_eq!(Packet::decode_str("2"), Ok(Packet::text(PacketType::Ping, "")));
        assert_eq!(Packet::decode_str("3probe").unwrap().encode_str(), "3probe");
        assert_eq!(
            Packet::decode_str("b4AQID"),
            Ok(Packet::binary(PacketType::Message, vec![1, 2, 3]))
        );
        assert_eq!(Packet::binary(PacketType::Message, vec![0xde, 0xad]).encode_str(), "b43q0=");
        assert_eq!(Packet::decode_str(""), Err(EioError::Empty));
        assert_eq!(Packet::decode_str("7x"), Err(EioError::UnknownType(7)));
        assert_eq!(Packet::decode_str("x"), Err(EioError::UnknownType(b'x')));
        assert_eq!(Packet::decode_str("b4!!"), Err(EioError::InvalidBase64));
        assert_eq!(Packet::decode_str("b"), Err(EioError::Empty));
    }

    #[test]
    fn binary_forms() {
        let p = Packet::decode_binary(&[4, 0xde, 0xad]).unwrap();
        assert_eq!(p, Packet::binary(PacketType::Message, vec![0xde, 0xad]));
        assert_eq!(&p.encode_binary()[..], &[4, 0xde, 0xad]);
        assert_eq!(Packet::decode_binary(&[9]), Err(EioError::UnknownType(9)));
        assert_eq!(Packet::decode_binary(&[]), Err(EioError::Empty));
    }
}
