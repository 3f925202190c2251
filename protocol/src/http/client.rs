//! The client side of a keep-alive HTTP/1.1 connection: requests out, responses in.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use super::head::head_worth_parsing;
use super::response::status_has_body;
use super::{
    parse_response_head, ChunkedDecoder, Headers, HttpError, Limits, Request, Response,
    ResponseHead,
};

/// Writes requests and parses the responses to them, from bytes that may arrive in any
/// chunking.
///
/// Bodies may be framed by `Content-Length`, `Transfer-Encoding: chunked` (extensions skipped,
/// trailers kept in [`Response::trailers`]) or the end of the connection
/// ([`handle_eof`](Self::handle_eof)). Responses to `HEAD`, 1xx, 204 and 304 have no body.
/// Interim 1xx responses are yielded too, ahead of the final one for the same request.
///
/// The machine stops after a response that closes the connection, after an error (yielded
/// once), and after `101 Switching Protocols` or a 2xx answer to `CONNECT`, whose following
/// bytes [`take_remaining`](Self::take_remaining) returns.
#[derive(Debug)]
pub struct ClientConnection {
    limits: Limits,
    buf: BytesMut,
    state: State,
    /// What kind of request each outstanding response answers, oldest first.
    pending: VecDeque<Sent>,
    eof: bool,
    /// How much of `buf` the head parser has seen (see `head_worth_parsing`).
    scanned: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Head,
    Connect,
    Other,
}

#[derive(Debug)]
enum State {
    Head,
    Fixed { head: ResponseHead, len: usize },
    Chunked { head: ResponseHead, decoder: Box<ChunkedDecoder>, body: Vec<u8> },
    UntilEof { head: ResponseHead },
    Detached,
    Closed,
}

impl Default for ClientConnection {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ClientConnection {
    /// A connection with no request sent yet.
    pub fn new(limits: Limits) -> Self {
        ClientConnection {
            limits,
            buf: BytesMut::new(),
            state: State::Head,
            pending: VecDeque::new(),
            eof: false,
            scanned: 0,
        }
    }

    /// Encodes `request` for sending and remembers its method, which decides how the response
    /// is framed (`HEAD`: no body; `CONNECT`: a 2xx hands the connection over).
    pub fn send(&mut self, request: &Request) -> Bytes {
        self.pending.push_back(match request.head.method.as_str() {
            "HEAD" => Sent::Head,
            "CONNECT" => Sent::Connect,
            _ => Sent::Other,
        });
        request.encode()
    }

    /// Bytes received from the server. Ignored once the connection is closed for responses.
    pub fn handle_data(&mut self, data: &[u8]) {
        if !matches!(self.state, State::Closed) && !self.eof {
            self.buf.extend_from_slice(data);
        }
    }

    /// The server closed its side: completes a body delimited by the connection's end; a
    /// partial response becomes [`HttpError::UnexpectedEof`].
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The next complete response, an error (yielded once, then `None` forever), or `None` when
    /// more bytes are needed or no more responses will come.
    #[must_use]
    pub fn poll_response(&mut self) -> Option<Result<Response, HttpError>> {
        loop {
            match &mut self.state {
                State::Head => {
                    if self.buf.is_empty() {
                        if self.eof {
                            self.close();
                        }
                        return None;
                    }
                    if !head_worth_parsing(&self.buf, &mut self.scanned, &self.limits, self.eof) {
                        return None;
                    }
                    match parse_response_head(&self.buf, &self.limits) {
                        Err(e) => return Some(Err(self.fail(e))),
                        Ok(None) if self.eof => {
                            return Some(Err(self.fail(HttpError::UnexpectedEof)))
                        }
                        Ok(None) => return None,
                        Ok(Some((head, n))) => {
                            self.buf.advance(n);
                            self.scanned = 0;
                            if let Some(done) = self.start_body(head) {
                                return Some(done);
                            }
                        }
                    }
                }
                State::Fixed { len, .. } => {
                    let len = *len;
                    if self.buf.len() < len {
                        if self.eof {
                            return Some(Err(self.fail(HttpError::UnexpectedEof)));
                        }
                        return None;
                    }
                    let body = self.buf.split_to(len).freeze();
                    let State::Fixed { head, .. } = std::mem::replace(&mut self.state, State::Head)
                    else {
                        unreachable!("matched above")
                    };
                    return Some(Ok(self.finish(head, body, Headers::new())));
                }
                State::Chunked { decoder, body, .. } => {
                    match decoder.decode(&self.buf, body) {
                        Err(e) => return Some(Err(self.fail(e))),
                        Ok(n) => self.buf.advance(n),
                    }
                    if !decoder.is_done() {
                        if self.eof {
                            return Some(Err(self.fail(HttpError::UnexpectedEof)));
                        }
                        return None;
                    }
                    let trailers = decoder.take_trailers();
                    let State::Chunked { head, body, .. } =
                        std::mem::replace(&mut self.state, State::Head)
                    else {
                        unreachable!("matched above")
                    };
                    return Some(Ok(self.finish(head, Bytes::from(body), trailers)));
                }
                State::UntilEof { .. } => {
                    if self.buf.len() > self.limits.max_body {
                        let limit = self.limits.max_body;
                        return Some(Err(self.fail(HttpError::BodyTooLarge { limit })));
                    }
                    if !self.eof {
                        return None;
                    }
                    let body = std::mem::take(&mut self.buf).freeze();
                    let State::UntilEof { head } =
                        std::mem::replace(&mut self.state, State::Closed)
                    else {
                        unreachable!("matched above")
                    };
                    return Some(Ok(Response { head, body, trailers: Headers::new() }));
                }
                State::Detached | State::Closed => return None,
            }
        }
    }

