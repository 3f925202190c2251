//! Socket.IO packets and their string form (spec §2.2, §2.3).

use super::binary::{check_placeholders, PlaceholderCheck};
use super::reserved::check_emittable;
use super::{SioError, SioUsageError};
use bytes::Bytes;
use serde_json::Value;
use std::fmt::Write as _;

/// The most attachments one BINARY_EVENT / BINARY_ACK may carry (2.x parsers refuse more).
pub const MAX_ATTACHMENTS: usize = 10;

/// The largest ack id: 2^53 − 1, the largest integer a JS peer represents exactly.
pub const MAX_ID: u64 = (1 << 53) - 1;

/// Ack ids longer than this many digits are refused without being parsed.
const MAX_ID_DIGITS: usize = 16;

/// Socket.IO packet types (protocol revision 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SioPacketType {
    /// Connect to a namespace (client request) or accept it (server).
    Connect = 0,
    /// Leave a namespace.
    Disconnect = 1,
    /// An event: data = `[name, args...]`, optional ack id.
    Event = 2,
    /// The answer to an event that had an ack id: data = `[args...]`.
    Ack = 3,
    /// An error (namespace refused, middleware error): data = a string or an object.
    Error = 4,
    /// An event whose arguments contain binary (placeholders + attachments).
    BinaryEvent = 5,
    /// An ack whose arguments contain binary (placeholders + attachments).
    BinaryAck = 6,
}

