//! Polling payloads: several packets in one HTTP body.
//!
//! Text: `<len>:<packet>…` with `<len>` in UTF-16 code units (JavaScript `String.length`).
//! Binary: per packet a kind byte (0 string, 1 binary), the length as raw digit bytes 0–9,
//! `0xFF`, then the packet (string form in UTF-8, or type byte + data). A decode error aborts
//! the rest of the payload; the packets before it stand (as the reference delivers them).

use super::{EioError, Packet, PacketData};
use bytes::{BufMut, Bytes, BytesMut};

pub use crate::glue::utf16_len;

/// Most length digits accepted (the reference allows 310; lengths above `usize` are absurd).
const MAX_DIGITS: usize = 19;

/// The packets of a payload, and the error that ended it early, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// Packets decoded before the end or the error.
    pub packets: Vec<Packet>,
    /// Why decoding stopped early (the session must then close).
    pub error: Option<EioError>,
}

/// Decodes a text payload (a UTF-8 body).
pub fn decode_text_payload(body: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let Ok(text) = std::str::from_utf8(body) else {
        out.error = Some(EioError::NotUtf8);
        return out;
    };
    if text.is_empty() {
        out.error = Some(EioError::Empty);
        return out;
    }
    let mut rest = text;
    while !rest.is_empty() {
        match next_text_packet(rest) {
            Ok((packet, tail)) => {
                if let Some(p) = packet {
                    out.packets.push(p);
                }
                rest = tail;
            }
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    out
}

/// One `<len>:<packet>` from the front of `s`; `None` for a skipped zero-length entry.
fn next_text_packet(s: &str) -> Result<(Option<Packet>, &str), EioError> {
    let colon = s.find(':').ok_or(EioError::InvalidLength)?;
    let digits = &s[..colon];
    if digits.is_empty() || digits.len() > MAX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(EioError::InvalidLength);
    }
    let len: usize = digits.parse().map_err(|_| EioError::InvalidLength)?;
    let body = &s[colon + 1..];
    // Walk chars until `len` UTF-16 units are taken; never slice by the number itself.
    let mut units = 0usize;
    let mut end = 0usize;
    for (i, c) in body.char_indices() {
        if units == len {
            break;
        }
        units += c.len_utf16();
        end = i + c.len_utf8();
    }
    if units != len {
        // Too short, or the last char was a surrogate pair split by the length.
        return Err(EioError::Truncated);
    }
    if len == 0 {
        return Ok((None, body));
    }
    Ok((Some(Packet::decode_str(&body[..end])?), &body[end..]))
}

/// Encodes a text payload: binary packets in their base64 form.
pub fn encode_text_payload(packets: &[Packet]) -> String {
    let mut out = String::new();
    for p in packets {
        let s = p.encode_str();
        out.push_str(&utf16_len(&s).to_string());
        out.push(':');
        out.push_str(&s);
    }
    out
}

/// Decodes a binary payload (`application/octet-stream` body).
pub fn decode_binary_payload(body: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    if body.is_empty() {
        out.error = Some(EioError::Empty);
        return out;
    }
    let mut rest = body;
    while !rest.is_empty() {
        match next_binary_packet(rest) {
            Ok((p, tail)) => {
                out.packets.push(p);
                rest = tail;
            }
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    out
}

fn next_binary_packet(b: &[u8]) -> Result<(Packet, &[u8]), EioError> {
    let (&kind, rest) = b.split_first().ok_or(EioError::Empty)?;
    if kind > 1 {
        return Err(EioError::InvalidLength);
    }
    let ff = rest.iter().position(|&x| x == 0xff).ok_or(EioError::InvalidLength)?;
    let digits = &rest[..ff];
    if digits.is_empty() || digits.len() > MAX_DIGITS || digits.iter().any(|&d| d > 9) {
        return Err(EioError::InvalidLength);
    }
    let len = digits
        .iter()
        .try_fold(0usize, |n, &d| n.checked_mul(10)?.checked_add(d as usize))
        .ok_or(EioError::InvalidLength)?;
    let data = &rest[ff + 1..];
    if data.len() < len {
        return Err(EioError::Truncated);
    }
    let (packet, tail) = data.split_at(len);
    let packet = if kind == 0 {
        Packet::decode_str(std::str::from_utf8(packet).map_err(|_| EioError::NotUtf8)?)?
    } else {
        Packet::decode_binary(packet)?
    };
    Ok((packet, tail))
}

/// Encodes a binary payload.
pub fn encode_binary_payload(packets: &[Packet]) -> Bytes {
    let mut out = BytesMut::new();
    for p in packets {
        let (kind, bytes) = match &p.data {
            PacketData::Text(_) => (0u8, Bytes::from(p.encode_str())),
            PacketData::Binary(_) => (1u8, p.encode_binary()),
        };
        out.put_u8(kind);
        for d in bytes.len().to_string().bytes() {
            out.put_u8(d - b'0');
        }
        out.put_u8(0xff);
        out.put_slice(&bytes);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eio::PacketType;

    #[test]
    fn captured_text_payloads() {
        let body = "14:42[\"u\",\"€😀é\"]";
        let d = decode_text_payload(body.as_bytes());
        assert_eq!(d.error, None);
        assert_eq!(d.packets, [Packet::text(PacketType::Message, "2[\"u\",\"€😀é\"]")]);
        assert_eq!(encode_text_payload(&d.packets), body);
        let d = decode_text_payload(b"6:4hello10:b4AQIDBA==");
        assert_eq!(
            d.packets,
            [
                Packet::text(PacketType::Message, "hello"),
                Packet::binary(PacketType::Message, vec![1, 2, 3, 4])
            ]
        );
        assert_eq!(encode_text_payload(&d.packets), "6:4hello10:b4AQIDBA==");
        let d = decode_text_payload(b"1:61:1");
        assert_eq!(d.packets.len(), 2);
        assert_eq!(decode_text_payload(b"0:1:2").packets, [Packet::text(PacketType::Ping, "")]);
    }

    #[test]
    fn text_payload_errors_keep_earlier_packets() {
        let d = decode_text_payload(b"1:2x:3");
        assert_eq!(d.packets, [Packet::text(PacketType::Ping, "")]);
        assert_eq!(d.error, Some(EioError::InvalidLength));
        assert_eq!(decode_text_payload(b"").error, Some(EioError::Empty));
        assert_eq!(decode_text_payload(b"5:4ab").error, Some(EioError::Truncated));
        // A length that ends inside a surrogate pair.
        assert_eq!(decode_text_payload("2:4😀".as_bytes()).error, Some(EioError::Truncated));
        assert_eq!(decode_text_payload(b"1:9").error, Some(EioError::UnknownType(9)));
        assert_eq!(decode_text_payload(b":4").error, Some(EioError::InvalidLength));
        assert_eq!(decode_text_payload(&[0xff]).error, Some(EioError::NotUtf8));
        let huge = format!("{}:4", "9".repeat(40));
        assert_eq!(decode_text_payload(huge.as_bytes()).error, Some(EioError::InvalidLength));
    }

    #[test]
    fn captured_binary_payload() {
        let mut body = vec![0x00, 0x01, 0x09, 0xff];
        body.extend_from_slice("42[\"u\",\"€😀é\"]".as_bytes());
        body.extend_from_slice(&[0x01, 0x03, 0xff, 0x04, 0xde, 0xad]);
        let d = decode_binary_payload(&body);
        assert_eq!(d.error, None);
        assert_eq!(
            d.packets,
            [
                Packet::text(PacketType::Message, "2[\"u\",\"€😀é\"]"),
                Packet::binary(PacketType::Message, vec![0xde, 0xad])
            ]
        );
        assert_eq!(&encode_binary_payload(&d.packets)[..], &body[..]);
        assert_eq!(
            decode_binary_payload(&[0x01, 0x05, 0xff, 0x04]).error,
            Some(EioError::Truncated)
        );
        assert_eq!(decode_binary_payload(&[0x00, 0x0a, 0xff]).error, Some(EioError::InvalidLength));
        assert_eq!(
            decode_binary_payload(&[0x02, 0x01, 0xff, 0x34]).error,
            Some(EioError::InvalidLength)
        );
        assert_eq!(decode_binary_payload(&[0x00, 0xff]).error, Some(EioError::InvalidLength));
    }
}