    /// Bytes received after the last yielded response, e.g. WebSocket frames that followed a
    /// `101`. From now on no responses are parsed, and later
    /// [`handle_data`](Self::handle_data) bytes only gather for another call of this.
    pub fn take_remaining(&mut self) -> Bytes {
        if !matches!(self.state, State::Closed) {
            self.state = State::Detached;
        }
        self.scanned = 0;
        std::mem::take(&mut self.buf).freeze()
    }

    /// Whether no more responses will be yielded (closed, failed, or handed over).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Closed | State::Detached)
    }

    /// Whether the connection switched protocols (`101`, or a 2xx to `CONNECT`): take the
    /// rest with [`take_remaining`](Self::take_remaining).
    pub fn is_upgraded(&self) -> bool {
        matches!(self.state, State::Detached)
    }

    /// How many sent requests still await their final response.
    pub fn pending_responses(&self) -> usize {
        self.pending.len()
    }

    /// Picks the body framing for a just-parsed head; returns the response when it has no body.
    fn start_body(&mut self, head: ResponseHead) -> Option<Result<Response, HttpError>> {
        let status = head.status;
        let empty = |head| Response { head, body: Bytes::new(), trailers: Headers::new() };
        if (100..200).contains(&status) && status != 101 {
            // Interim: the request still awaits its final response.
            return Some(Ok(empty(head)));
        }
        let sent = self.pending.pop_front().unwrap_or(Sent::Other);
        if status == 101 || (sent == Sent::Connect && (200..300).contains(&status)) {
            self.state = State::Detached;
            return Some(Ok(empty(head)));
        }
        if sent == Sent::Head || !status_has_body(status) {
            return Some(Ok(self.finish(head, Bytes::new(), Headers::new())));
        }
        if head.headers.contains("transfer-encoding") {
            if !only_chunked(&head.headers) {
                return Some(Err(self.fail(HttpError::UnsupportedTransferEncoding)));
            }
            let decoder = Box::new(ChunkedDecoder::new(self.limits));
            self.state = State::Chunked { head, decoder, body: Vec::new() };
            return None;
        }
        match head.headers.content_length() {
            Err(e) => Some(Err(self.fail(e))),
            Ok(Some(n)) => match usize::try_from(n).ok().filter(|&n| n <= self.limits.max_body) {
                Some(len) => {
                    self.state = State::Fixed { head, len };
                    None
                }
                None => {
                    let limit = self.limits.max_body;
                    Some(Err(self.fail(HttpError::BodyTooLarge { limit })))
                }
            },
            Ok(None) => {
                self.state = State::UntilEof { head };
                None
            }
        }
    }

    /// Completes a response and sets the state for what follows it.
    fn finish(&mut self, head: ResponseHead, body: Bytes, trailers: Headers) -> Response {
        if head.keep_alive() {
            self.state = State::Head;
            if self.buf.is_empty() {
                self.buf = BytesMut::new();
            }
        } else {
            self.close();
        }
        Response { head, body, trailers }
    }

    fn fail(&mut self, e: HttpError) -> HttpError {
        self.close();
        e
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.buf = BytesMut::new();
        self.scanned = 0;
    }
}

