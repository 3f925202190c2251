//! The server side of a keep-alive HTTP/1.1 connection: requests in, one after another.

use bytes::{Buf, Bytes, BytesMut};

use super::head::head_worth_parsing;
use super::{parse_request_head, HttpError, Limits, Request, RequestHead, Version};

/// Parses the requests a client sends over one connection, pipelined or not, from bytes that
/// may arrive in any chunking.
///
/// Request bodies must be framed by `Content-Length`; any `Transfer-Encoding` on a request is
/// refused with [`HttpError::UnsupportedTransferEncoding`] (501), which also shuts out
/// request-smuggling tricks that pair it with `Content-Length`. HTTP/1.1 requests need exactly
/// one `Host` field (400 otherwise).
///
/// The machine stops yielding requests after one that does not keep the connection alive
/// ([`RequestHead::keep_alive`]), after an error (yielded once; answer it with
/// [`Response::error`](super::Response::error) and close), and after an upgrade request until
/// the caller calls [`take_remaining`](Self::take_remaining) or
/// [`decline_upgrade`](Self::decline_upgrade).
///
/// Memory: only bytes of an unfinished request are kept; between requests the buffer is an
/// empty `BytesMut` without allocation.
#[derive(Debug)]
pub struct ServerConnection {
    limits: Limits,
    buf: BytesMut,
    state: State,
    eof: bool,
    /// How much of `buf` the head parser has seen (see `head_worth_parsing`).
    scanned: usize,
    /// The head of a request refused for its body (e.g. too large).
    failed: Option<Box<RequestHead>>,
}

#[derive(Debug)]
enum State {
    /// Waiting for (more of) a request head.
    Head,
    /// Head parsed; waiting for `len` body bytes.
    Body { head: RequestHead, len: usize },
    /// An upgrade request was yielded; parsing waits for the caller's decision.
    UpgradePending { keep_alive: bool },
    /// The caller took the connection over with `take_remaining`.
    Detached,
    /// No further requests: after a closing request, an error, or the end of input.
    Closed,
}

impl Default for ServerConnection {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ServerConnection {
    /// A connection waiting for its first request.
    pub fn new(limits: Limits) -> Self {
        ServerConnection {
            limits,
            buf: BytesMut::new(),
            state: State::Head,
            eof: false,
            scanned: 0,
            failed: None,
        }
    }

    /// Bytes received from the client. Ignored once the connection is closed for requests.
    pub fn handle_data(&mut self, data: &[u8]) {
        if !matches!(self.state, State::Closed) && !self.eof {
            self.buf.extend_from_slice(data);
        }
    }

