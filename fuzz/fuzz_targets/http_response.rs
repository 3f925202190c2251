//! Random bytes into `http::ClientConnection` (after sending one to four requests: GET, HEAD,
//! CONNECT or POST), in random chunkings, with an optional `handle_eof`; plus
//! `ChunkedDecoder` and `parse_response_head` on the raw input.
//!
//! Input: `[mode, seed, methods, flags, data...]`: `mode`/`seed` shape the chunks (see
//! `glue_fuzz::Chunker`); `methods` holds one method per two bits; `flags` bits 0-1: number
//! of requests minus one; bit 2: end with `handle_eof`.
//!
//! Invariants: no panic; bodies never exceed `Limits::max_body`; responses to HEAD, 1xx, 204
//! and 304 are empty; the responses answer the requests in order (`pending_responses`); an
//! error is yielded once and finishes the connection; chunked bodies decode the same in any
//! chunking; feeding the bytes in chunks or all at once yields the same responses.
#![no_main]

use std::collections::VecDeque;

use glue_fuzz::{split_header, Chunker};
use glue_protocol::http::{
    parse_response_head, ChunkedDecoder, ClientConnection, HttpError, Limits, Request, Response,
};

const LIMITS: Limits = Limits { max_head: 1024, max_headers: 16, max_body: 2048 };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Connect,
    Post,
}

impl Method {
    fn request(self) -> Request {
        match self {
            Method::Get => Request::new("GET", "example.com", "/"),
            Method::Head => Request::new("HEAD", "example.com", "/h"),
            Method::Connect => Request::new("CONNECT", "example.com:443", "example.com:443"),
            Method::Post => Request::new("POST", "example.com", "/p").body(&b"data"[..]),
        }
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    responses: Vec<Response>,
    error: Option<HttpError>,
    tunnel: Vec<u8>,
}

fn run<'a>(methods: &[Method], chunks: impl Iterator<Item = &'a [u8]>, eof: bool) -> Outcome {
    let mut conn = ClientConnection::new(LIMITS);
    let mut sent = VecDeque::new();
    for &m in methods {
        let wire = conn.send(&m.request());
        assert!(!wire.is_empty());
        sent.push_back(m);
    }
    assert_eq!(conn.pending_responses(), sent.len());
    let mut out = Outcome { responses: Vec::new(), error: None, tunnel: Vec::new() };
    for chunk in chunks {
        conn.handle_data(chunk);
        poll(&mut conn, &mut sent, &mut out);
    }
    if eof {
        conn.handle_eof();
        poll(&mut conn, &mut sent, &mut out);
        assert!(conn.is_finished(), "connection not finished after EOF");
        assert!(conn.poll_response().is_none());
    }
    out
}

fn poll(conn: &mut ClientConnection, sent: &mut VecDeque<Method>, out: &mut Outcome) {
    if conn.is_upgraded() {
        assert!(conn.poll_response().is_none(), "response parsed after an upgrade");
        out.tunnel.extend_from_slice(&conn.take_remaining());
        return;
    }
    let mut n = 0;
    while let Some(r) = conn.poll_response() {
        n += 1;
        assert!(n <= 4096, "poll_response does not run dry");
        match r {
            Ok(resp) => {
                check_response(conn, sent, &resp);
                out.responses.push(resp);
                if conn.is_upgraded() {
                    out.tunnel.extend_from_slice(&conn.take_remaining());
                    assert!(conn.poll_response().is_none());
                    return;
                }
            }
            Err(e) => {
                assert!(out.error.is_none(), "second error {e:?}");
                assert!(conn.is_finished(), "not finished after {e:?}");
                assert!(conn.poll_response().is_none(), "yield after {e:?}");
                out.error = Some(e);
                return;
            }
        }
    }
}

