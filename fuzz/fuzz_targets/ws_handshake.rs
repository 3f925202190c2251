//! The WebSocket opening handshake on random bytes:
//!
//! * the input as a request head -> `ServerHandshake::from_request`; a valid one is accepted
//!   and the 101 response must parse back with `parse_response_head` and carry the right
//!   `Sec-WebSocket-Accept` and subprotocol;
//! * the input as a response head -> `ClientHandshake::verify` against a fixed client;
//! * the input as a string -> `WsUrl::parse`; a parsed URL must give a client request that a
//!   server accepts and whose answer the client verifies (the full handshake in memory).
#![no_main]

use glue_protocol::http::{parse_request_head, parse_response_head, Limits};
use glue_protocol::rand::SeededEntropy;
use glue_protocol::ws::handshake::{
    accept_key, is_upgrade_request, ClientHandshake, HandshakeError, ServerHandshake, WsUrl,
};

const PROTOCOLS: [&str; 2] = ["chat", "superchat"];

fn server_side(data: &[u8]) {
    let limits = Limits::default();
    let Ok(Some((head, _))) = parse_request_head(data, &limits) else { return };
    let upgrade = is_upgrade_request(&head);
    match ServerHandshake::from_request(head.clone()) {
        Err(e) => assert!(matches!(e.status(), 400 | 405 | 426), "{e:?}"),
        Ok(hs) => {
            assert!(upgrade, "accepted a request without Upgrade: websocket");
            assert_eq!(hs.request(), &head);
            let _ = hs.origin();
            for p in hs.protocols() {
                assert!(!p.is_empty() && !p.contains(','), "odd subprotocol {p:?}");
            }
            let key = head.headers.get("sec-websocket-key").expect("key").trim();
            let chosen = hs.protocols().first().map(String::as_str);
            for protocol in [None, chosen] {
                let wire = hs.accept(protocol);
                let (resp, n) = parse_response_head(&wire, &limits)
                    .expect("accept response parses")
                    .expect("accept response is complete");
                assert_eq!(n, wire.len(), "bytes after the accept response head");
                assert_eq!(resp.status, 101);
                assert!(resp.headers.has_token("upgrade", "websocket"));
                assert!(resp.headers.has_token("connection", "upgrade"));
                assert_eq!(
                    resp.headers.get("sec-websocket-accept"),
                    Some(accept_key(key).as_str())
                );
                assert_eq!(resp.headers.get("sec-websocket-protocol"), protocol);
            }
        }
    }
}

fn client_side(data: &[u8]) {
    let Ok(Some((head, _))) = parse_response_head(data, &Limits::default()) else { return };
    let url = WsUrl::parse("ws://example.com/chat").expect("fixed URL");
    let client = ClientHandshake::new(&url, &PROTOCOLS, &[], &mut SeededEntropy::new(1))
        .expect("fixed request");
    match client.verify(&head) {
        Ok(p) => {
            assert_eq!(head.status, 101);
            if let Some(p) = p {
                assert!(PROTOCOLS.contains(&p.as_str()), "unoffered subprotocol {p:?} accepted");
            }
        }
        Err(HandshakeError::UnexpectedStatus(s)) => assert_ne!(s, 101),
        Err(_) => {}
    }
}

/// Characters a request target may hold (as `httparse` reads it): visible ASCII and non-ASCII,
/// no space and no control bytes.
fn target_char(c: char) -> bool {
    ('!'..='~').contains(&c) || !c.is_ascii()
}

/// A host as RFC 3986 allows it: a registered name (unreserved, sub-delims and `%`), or an
/// IPv6 address (which `WsUrl` keeps without its brackets).
fn host_ok(h: &str) -> bool {
    h.chars().all(|c| c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=".contains(c))
        || (h.contains(':') && h.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.'))
}

fn url_side(text: &str) {
    let Ok(url) = WsUrl::parse(text) else { return };
    assert!(!url.host.is_empty());
    assert!(url.resource.starts_with('/'), "resource {:?}", url.resource);
    assert!(!url.resource.contains('#'), "fragment kept in {:?}", url.resource);
    let host_header = url.host_header();
    // Whatever `WsUrl::parse` accepts can go into a request head as it is (the CR/LF
    // injection found by this target is refused since).
    assert!(url.resource.chars().all(target_char), "unsafe resource {:?}", url.resource);
    assert!(!url.host.chars().any(|c| c.is_control() || c.is_whitespace() || c == '@'));

    // The URL written back out parses to the same URL (for RFC 3986 hosts).
    if host_ok(&url.host) {
        let scheme = if url.secure { "wss" } else { "ws" };
        let again = WsUrl::parse(&format!("{scheme}://{host_header}{}", url.resource));
        assert_eq!(again.as_ref(), Ok(&url), "URL changed by a round trip");
    }

    // The whole handshake in memory.
    let client =
        ClientHandshake::new(&url, &PROTOCOLS, &[("Origin", "null")], &mut SeededEntropy::new(7))
            .expect("a parsed URL gives a valid request");
    let roomy = Limits { max_head: 1 << 20, ..Limits::default() };
    let (head, n) = parse_request_head(client.request(), &roomy)
        .expect("client request parses")
        .expect("client request is complete");
    assert_eq!(n, client.request().len(), "bytes after the client request head");
    assert_eq!(head.target, url.resource);
    assert_eq!(head.headers.get("host"), Some(host_header.as_str()));
    assert_eq!(head.headers.len(), 7, "fields injected into the client request");
    let server = ServerHandshake::from_request(head).expect("server accepts the client request");
    assert_eq!(server.protocols(), PROTOCOLS);
    let wire = server.accept(Some("superchat"));
    let (resp, _) = parse_response_head(&wire, &Limits::default()).unwrap().unwrap();
    assert_eq!(client.verify(&resp), Ok(Some("superchat".to_owned())));
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    server_side(data);
    client_side(data);
    match std::str::from_utf8(data) {
        Ok(s) => url_side(s),
        Err(_) => url_side(&String::from_utf8_lossy(data)),
    }
});
