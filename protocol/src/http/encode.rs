//! Shared pieces of head serialisation and the checks the builders apply.

use bytes::{BufMut, BytesMut};

use super::Headers;

/// `tchar` of RFC 9110: the characters of a method or a field name.
pub(super) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Field value characters: HTAB, SP, visible ASCII and non-ASCII; no other control bytes.
pub(super) fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

/// Request-target characters as `httparse` accepts them: visible, no space, no DEL.
pub(super) fn is_target(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (b'!'..=b'~').contains(&b) || b >= 0x80)
}

/// Checks one field for a builder; panics with a clear message on invalid input and returns
/// the value with surrounding whitespace removed (which the wire would not keep anyway).
pub(super) fn checked_field<'a>(name: &str, value: &'a str) -> &'a str {
    assert!(is_token(name), "invalid HTTP header name {name:?}");
    assert!(is_field_value(value), "invalid HTTP header value for {name}: {value:?}");
    value.trim_matches([' ', '\t'])
}

/// Appends `name: value\r\n` for every field `keep` accepts.
pub(super) fn put_headers(out: &mut BytesMut, headers: &Headers, keep: impl Fn(&str) -> bool) {
    for (name, value) in headers.iter() {
        if keep(name) {
            put_field(out, name, value);
        }
    }
}

/// Appends one `name: value\r\n`.
pub(super) fn put_field(out: &mut BytesMut, name: &str, value: &str) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_slice(b"\r\n");
}

/// Bytes needed for the header block (without the final empty line).
pub(super) fn headers_len(headers: &Headers) -> usize {
    headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum()
}

/// How an outgoing message with a body frames it.
pub(super) enum Framing {
    /// The head carries no length and no body follows (1xx, 204, 304).
    None,
    /// The caller wrote `Transfer-Encoding`: headers and body go out as given.
    AsGiven,
    /// `Content-Length` is (re)computed from the body.
    Length,
    /// The body is empty and needs no `Content-Length` (e.g. a `GET`).
    Empty,
}

/// Writes the header block, the empty line and the body according to `framing`.
pub(super) fn finish(out: &mut BytesMut, headers: &Headers, body: &[u8], framing: Framing) {
    match framing {
        Framing::None | Framing::AsGiven => put_headers(out, headers, |_| true),
        Framing::Length | Framing::Empty => {
            put_headers(out, headers, |n| !n.eq_ignore_ascii_case("content-length"))
        }
    }
    if let Framing::Length = framing {
        put_field(out, "Content-Length", &body.len().to_string());
    }
    out.put_slice(b"\r\n");
    if !matches!(framing, Framing::None) {
        out.put_slice(body);
    }
}
