//! Round trips through the HTTP serialisers and parsers, under random chunkings.

mod http_roundtrip {
    use bytes::Bytes;
    use glue_protocol::http::{
        encode_chunk, encode_last_chunk, encode_query, parse_query, percent_decode, percent_encode,
        ChunkedDecoder, ClientConnection, Headers, Limits, Request, Response, ServerConnection,
        Version,
    };
    use proptest::prelude::*;

    /// Splits `wire` at the positions `cuts` (taken modulo its length, in any order).
    fn chunks<'a>(wire: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        at.push(0);
        at.push(wire.len());
        at.sort_unstable();
        at.dedup();
        at.windows(2).map(|w| &wire[w[0]..w[1]]).collect()
    }

    fn without_content_length(h: &Headers) -> Vec<(String, String)> {
        h.iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn field_value() -> impl Strategy<Value = String> {
        "([!-~é€]([ \t!-~é€]{0,30}[!-~é€])?)?"
    }

    fn fields() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("X-[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}", field_value()), 0..6)
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z0-9 +&=%/?€-]{0,12}", any::<String>()]
    }

    fn request() -> impl Strategy<Value = Request> {
        let method = prop_oneof![
            Just("GET".to_owned()),
            Just("POST".to_owned()),
            Just("PUT".to_owned()),
            Just("PATCH".to_owned()),
            Just("DELETE".to_owned()),
            "[A-Z]{1,10}",
        ];
        let segments = proptest::collection::vec(text(), 0..4);
        let query = proptest::collection::vec((text(), text()), 0..4);
        let body = proptest::collection::vec(any::<u8>(), 0..300);
        (method, segments, query, fields(), body, any::<bool>()).prop_map(
            |(method, segments, query, fields, body, http10)| {
                let path: Vec<String> = segments.iter().map(|s| percent_encode(s)).collect();
                let mut target = format!("/{}", path.join("/"));
                if !query.is_empty() {
                    target = format!("{target}?{}", encode_query(query));
                }
                let mut r = Request::new(&method, "example.com:8080", &target).body(body);
                for (n, v) in &fields {
                    r = r.header(n, v);
                }
                if http10 {
                    r = r.version(Version::Http10).header("Connection", "keep-alive");
                }
                r
            },
        )
    }

    #[derive(Debug, Clone)]
    enum Framing {
        Length,
        Chunked { cuts: Vec<usize>, trailers: Vec<(String, String)> },
    }

    fn response() -> impl Strategy<Value = (Response, Framing)> {
        let status = prop_oneof![
            Just(200u16),
            Just(204),
            Just(304),
            Just(404),
            Just(100),
            Just(103),
            200u16..=599,
        ];
        let body = proptest::collection::vec(any::<u8>(), 0..300);
        let framing = prop_oneof![
            Just(Framing::Length),
            (proptest::collection::vec(any::<usize>(), 0..8), fields())
                .prop_map(|(cuts, trailers)| Framing::Chunked { cuts, trailers }),
        ];
        (status, fields(), body, framing, any::<bool>()).prop_map(
            |(status, fields, body, framing, http10)| {
                let mut r = Response::new(status);
                for (n, v) in &fields {
                    r = r.header(n, v);
                }
                if http10 {
                    r = r.version(Version::Http10).header("Connection", "keep-alive");
                }
                let has_body = !(status < 200 || status == 204 || status == 304);
                if !has_body {
                    return (r, Framing::Length);
                }
                r = r.body(body);
                if let Framing::Chunked { trailers, .. } = &framing {
                    r = r.header("Transfer-Encoding", "chunked");
                    for (n, v) in trailers {
                        r.trailers.append(n.as_str(), v.as_str());
                    }
                }
                (r, framing)
            },
        )
    }

    fn encode_response(r: &Response, framing: &Framing) -> Vec<u8> {
        match framing {
            Framing::Length => r.encode().to_vec(),
            Framing::Chunked { cuts, .. } => {
                let mut wire = r.encode_head().to_vec();
                for piece in chunks(&r.body, cuts) {
                    wire.extend_from_slice(&encode_chunk(piece));
                }
                wire.extend_from_slice(&encode_last_chunk(&r.trailers));
                wire
            }
        }
    }

    proptest! {
        #[test]
        fn requests_survive_any_chunking(
            reqs in proptest::collection::vec(request(), 1..5),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let wire: Vec<u8> = reqs.iter().flat_map(|r| r.encode()).collect();
            let mut conn = ServerConnection::default();
            let mut got = Vec::new();
            for piece in chunks(&wire, &cuts) {
                conn.handle_data(piece);
                while let Some(r) = conn.poll_request() {
                    got.push(r.unwrap());
                }
            }
            prop_assert_eq!(got.len(), reqs.len());
            prop_assert!(conn.is_idle());
            for (g, r) in got.iter().zip(&reqs) {
                prop_assert_eq!(&g.head.method, &r.head.method);
                prop_assert_eq!(&g.head.target, &r.head.target);
                prop_assert_eq!(g.head.version, r.head.version);
                prop_assert_eq!(&g.body, &r.body);
                prop_assert_eq!(
                    without_content_length(&g.head.headers),
                    without_content_length(&r.head.headers)
                );
                prop_assert_eq!(g.encode(), r.encode());
                prop_assert_eq!(g.head.query_pairs().unwrap(), r.head.query_pairs().unwrap());
                prop_assert!(g.head.keep_alive());
            }
        }

        #[test]
        fn responses_survive_any_chunking(
            resps in proptest::collection::vec(response(), 1..5),
            eof_body in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let mut client = ClientConnection::default();
            let mut wire = Vec::new();
            for (r, framing) in &resps {
                if r.head.status >= 200 {
                    let _ = client.send(&Request::new("GET", "h", "/"));
                }
                wire.extend_from_slice(&encode_response(r, framing));
            }
            let mut expected: Vec<Response> = resps.iter().map(|(r, _)| r.clone()).collect();
            if let Some(body) = &eof_body {
                // Read-until-close body: no Content-Length, no Transfer-Encoding.
                let last = Response::new(200).header("Connection", "close").body(body.clone());
                wire.extend_from_slice(&last.encode_head());
                wire.extend_from_slice(body);
                expected.push(last);
            }
            let mut got = Vec::new();
            for piece in chunks(&wire, &cuts) {
                client.handle_data(piece);
                while let Some(r) = client.poll_response() {
                    got.push(r.unwrap());
                }
            }
            client.handle_eof();
            while let Some(r) = client.poll_response() {
                got.push(r.unwrap());
            }
            prop_assert_eq!(got.len(), expected.len());
            for (g, r) in got.iter().zip(&expected) {
                prop_assert_eq!(g.head.status, r.head.status);
                prop_assert_eq!(&g.head.reason, &r.head.reason);
                prop_assert_eq!(g.head.version, r.head.version);
                prop_assert_eq!(&g.body, &r.body);
                prop_assert_eq!(&g.trailers, &r.trailers);
                prop_assert_eq!(
                    without_content_length(&g.head.headers),
                    without_content_length(&r.head.headers)
                );
            }
            prop_assert_eq!(client.pending_responses(), 0);
            prop_assert!(client.is_finished());
        }

        #[test]
        fn chunked_decoder_round_trip(
            body in proptest::collection::vec(any::<u8>(), 0..2000),
            body_cuts in proptest::collection::vec(any::<usize>(), 0..20),
            wire_cuts in proptest::collection::vec(any::<usize>(), 0..20),
            trailers in fields(),
            after in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let mut t = Headers::new();
            for (n, v) in &trailers {
                t.append(n.as_str(), v.as_str());
            }
            let mut wire = Vec::new();
            for piece in chunks(&body, &body_cuts) {
                wire.extend_from_slice(&encode_chunk(piece));
            }
            wire.extend_from_slice(&encode_last_chunk(&t));
            let end = wire.len();
            wire.extend_from_slice(&after);
            let mut decoder = ChunkedDecoder::new(Limits::default());
            let mut out = Vec::new();
            let mut consumed = 0;
            for piece in chunks(&wire, &wire_cuts) {
                if !decoder.is_done() {
                    consumed += decoder.decode(piece, &mut out).unwrap();
                }
            }
            prop_assert!(decoder.is_done());
            prop_assert_eq!(consumed, end, "stops right after the last chunk");
            prop_assert_eq!(out, body);
            prop_assert_eq!(decoder.take_trailers(), t);
        }

        #[test]
        fn percent_round_trip(s in any::<String>()) {
            let encoded = percent_encode(&s);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            prop_assert_eq!(percent_decode(&encoded).unwrap(), s.as_str());
        }

        #[test]
        fn query_round_trip(pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..6)) {
            let q = encode_query(pairs.iter().map(|(k, v)| (k, v)));
            prop_assert_eq!(parse_query(&q).unwrap(), pairs);
        }

        #[test]
        fn response_encode_is_stable(resp in response()) {
            // Parsing an encoded response and encoding it again gives the same bytes.
            let (r, framing) = resp;
            if let Framing::Length = framing {
                let wire = r.encode();
                let mut client = ClientConnection::default();
                client.handle_data(&wire);
                let g = client.poll_response().unwrap().unwrap();
                prop_assert_eq!(g.encode(), wire);
            }
        }
    }

    #[test]
    fn builder_output_is_exact() {
        let r = Response::new(200).header("Content-Type", " text/plain ").body("hi").encode();
        assert_eq!(
            &r[..],
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
        );
        let r = Response::new(404).header("Content-Length", "99").encode();
        assert_eq!(&r[..], b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        let r = Response::new(101)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .encode_head();
        assert_eq!(
            &r[..],
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        );
        let r = Response::new(204).encode();
        assert_eq!(&r[..], b"HTTP/1.1 204 No Content\r\n\r\n");
        let r = Response::new(599).encode();
        assert_eq!(&r[..], b"HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n");
        let r = Request::new("GET", "example.com", "/eio/?EIO=3").encode();
        assert_eq!(&r[..], b"GET /eio/?EIO=3 HTTP/1.1\r\nHost: example.com\r\n\r\n");
        let r = Request::new("POST", "h", "/").encode();
        assert_eq!(&r[..], b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        let r = Request::new("DELETE", "h", "/").body(Bytes::from_static(b"x")).encode();
        assert_eq!(&r[..], b"DELETE / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx");
        let mut t = Headers::new();
        t.append("X-Checksum", "abc");
        assert_eq!(&encode_chunk(b"hello")[..], b"5\r\nhello\r\n");
        assert_eq!(&encode_chunk(&[0; 26])[..4], b"1a\r\n");
        assert_eq!(&encode_last_chunk(&t)[..], b"0\r\nX-Checksum: abc\r\n\r\n");
    }

    #[test]
    #[should_panic(expected = "invalid HTTP header value")]
    fn builder_refuses_header_injection() {
        let _ = Response::new(200).header("Set-Cookie", "a\r\nX-Evil: 1");
    }
}
