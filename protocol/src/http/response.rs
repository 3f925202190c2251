//! Responses: what a server builds and encodes, and what
//! [`ClientConnection`](super::ClientConnection) yields.

use bytes::{BufMut, Bytes, BytesMut};

use super::encode::{checked_field, finish, headers_len, is_field_value, Framing};
use super::{Headers, HttpError, ResponseHead, Version};

/// A complete response: head, body and (for chunked bodies) trailer fields.
///
/// Also the server-side builder: `Response::new(200).header("Content-Type", "text/plain")
/// .body("ok").encode()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status, reason, version and header fields.
    pub head: ResponseHead,
    /// The body (empty if there is none).
    pub body: Bytes,
    /// Trailer fields of a chunked body (empty otherwise); [`encode`](Self::encode) ignores
    /// them, [`encode_last_chunk`](super::encode_last_chunk) writes them.
    pub trailers: Headers,
}

impl Response {
    /// An HTTP/1.1 response with `status`, its standard reason phrase and no body.
    ///
    /// # Panics
    /// If `status` is not a three-digit code (100..=999).
    pub fn new(status: u16) -> Self {
        assert!((100..=999).contains(&status), "invalid HTTP status {status}");
        Response {
            head: ResponseHead {
                status,
                reason: reason_phrase(status).to_owned(),
                version: Version::Http11,
                headers: Headers::new(),
            },
            body: Bytes::new(),
            trailers: Headers::new(),
        }
    }

    /// The response a server sends for a parse error: its status, `Connection: close`, no
    /// body. Close the connection after writing it.
    pub fn error(error: &HttpError) -> Self {
        Response::new(error.status()).header("Connection", "close")
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

    /// Replaces the reason phrase.
    ///
    /// # Panics
    /// If `reason` holds control bytes such as CR or LF.
    pub fn reason(mut self, reason: &str) -> Self {
        assert!(is_field_value(reason), "invalid reason phrase {reason:?}");
        self.head.reason = reason.to_owned();
        self
    }

    /// Sets the protocol version (HTTP/1.1 by default).
    pub fn version(mut self, version: Version) -> Self {
        self.head.version = version;
        self
    }

    /// Serialises head and body.
    ///
    /// Any `Content-Length` field is replaced by the body's length, written last. Statuses
    /// without a body (1xx, 204, 304) get their fields exactly as given and no body. If the
    /// headers hold `Transfer-Encoding`, headers and body are written exactly as given (the
    /// body must already be encoded). For a response to `HEAD`, use
    /// [`encode_head`](Self::encode_head) with a `Content-Length` of your choosing.
    pub fn encode(&self) -> Bytes {
        let framing = if !status_has_body(self.head.status) {
            Framing::None
        } else if self.head.headers.contains("transfer-encoding") {
            Framing::AsGiven
        } else {
            Framing::Length
        };
        let extra = if matches!(framing, Framing::None) { 0 } else { self.body.len() + 24 };
        let mut out = self.start(extra);
        finish(&mut out, &self.head.headers, &self.body, framing);
        out.freeze()
    }

    /// Serialises only the head, with its fields exactly as given (no `Content-Length` is
    /// added): for `101 Switching Protocols`, chunked streams and answers to `HEAD`.
    pub fn encode_head(&self) -> Bytes {
        let mut out = self.start(0);
        finish(&mut out, &self.head.headers, &[], Framing::None);
        out.freeze()
    }

    fn start(&self, extra: usize) -> BytesMut {
        let head = &self.head;
        let len = 14 + head.reason.len() + headers_len(&head.headers) + 2;
        let mut out = BytesMut::with_capacity(len + extra);
        out.put_slice(head.version.as_str().as_bytes());
        out.put_u8(b' ');
        out.put_slice(head.status.to_string().as_bytes());
        out.put_u8(b' ');
        out.put_slice(head.reason.as_bytes());
        out.put_slice(b"\r\n");
        out
    }
}

/// Whether a response with `status` may carry a body (not 1xx, 204 or 304).
pub(super) fn status_has_body(status: u16) -> bool {
    !((100..200).contains(&status) || status == 204 || status == 304)
}

/// The standard reason phrase of a status code (RFC 9110), or `""` for codes it does not list.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
