//! Every limit maps to the right status, and no input makes a parser panic.

mod http_limits {
    use glue_protocol::http::{
        parse_query, percent_decode, ChunkedDecoder, ClientConnection, HttpError, Limits, Request,
        Response, ServerConnection,
    };
    use proptest::prelude::*;

    /// Feeds `wire` in pieces of `step` bytes; returns every yielded request or error.
    fn serve(limits: Limits, wire: &[u8], step: usize) -> Vec<Result<Request, HttpError>> {
        let mut conn = ServerConnection::new(limits);
        let mut out = Vec::new();
        for piece in wire.chunks(step.max(1)) {
            conn.handle_data(piece);
            while let Some(r) = conn.poll_request() {
                out.push(r);
            }
        }
        conn.handle_eof();
        while let Some(r) = conn.poll_request() {
            out.push(r);
        }
        assert!(conn.is_finished());
        out
    }

    fn statuses(results: &[Result<Request, HttpError>]) -> Vec<u16> {
        results.iter().map(|r| r.as_ref().map_or_else(HttpError::status, |_| 0)).collect()
    }

    proptest! {
        #[test]
        fn head_size_limit(max_head in 40usize..600, len in 0usize..700, step in 1usize..64) {
            let limits = Limits { max_head, ..Limits::default() };
            let wire = Request::new("GET", "h", "/").header("X-Pad", &"a".repeat(len)).encode();
            let got = statuses(&serve(limits, &wire, step));
            let want = if wire.len() <= max_head { 0 } else { 431 };
            prop_assert_eq!(got, vec![want]);
        }

        #[test]
        fn header_count_limit(max_headers in 1usize..20, count in 0usize..24) {
            let limits = Limits { max_headers, ..Limits::default() };
            let mut r = Request::new("GET", "h", "/");
            for i in 0..count {
                r = r.header(&format!("X-{i}"), "v");
            }
            // Host counts as a field too.
            let want = if count < max_headers { 0 } else { 431 };
            prop_assert_eq!(statuses(&serve(limits, &r.encode(), 7)), vec![want]);
        }

        #[test]
        fn body_size_limit(max_body in 0usize..300, len in 0usize..400, step in 1usize..64) {
            let limits = Limits { max_body, ..Limits::default() };
            let wire = Request::new("POST", "h", "/").body(vec![b'x'; len]).encode();
            let want = if len <= max_body { 0 } else { 413 };
            prop_assert_eq!(statuses(&serve(limits, &wire, step)), vec![want]);

            let resp = Response::new(200).body(vec![b'x'; len]).encode();
            let mut client = ClientConnection::new(limits);
            client.handle_data(&resp);
            let got = client.poll_response().unwrap();
            prop_assert_eq!(got.is_err(), len > max_body);
            if len > max_body {
                prop_assert_eq!(got.unwrap_err(), HttpError::BodyTooLarge { limit: max_body });
            }
        }

        #[test]
        fn chunked_body_limit(max_body in 0usize..300, sizes in proptest::collection::vec(1usize..100, 0..6)) {
            let limits = Limits { max_body, ..Limits::default() };
            let mut wire = Vec::new();
            for s in &sizes {
                wire.extend_from_slice(&glue_protocol::http::encode_chunk(&vec![b'y'; *s]));
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            let mut decoder = ChunkedDecoder::new(limits);
            let mut body = Vec::new();
            let total: usize = sizes.iter().sum();
            match decoder.decode(&wire, &mut body) {
                Ok(_) => prop_assert!(total <= max_body && decoder.is_done()),
                Err(e) => {
                    prop_assert!(total > max_body);
                    prop_assert_eq!(e.status(), 413);
                    prop_assert!(body.len() <= max_body, "stops before exceeding the cap");
                }
            }
        }

        #[test]
        fn garbage_never_panics(wire in proptest::collection::vec(any::<u8>(), 0..1500), step in 1usize..200) {
            let limits = Limits { max_head: 512, max_headers: 8, max_body: 256 };
            let results = serve(limits, &wire, step);
            // At most one error, and it is the last thing yielded.
            let errors = results.iter().filter(|r| r.is_err()).count();
            prop_assert!(errors <= 1);
            if errors == 1 {
                prop_assert!(results.last().unwrap().is_err());
            }
            client_garbage(limits, &wire, step);
            let mut decoder = ChunkedDecoder::new(limits);
            let mut body = Vec::new();
            for piece in wire.chunks(step) {
                if decoder.decode(piece, &mut body).is_err() || decoder.is_done() {
                    break;
                }
            }
            prop_assert!(body.len() <= 256);
        }

        #[test]
        fn http_shaped_garbage_never_panics(
            tokens in proptest::collection::vec(0usize..TOKENS.len(), 0..80),
            step in 1usize..40,
        ) {
            let wire: Vec<u8> = tokens.iter().flat_map(|&t| TOKENS[t].bytes()).collect();
            let limits = Limits { max_head: 256, max_headers: 6, max_body: 64 };
            let _ = serve(limits, &wire, step);
            client_garbage(limits, &wire, step);
        }

        #[test]
        fn mutated_messages_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            step in 1usize..40,
        ) {
            let mut wire = Request::new("POST", "h", "/a?b=c").header("X-A", "b").body("hello").encode().to_vec();
            wire.extend_from_slice(&Request::new("GET", "h", "/").encode());
            for (at, byte) in &flips {
                let i = at % wire.len();
                wire[i] = *byte;
            }
            let _ = serve(Limits::default(), &wire, step);
            let mut resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n".to_vec();
            for (at, byte) in &flips {
                let i = at % resp.len();
                resp[i] = *byte;
            }
            client_garbage(Limits::default(), &resp, step);
        }

        #[test]
        fn decoding_garbage_never_panics(s in any::<String>(), t in "[%+=&a-f0-9]{0,20}") {
            let _ = percent_decode(&s);
            let _ = parse_query(&s);
            let _ = percent_decode(&t);
            let _ = parse_query(&t);
        }
    }