    /// The client closed its side. Requests already complete are still yielded; a partial one
    /// becomes [`HttpError::UnexpectedEof`].
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The next complete request, an error (yielded once, then `None` forever), or `None` when
    /// more bytes are needed or no more requests will come.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<Result<Request, HttpError>> {
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
                    match parse_request_head(&self.buf, &self.limits) {
                        Err(e) => return Some(Err(self.fail(e))),
                        Ok(None) if self.eof => {
                            return Some(Err(self.fail(HttpError::UnexpectedEof)))
                        }
                        Ok(None) => return None,
                        Ok(Some((head, n))) => match body_length(&head, &self.limits) {
                            Err(e) => {
                                self.failed = Some(Box::new(head));
                                return Some(Err(self.fail(e)));
                            }
                            Ok(len) => {
                                self.buf.advance(n);
                                self.scanned = 0;
                                self.state = State::Body { head, len };
                            }
                        },
                    }
                }
                State::Body { len, .. } => {
                    let len = *len;
                    if self.buf.len() < len {
                        if self.eof {
                            return Some(Err(self.fail(HttpError::UnexpectedEof)));
                        }
                        return None;
                    }
                    let body = self.buf.split_to(len).freeze();
                    let State::Body { head, .. } = std::mem::replace(&mut self.state, State::Head)
                    else {
                        unreachable!("matched above")
                    };
                    let keep_alive = head.keep_alive();
                    if head.is_upgrade() {
                        self.state = State::UpgradePending { keep_alive };
                    } else if !keep_alive {
                        self.close();
                    }
                    self.release_if_empty();
                    return Some(Ok(Request { head, body }));
                }
                State::UpgradePending { .. } | State::Detached | State::Closed => return None,
            }
        }
    }

    /// The head of a request whose body is still arriving, e.g. to answer
    /// [`expects_continue`](RequestHead::expects_continue) with `100 Continue`.
    pub fn pending_head(&self) -> Option<&RequestHead> {
        match &self.state {
            State::Body { head, .. } => Some(head),
            _ => None,
        }
    }

    /// The head of the request whose body was refused by the last error (e.g.
    /// [`HttpError::BodyTooLarge`]), to tell which resource it was for.
    pub fn failed_head(&self) -> Option<&RequestHead> {
        self.failed.as_deref()
    }

    /// Hands the connection over (e.g. to a WebSocket machine after an upgrade): returns the
    /// bytes received after the last yielded request. From now on no requests are parsed, and
    /// later [`handle_data`](Self::handle_data) bytes only gather for another call of this.
    pub fn take_remaining(&mut self) -> Bytes {
        if !matches!(self.state, State::Closed) {
            self.state = State::Detached;
        }
        self.scanned = 0;
        std::mem::take(&mut self.buf).freeze()
    }

    /// After an upgrade request answered with an ordinary response: go on parsing requests
    /// (if the upgrade request kept the connection alive). No effect in other states.
    pub fn decline_upgrade(&mut self) {
        if let State::UpgradePending { keep_alive } = self.state {
            if keep_alive {
                self.state = State::Head;
            } else {
                self.close();
            }
        }
    }

    /// Whether an upgrade request was yielded and awaits
    /// [`take_remaining`](Self::take_remaining) or [`decline_upgrade`](Self::decline_upgrade).
    pub fn is_upgrade_pending(&self) -> bool {
        matches!(self.state, State::UpgradePending { .. })
    }

    /// Whether no more requests will be yielded: after a request without keep-alive, an error,
    /// the end of input, or [`take_remaining`](Self::take_remaining). The caller closes the
    /// connection once its last response is written (unless it took the connection over).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Closed | State::Detached)
    }

    /// Whether the connection sits between requests with nothing buffered.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.buf.is_empty()
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

    fn release_if_empty(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }
}

