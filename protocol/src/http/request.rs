//! Requests: what [`ServerConnection`](super::ServerConnection) yields, and what a client
//! builds and encodes.

use bytes::{BufMut, Bytes, BytesMut};

use super::encode::{checked_field, finish, headers_len, is_target, is_token, Framing};
use super::{Headers, RequestHead, Version};

/// A complete request: head and body.
///
/// Also the client-side builder: `Request::new("POST", "example.com", "/x").body(b).encode()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method, target, version and header fields.
    pub head: RequestHead,
    /// The body (empty if there is none).
    pub body: Bytes,
}

impl Request {
    /// An HTTP/1.1 request for `target` (e.g. `/path?query`) with `Host: host` and no body.
    ///
    /// # Panics
    /// If `method` is not a token, `target` is empty or holds spaces or control bytes, or
    /// `host` is not a valid field value.
    pub fn new(method: &str, host: &str, target: &str) -> Self {
        assert!(is_token(method), "invalid HTTP method {method:?}");
        assert!(is_target(target), "invalid request target {target:?}");
        let mut headers = Headers::new();
        headers.append("Host", checked_field("Host", host));
        Request {
            head: RequestHead {
                method: method.to_owned(),
                target: target.to_owned(),
                version: Version::Http11,
                headers,
            },
            body: Bytes::new(),
        }
    }

    /// Appends a header field (surrounding whitespace of `value` is dropped).
    ///
    /// `Content-Length` needs no setting: [`encode`](Self::encode) writes it.
    ///
    /// # Panics
    /// If `name` is not a token or `value` holds control bytes such as CR or LF.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let value = checked_field(name, value);
        self.head.headers.append(name, value);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the protocol version (HTTP/1.1 by default).
    pub fn version(mut self, version: Version) -> Self {
        self.head.version = version;
        self
    }

    /// Serialises head and body.
    ///
    /// Any `Content-Length` field is replaced by the body's length, written last; it is left
    /// out for an empty body unless the method is `POST`, `PUT` or `PATCH`. If the headers
    /// hold `Transfer-Encoding`, headers and body are written exactly as given (the body must
    /// already be encoded, e.g. with [`encode_chunk`](super::encode_chunk)).
    pub fn encode(&self) -> Bytes {
        let mut out = self.start(self.body.len() + 24);
        let framing = if self.head.headers.contains("transfer-encoding") {
            Framing::AsGiven
        } else if !self.body.is_empty()
            || matches!(self.head.method.as_str(), "POST" | "PUT" | "PATCH")
        {
            Framing::Length
        } else {
            Framing::Empty
        };
        finish(&mut out, &self.head.headers, &self.body, framing);
        out.freeze()
    }

    /// Serialises only the head, with its fields exactly as given (no `Content-Length` is
    /// added); for bodies streamed separately, e.g. chunked uploads.
    pub fn encode_head(&self) -> Bytes {
        let mut out = self.start(0);
        finish(&mut out, &self.head.headers, &[], Framing::None);
        out.freeze()
    }

    fn start(&self, extra: usize) -> BytesMut {
        let head = &self.head;
        let len = head.method.len() + head.target.len() + 12 + headers_len(&head.headers) + 2;
        let mut out = BytesMut::with_capacity(len + extra);
        out.put_slice(head.method.as_bytes());
        out.put_u8(b' ');
        out.put_slice(head.target.as_bytes());
        out.put_u8(b' ');
        out.put_slice(head.version.as_str().as_bytes());
        out.put_slice(b"\r\n");
        out
    }
}