impl SioPacketType {
    /// The type for a numeric value 0–6.
    pub fn from_u8(v: u8) -> Option<SioPacketType> {
        Some(match v {
            0 => SioPacketType::Connect,
            1 => SioPacketType::Disconnect,
            2 => SioPacketType::Event,
            3 => SioPacketType::Ack,
            4 => SioPacketType::Error,
            5 => SioPacketType::BinaryEvent,
            6 => SioPacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The ASCII digit of the string form.
    pub fn digit(self) -> char {
        char::from(b'0' + self as u8)
    }

    /// Whether this is BINARY_EVENT or BINARY_ACK.
    pub fn is_binary(self) -> bool {
        matches!(self, SioPacketType::BinaryEvent | SioPacketType::BinaryAck)
    }
}

/// One Socket.IO packet.
///
/// Binary values inside `data` are placeholders `{"_placeholder":true,"num":N}` (see
/// [`placeholder`](super::placeholder)); the bytes are `attachments[N]`. Placeholders are never
/// replaced: attachments are identified by `num`, not by their position in the JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct SioPacket {
    /// The type. [`encode`](SioPacket::encode) writes EVENT / ACK with attachments as
    /// BINARY_EVENT / BINARY_ACK and the binary types without attachments as EVENT / ACK.
    pub kind: SioPacketType,
    /// The namespace, `/` when absent on the wire. For CONNECT it excludes the query.
    pub nsp: String,
    /// For CONNECT only: the raw query of a client request `0/ns?a=b,` (without `?`, not
    /// percent-decoded). Ignored by [`encode`](SioPacket::encode) for other types.
    pub query: Option<String>,
    /// The ack id.
    pub id: Option<u64>,
    /// The JSON data, binary values as placeholders.
    pub data: Option<Value>,
    /// The attachments of a BINARY_EVENT / BINARY_ACK once reconstructed; empty otherwise.
    pub attachments: Vec<Bytes>,
}

impl SioPacket {
    /// Decodes the string form (the data of an Engine.IO message, without the leading `4`).
    /// Returns the packet and how many attachments must follow (0 except for BINARY_EVENT /
    /// BINARY_ACK, whose `attachments` are left empty for the caller (or a
    /// [`Reconstructor`](super::Reconstructor)) to fill).
    ///
    /// Strict version of the reference decoder (§2.3):
    ///
    /// * the type must be `0`–`6` ([`SioError::UnknownType`] otherwise, where the reference
    ///   makes an ERROR packet);
    /// * types 5/6: a decimal count 1..=[`MAX_ATTACHMENTS`] followed by `-`;
    /// * the namespace is read only when the next character is `/`, up to `,` or the end; for
    ///   CONNECT the part after the first `?` is the [`query`](SioPacket::query);
    /// * the ack id is read from consecutive ASCII digits `0-9` (never spaces), at most 16 of
    ///   them and at most [`MAX_ID`];
    /// * the rest is JSON (leading and trailing JSON whitespace allowed, as `JSON.parse`),
    ///   checked per type: CONNECT an object or nothing; DISCONNECT nothing; EVENT and
    ///   BINARY_EVENT a non-empty array whose first element is a string or a number (`2`
    ///   without data is refused, where the reference dispatches a nameless event); ACK an
    ///   array or nothing (no arguments); BINARY_ACK an array; ERROR a string, an object or
    ///   nothing;
    /// * in BINARY_EVENT / BINARY_ACK every placeholder must name an attachment below the
    ///   count ([`SioError::IllegalPlaceholder`]); attachments without a placeholder are
    ///   allowed (the reference ignores them).
    ///
    /// An ACK without id decodes fine (`id: None`): the reference ignores such acks and a
    /// server should too.
    pub fn decode(s: &str) -> Result<(SioPacket, usize), SioError> {
        let first = s.chars().next().ok_or(SioError::Empty)?;
        let kind = u8::try_from(first)
            .ok()
            .and_then(|b| b.checked_sub(b'0'))
            .and_then(SioPacketType::from_u8)
            .ok_or(SioError::UnknownType(first))?;
        let mut rest = &s[1..];

        let mut count = 0;
        if kind.is_binary() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || rest.as_bytes().get(digits) != Some(&b'-') {
                return Err(SioError::InvalidAttachments);
            }
            let n = rest[..digits]
                .bytes()
                .fold(0usize, |n, d| n.saturating_mul(10).saturating_add(usize::from(d - b'0')));
            if n == 0 {
                return Err(SioError::InvalidAttachments);
            }
            if n > MAX_ATTACHMENTS {
                return Err(SioError::TooManyAttachments);
            }
            count = n;
            rest = &rest[digits + 1..];
        }

        let mut nsp = "/";
        let mut query = None;
        if rest.starts_with('/') {
            let end = rest.find(',').unwrap_or(rest.len());
            nsp = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or("");
            if kind == SioPacketType::Connect {
                if let Some((path, q)) = nsp.split_once('?') {
                    nsp = path;
                    query = Some(q.to_owned());
                }
            }
        }

        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut id = None;
        if digits > 0 {
            if digits > MAX_ID_DIGITS {
                return Err(SioError::InvalidId);
            }
            let v = rest[..digits].parse::<u64>().map_err(|_| SioError::InvalidId)?;
            if v > MAX_ID {
                return Err(SioError::InvalidId);
            }
            id = Some(v);
            rest = &rest[digits..];
        }

        let data = if rest.is_empty() {
            None
        } else {
            Some(serde_json::from_str::<Value>(rest).map_err(|_| SioError::InvalidJson)?)
        };
        if !payload_valid(kind, data.as_ref()) {
            return Err(SioError::InvalidPayload);
        }
        if kind.is_binary() {
            if let Some(d) = &data {
                if check_placeholders(d, count) == PlaceholderCheck::Illegal {
                    return Err(SioError::IllegalPlaceholder);
                }
            }
        }

        let packet =
            SioPacket { kind, nsp: nsp.to_owned(), query, id, data, attachments: Vec::new() };
        Ok((packet, count))
    }

    /// The type [`encode`](SioPacket::encode) writes: BINARY_EVENT / BINARY_ACK exactly when
    /// an EVENT / ACK has attachments.
    pub fn wire_kind(&self) -> SioPacketType {
        match (self.kind, self.attachments.is_empty()) {
            (SioPacketType::Event | SioPacketType::BinaryEvent, true) => SioPacketType::Event,
            (SioPacketType::Event | SioPacketType::BinaryEvent, false) => {
                SioPacketType::BinaryEvent
            }
            (SioPacketType::Ack | SioPacketType::BinaryAck, true) => SioPacketType::Ack,
            (SioPacketType::Ack | SioPacketType::BinaryAck, false) => SioPacketType::BinaryAck,
            (kind, _) => kind,
        }
    }

    /// Encodes the header string (without Engine.IO's `4`):
    /// `<type>[<attachments>-][<nsp>[?<query>],][<id>][<JSON>]`. The type is BINARY_EVENT /
    /// BINARY_ACK exactly when the packet is an event / ack with attachments (see
    /// [`wire_kind`](SioPacket::wire_kind)); attachments of other types are not announced.
    /// The attachments themselves are sent by the caller, in order, right after the header,
    /// each as an Engine.IO binary message.
    ///
    /// The JSON is compact with non-ASCII written raw, as `JSON.stringify` does. Values are
    /// written as they are: packets built with the constructors, or decoded, encode to a
    /// string that decodes to the same packet; a hand-built packet with an invalid namespace
    /// (not starting with `/`, or containing `,`), an id above [`MAX_ID`], a query containing
    /// `,` or data the type does not allow may not.
    pub fn encode(&self) -> String {
        let kind = self.wire_kind();
        let mut s = String::new();
        s.push(kind.digit());
        if kind.is_binary() {
            let _ = write!(s, "{}-", self.attachments.len());
        }
        let query = if kind == SioPacketType::Connect { self.query.as_deref() } else { None };
        if self.nsp != "/" || query.is_some() {
            s.push_str(&self.nsp);
            if let Some(q) = query {
                s.push('?');
                s.push_str(q);
            }
            s.push(',');
        }
        if let Some(id) = self.id {
            let _ = write!(s, "{id}");
        }
        if let Some(data) = &self.data {
            // `Display` for `Value` is compact JSON and cannot fail.
            let _ = write!(s, "{data}");
        }
        s
    }

    /// An EVENT `[name, args...]` (written as BINARY_EVENT when `attachments` is non-empty),
    /// optionally asking for an ack. Refuses what must never be emitted: an invalid namespace,
    /// a reserved name ([`check_emittable`](super::check_emittable)), an id above [`MAX_ID`],
    /// more than [`MAX_ATTACHMENTS`] attachments, and placeholders in `args` that are not
    /// exactly the numbers `0..attachments.len()` (each at least once, none out of range).
    pub fn event(
        nsp: &str,
        name: &str,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
        id: Option<u64>,
    ) -> Result<SioPacket, SioUsageError> {
        check_nsp(nsp)?;
        check_emittable(name)?;
        if let Some(id) = id {
            check_id(id)?;
        }
        let mut data = Vec::with_capacity(1 + args.len());
        data.push(Value::String(name.to_owned()));
        data.extend(args);
        let data = Value::Array(data);
        check_attachments(&data, attachments.len())?;
        let kind =
            if attachments.is_empty() { SioPacketType::Event } else { SioPacketType::BinaryEvent };
        Ok(SioPacket { kind, nsp: nsp.to_owned(), query: None, id, data: Some(data), attachments })
    }

    /// An ACK with arguments `args` (possibly none: `3<id>[]`), written as BINARY_ACK when
    /// `attachments` is non-empty. Refuses an invalid namespace, an id above [`MAX_ID`], more
    /// than [`MAX_ATTACHMENTS`] attachments and placeholders that are not exactly
    /// `0..attachments.len()`.
    pub fn ack(
        nsp: &str,
        id: u64,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
    ) -> Result<SioPacket, SioUsageError> {
        check_nsp(nsp)?;
        check_id(id)?;
        let data = Value::Array(args);
        check_attachments(&data, attachments.len())?;
        let kind =
            if attachments.is_empty() { SioPacketType::Ack } else { SioPacketType::BinaryAck };
        Ok(SioPacket {
            kind,
            nsp: nsp.to_owned(),
            query: None,
            id: Some(id),
            data: Some(data),
            attachments,
        })
    }

    /// A CONNECT without data: the server's acceptance of `nsp` (and its unsolicited `0` for
    /// `/`), or a client request without query. `nsp` should start with `/` and contain
    /// neither `,` nor `?` (namespaces taken from decoded packets always do).
    pub fn connect(nsp: &str) -> SioPacket {
        SioPacket::simple(SioPacketType::Connect, nsp)
    }

    /// A client's CONNECT request with a query: `0/ns?<query>,`. `query` is written as given
    /// (URL-encoded, so without `,`; without the leading `?`).
    pub fn connect_with_query(nsp: &str, query: &str) -> SioPacket {
        SioPacket {
            query: Some(query.to_owned()),
            ..SioPacket::simple(SioPacketType::Connect, nsp)
        }
    }

    /// A DISCONNECT for `nsp` (`1` / `1/ns,`). `nsp` should start with `/` and contain no `,`.
    pub fn disconnect(nsp: &str) -> SioPacket {
        SioPacket::simple(SioPacketType::Disconnect, nsp)
    }

    /// An ERROR for `nsp` (e.g. `4/ns,"Invalid namespace"`). `data` must be a string or an
    /// object.
    pub fn error(nsp: &str, data: Value) -> Result<SioPacket, SioUsageError> {
        check_nsp(nsp)?;
        if !matches!(data, Value::String(_) | Value::Object(_)) {
            return Err(SioUsageError::InvalidErrorData);
        }
        Ok(SioPacket { data: Some(data), ..SioPacket::simple(SioPacketType::Error, nsp) })
    }

    /// The event name of an EVENT / BINARY_EVENT: its first data element when that is a
    /// string. `None` for other types, and for an event whose name is a number (`2[1]`, which
    /// decodes because the reference accepts it: JS turns the number into the string of its
    /// JS formatting, which Rust does not reproduce exactly; such events match no string name).
    pub fn event_name(&self) -> Option<&str> {
        if !matches!(self.kind, SioPacketType::Event | SioPacketType::BinaryEvent) {
            return None;
        }
        self.data.as_ref()?.as_array()?.first()?.as_str()
    }

    /// The arguments: for an EVENT / BINARY_EVENT the data elements after the name, for an
    /// ACK / BINARY_ACK all of them; empty otherwise.
    pub fn args(&self) -> &[Value] {
        let all = match self.data.as_ref().and_then(Value::as_array) {
            Some(a) => a.as_slice(),
            None => return &[],
        };
        match self.kind {
            SioPacketType::Event | SioPacketType::BinaryEvent => all.get(1..).unwrap_or(&[]),
            SioPacketType::Ack | SioPacketType::BinaryAck => all,
            _ => &[],
        }
    }

    fn simple(kind: SioPacketType, nsp: &str) -> SioPacket {
        SioPacket {
            kind,
            nsp: nsp.to_owned(),
            query: None,
            id: None,
            data: None,
            attachments: Vec::new(),
        }
    }
}

/// The per-type data check of §2.3 step 5, plus "data required" for EVENT, BINARY_EVENT and
/// BINARY_ACK.
fn payload_valid(kind: SioPacketType, data: Option<&Value>) -> bool {
    use SioPacketType::*;
    match (kind, data) {
        (Connect, None | Some(Value::Object(_))) => true,
        (Disconnect, None) => true,
        (Event | BinaryEvent, Some(Value::Array(a))) => {
            matches!(a.first(), Some(Value::String(_) | Value::Number(_)))
        }
        (Ack, None) => true,
        (Ack | BinaryAck, Some(Value::Array(_))) => true,
        (Error, None | Some(Value::String(_) | Value::Object(_))) => true,
        _ => false,
    }
}

fn check_nsp(nsp: &str) -> Result<(), SioUsageError> {
    if !nsp.starts_with('/') || nsp.contains(',') {
        return Err(SioUsageError::InvalidNamespace(nsp.to_owned()));
    }
    Ok(())
}

fn check_id(id: u64) -> Result<(), SioUsageError> {
    if id > MAX_ID {
        return Err(SioUsageError::IdTooLarge(id));
    }
    Ok(())
}

fn check_attachments(data: &Value, count: usize) -> Result<(), SioUsageError> {
    if count > MAX_ATTACHMENTS {
        return Err(SioUsageError::TooManyAttachments(count));
    }
    match check_placeholders(data, count) {
        PlaceholderCheck::Illegal => Err(SioUsageError::PlaceholderOutOfRange),
        PlaceholderCheck::Missing(n) => Err(SioUsageError::UnreferencedAttachment(n)),
        PlaceholderCheck::Complete => Ok(()),
    }
}