/// Checks a request head's framing and returns its body length.
fn body_length(head: &RequestHead, limits: &Limits) -> Result<usize, HttpError> {
    let hosts = head.headers.get_all("host").count();
    if hosts > 1 || (hosts == 0 && head.version == Version::Http11) {
        return Err(HttpError::Malformed("HTTP/1.1 request needs exactly one Host field"));
    }
    if head.headers.contains("transfer-encoding") {
        return Err(HttpError::UnsupportedTransferEncoding);
    }
    match head.headers.content_length()? {
        None => Ok(0),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|&n| n <= limits.max_body)
            .ok_or(HttpError::BodyTooLarge { limit: limits.max_body }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ServerConnection {
        ServerConnection::default()
    }

    fn one(conn: &mut ServerConnection, bytes: &[u8]) -> Result<Request, HttpError> {
        conn.handle_data(bytes);
        conn.poll_request().expect("a request or an error")
    }

    #[test]
    fn simple_get_and_idle_buffer_is_released() {
        let mut c = server();
        let r = one(&mut c, b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(r.head.method, "GET");
        assert_eq!(r.head.path(), "/a");
        assert!(r.body.is_empty());
        assert!(c.poll_request().is_none());
        assert!(c.is_idle());
        assert_eq!(c.buf.capacity(), 0, "idle connection holds no buffer");
        assert!(!c.is_finished());
    }

    #[test]
    fn body_split_across_calls() {
        let mut c = server();
        c.handle_data(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe");
        assert!(c.poll_request().is_none());
        assert_eq!(c.pending_head().unwrap().method, "POST");
        c.handle_data(b"llo");
        let r = c.poll_request().unwrap().unwrap();
        assert_eq!(&r.body[..], b"hello");
        assert_eq!(c.buf.capacity(), 0);
    }

    #[test]
    fn pipelined_requests() {
        let mut c = server();
        c.handle_data(
            b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nzGET /3 HTTP/1.1\r\nHo",
        );
        assert_eq!(c.poll_request().unwrap().unwrap().head.target, "/1");
        let r = c.poll_request().unwrap().unwrap();
        assert_eq!((r.head.target.as_str(), &r.body[..]), ("/2", &b"z"[..]));
        assert!(c.poll_request().is_none());
        c.handle_data(b"st: x\r\n\r\n");
        assert_eq!(c.poll_request().unwrap().unwrap().head.target, "/3");
    }

    #[test]
    fn byte_by_byte_and_errors_show_at_line_end() {
        let mut c = server();
        let wire = b"\r\nPUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /y HTTP/1.1\nHost: x\n\n";
        let mut got = Vec::new();
        for b in wire {
            c.handle_data(std::slice::from_ref(b));
            while let Some(r) = c.poll_request() {
                got.push(r.unwrap());
            }
        }
        let targets: Vec<_> = got.iter().map(|r| (r.head.target.as_str(), &r.body[..])).collect();
        assert_eq!(targets, [("/x", &b"ok"[..]), ("/y", &b""[..])]);

        let mut c = server();
        c.handle_data(b"GET / HTTP/1.1\r\n");
        assert!(c.poll_request().is_none());
        c.handle_data(b"Bad Header");
        assert!(c.poll_request().is_none(), "waits for the line to end");
        c.handle_data(b": x\r\n");
        assert_eq!(c.poll_request().unwrap().unwrap_err().status(), 400);
    }

    #[test]
    fn keep_alive_rules() {
        let cases: [(&[u8], bool); 6] = [
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
            (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false),
            (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false),
        ];
        for (bytes, alive) in cases {
            let mut c = server();
            let r = one(&mut c, bytes).unwrap();
            assert_eq!(r.head.keep_alive(), alive, "{}", String::from_utf8_lossy(bytes));
            assert_eq!(c.is_finished(), !alive);
            c.handle_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(c.poll_request().is_some(), alive);
        }
    }

    #[test]
    fn upgrade_pauses_and_hands_over_remaining_bytes() {
        let mut c = server();
        c.handle_data(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05",
        );
        let r = c.poll_request().unwrap().unwrap();
        assert!(r.head.is_upgrade());
        assert!(c.is_upgrade_pending());
        assert!(c.poll_request().is_none());
        c.handle_data(b"hello");
        assert_eq!(&c.take_remaining()[..], b"\x81\x05hello");
        assert!(c.is_finished());
        c.handle_data(b"more");
        assert!(c.poll_request().is_none());
        assert_eq!(&c.take_remaining()[..], b"more");
    }

    #[test]
    fn declined_upgrade_goes_on() {
        let mut c = server();
        c.handle_data(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n");
        c.handle_data(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(c.poll_request().unwrap().unwrap().head.is_upgrade());
        assert!(c.poll_request().is_none());
        c.decline_upgrade();
        assert_eq!(c.poll_request().unwrap().unwrap().head.target, "/next");
    }

    #[test]
    fn errors_map_to_statuses_and_are_yielded_once() {
        let small = Limits { max_head: 64, max_headers: 2, max_body: 4 };
        let cases: [(&[u8], u16); 10] = [
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 431),
            (b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", 431),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 413),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400),
            (b"G T / HTTP/1.1\r\n\r\n", 400),
        ];
        for (bytes, status) in cases {
            let mut c = ServerConnection::new(small);
            c.handle_data(bytes);
            match c.poll_request().unwrap() {
                Ok(_) => assert_eq!(status, 0),
                Err(e) => {
                    assert_eq!(e.status(), status, "{}", String::from_utf8_lossy(bytes));
                    assert!(c.is_finished());
                    assert!(c.poll_request().is_none());
                }
            }
        }
    }

    #[test]
    fn oversized_partial_head_fails_early() {
        let mut c = ServerConnection::new(Limits { max_head: 32, ..Limits::default() });
        c.handle_data(b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(c.poll_request().unwrap().unwrap_err().status(), 431);
        assert_eq!(c.buf.capacity(), 0);
    }

    #[test]
    fn eof_handling() {
        let mut c = server();
        c.handle_eof();
        assert!(c.poll_request().is_none());
        assert!(c.is_finished());

        let mut c = server();
        c.handle_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /");
        c.handle_eof();
        assert!(c.poll_request().unwrap().is_ok());
        assert_eq!(c.poll_request().unwrap().unwrap_err(), HttpError::UnexpectedEof);
        assert!(c.poll_request().is_none());

        let mut c = server();
        c.handle_data(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab");
        c.handle_eof();
        assert_eq!(c.poll_request().unwrap().unwrap_err(), HttpError::UnexpectedEof);
    }

    #[test]
    fn expect_continue_is_visible_before_the_body() {
        let mut c = server();
        c.handle_data(
            b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        );
        assert!(c.poll_request().is_none());
        assert!(c.pending_head().unwrap().expects_continue());
    }
}
