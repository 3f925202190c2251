//! The opening handshake through the HTTP head parsers: client request, server acceptance,
//! client verification, with random subprotocols and header fields; refusals and their
//! statuses; and `ws://` URLs.

mod ws_handshake {
    use glue_protocol::http::{
        parse_request_head, parse_response_head, Headers, Limits, ResponseHead,
    };
    use glue_protocol::rand::SeededEntropy;
    use glue_protocol::ws::handshake::{
        accept_key, is_upgrade_request, reject, ClientHandshake, HandshakeError, ServerHandshake,
        WsUrl,
    };
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
    }

    fn field_value() -> impl Strategy<Value = String> {
        "[!-~é€]([ !-~é€]{0,20}[!-~é€])?"
    }

    /// Extra header fields that do not collide with the handshake's own.
    fn fields() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("X-[A-Za-z0-9-]{1,12}", field_value()), 0..6)
    }

    fn host() -> impl Strategy<Value = (String, String)> {
        // (as written in the URL, as parsed)
        prop_oneof![
            "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,6}){0,2}".prop_map(|h| (h.clone(), h)),
            any::<[u8; 4]>().prop_map(|a| {
                let h = format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
                (h.clone(), h)
            }),
            prop_oneof![Just("::1"), Just("2001:db8::7"), Just("fe80::1:2")]
                .prop_map(|h| (format!("[{h}]"), h.to_owned())),
        ]
    }

    fn resource() -> impl Strategy<Value = String> {
        let path = proptest::collection::vec("[A-Za-z0-9._~%-]{0,8}", 0..4)
            .prop_map(|segs| format!("/{}", segs.join("/")));
        (path, proptest::option::of("[A-Za-z0-9=&%._-]{0,16}")).prop_map(|(p, q)| match q {
            Some(q) => format!("{p}?{q}"),
            None => p,
        })
    }

    fn head_of(raw: &[u8]) -> ResponseHead {
        let (head, n) = parse_response_head(raw, &Limits::default()).unwrap().expect("whole head");
        assert!(n <= raw.len());
        head
    }

    /// The `X-…` fields of a head, in order.
    fn x_fields(headers: &Headers) -> Vec<(&str, &str)> {
        headers.iter().filter(|(n, _)| n.starts_with("X-")).collect()
    }

    proptest! {
        #[test]
        fn url_roundtrip(
            secure in any::<bool>(),
            (written, parsed) in host(),
            port in proptest::option::of(1u16..),
            res in proptest::option::of(resource()),
            fragment in proptest::option::of("[a-z0-9/?#]{0,6}"),
            http_scheme in any::<bool>(),
        ) {
            let scheme = match (secure, http_scheme) {
                (false, false) => "ws",
                (true, false) => "wss",
                (false, true) => "http",
                (true, true) => "https",
            };
            let mut url = format!("{scheme}://{written}");
            if let Some(p) = port {
                url.push_str(&format!(":{p}"));
            }
            if let Some(r) = &res {
                url.push_str(r);
            }
            if let Some(f) = &fragment {
                url.push('#');
                url.push_str(f);
            }
            let u = WsUrl::parse(&url).unwrap();
            let default_port = if secure { 443 } else { 80 };
            prop_assert_eq!(u.secure, secure);
            prop_assert_eq!(&u.host, &parsed);
            prop_assert_eq!(u.port, port.unwrap_or(default_port));
            // the fragment is never part of the resource (RFC 6455 §3)
            prop_assert_eq!(&u.resource, res.as_deref().unwrap_or("/"));
            let host_header = if u.port == default_port {
                written.clone()
            } else {
                format!("{written}:{}", u.port)
            };
            prop_assert_eq!(u.host_header(), host_header);
        }

        #[test]
        fn client_server_client_roundtrip(
            (written, _) in host(),
            port in 1u16..,
            res in resource(),
            protocols in proptest::collection::vec(token(), 0..5),
            request_fields in fields(),
            response_fields in fields(),
            origin in proptest::option::of("https?://[a-z]{1,10}(:[0-9]{1,5})?"),
            choice in any::<prop::sample::Index>(),
            choose in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let url = WsUrl::parse(&format!("ws://{written}:{port}{res}")).unwrap();
            let mut extra: Vec<(&str, &str)> =
                request_fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            if let Some(o) = &origin {
                extra.push(("Origin", o));
            }
            let offered: Vec<&str> = protocols.iter().map(String::as_str).collect();
            let client = ClientHandshake::new(&url, &offered, &extra, &mut SeededEntropy::new(seed)).unwrap();

            // server side
            let raw = client.request();
            for cut in 0..raw.len() {
                prop_assert!(parse_request_head(&raw[..cut], &Limits::default()).unwrap().is_none());
            }
            let (head, n) = parse_request_head(raw, &Limits::default()).unwrap().unwrap();
            prop_assert_eq!(n, raw.len());
            prop_assert!(is_upgrade_request(&head));
            prop_assert!(head.is_upgrade());
            let host_header = url.host_header();
            prop_assert_eq!(head.headers.get("host"), Some(host_header.as_str()));
            let sent: Vec<(&str, &str)> =
                request_fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            prop_assert_eq!(x_fields(&head.headers), sent);
            let server = ServerHandshake::from_request(head).unwrap();
            prop_assert_eq!(server.protocols(), &protocols[..]);
            prop_assert_eq!(server.origin(), origin.as_deref());
            prop_assert_eq!(&server.request().target, &url.resource);

            // the server picks one of the offered subprotocols, or none
            let picked = (choose && !protocols.is_empty()).then(|| choice.get(&protocols).as_str());
            let resp_extra: Vec<(&str, &str)> =
                response_fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let response = server.accept_with(picked, &resp_extra);
            let (rhead, n) = parse_response_head(&response, &Limits::default()).unwrap().unwrap();
            prop_assert_eq!(n, response.len());
            prop_assert_eq!(rhead.status, 101);
            prop_assert_eq!(x_fields(&rhead.headers), resp_extra);

            // client side
            prop_assert_eq!(client.verify(&rhead), Ok(picked.map(str::to_owned)));

            // a different key's answer, an unoffered subprotocol, an extension: refused
            let other = ClientHandshake::new(&url, &offered, &extra, &mut SeededEntropy::new(seed ^ 1)).unwrap();
            prop_assert_eq!(other.verify(&rhead), Err(HandshakeError::BadAccept));
            let unoffered = format!("{}-not-offered", protocols.concat());
            let bad = server.accept(Some(&unoffered));
            let refused = HandshakeError::UnrequestedProtocol(unoffered);
            prop_assert_eq!(client.verify(&head_of(&bad)), Err(refused));
            let ext = server.accept_with(picked, &[("Sec-WebSocket-Extensions", "permessage-deflate")]);
            prop_assert_eq!(
                client.verify(&head_of(&ext)),
                Err(HandshakeError::UnrequestedExtension("permessage-deflate".into()))
            );
        }

        /// Keys are 16 random bytes in base64, and each one gets its own accept value.
        #[test]
        fn keys_are_fresh_and_valid(seed in any::<u64>()) {
            let url = WsUrl::parse("ws://h/").unwrap();
            let mut entropy = SeededEntropy::new(seed);
            let a = ClientHandshake::new(&url, &[], &[], &mut entropy).unwrap();
            let b = ClientHandshake::new(&url, &[], &[], &mut entropy).unwrap();
            let key = |c: &ClientHandshake| {
                let (head, _) = parse_request_head(c.request(), &Limits::default()).unwrap().unwrap();
                head.headers.get("sec-websocket-key").unwrap().to_owned()
            };
            let (ka, kb) = (key(&a), key(&b));
            prop_assert_ne!(&ka, &kb);
            prop_assert_eq!(ka.len(), 24);
            prop_assert!(ka.ends_with("=="));
            prop_assert_ne!(accept_key(&ka), accept_key(&kb));
        }
    }

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request(lines: &[&str]) -> String {
        let mut s = String::new();
        for l in lines {
            s.push_str(l);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s
    }

    fn server_verdict(raw: &str) -> Result<ServerHandshake, HandshakeError> {
        let (head, _) = parse_request_head(raw.as_bytes(), &Limits::default()).unwrap().unwrap();
        ServerHandshake::from_request(head)
    }

    #[test]
    fn rfc_example() {
        assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let raw = request(&[
            "GET /chat HTTP/1.1",
            "Host: server.example.com",
            "Upgrade: websocket",
            "Connection: Upgrade",
            &format!("Sec-WebSocket-Key: {KEY}"),
            "Origin: http://example.com",
            "Sec-WebSocket-Protocol: chat, superchat",
            "Sec-WebSocket-Version: 13",
        ]);
        let server = server_verdict(&raw).unwrap();
        assert_eq!(server.protocols(), ["chat", "superchat"]);
        let resp = server.accept(Some("chat"));
        let head = head_of(&resp);
        assert_eq!(head.status, 101);
        assert_eq!(head.headers.get("sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        assert_eq!(head.headers.get("sec-websocket-protocol"), Some("chat"));
        assert!(head.headers.has_token("upgrade", "websocket"));
        assert!(head.headers.has_token("connection", "upgrade"));
    }

    #[test]
    fn lenient_where_the_rfc_is() {
        // case-insensitive tokens, lists, repeated protocol fields, padded values
        let raw = request(&[
            "GET / HTTP/1.1",
            "Host: h",
            "upgrade: WebSocket",
            "connection: keep-alive, UPGRADE",
            &format!("sec-websocket-key:   {KEY}  "),
            "Sec-WebSocket-Protocol: a ,b",
            "Sec-WebSocket-Protocol: c,, d",
            "sec-websocket-version: 13",
        ]);
        let server = server_verdict(&raw).unwrap();
        assert_eq!(server.protocols(), ["a", "b", "c", "d"]);
        assert_eq!(server.origin(), None);
    }

    #[test]
    fn refusals_and_their_statuses() {
        let key = format!("Sec-WebSocket-Key: {KEY}");
        let good =
            ["Host: h", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"];
        let with = |first: &str, drop: &str, add: &[&str]| {
            let mut lines = vec![first.to_owned()];
            lines.extend(
                good.iter()
                    .filter(|l| !l.starts_with(drop) || drop.is_empty())
                    .map(|s| s.to_string()),
            );
            lines.push(key.clone());
            lines.extend(add.iter().map(|s| s.to_string()));
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            request(&refs)
        };
        let cases: Vec<(String, HandshakeError, u16)> = vec![
            (with("POST / HTTP/1.1", "", &[]), HandshakeError::NotGet, 405),
            (with("PUT / HTTP/1.1", "", &[]), HandshakeError::NotGet, 405),
            (with("GET / HTTP/1.0", "", &[]), HandshakeError::NotHttp11, 400),
            (with("GET / HTTP/1.1", "Upgrade", &[]), HandshakeError::MissingUpgrade, 400),
            (
                with("GET / HTTP/1.1", "Upgrade", &["Upgrade: h2c"]),
                HandshakeError::MissingUpgrade,
                400,
            ),
            (
                with("GET / HTTP/1.1", "Connection", &[]),
                HandshakeError::MissingConnectionUpgrade,
                400,
            ),
            (
                with("GET / HTTP/1.1", "Connection", &["Connection: keep-alive"]),
                HandshakeError::MissingConnectionUpgrade,
                400,
            ),
            (
                with("GET / HTTP/1.1", "Sec-WebSocket-Version", &[]),
                HandshakeError::UnsupportedVersion,
                426,
            ),
            (
                with("GET / HTTP/1.1", "Sec-WebSocket-Version", &["Sec-WebSocket-Version: 8"]),
                HandshakeError::UnsupportedVersion,
                426,
            ),
        ];
        for (raw, err, status) in &cases {
            assert_eq!(server_verdict(raw).unwrap_err(), *err, "{raw}");
            assert_eq!(err.status(), *status);
        }
        // bad keys
        for bad_key in [
            "",
            "short",
            "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25j",
            "!!!!!!!!!!!!!!!!!!!!!!==",
        ] {
            let raw = request(&[
                "GET / HTTP/1.1",
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
                &format!("Sec-WebSocket-Key: {bad_key}"),
            ]);
            assert_eq!(
                server_verdict(&raw).unwrap_err(),
                HandshakeError::InvalidKey,
                "{bad_key:?}"
            );
        }
        let raw = request(&[
            "GET / HTTP/1.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
        ]);
        assert_eq!(server_verdict(&raw).unwrap_err(), HandshakeError::InvalidKey);
        assert_eq!(HandshakeError::InvalidKey.status(), 400);
        // a plain GET is not even an upgrade request
        let (plain, _) =
            parse_request_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", &Limits::default())
                .unwrap()
                .unwrap();
        assert!(!is_upgrade_request(&plain));
    }

    /// A refusal is a complete HTTP response, and the client reports its status.
    #[test]
    fn refusal_responses() {
        let url = WsUrl::parse("ws://h/").unwrap();
        let client = ClientHandshake::new(&url, &["p"], &[], &mut SeededEntropy::new(5)).unwrap();
        for status in [400u16, 403, 404, 405, 426, 431, 503, 500] {
            let body = format!("refused with {status} €");
            let raw = reject(status, &body);
            let (head, n) = parse_response_head(&raw, &Limits::default()).unwrap().unwrap();
            assert_eq!(head.status, status);
            assert_eq!(head.headers.content_length(), Ok(Some(body.len() as u64)));
            assert_eq!(&raw[n..], body.as_bytes());
            assert!(!head.keep_alive());
            assert_eq!(head.headers.get("sec-websocket-version").is_some(), status == 426);
            if status == 426 {
                assert_eq!(head.headers.get("sec-websocket-version"), Some("13"));
            }
            assert_eq!(client.verify(&head), Err(HandshakeError::UnexpectedStatus(status)));
        }
        assert_eq!(
            client.verify(&head_of(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
            Err(HandshakeError::UnexpectedStatus(200))
        );
    }

    #[test]
    fn client_checks_the_upgrade_fields() {
        let url = WsUrl::parse("ws://h/").unwrap();
        let client = ClientHandshake::new(&url, &[], &[], &mut SeededEntropy::new(6)).unwrap();
        let (req, _) = parse_request_head(client.request(), &Limits::default()).unwrap().unwrap();
        let accept = accept_key(req.headers.get("sec-websocket-key").unwrap());
        let resp = |lines: &[&str]| {
            let mut s = String::from("HTTP/1.1 101 Switching Protocols\r\n");
            for l in lines {
                s.push_str(l);
                s.push_str("\r\n");
            }
            s.push_str("\r\n");
            head_of(s.as_bytes())
        };
        let acc = format!("Sec-WebSocket-Accept: {accept}");
        assert_eq!(
            client.verify(&resp(&["Upgrade: websocket", "Connection: upgrade", &acc])),
            Ok(None)
        );
        assert_eq!(
            client.verify(&resp(&["Connection: upgrade", &acc])),
            Err(HandshakeError::MissingUpgrade)
        );
        assert_eq!(
            client.verify(&resp(&["Upgrade: websocket", &acc])),
            Err(HandshakeError::MissingConnectionUpgrade)
        );
        assert_eq!(
            client.verify(&resp(&["Upgrade: websocket", "Connection: upgrade"])),
            Err(HandshakeError::BadAccept)
        );
        // no subprotocol offered, one chosen anyway
        assert_eq!(
            client.verify(&resp(&[
                "Upgrade: websocket",
                "Connection: upgrade",
                &acc,
                "Sec-WebSocket-Protocol: x"
            ])),
            Err(HandshakeError::UnrequestedProtocol("x".into()))
        );
        // an empty extensions field is no extension
        assert_eq!(
            client.verify(&resp(&[
                "Upgrade: websocket",
                "Connection: upgrade",
                &acc,
                "Sec-WebSocket-Extensions:"
            ])),
            Ok(None)
        );
    }

    #[test]
    fn url_edge_cases() {
        for url in [
            "ftp://h/",
            "h/",
            "ws://",
            "ws:///x",
            "ws://h:port/",
            "ws://h:70000/",
            "ws://[::1/",
            "ws://[::1]x/",
        ] {
            assert!(matches!(WsUrl::parse(url), Err(HandshakeError::InvalidUrl(_))), "{url}");
        }
        let u = WsUrl::parse("ws://h?q=1").unwrap();
        assert_eq!(u.resource, "/?q=1");
        // fragments are dropped wherever they start (they used to end up in the host, the
        // port or the query when no path preceded them)
        for (url, host, port, resource) in [
            ("ws://h#f", "h", 80, "/"),
            ("ws://h:81#f", "h", 81, "/"),
            ("ws://h?a=1#f", "h", 80, "/?a=1"),
            ("ws://[::1]#f", "::1", 80, "/"),
            ("wss://h/p#f?x", "h", 443, "/p"),
        ] {
            let u = WsUrl::parse(url).unwrap();
            assert_eq!(
                (u.host.as_str(), u.port, u.resource.as_str()),
                (host, port, resource),
                "{url}"
            );
        }
        let u = WsUrl::parse("wss://h:443").unwrap();
        assert_eq!((u.port, u.host_header().as_str()), (443, "h"));
    }
}