fn check_response(conn: &ClientConnection, sent: &mut VecDeque<Method>, resp: &Response) {
    let status = resp.head.status;
    assert!(resp.body.len() <= LIMITS.max_body, "body of {} bytes over the limit", resp.body.len());
    assert!(status <= 999);
    if (100..200).contains(&status) && status != 101 {
        assert!(resp.body.is_empty(), "interim response with a body");
        assert_eq!(conn.pending_responses(), sent.len(), "interim response consumed a request");
        return;
    }
    let method = sent.pop_front();
    assert_eq!(conn.pending_responses(), sent.len(), "responses out of step with requests");
    let switch = status == 101 || (method == Some(Method::Connect) && (200..300).contains(&status));
    assert_eq!(conn.is_upgraded(), switch, "upgrade state for {status} to {method:?}");
    if switch || method == Some(Method::Head) || matches!(status, 204 | 304) {
        assert!(resp.body.is_empty(), "{status} to {method:?} with a body");
    }
    if !switch && !resp.head.keep_alive() {
        assert!(conn.is_finished(), "open after a response without keep-alive");
    }
    if !resp.trailers.is_empty() {
        assert!(resp.head.headers.contains("transfer-encoding"));
    }
    // The head re-encodes to bytes that parse back to the same head (reason phrase, status
    // and fields as given). (A status under 100, e.g. `000`, would not re-encode as three
    // digits; the builder refuses such codes.)
    if status < 100 {
        return;
    }
    let mut copy = Response::new(status);
    copy.head = resp.head.clone();
    let wire = copy.encode_head();
    let roomy = Limits { max_head: 1 << 20, max_headers: 64, max_body: 1 << 20 };
    let (again, n) = parse_response_head(&wire, &roomy)
        .expect("re-encoded response head parses")
        .expect("re-encoded response head is complete");
    assert_eq!(n, wire.len());
    assert_eq!(again, resp.head, "response head changed by a round trip");
}

/// What a `ChunkedDecoder` made of some input: bytes consumed (or the error), the body,
/// whether it is done, and the trailer fields.
type Decoded = (Result<usize, HttpError>, Vec<u8>, bool, Vec<(String, String)>);

/// Decodes the input with a fresh `ChunkedDecoder`, fed in the given pieces.
fn decode<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> Decoded {
    let mut d = ChunkedDecoder::new(LIMITS);
    let mut body = Vec::new();
    let mut consumed = 0;
    for piece in pieces {
        match d.decode(piece, &mut body) {
            Err(e) => return (Err(e), body, false, Vec::new()),
            Ok(n) => {
                assert!(n <= piece.len());
                assert!(body.len() <= LIMITS.max_body, "chunked body over the limit");
                consumed += n;
                if n < piece.len() {
                    assert!(d.is_done(), "stopped early without being done");
                    assert_eq!(d.decode(&piece[n..], &mut body), Ok(0), "decoded after the end");
                    break;
                }
            }
        }
    }
    let done = d.is_done();
    let trailers: Vec<(String, String)> =
        d.take_trailers().iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    if !done {
        assert!(trailers.is_empty());
    }
    (Ok(consumed), body, done, trailers)
}

fn head_error(e: &HttpError) -> bool {
    matches!(
        e,
        HttpError::HeadTooLarge { .. } | HttpError::TooManyHeaders { .. } | HttpError::Malformed(_)
    )
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let ([mode, seed, methods, flags], rest) = split_header::<4>(data);
    let count = 1 + usize::from(flags & 3);
    let methods: Vec<Method> = (0..count)
        .map(|i| match (methods >> (2 * i)) & 3 {
            0 => Method::Get,
            1 => Method::Head,
            2 => Method::Connect,
            _ => Method::Post,
        })
        .collect();
    let eof = flags & 4 != 0;

    if let Ok(Some((head, n))) = parse_response_head(rest, &LIMITS) {
        assert!(n <= rest.len() && n <= LIMITS.max_head);
        let _ = (head.keep_alive(), head.headers.content_length());
    }

    // ChunkedDecoder alone: any chunking decodes like the whole input.
    let whole = decode(std::iter::once(rest));
    let pieces = decode(Chunker::new(mode, seed, rest));
    assert_eq!(pieces, whole, "chunking changed the chunked decoding");

    let chunked = run(&methods, Chunker::new(mode, seed, rest), eof);
    if mode % 4 == 0 {
        return;
    }
    let whole = run(&methods, std::iter::once(rest).filter(|r| !r.is_empty()), eof);
    assert_eq!(chunked.responses, whole.responses, "chunking changed the responses");
    assert_eq!(chunked.tunnel, whole.tunnel, "chunking changed the upgraded bytes");
    match (&chunked.error, &whole.error) {
        (None, None) => {}
        (Some(a), Some(b)) if head_error(a) && head_error(b) => {}
        // A partial head is re-parsed only when a line ends (or at the size limit or EOF), so
        // an error after the last line end shows in the whole input at once but waits for
        // more bytes in a chunked run (bounded by `max_head`).
        (None, Some(b)) if !eof && head_error(b) => {}
        (a, b) => assert_eq!(a, b, "chunking changed the error"),
    }
});