    const TOKENS: &[&str] = &[
        "GET ",
        "POST ",
        "HTTP/1.1",
        "HTTP/1.0",
        " 200 OK",
        " 101 ",
        " 204 ",
        "/",
        "?a=b",
        "\r\n",
        "\n",
        "\r",
        " ",
        ":",
        "Host: h",
        "Content-Length: ",
        "Transfer-Encoding: chunked",
        "Connection: close",
        "Connection: upgrade",
        "Upgrade: websocket",
        "0",
        "5",
        "ff",
        "-1",
        "12345678901234567890",
        ";ext=1",
        "hello",
        "\0",
        "\u{7f}",
        "é",
        ",",
    ];

    fn client_garbage(limits: Limits, wire: &[u8], step: usize) {
        let mut client = ClientConnection::new(limits);
        let _ = client.send(&Request::new("GET", "h", "/"));
        let mut errors = 0;
        for piece in wire.chunks(step.max(1)) {
            client.handle_data(piece);
            while let Some(r) = client.poll_response() {
                errors += usize::from(r.is_err());
                if let Ok(r) = r {
                    assert!(r.body.len() <= limits.max_body);
                }
            }
        }
        client.handle_eof();
        while let Some(r) = client.poll_response() {
            errors += usize::from(r.is_err());
        }
        assert!(errors <= 1);
    }

    #[test]
    fn request_framing_errors() {
        let cases: [(&[u8], u16); 8] = [
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 0),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        ];
        for (wire, status) in cases {
            let got = statuses(&serve(Limits::default(), wire, 3));
            assert_eq!(got, vec![status], "{}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn error_response() {
        let e = HttpError::HeadTooLarge { limit: 8192 };
        let r = Response::error(&e).encode();
        assert_eq!(
            &r[..],
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
