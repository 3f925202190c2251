//! Binary attachments (spec §2.4): placeholders and the per-connection [`Reconstructor`].

use super::{SioError, SioPacket};
use bytes::Bytes;
use serde_json::{Map, Value};

/// The placeholder that stands for attachment `num`: `{"_placeholder":true,"num":<num>}`.
pub fn placeholder(num: usize) -> Value {
    let mut m = Map::new();
    m.insert("_placeholder".to_owned(), Value::Bool(true));
    m.insert("num".to_owned(), Value::from(num));
    Value::Object(m)
}

/// The attachment number when `v` is a placeholder: an object whose `_placeholder` is `true`
/// and whose `num` is a non-negative integer (other members are ignored, as the reference
/// does).
pub fn is_placeholder(v: &Value) -> Option<usize> {
    let m = claims_placeholder(v)?;
    m.get("num")?.as_u64().and_then(|n| usize::try_from(n).ok())
}

/// How many placeholders `v` contains, at any depth (a placeholder is not searched inside).
pub fn count_placeholders(v: &Value) -> usize {
    let mut n = 0;
    walk(v, |p| {
        if is_placeholder(p).is_some() {
            n += 1;
        }
    });
    n
}

/// An object with `"_placeholder": true`, valid or not.
fn claims_placeholder(v: &Value) -> Option<&Map<String, Value>> {
    let m = v.as_object()?;
    (m.get("_placeholder") == Some(&Value::Bool(true))).then_some(m)
}

/// Calls `f` on every object claiming to be a placeholder, depth-first, without recursion (so
/// deeply nested values cannot overflow the stack here).
fn walk<'a>(v: &'a Value, mut f: impl FnMut(&'a Value)) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a.iter().rev()),
            Value::Object(m) => {
                if claims_placeholder(v).is_some() {
                    f(v);
                } else {
                    stack.extend(m.values());
                }
            }
            _ => {}
        }
    }
}

/// The result of matching the placeholders of some data against `count` attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaceholderCheck {
    /// Some object claims to be a placeholder but its `num` is malformed or ≥ `count`.
    Illegal,
    /// All placeholders are in range but attachment `.0` has none.
    Missing(usize),
    /// Every placeholder is in range and every attachment has one.
    Complete,
}

pub(crate) fn check_placeholders(v: &Value, count: usize) -> PlaceholderCheck {
    let mut seen = vec![false; count];
    let mut illegal = false;
    walk(v, |p| match is_placeholder(p).and_then(|n| seen.get_mut(n)) {
        Some(slot) => *slot = true,
        None => illegal = true,
    });
    if illegal {
        return PlaceholderCheck::Illegal;
    }
    match seen.iter().position(|s| !s) {
        Some(n) => PlaceholderCheck::Missing(n),
        None => PlaceholderCheck::Complete,
    }
}

/// Per-connection reconstruction state: turns the Engine.IO messages of one connection into
/// complete Socket.IO packets. A BINARY_EVENT / BINARY_ACK header is held until its
/// attachments have arrived as the following binary messages; they may come in later polling
/// requests or after an upgrade, so keep one `Reconstructor` per connection for its whole life.
///
/// Any error resets the state (the caller is expected to close the connection anyway).
/// Memory is bounded by one header plus `max_attachment_bytes` of attachments.
#[derive(Debug, Clone)]
pub struct Reconstructor {
    max_attachment_bytes: usize,
    /// Boxed: rare, and a connection keeps one `Reconstructor` for life.
    pending: Option<Box<Pending>>,
}

#[derive(Debug, Clone)]
struct Pending {
    packet: SioPacket,
    expected: usize,
    bytes: usize,
}

impl Reconstructor {
    /// A reconstructor that refuses packets whose attachments add up to more than
    /// `max_attachment_bytes` ([`SioError::AttachmentsTooLarge`]).
    pub fn new(max_attachment_bytes: usize) -> Self {
        Reconstructor { max_attachment_bytes, pending: None }
    }

    /// A text message (the Engine.IO message data without its `4`): decodes it. Returns the
    /// packet when it is complete, `None` when it is a BINARY_EVENT / BINARY_ACK header now
    /// waiting for its attachments. Text while waiting is [`SioError::UnexpectedText`].
    pub fn handle_text(&mut self, s: &str) -> Result<Option<SioPacket>, SioError> {
        if self.pending.take().is_some() {
            return Err(SioError::UnexpectedText);
        }
        let (packet, expected) = SioPacket::decode(s)?;
        if expected == 0 {
            return Ok(Some(packet));
        }
        self.pending = Some(Box::new(Pending { packet, expected, bytes: 0 }));
        Ok(None)
    }

    /// A binary message (the Engine.IO message data, without the type byte; base64 messages
    /// decoded): the next attachment. Returns the packet once its last attachment arrived.
    /// Binary while nothing waits is [`SioError::UnexpectedBinary`].
    pub fn handle_binary(&mut self, data: Bytes) -> Result<Option<SioPacket>, SioError> {
        let Some(mut p) = self.pending.take() else {
            return Err(SioError::UnexpectedBinary);
        };
        p.bytes = match p.bytes.checked_add(data.len()) {
            Some(b) if b <= self.max_attachment_bytes => b,
            _ => return Err(SioError::AttachmentsTooLarge),
        };
        p.packet.attachments.push(data);
        if p.packet.attachments.len() == p.expected {
            return Ok(Some(p.packet));
        }
        self.pending = Some(p);
        Ok(None)
    }

    /// Whether a header is waiting for attachments.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops a half-received packet.
    pub fn reset(&mut self) {
        self.pending = None;
    }
}