/// Whether `Transfer-Encoding` lists exactly one coding, `chunked`: the only one supported
/// (`gzip, chunked` would need decompression).
fn only_chunked(headers: &Headers) -> bool {
    let mut codings = headers
        .get_all("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim_matches([' ', '\t']))
        .filter(|c| !c.is_empty());
    let first_is_chunked = codings.next().is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
    first_is_chunked && codings.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{encode_chunk, encode_last_chunk};

    fn get() -> Request {
        Request::new("GET", "example.com", "/")
    }

    #[test]
    fn content_length_response() {
        let mut c = ClientConnection::default();
        let _ = c.send(&get());
        c.handle_data(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab");
        assert!(c.poll_response().is_none());
        c.handle_data(b"c");
        let r = c.poll_response().unwrap().unwrap();
        assert_eq!((r.head.status, &r.body[..]), (200, &b"abc"[..]));
        assert_eq!(c.pending_responses(), 0);
        assert_eq!(c.buf.capacity(), 0);
        assert!(!c.is_finished());
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let mut c = ClientConnection::default();
        let _ = c.send(&get());
        let wire: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;name=value\r\nhello\r\n1 ; a=\"b;c\"\r\n \r\n6\r\nworld!\r\n0\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n\
            HTTP/1.1 204 No Content\r\n\r\n";
        let _ = c.send(&get());
        c.handle_data(wire);
        let r = c.poll_response().unwrap().unwrap();
        assert_eq!(&r.body[..], b"hello world!");
        assert_eq!(r.trailers.get("x-sum"), Some("1"));
        assert_eq!(r.trailers.len(), 2);
        let r = c.poll_response().unwrap().unwrap();
        assert_eq!(r.head.status, 204);
        assert!(c.poll_response().is_none());
    }

    #[test]
    fn chunked_roundtrip_bytewise() {
        let mut wire =
            Response::new(200).header("Transfer-Encoding", "chunked").encode_head().to_vec();
        wire.extend_from_slice(&encode_chunk(b"abc"));
        wire.extend_from_slice(&encode_chunk(b""));
        wire.extend_from_slice(&encode_chunk(&[7; 300]));
        wire.extend_from_slice(&encode_last_chunk(&Headers::new()));
        let mut c = ClientConnection::default();
        let mut got = None;
        for b in &wire {
            c.handle_data(std::slice::from_ref(b));
            if let Some(r) = c.poll_response() {
                got = Some(r.unwrap());
            }
        }
        let r = got.unwrap();
        assert_eq!(r.body.len(), 303);
        assert!(r.trailers.is_empty());
    }

    #[test]
    fn until_eof_body() {
        let mut c = ClientConnection::default();
        c.handle_data(b"HTTP/1.0 200 OK\r\n\r\nsome");
        assert!(c.poll_response().is_none());
        c.handle_data(b" bytes");
        c.handle_eof();
        let r = c.poll_response().unwrap().unwrap();
        assert_eq!(&r.body[..], b"some bytes");
        assert!(c.is_finished());
        assert!(c.poll_response().is_none());
    }

    #[test]
    fn bodiless_responses() {
        let mut c = ClientConnection::default();
        let _ = c.send(&Request::new("HEAD", "h", "/"));
        let _ = c.send(&get());
        let _ = c.send(&get());
        let _ = c.send(&get());
        c.handle_data(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        c.handle_data(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        );
        c.handle_data(
            b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        );
        let statuses: Vec<_> = std::iter::from_fn(|| c.poll_response())
            .map(|r| {
                let r = r.unwrap();
                (r.head.status, r.body.len())
            })
            .collect();
        assert_eq!(statuses, [(200, 0), (100, 0), (304, 0), (204, 0), (200, 1)]);
        assert_eq!(c.pending_responses(), 0);
    }

    #[test]
    fn switching_protocols_hands_over() {
        let mut c = ClientConnection::default();
        let _ = c.send(&get().header("Connection", "Upgrade").header("Upgrade", "websocket"));
        c.handle_data(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00");
        assert_eq!(c.poll_response().unwrap().unwrap().head.status, 101);
        assert!(c.is_upgraded());
        assert!(c.poll_response().is_none());
        assert_eq!(&c.take_remaining()[..], b"\x81\x00");
    }

    #[test]
    fn connect_tunnel() {
        let mut c = ClientConnection::default();
        let _ = c.send(&Request::new("CONNECT", "h:443", "h:443"));
        c.handle_data(b"HTTP/1.1 200 OK\r\n\r\ntls");
        assert!(c.poll_response().unwrap().is_ok());
        assert_eq!(&c.take_remaining()[..], b"tls");
    }

    #[test]
    fn connection_close_stops_parsing() {
        let mut c = ClientConnection::default();
        c.handle_data(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
        assert!(c.poll_response().unwrap().is_ok());
        assert!(c.poll_response().is_none());
        assert!(c.is_finished());
    }

    #[test]
    fn errors() {
        let limits = Limits { max_body: 8, ..Limits::default() };
        let cases: [(&[u8], HttpError); 7] = [
            (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", HttpError::BodyTooLarge { limit: 8 }),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n",
                HttpError::BodyTooLarge { limit: 8 },
            ),
            (b"HTTP/1.1 200 OK\r\n\r\n123456789", HttpError::BodyTooLarge { limit: 8 }),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HttpError::UnsupportedTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                HttpError::InvalidChunk("missing chunk size"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                HttpError::InvalidChunk("chunk data longer than its size"),
            ),
        ];
        for (bytes, err) in cases {
            let mut c = ClientConnection::new(limits);
            c.handle_data(bytes);
            assert_eq!(c.poll_response().unwrap().unwrap_err(), err);
            assert!(c.poll_response().is_none());
            assert!(c.is_finished());
        }
        let mut c = ClientConnection::default();
        c.handle_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
        c.handle_eof();
        assert_eq!(c.poll_response().unwrap().unwrap_err(), HttpError::UnexpectedEof);
    }
}
