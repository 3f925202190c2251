//! Random bytes into `http::ServerConnection`, in random chunkings, plus `parse_request_head`
//! and the query/percent decoders on the raw input.
//!
//! Input: `[mode, seed, flags, data...]`: `mode`/`seed` shape the chunks (see
//! `glue_fuzz::Chunker`); `flags` bit 0: take an upgrade over (`take_remaining`) instead of
//! declining it; bit 1: end with `handle_eof`.
//!
//! Invariants: no panic; bodies never exceed `Limits::max_body` and match `Content-Length`;
//! an error is yielded once and finishes the connection; a yielded request re-encodes to bytes
//! that parse back to the same head; feeding the bytes in chunks or all at once yields the same
//! requests (and an error in the same place).
#![no_main]

use glue_fuzz::{split_header, Chunker};
use glue_protocol::http::{
    parse_query, parse_request_head, percent_decode, HttpError, Limits, Request, ServerConnection,
    Version,
};

const LIMITS: Limits = Limits { max_head: 1024, max_headers: 16, max_body: 2048 };

/// What one run yields.
#[derive(Debug, PartialEq)]
struct Outcome {
    requests: Vec<Request>,
    error: Option<HttpError>,
    /// Bytes handed over after an accepted upgrade.
    tunnel: Vec<u8>,
}

fn run<'a>(chunks: impl Iterator<Item = &'a [u8]>, take_upgrade: bool, eof: bool) -> Outcome {
    let mut conn = ServerConnection::new(LIMITS);
    let mut out = Outcome { requests: Vec::new(), error: None, tunnel: Vec::new() };
    let mut detached = false;
    for chunk in chunks {
        conn.handle_data(chunk);
        poll(&mut conn, &mut out, take_upgrade, &mut detached);
    }
    if eof {
        conn.handle_eof();
        poll(&mut conn, &mut out, take_upgrade, &mut detached);
        assert!(
            conn.is_finished() || conn.is_upgrade_pending(),
            "connection neither finished nor paused after EOF"
        );
        assert!(conn.poll_request().is_none());
    }
    out
}

fn poll(conn: &mut ServerConnection, out: &mut Outcome, take_upgrade: bool, detached: &mut bool) {
    if *detached {
        assert!(conn.poll_request().is_none(), "request parsed after take_remaining");
        out.tunnel.extend_from_slice(&conn.take_remaining());
        return;
    }
    let mut n = 0;
    while let Some(r) = conn.poll_request() {
        n += 1;
        assert!(n <= 4096, "poll_request does not run dry");
        match r {
            Ok(req) => {
                check_request(&req);
                let upgrade = req.head.is_upgrade();
                assert_eq!(conn.is_upgrade_pending(), upgrade);
                if !req.head.keep_alive() && !upgrade {
                    assert!(conn.is_finished(), "open after a request without keep-alive");
                }
                out.requests.push(req);
                if upgrade {
                    assert!(conn.poll_request().is_none(), "request parsed during an upgrade");
                    if take_upgrade {
                        out.tunnel.extend_from_slice(&conn.take_remaining());
                        assert!(conn.is_finished());
                        *detached = true;
                        return;
                    }
                    conn.decline_upgrade();
                }
            }
            Err(e) => {
                assert!(out.error.is_none(), "second error {e:?}");
                assert!(conn.is_finished(), "not finished after {e:?}");
                assert!(conn.poll_request().is_none(), "yield after {e:?}");
                assert!(matches!(e.status(), 400 | 413 | 431 | 501), "{e:?}");
                out.error = Some(e);
                return;
            }
        }
    }
    if let Some(head) = conn.pending_head() {
        let _ = head.expects_continue();
    }
}

fn check_request(req: &Request) {
    let head = &req.head;
    assert!(req.body.len() <= LIMITS.max_body, "body of {} bytes over the limit", req.body.len());
    let length = head.headers.content_length().expect("accepted Content-Length");
    assert_eq!(req.body.len() as u64, length.unwrap_or(0), "body length != Content-Length");
    assert!(!head.headers.contains("transfer-encoding"));
    let hosts = head.headers.get_all("host").count();
    assert!(hosts <= 1 && (hosts == 1 || head.version == Version::Http10));
    assert!(!head.method.is_empty() && !head.target.is_empty());

    // Accessors never panic.
    let _ = (head.path(), head.query(), head.query_pairs(), head.keep_alive());
    let _ = (head.is_upgrade(), head.expects_continue(), percent_decode(head.path()));

    // The request re-encodes to bytes that parse back to the same head and body.
    let wire = req.encode();
    let roomy = Limits { max_head: 1 << 20, max_headers: 64, max_body: 1 << 20 };
    let (again, n) = parse_request_head(&wire, &roomy)
        .expect("re-encoded request parses")
        .expect("re-encoded request is complete");
    assert_eq!(
        (&again.method, &again.target, again.version),
        (&head.method, &head.target, head.version)
    );
    let fields = |h: &glue_protocol::http::RequestHead| -> Vec<(String, String)> {
        h.headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    };
    assert_eq!(fields(&again), fields(head), "header fields changed by a round trip");
    assert_eq!(&wire[n..], &req.body[..], "body changed by a round trip");
}

/// Errors that the position of chunk boundaries may turn into one another: a head that is
/// both too large and malformed is reported as whichever shows first.
fn head_error(e: &HttpError) -> bool {
    matches!(
        e,
        HttpError::HeadTooLarge { .. } | HttpError::TooManyHeaders { .. } | HttpError::Malformed(_)
    )
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let ([mode, seed, flags], rest) = split_header::<3>(data);
    let take_upgrade = flags & 1 != 0;
    let eof = flags & 2 != 0;

    // The one-shot parsers on the raw bytes.
    for limits in [LIMITS, Limits::default()] {
        if let Ok(Some((head, n))) = parse_request_head(rest, &limits) {
            assert!(n <= rest.len() && n <= limits.max_head);
            assert!(head.headers.len() <= limits.max_headers);
            let _ = head.query_pairs();
        }
    }
    let text = String::from_utf8_lossy(rest);
    if let Ok(d) = percent_decode(&text) {
        assert!(d.len() <= text.len());
    }
    if let Ok(pairs) = parse_query(&text) {
        assert!(pairs.len() <= text.len());
    }

    let chunked = run(Chunker::new(mode, seed, rest), take_upgrade, eof);
    if mode % 4 == 0 {
        return; // that run was the whole-input one already
    }
    let whole = run(std::iter::once(rest).filter(|r| !r.is_empty()), take_upgrade, eof);
    assert_eq!(chunked.requests, whole.requests, "chunking changed the requests");
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
