//! Virtual-clock tests of the Socket.IO client, driven with scripted server bytes, and an
//! in-memory pair against the Engine.IO server session.

use super::*;
use crate::eio::client::{BINARY_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use crate::eio::utf16_len;
use serde_json::json;

const OPEN: &str = r#"0{"sid":"Dq5ELz4SbkYDv4GfAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}"#;
const TEXT: &str = "text/plain; charset=UTF-8";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

fn rid(g: u64, n: u64) -> RequestId {
    RequestId((g << ID_BITS) | n)
}

fn id_str(id: RequestId) -> String {
    format!("{}.{}", id.0 >> ID_BITS, id.0 & ID_MASK)
}

fn show(a: EioAction) -> String {
    match a {
        EioAction::HttpGet { id, path_and_query } => format!("GET{} {path_and_query}", id_str(id)),
        EioAction::HttpPost { id, content_type, body, .. } => {
            let body = if content_type == BINARY_CONTENT_TYPE {
                format!("bin:{}", hex(&body))
            } else {
                assert_eq!(content_type, TEXT_CONTENT_TYPE);
                String::from_utf8(body.to_vec()).unwrap()
            };
            format!("POST{} {body}", id_str(id))
        }
        EioAction::CancelHttp { id } => format!("CANCEL{}", id_str(id)),
        EioAction::OpenWebSocket { id, path_and_query } => {
            format!("WS{} {path_and_query}", id_str(id))
        }
        EioAction::WsSend { ws, message: Message::Text(t) } => format!("SEND{} {t}", id_str(ws)),
        EioAction::WsSend { ws, message: Message::Binary(b) } => {
            format!("SEND{} bin:{}", id_str(ws), hex(&b))
        }
        EioAction::CloseWebSocket { id } => format!("CLOSEWS{}", id_str(id)),
    }
}

/// Packets as one text payload.
fn payload(packets: &[&str]) -> String {
    packets.iter().map(|p| format!("{}:{p}", utf16_len(p))).collect()
}

fn cfg() -> SioClientConfig {
    let mut c = SioClientConfig::default();
    c.engine.timestamp_requests = false;
    c.engine.upgrade = false;
    c
}

fn connect_ev(nsp: &str) -> SioClientEvent {
    SioClientEvent::Connect { nsp: nsp.into() }
}

struct H {
    c: SioClient,
    t0: Instant,
    now: Instant,
}

impl H {
    fn new(config: SioClientConfig) -> H {
        let t0 = Instant::now();
        H { c: SioClient::new(config, &mut SeededEntropy::new(7)), t0, now: t0 }
    }

    fn at(&mut self, n: u64) {
        self.now = self.t0 + ms(n);
        self.c.handle_timeout(self.now);
    }

    fn next_timeout(&self) -> Option<u64> {
        self.c.poll_timeout().map(|t| (t - self.t0).as_millis() as u64)
    }

    fn drain(&mut self) -> (Vec<String>, Vec<SioClientEvent>) {
        let actions = std::iter::from_fn(|| self.c.poll_action()).map(show).collect();
        let events = std::iter::from_fn(|| self.c.poll_event()).collect();
        (actions, events)
    }

    fn get(&mut self, g: u64, n: u64, packets: &[&str]) {
        let body = payload(packets);
        self.c.handle_http_response(self.now, rid(g, n), 200, Some(TEXT), body.as_bytes());
    }

    fn post_ok(&mut self, g: u64, n: u64) {
        self.c.handle_http_response(self.now, rid(g, n), 200, Some("text/html"), b"ok");
    }

    fn connect(&mut self, nsp: &str, query: Option<&str>) {
        self.c.connect(self.now, nsp, query).unwrap();
    }

    /// `/` connected over polling: GET 1.2 pending, nothing else.
    fn root() -> H {
        let mut h = H::new(cfg());
        h.connect("/", None);
        h.drain();
        h.get(1, 1, &[OPEN, "40"]);
        let (a, e) = h.drain();
        assert_eq!(a, ["GET1.2 /socket.io/?EIO=3&transport=polling&sid=Dq5ELz4SbkYDv4GfAAAA"]);
        assert_eq!(e, [connect_ev("/")]);
        h
    }
}

#[test]
fn root_connects_on_the_servers_unsolicited_0_and_flushes_the_buffer() {
    let mut h = H::new(cfg());
    assert_eq!(h.c.state(), SioClientState::Idle);
    h.connect("/", None);
    assert_eq!(h.c.state(), SioClientState::Connecting);
    h.c.emit(h.now, "/", "hello", vec![json!("wörld 😀")], vec![]).unwrap();
    assert_eq!(h.c.buffered(), 1);
    assert_eq!(h.c.emit_with_ack(h.now, "/", "x", vec![], vec![], None), Ok(0));
    let (a, e) = h.drain();
    assert_eq!(a, ["GET1.1 /socket.io/?EIO=3&transport=polling"]);
    assert!(e.is_empty());
    assert_eq!(h.c.namespace_state("/"), Some(NamespaceState::Connecting));
    h.get(1, 1, &[OPEN]);
    let (_, e) = h.drain();
    assert!(e.is_empty(), "not connected before the 0: {e:?}");
    h.get(1, 2, &["40"]);
    let (a, e) = h.drain();
    assert_eq!(e, [connect_ev("/")]);
    assert_eq!(
        a,
        [
            "GET1.3 /socket.io/?EIO=3&transport=polling&sid=Dq5ELz4SbkYDv4GfAAAA".to_string(),
            format!("POST1.4 {}", payload(&["42[\"hello\",\"wörld 😀\"]"])),
        ]
    );
    // One POST at a time: the second buffered packet follows the first.
    h.post_ok(1, 4);
    assert_eq!(h.drain().0, [format!("POST1.5 {}", payload(&["420[\"x\"]"]))]);
    assert_eq!(h.c.state(), SioClientState::Connected);
    assert_eq!(h.c.socket_id("/").as_deref(), Some("Dq5ELz4SbkYDv4GfAAAA"));
    assert_eq!(h.c.buffered(), 0);
    assert_eq!(h.c.pending_acks(), 1);
    // Sent at once once connected (after the POST in flight).
    h.c.emit(h.now, "/", "now", vec![], vec![]).unwrap();
    assert!(h.drain().0.is_empty());
    h.post_ok(1, 5);
    assert_eq!(h.drain().0, ["POST1.6 9:42[\"now\"]"]);
}

#[test]
fn namespaces_send_connect_after_the_root_and_get_connected_or_refused() {
    let mut h = H::new(cfg());
    h.connect("/custom", Some("token=a%20b"));
    h.connect("/nope", None);
    assert!(h.c.connect(h.now, "bad", None).is_err());
    assert!(h.c.connect(h.now, "/a,b", None).is_err());
    h.c.emit(h.now, "/custom", "early", vec![json!(1)], vec![]).unwrap();
    h.drain();
    // The root was not asked for: its 0 only unlocks the other CONNECTs.
    h.get(1, 1, &[OPEN, "40"]);
    let (a, e) = h.drain();
    assert!(e.is_empty());
    assert_eq!(a[1], format!("POST1.3 {}", payload(&["40/custom?token=a%20b,"])));
    h.post_ok(1, 3);
    assert_eq!(h.drain().0, [format!("POST1.4 {}", payload(&["40/nope,"]))]);
    h.post_ok(1, 4);
    h.get(1, 2, &["40/custom,", "44/nope,\"Invalid namespace\"", "42/custom,[\"auth\",{}]"]);
    let (a, e) = h.drain();
    assert_eq!(
        e,
        [
            connect_ev("/custom"),
            SioClientEvent::ConnectError { nsp: "/nope".into(), data: json!("Invalid namespace") },
            SioClientEvent::Event {
                nsp: "/custom".into(),
                name: "auth".into(),
                args: vec![json!({})],
                attachments: vec![],
                id: None
            },
        ]
    );
    assert_eq!(a[1], format!("POST1.6 {}", payload(&["42/custom,[\"early\",1]"])));
    assert_eq!(h.c.namespace_state("/nope"), Some(NamespaceState::Closed));
    assert_eq!(h.c.socket_id("/custom").as_deref(), Some("/custom#Dq5ELz4SbkYDv4GfAAAA"));
    assert_eq!(
        h.c.emit(h.now, "/nope", "x", vec![], vec![]),
        Err(SioClientError::NamespaceClosed("/nope".into()))
    );
    assert_eq!(
        h.c.emit(h.now, "/other", "x", vec![], vec![]),
        Err(SioClientError::UnknownNamespace("/other".into()))
    );
    // Asking for the root later on the same engine connects it at once (the server's root
    // socket exists); a namespace asked for later sends its CONNECT at once.
    h.post_ok(1, 6);
    h.connect("/", None);
    h.connect("/late", None);
    let (a, e) = h.drain();
    assert_eq!(e, [connect_ev("/")]);
    assert_eq!(a, [format!("POST1.7 {}", payload(&["40/late,"]))]);
}

#[test]
fn only_refused_namespaces_close_the_engine() {
    let mut h = H::new(cfg());
    h.connect("/nope", None);
    h.drain();
    h.get(1, 1, &[OPEN, "40"]);
    h.drain();
    h.post_ok(1, 3);
    h.get(1, 2, &["44/nope,\"Invalid namespace\""]);
    let (a, e) = h.drain();
    assert_eq!(
        e,
        [SioClientEvent::ConnectError { nsp: "/nope".into(), data: json!("Invalid namespace") }]
    );
    // Polling close: the poll is cancelled and the last POST carries `1`; no reconnection.
    assert_eq!(a[1..], ["CANCEL1.4", "POST1.5 1:1"]);
    assert_eq!(h.c.state(), SioClientState::Closed);
    assert_eq!(h.c.poll_timeout(), None);
}

#[test]
fn acks_both_ways_with_ids_per_namespace_and_timeouts() {
    let mut h = H::root();
    h.connect("/custom", None);
    h.drain();
    h.post_ok(1, 3);
    h.get(1, 2, &["40/custom,"]);
    h.drain();
    let id0 = h.c.emit_with_ack(h.now, "/", "a", vec![], vec![], Some(ms(1000))).unwrap();
    let idc = h.c.emit_with_ack(h.now, "/custom", "a", vec![], vec![], None).unwrap();
    let id1 = h.c.emit_with_ack(h.now, "/", "b", vec![json!("é")], vec![], Some(ms(500))).unwrap();
    assert_eq!((id0, idc, id1), (0, 0, 1));
    let (a, _) = h.drain();
    assert_eq!(a, [format!("POST1.5 {}", payload(&["420[\"a\"]"]))]);
    h.post_ok(1, 5);
    let (a, _) = h.drain();
    assert_eq!(a, [format!("POST1.6 {}", payload(&["42/custom,0[\"a\"]", "421[\"b\",\"é\"]"]))]);
    assert_eq!(h.c.pending_acks(), 3);
    assert_eq!(h.next_timeout(), Some(500));
    // Answers: id 1 on `/`, an unknown id, the custom one; then id 1 again (ignored).
    h.get(1, 4, &["431[\"ok\",2]", "437[]", "43/custom,0[]", "431[]"]);
    let (_, e) = h.drain();
    assert_eq!(
        e,
        [
            SioClientEvent::Ack {
                nsp: "/".into(),
                id: 1,
                args: vec![json!("ok"), json!(2)],
                attachments: vec![]
            },
            SioClientEvent::Ack { nsp: "/custom".into(), id: 0, args: vec![], attachments: vec![] },
        ]
    );
    assert_eq!(h.next_timeout(), Some(1000));
    h.at(999);
    assert!(h.drain().1.is_empty());
    h.at(1000);
    assert_eq!(h.drain().1, [SioClientEvent::AckTimeout { nsp: "/".into(), id: 0 }]);
    h.get(1, 7, &["430[\"late\"]"]);
    assert!(h.drain().1.is_empty());
    assert_eq!(h.c.pending_acks(), 0);

    // The server asks for an ack; the client answers on the same namespace.
    h.get(1, 8, &["42/custom,15[\"emit-with-ack\",1]"]);
    let (_, e) = h.drain();
    assert_eq!(
        e,
        [SioClientEvent::Event {
            nsp: "/custom".into(),
            name: "emit-with-ack".into(),
            args: vec![json!(1)],
            attachments: vec![],
            id: Some(15)
        }]
    );
    h.post_ok(1, 6);
    h.drain();
    h.c.ack(h.now, "/custom", 15, vec![json!("x")], vec![]).unwrap();
    let (a, _) = h.drain();
    assert_eq!(a, [format!("POST1.10 {}", payload(&["43/custom,15[\"x\"]"]))]);
    assert_eq!(
        h.c.ack(h.now, "/elsewhere", 1, vec![], vec![]),
        Err(SioClientError::UnknownNamespace("/elsewhere".into()))
    );
}

#[test]
fn binary_both_ways_across_payloads_and_the_upgrade() {
    let mut config = cfg();
    config.engine.upgrade = true;
    let mut h = H::new(config);
    h.connect("/", None);
    h.drain();
    h.get(1, 1, &[OPEN, "40"]);
    let (a, e) = h.drain();
    assert_eq!(e, [connect_ev("/")]);
    assert_eq!(a[0], "WS1.2 /socket.io/?EIO=3&transport=websocket&sid=Dq5ELz4SbkYDv4GfAAAA");
    // A binary event whose header comes in one GET and attachments in the next (binary
    // payload), the second attachment after the upgrade.
    let header =
        r#"452-["bin",{"_placeholder":true,"num":0},{"n":[{"_placeholder":true,"num":1}]}]"#;
    h.get(1, 3, &[header]);
    assert!(h.drain().1.is_empty());
    let mut body = vec![1, 3, 0xff, 4, 0xde, 0xad];
    body.extend_from_slice(&[]);
    h.c.handle_http_response(h.now, rid(1, 4), 200, Some(BINARY_CONTENT_TYPE), &body);
    assert!(h.drain().1.is_empty());
    h.c.handle_ws_open(h.now, rid(1, 2));
    h.c.handle_ws_message(h.now, rid(1, 2), &Message::from("3probe"));
    h.get(1, 5, &["6"]);
    let (a, e) = h.drain();
    assert_eq!(e, [SioClientEvent::Upgraded]);
    assert!(a.contains(&"SEND1.2 5".to_string()), "{a:?}");
    assert_eq!(h.c.transport(), Some(Transport::WebSocket));
    h.c.handle_ws_message(h.now, rid(1, 2), &Message::Binary(Bytes::from_static(&[4, 1, 2])));
    let (_, e) = h.drain();
    assert_eq!(
        e,
        [SioClientEvent::Event {
            nsp: "/".into(),
            name: "bin".into(),
            args: vec![
                json!({"_placeholder": true, "num": 0}),
                json!({"n": [{"_placeholder": true, "num": 1}]})
            ],
            attachments: vec![Bytes::from_static(&[0xde, 0xad]), Bytes::from_static(&[1, 2])],
            id: None
        }]
    );
    // Outgoing: header text frame, then one binary frame per attachment.
    let id =
        h.c.emit_with_ack(
            h.now,
            "/",
            "up",
            vec![
                json!([{"_placeholder": true, "num": 1}]),
                json!({"_placeholder": true, "num": 0}),
            ],
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"bc")],
            None,
        )
        .unwrap();
    let (a, _) = h.drain();
    assert_eq!(
        a,
        [
            r#"SEND1.2 452-0["up",[{"_placeholder":true,"num":1}],{"_placeholder":true,"num":0}]"#,
            "SEND1.2 bin:04 61",
            "SEND1.2 bin:04 62 63",
        ]
    );
    // A binary ack in answer.
    h.c.handle_ws_message(
        h.now,
        rid(1, 2),
        &Message::from(format!(r#"461-{id}[{{"_placeholder":true,"num":0}}]"#)),
    );
    h.c.handle_ws_message(h.now, rid(1, 2), &Message::Binary(Bytes::from_static(&[4, 9])));
    assert_eq!(
        h.drain().1,
        [SioClientEvent::Ack {
            nsp: "/".into(),
            id,
            args: vec![json!({"_placeholder": true, "num": 0})],
            attachments: vec![Bytes::from_static(&[9])]
        }]
    );
    // Placeholders must match the attachments.
    assert!(matches!(
        h.c.emit(h.now, "/", "x", vec![], vec![Bytes::from_static(b"z")]),
        Err(SioClientError::Usage(_))
    ));
    assert!(matches!(
        h.c.emit(h.now, "/", "disconnect", vec![], vec![]),
        Err(SioClientError::Usage(SioUsageError::ReservedEvent(_)))
    ));
}

#[test]
fn undecodable_packets_fail_the_engine_with_parse_error_and_reconnect() {
    let mut h = H::root();
    h.get(1, 2, &["42\"x\""]);
    let (a, e) = h.drain();
    let a = &a[1..];
    assert_eq!(
        e,
        [
            SioClientEvent::EngineClosed { reason: CloseReason::ParseError },
            SioClientEvent::Disconnect {
                nsp: "/".into(),
                reason: DisconnectReason::Engine(CloseReason::ParseError)
            },
        ]
    );
    assert_eq!(a, ["CANCEL1.3", "POST1.4 1:1"]);
    assert_eq!(h.c.state(), SioClientState::Reconnecting);
    assert!(h.c.poll_timeout().is_some());
}

#[test]
fn server_disconnect_does_not_reconnect() {
    let mut h = H::root();
    h.connect("/custom", None);
    h.drain();
    h.post_ok(1, 3);
    h.get(1, 2, &["40/custom,"]);
    h.drain();
    h.c.emit_with_ack(h.now, "/custom", "x", vec![], vec![], None).unwrap();
    h.drain();
    h.get(1, 4, &["41/custom,"]);
    let (_, e) = h.drain();
    assert_eq!(
        e,
        [
            SioClientEvent::AckCancelled { nsp: "/custom".into(), id: 0 },
            SioClientEvent::Disconnect {
                nsp: "/custom".into(),
                reason: DisconnectReason::ServerDisconnect
            },
        ]
    );
    assert_eq!(h.c.state(), SioClientState::Connected);
    // A DISCONNECT for a namespace still connecting is a refusal (found by fuzzing: it was
    // reported as a Disconnect without a Connect).
    h.connect("/late", None);
    h.drain();
    h.get(1, 6, &["41/late,"]);
    let (_, e) = h.drain();
    assert_eq!(
        e,
        [SioClientEvent::ConnectError { nsp: "/late".into(), data: json!("io server disconnect") }]
    );
    h.post_ok(1, 5);
    h.post_ok(1, 8);
    h.get(1, 7, &["41"]);
    let (a, e) = h.drain();
    assert_eq!(
        e,
        [SioClientEvent::Disconnect {
            nsp: "/".into(),
            reason: DisconnectReason::ServerDisconnect
        }]
    );
    assert_eq!(a[a.len() - 2..], ["CANCEL1.9", "POST1.10 1:1"], "{a:?}");
    assert_eq!(h.c.state(), SioClientState::Closed);
    assert_eq!(h.c.poll_timeout(), None);
}

#[test]
fn client_disconnect_sends_1_and_closes_the_engine_with_the_last_namespace() {
    let mut h = H::root();
    h.connect("/custom", None);
    h.drain();
    h.post_ok(1, 3);
    h.get(1, 2, &["40/custom,"]);
    h.drain();
    h.c.disconnect(h.now, "/custom");
    let (a, e) = h.drain();
    assert_eq!(
        e,
        [SioClientEvent::Disconnect {
            nsp: "/custom".into(),
            reason: DisconnectReason::ClientDisconnect
        }]
    );
    assert_eq!(a, [format!("POST1.5 {}", payload(&["41/custom,"]))]);
    h.post_ok(1, 5);
    h.c.disconnect(h.now, "/");
    let (a, e) = h.drain();
    assert_eq!(e.len(), 1);
    assert_eq!(a, ["POST1.6 2:41", "CANCEL1.4"]);
    h.post_ok(1, 6);
    assert_eq!(h.drain().0, ["POST1.7 1:1"]);
    assert_eq!(h.c.state(), SioClientState::Closed);
    assert_eq!(h.c.poll_timeout(), None);
    // Reports about the old engine are ignored; a new connect starts a fresh engine.
    h.get(1, 4, &["42[\"late\"]"]);
    assert_eq!(h.drain(), (vec![], vec![]));
    h.connect("/", None);
    assert_eq!(h.drain().0, ["GET2.1 /socket.io/?EIO=3&transport=polling"]);
}

#[test]
fn reconnects_with_backoff_and_resends_connect() {
    let mut h = H::root();
    h.connect("/custom", Some("q=1"));
    h.drain();
    h.post_ok(1, 3);
    h.get(1, 2, &["40/custom,"]);
    h.drain();
    h.c.emit_with_ack(h.now, "/custom", "keep", vec![], vec![], None).unwrap();
    h.drain();
    // The server goes away.
    h.c.handle_http_error(h.now, rid(1, 4));
    let (a, e) = h.drain();
    assert_eq!(a, ["CANCEL1.5"]);
    let reason = DisconnectReason::Engine(CloseReason::TransportError);
    assert_eq!(
        e,
        [
            SioClientEvent::EngineClosed { reason: CloseReason::TransportError },
            SioClientEvent::Disconnect { nsp: "/".into(), reason },
            SioClientEvent::Disconnect { nsp: "/custom".into(), reason },
        ]
    );
    assert_eq!(h.c.state(), SioClientState::Reconnecting);
    let first = h.next_timeout().unwrap();
    assert!((500..=1500).contains(&first), "{first}");
    // Emits meanwhile are buffered.
    h.c.emit(h.now, "/custom", "meanwhile", vec![], vec![]).unwrap();
    h.at(first);
    let (a, e) = h.drain();
    assert_eq!(e, [SioClientEvent::Reconnecting { attempt: 1 }]);
    assert_eq!(
        a,
        ["GET2.1 /socket.io/?EIO=3&transport=polling&q=1"[..].replace("polling&q=1", "polling")]
    );
    // The attempt fails: the next delay is 1–3 s.
    h.c.handle_http_error(h.now, rid(2, 1));
    let (_, e) = h.drain();
    assert_eq!(e, [SioClientEvent::EngineClosed { reason: CloseReason::TransportError }]);
    let second = h.next_timeout().unwrap() - first;
    assert!((1000..=3000).contains(&second), "{second}");
    h.at(first + second);
    assert_eq!(h.drain().1, [SioClientEvent::Reconnecting { attempt: 2 }]);
    // Stale reports from the first engine do nothing.
    h.get(1, 2, &["40"]);
    assert_eq!(h.drain(), (vec![], vec![]));
    h.get(3, 1, &[OPEN, "40"]);
    let (a, e) = h.drain();
    assert_eq!(e, [SioClientEvent::Reconnected { attempt: 2 }, connect_ev("/")]);
    assert_eq!(a[1], format!("POST3.3 {}", payload(&["40/custom?q=1,"])));
    h.post_ok(3, 3);
    h.get(3, 2, &["40/custom,"]);
    let (a, e) = h.drain();
    assert_eq!(e, [connect_ev("/custom")]);
    assert_eq!(a[1], format!("POST3.5 {}", payload(&["42/custom,[\"meanwhile\"]"])));
    assert_eq!(h.c.pending_acks(), 1, "pending acks survive");
}

#[test]
fn reconnection_off_or_attempts_used_up_close_everything() {
    let mut config = cfg();
    config.reconnection = false;
    let mut h = H::new(config);
    h.connect("/", None);
    h.drain();
    h.c.handle_http_error(h.now, rid(1, 1));
    let (_, e) = h.drain();
    assert_eq!(e, [SioClientEvent::EngineClosed { reason: CloseReason::TransportError }]);
    assert_eq!(h.c.state(), SioClientState::Closed);
    assert_eq!(h.c.namespace_state("/"), Some(NamespaceState::Closed));

    let mut config = cfg();
    config.reconnection_attempts = Some(1);
    config.randomization_factor = 0.0;
    let mut h = H::new(config);
    h.connect("/", None);
    h.c.emit_with_ack(h.now, "/", "x", vec![], vec![], None).unwrap();
    h.drain();
    h.c.handle_http_error(h.now, rid(1, 1));
    h.drain();
    assert_eq!(h.next_timeout(), Some(1000));
    h.at(1000);
    h.drain();
    h.c.handle_http_response(h.now, rid(2, 1), 503, None, b"");
    let (_, e) = h.drain();
    assert_eq!(
        e,
        [
            SioClientEvent::EngineClosed { reason: CloseReason::TransportError },
            SioClientEvent::ReconnectFailed,
            SioClientEvent::AckCancelled { nsp: "/".into(), id: 0 },
        ]
    );
    assert_eq!(h.c.state(), SioClientState::Closed);
    assert_eq!(h.c.poll_timeout(), None);
}

#[test]
fn connect_timeout_abandons_the_handshake() {
    let mut config = cfg();
    config.connect_timeout = Some(ms(300));
    config.randomization_factor = 0.0;
    let mut h = H::new(config);
    h.connect("/", None);
    h.drain();
    assert_eq!(h.next_timeout(), Some(300));
    h.at(300);
    let (a, e) = h.drain();
    assert_eq!(a, ["CANCEL1.1"]);
    assert_eq!(
        e,
        [
            SioClientEvent::ConnectTimeout,
            SioClientEvent::EngineClosed { reason: CloseReason::TransportError }
        ]
    );
    assert_eq!(h.next_timeout(), Some(1300));
}

#[test]
fn websocket_only_and_caps() {
    let mut config = cfg();
    config.engine.transports = vec![Transport::WebSocket];
    config.max_buffered = 2;
    config.max_pending_acks = 2;
    config.max_namespaces = 2;
    let mut h = H::new(config);
    h.connect("/", None);
    h.c.emit(h.now, "/", "a", vec![], vec![]).unwrap();
    h.c.emit_with_ack(h.now, "/", "b", vec![], vec![], None).unwrap();
    assert_eq!(h.c.emit(h.now, "/", "c", vec![], vec![]), Err(SioClientError::BufferFull));
    h.connect("/x", None);
    assert_eq!(h.c.connect(h.now, "/y", None), Err(SioClientError::TooManyNamespaces));
    let (a, _) = h.drain();
    assert_eq!(a, ["WS1.1 /socket.io/?EIO=3&transport=websocket"]);
    h.c.handle_ws_open(h.now, rid(1, 1));
    h.c.handle_ws_message(h.now, rid(1, 1), &Message::from(OPEN));
    h.c.handle_ws_message(h.now, rid(1, 1), &Message::from("40"));
    let (a, e) = h.drain();
    assert_eq!(e, [connect_ev("/")]);
    assert_eq!(a, ["SEND1.1 42[\"a\"]", "SEND1.1 420[\"b\"]", "SEND1.1 40/x,"]);
    h.c.emit_with_ack(h.now, "/", "c", vec![], vec![], None).unwrap();
    assert_eq!(
        h.c.emit_with_ack(h.now, "/", "d", vec![], vec![], None),
        Err(SioClientError::TooManyPendingAcks)
    );
    // A WebSocket close is a transport close.
    h.c.handle_ws_closed(h.now, rid(1, 1));
    let (_, e) = h.drain();
    assert_eq!(e[0], SioClientEvent::EngineClosed { reason: CloseReason::TransportClose });
    // close() during the delay ends it all.
    h.c.close(h.now);
    let (_, e) = h.drain();
    assert!(e.iter().all(|e| matches!(e, SioClientEvent::AckCancelled { .. })), "{e:?}");
    assert_eq!(e.len(), 2);
    assert_eq!(h.c.state(), SioClientState::Closed);
    assert_eq!(h.c.poll_timeout(), None);
}

/// The client against the server-side Engine.IO session, in memory, over polling: the
/// server connects `/`, then answers every event with an ack of the same arguments (binary
/// included).
#[test]
fn in_memory_pair_with_the_engine_session() {
    use crate::eio::session::{EioConfig, EioEvent as SEvent, EioSession, EncodedPacket};
    use crate::eio::session::{PollingMode, PostKind};
    use std::sync::Arc;

    let t0 = Instant::now();
    let mut c = SioClient::new(cfg(), &mut SeededEntropy::new(3));
    c.connect(t0, "/", None).unwrap();
    c.emit_with_ack(t0, "/", "echo", vec![json!("é😀")], vec![], None).unwrap();
    let bin = vec![json!({"_placeholder": true, "num": 0})];
    c.emit_with_ack(t0, "/", "echo", bin.clone(), vec![Bytes::from_static(&[0, 255])], None)
        .unwrap();
    let mut session: Option<EioSession> = None;
    let mut server_r = Reconstructor::new(1 << 20);
    let mut held: Option<RequestId> = None;
    let mut got = Vec::new();
    for _ in 0..20 {
        let actions: Vec<EioAction> = std::iter::from_fn(|| c.poll_action()).collect();
        got.extend(std::iter::from_fn(|| c.poll_event()));
        if actions.is_empty() && held.is_none() {
            break;
        }
        for a in actions {
            match a {
                EioAction::HttpGet { id, .. } => match session.as_mut() {
                    None => {
                        session = Some(EioSession::new_polling(
                            t0,
                            "SID1",
                            Arc::new(EioConfig::default()),
                            PollingMode::Xhr { b64: false },
                            id.0,
                            &[EncodedPacket::message("0")],
                        ));
                        held = Some(id);
                    }
                    Some(s) => {
                        s.handle_get(t0, id.0).unwrap();
                        held = Some(id);
                    }
                },
                EioAction::HttpPost { id, content_type, body, .. } => {
                    let s = session.as_mut().unwrap();
                    let kind = PostKind::from_content_type(Some(content_type), None);
                    s.handle_post(t0, kind, &body).unwrap();
                    while let Some(ev) = s.poll_event() {
                        let done = match ev {
                            SEvent::Message(PacketData::Text(t)) => server_r.handle_text(&t),
                            SEvent::Message(PacketData::Binary(b)) => server_r.handle_binary(b),
                            other => panic!("{other:?}"),
                        };
                        if let Some(p) = done.unwrap() {
                            let ack = SioPacket::ack(
                                "/",
                                p.id.unwrap(),
                                p.args().to_vec(),
                                p.attachments,
                            )
                            .unwrap();
                            s.send_message(t0, &PacketData::Text(ack.encode())).unwrap();
                            for a in ack.attachments {
                                s.send_message(t0, &PacketData::Binary(a)).unwrap();
                            }
                        }
                    }
                    c.handle_http_response(t0, id, 200, Some("text/html"), b"ok");
                }
                other => panic!("{other:?}"),
            }
        }
        if let Some(s) = session.as_mut() {
            if let Some(ans) = s.poll_answer() {
                assert_eq!(Some(ans.request), held.map(|h| h.0));
                held = None;
                c.handle_http_response(
                    t0,
                    RequestId(ans.request),
                    200,
                    Some(ans.content_type),
                    &ans.body,
                );
            }
        }
    }
    assert_eq!(
        got,
        [
            connect_ev("/"),
            SioClientEvent::Ack {
                nsp: "/".into(),
                id: 0,
                args: vec![json!("é😀")],
                attachments: vec![]
            },
            SioClientEvent::Ack {
                nsp: "/".into(),
                id: 1,
                args: bin,
                attachments: vec![Bytes::from_static(&[0, 255])]
            },
        ]
    );
}
