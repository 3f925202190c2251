//! Virtual-clock tests of the Engine.IO client, driven with the spec's captured server bytes.

use super::*;
use crate::rand::SeededEntropy;

const SID: &str = "Dq5ELz4SbkYDv4GfAAAA";
/// The captured handshake answer (socket.io 2.5.1 defaults): open packet + socket.io CONNECT.
const HANDSHAKE: &str = r#"97:0{"sid":"Dq5ELz4SbkYDv4GfAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}2:40"#;
const OPEN: &str = r#"0{"sid":"Dq5ELz4SbkYDv4GfAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}"#;
const WS_OPEN: &str =
    r#"0{"sid":"5715nasRQJzd4zRdAAAB","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
const TEXT: &str = "text/plain; charset=UTF-8";
const POLL: &str = "/socket.io/?EIO=3&transport=polling&sid=Dq5ELz4SbkYDv4GfAAAA";
const WS: &str = "/socket.io/?EIO=3&transport=websocket&sid=Dq5ELz4SbkYDv4GfAAAA";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

fn show(a: EioAction) -> String {
    match a {
        EioAction::HttpGet { id, path_and_query } => format!("GET{id} {path_and_query}"),
        EioAction::HttpPost { id, path_and_query, content_type, body } => {
            let body = if content_type == BINARY_CONTENT_TYPE {
                format!("bin:{}", hex(&body))
            } else {
                String::from_utf8(body.to_vec()).unwrap()
            };
            format!("POST{id} {path_and_query} [{content_type}] {body}")
        }
        EioAction::CancelHttp { id } => format!("CANCEL{id}"),
        EioAction::OpenWebSocket { id, path_and_query } => format!("WS{id} {path_and_query}"),
        EioAction::WsSend { ws, message: Message::Text(t) } => format!("SEND{ws} {t}"),
        EioAction::WsSend { ws, message: Message::Binary(b) } => {
            format!("SEND{ws} bin:{}", hex(&b))
        }
        EioAction::CloseWebSocket { id } => format!("CLOSEWS{id}"),
    }
}

/// One packet as a text payload.
fn framed(packet: &str) -> String {
    format!("{}:{packet}", crate::eio::utf16_len(packet))
}

fn text(s: &str) -> EioEvent {
    EioEvent::Message(PacketData::Text(s.into()))
}

fn closed(reason: CloseReason) -> EioEvent {
    EioEvent::Closed { reason }
}

fn opened(upgrades: &[&str]) -> EioEvent {
    EioEvent::Open {
        sid: SID.into(),
        upgrades: upgrades.iter().map(|s| s.to_string()).collect(),
        ping_interval: ms(25000),
        ping_timeout: ms(20000),
    }
}

fn cfg() -> EioClientConfig {
    EioClientConfig { timestamp_requests: false, ..EioClientConfig::default() }
}

fn no_upgrade() -> EioClientConfig {
    EioClientConfig { upgrade: false, ..cfg() }
}

/// A client on a virtual clock.
struct H {
    c: EioClient,
    t0: Instant,
    now: Instant,
}

impl H {
    fn new(config: EioClientConfig) -> H {
        let t0 = Instant::now();
        H { c: EioClient::new(config, &mut SeededEntropy::new(1)), t0, now: t0 }
    }

    /// Moves the clock to `t0 + ms` and fires due timers.
    fn at(&mut self, n: u64) {
        self.now = self.t0 + ms(n);
        self.c.handle_timeout(self.now);
    }

    fn next_timeout(&self) -> Option<u64> {
        self.c.poll_timeout().map(|t| (t - self.t0).as_millis() as u64)
    }

    fn drain(&mut self) -> (Vec<String>, Vec<EioEvent>) {
        let actions = std::iter::from_fn(|| self.c.poll_action()).map(show).collect();
        let events = std::iter::from_fn(|| self.c.poll_event()).collect();
        (actions, events)
    }

    fn open(&mut self) {
        self.c.open(self.now).unwrap();
    }

    fn respond(&mut self, id: u64, status: u16, ct: &str, body: &[u8]) {
        self.c.handle_http_response(self.now, RequestId(id), status, Some(ct), body);
    }

    fn get(&mut self, id: u64, body: &str) {
        self.respond(id, 200, TEXT, body.as_bytes());
    }

    fn post_ok(&mut self, id: u64) {
        self.respond(id, 200, "text/html", b"ok");
    }

    fn ws_text(&mut self, id: u64, t: &str) {
        self.c.handle_ws_message(self.now, RequestId(id), &Message::from(t.to_owned()));
    }

    fn send(&mut self, t: &str) {
        self.c.send(self.now, PacketData::Text(t.into())).unwrap();
    }

    fn send_bin(&mut self, b: &[u8]) {
        self.c.send(self.now, PacketData::Binary(Bytes::copy_from_slice(b))).unwrap();
    }

    /// Opened over polling with the captured handshake; GET#2 (or #3 with a probe) pending.
    fn polling(config: EioClientConfig) -> H {
        let mut h = H::new(config);
        h.open();
        h.drain();
        h.get(1, HANDSHAKE);
        h
    }
}

#[test]
fn polling_handshake_with_a_text_payload() {
    let mut h = H::new(cfg());
    assert_eq!(h.c.state(), EioClientState::Idle);
    h.open();
    assert_eq!(h.drain(), (vec!["GET#1 /socket.io/?EIO=3&transport=polling".into()], vec![]));
    assert_eq!(h.c.state(), EioClientState::Opening);
    assert_eq!(h.c.open(h.now), Err(EioClientError::AlreadyOpened));
    h.get(1, HANDSHAKE);
    let (actions, events) = h.drain();
    assert_eq!(actions, [format!("WS#2 {WS}"), format!("GET#3 {POLL}")]);
    assert_eq!(events, [opened(&["websocket"]), text("0")]);
    assert_eq!(h.c.state(), EioClientState::Open);
    assert_eq!(h.c.sid(), Some(SID));
    assert_eq!(h.c.transport(), Some(Transport::Polling));
    assert!(h.c.is_upgrading());
    assert_eq!(h.next_timeout(), Some(25000));
}

#[test]
fn polling_handshake_with_a_binary_payload() {
    let mut body = vec![0x00, 0x09, 0x07, 0xff];
    body.extend_from_slice(OPEN.as_bytes());
    body.extend_from_slice(&[0x00, 0x02, 0xff, b'4', b'0', 0x01, 0x03, 0xff, 0x04, 0xde, 0xad]);
    for ct in ["application/octet-stream", "application/octet-stream; charset=UTF-8"] {
        let mut h = H::new(no_upgrade());
        h.open();
        h.drain();
        h.respond(1, 200, ct, &body);
        let (actions, events) = h.drain();
        assert_eq!(actions, [format!("GET#2 {POLL}")]);
        assert_eq!(
            events,
            [
                opened(&["websocket"]),
                text("0"),
                EioEvent::Message(PacketData::Binary(Bytes::from_static(&[0xde, 0xad])))
            ]
        );
    }
    // Any other content type is read as text: these bytes are no text payload.
    let mut h = H::new(no_upgrade());
    h.open();
    h.drain();
    h.respond(1, 200, "application/octet-stream;charset=utf-8;x", &body);
    assert_eq!(h.drain().1, [closed(CloseReason::ParseError)]);
}

#[test]
fn query_string_parts() {
    let config = EioClientConfig {
        path: "engine.io".into(),
        query: vec![("foo".into(), "b r".into()), ("EIO".into(), "4".into())],
        force_base64: true,
        ..EioClientConfig::default()
    };
    let mut h = H::new(config);
    assert_eq!(h.c.config().path, "/engine.io/");
    h.open();
    let (actions, _) = h.drain();
    let first = actions[0].clone();
    assert!(first.starts_with("GET#1 /engine.io/?foo=b%20r&EIO=3&transport=polling&t="), "{first}");
    assert!(first.ends_with("&b64=1"), "{first}");
    h.get(1, HANDSHAKE);
    let (actions, _) = h.drain();
    // The probe has b64 but no t; the next poll has a different t and the sid last.
    assert_eq!(
        actions[0],
        format!("WS#2 /engine.io/?foo=b%20r&EIO=3&transport=websocket&b64=1&sid={SID}")
    );
    assert!(actions[1].contains("&t=") && actions[1].ends_with(&format!("&b64=1&sid={SID}")));
    let t = |s: &str| s.split("&t=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    assert_ne!(t(&first), t(&actions[1]));
    let c = h.c.config();
    assert_eq!(c.http_url("/x"), "http://localhost/x");
    let c = EioClientConfig { secure: true, host: "::1".into(), port: Some(8443), ..c.clone() };
    assert_eq!(c.ws_url("/x?y"), "wss://[::1]:8443/x?y");
}

#[test]
fn websocket_only_handshake() {
    let config = EioClientConfig { transports: vec![Transport::WebSocket], ..cfg() };
    let mut h = H::new(config);
    h.send("early");
    h.open();
    assert_eq!(h.drain().0, ["WS#1 /socket.io/?EIO=3&transport=websocket"]);
    h.c.handle_ws_open(h.now, RequestId(1));
    h.ws_text(1, WS_OPEN);
    h.ws_text(1, "40");
    let (actions, events) = h.drain();
    assert_eq!(actions, ["SEND#1 4early"]);
    assert_eq!(
        events,
        [
            EioEvent::Open {
                sid: "5715nasRQJzd4zRdAAAB".into(),
                upgrades: vec![],
                ping_interval: ms(25000),
                ping_timeout: ms(20000)
            },
            text("0")
        ]
    );
    assert_eq!(h.c.transport(), Some(Transport::WebSocket));
    h.send("hello");
    h.send_bin(&[1, 2]);
    assert_eq!(h.drain().0, ["SEND#1 4hello", "SEND#1 bin:04 01 02"]);
    // Captured S→C binary frame.
    h.c.handle_ws_message(h.now, RequestId(1), &Message::Binary(Bytes::from_static(&[4, 0xde])));
    assert_eq!(h.drain().1, [EioEvent::Message(PacketData::Binary(Bytes::from_static(&[0xde])))]);
    // Ping over the websocket.
    h.at(25000);
    assert_eq!(h.drain().0, ["SEND#1 2"]);
    h.ws_text(1, "3");
    assert_eq!(h.next_timeout(), Some(50000));
    // The server closes the socket.
    h.c.handle_ws_closed(h.now, RequestId(1));
    assert_eq!(h.drain(), (vec![], vec![closed(CloseReason::TransportClose)]));
    assert_eq!(h.next_timeout(), None);
}

#[test]
fn websocket_that_fails_to_open_is_a_transport_error() {
    let config = EioClientConfig { transports: vec![Transport::WebSocket], ..cfg() };
    let mut h = H::new(config);
    h.open();
    h.drain();
    h.c.handle_ws_closed(h.now, RequestId(1));
    assert_eq!(h.drain(), (vec![], vec![closed(CloseReason::TransportError)]));
    // Garbage as the first frame is a parse error.
    let config = EioClientConfig { transports: vec![Transport::WebSocket], ..cfg() };
    let mut h = H::new(config);
    h.open();
    h.drain();
    h.ws_text(1, "40");
    assert_eq!(h.drain(), (vec!["CLOSEWS#1".into()], vec![closed(CloseReason::ParseError)]));
}

#[test]
fn upgrade_happy_path() {
    let mut h = H::polling(cfg());
    h.drain();
    h.send("hi");
    assert_eq!(h.drain().0, [format!("POST#4 {POLL} [text/plain;charset=UTF-8] 3:4hi")]);
    h.c.handle_ws_open(h.now, RequestId(2));
    assert_eq!(h.drain().0, ["SEND#2 2probe"]);
    h.ws_text(2, "3probe");
    // Paused: GET#3 and POST#4 still in flight; new sends wait.
    assert_eq!(h.drain(), (vec![], vec![]));
    h.send("queued");
    h.send_bin(&[1, 2]);
    assert_eq!(h.drain(), (vec![], vec![]));
    h.post_ok(4);
    assert_eq!(h.drain(), (vec![], vec![]));
    // The server releases the poll with a noop: switch.
    h.get(3, "1:6");
    let (actions, events) = h.drain();
    assert_eq!(actions, ["SEND#2 5", "SEND#2 4queued", "SEND#2 bin:04 01 02"]);
    assert_eq!(events, [EioEvent::Upgraded]);
    assert_eq!(h.c.transport(), Some(Transport::WebSocket));
    assert!(!h.c.is_upgrading());
    h.ws_text(2, "4x");
    assert_eq!(h.drain().1, [text("x")]);
    // Late polling reports are ignored.
    h.get(3, "1:1");
    h.post_ok(4);
    assert_eq!(h.drain(), (vec![], vec![]));
    // A forced close on the websocket closes it, no `1` packet.
    h.send("bye");
    h.c.close(h.now);
    assert_eq!(
        h.drain(),
        (vec!["SEND#2 4bye".into(), "CLOSEWS#2".into()], vec![closed(CloseReason::ForcedClose)])
    );
}

#[test]
fn upgrade_with_force_base64_sends_b64_text_frames() {
    let mut h = H::polling(EioClientConfig { force_base64: true, ..cfg() });
    h.drain();
    h.c.handle_ws_open(h.now, RequestId(2));
    h.ws_text(2, "3probe");
    h.get(3, "1:6");
    h.drain();
    h.send_bin(&[0xde, 0xad]);
    assert_eq!(h.drain().0, ["SEND#2 b43q0="]);
}

#[test]
fn failed_probes_keep_polling() {
    // A wrong answer to the probe.
    let mut h = H::polling(cfg());
    h.drain();
    h.c.handle_ws_open(h.now, RequestId(2));
    h.drain();
    h.ws_text(2, "3nope");
    assert_eq!(h.drain(), (vec!["CLOSEWS#2".into()], vec![EioEvent::UpgradeFailed]));
    h.get(3, "1:6");
    assert_eq!(h.drain().0, [format!("GET#4 {POLL}")]);
    h.send("a");
    assert_eq!(h.drain().0, [format!("POST#5 {POLL} [text/plain;charset=UTF-8] 2:4a")]);

    // The websocket fails to open.
    let mut h = H::polling(cfg());
    h.drain();
    h.c.handle_ws_closed(h.now, RequestId(2));
    assert_eq!(h.drain(), (vec![], vec![EioEvent::UpgradeFailed]));
    assert_eq!(h.c.state(), EioClientState::Open);

    // The websocket closes while polling is paused: polling resumes, the queue goes out.
    let mut h = H::polling(cfg());
    h.drain();
    h.send("x");
    h.c.handle_ws_open(h.now, RequestId(2));
    h.ws_text(2, "3probe");
    h.send("held");
    h.drain();
    // POST#4 is still in flight, so the finished poll does not complete the pause.
    h.get(3, "6:4hello");
    assert_eq!(h.drain(), (vec![], vec![text("hello")]));
    h.c.handle_ws_closed(h.now, RequestId(2));
    assert_eq!(h.drain(), (vec![format!("GET#5 {POLL}")], vec![EioEvent::UpgradeFailed]));
    h.post_ok(4);
    assert_eq!(h.drain().0, [format!("POST#6 {POLL} [text/plain;charset=UTF-8] 5:4held")]);

    // The probe times out.
    let mut h = H::polling(EioClientConfig { request_timeout: Some(ms(10000)), ..cfg() });
    h.drain();
    h.now = h.t0 + ms(5000);
    h.get(3, "1:6");
    assert_eq!(h.drain().0, [format!("GET#4 {POLL}")]);
    h.at(10000);
    assert_eq!(h.drain(), (vec!["CLOSEWS#2".into()], vec![EioEvent::UpgradeFailed]));
    // The long poll started at 5 s is subject to the same timeout: a transport error.
    h.at(15000);
    assert_eq!(h.drain(), (vec!["CANCEL#4".into()], vec![closed(CloseReason::TransportError)]));
}

#[test]
fn no_probe_without_websocket_in_the_transports_or_the_offer() {
    let mut h = H::polling(EioClientConfig { transports: vec![Transport::Polling], ..cfg() });
    assert_eq!(h.drain().0, [format!("GET#2 {POLL}")]);
    let mut h = H::new(cfg());
    h.open();
    h.drain();
    h.get(1, &framed(r#"0{"sid":"Dq5ELz4SbkYDv4GfAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#));
    assert_eq!(h.drain(), (vec![format!("GET#2 {POLL}")], vec![opened(&[])]));
}

#[test]
fn ping_cadence_and_ping_timeout() {
    let mut h = H::polling(no_upgrade());
    h.drain();
    assert_eq!(h.next_timeout(), Some(25000));
    h.at(24999);
    assert_eq!(h.drain(), (vec![], vec![]));
    h.at(25000);
    assert_eq!(h.drain().0, [format!("POST#3 {POLL} [text/plain;charset=UTF-8] 1:2")]);
    // After the ping, anything must come within pingTimeout.
    assert_eq!(h.next_timeout(), Some(45000));
    h.post_ok(3);
    h.now = h.t0 + ms(25100);
    h.get(2, "1:3");
    assert_eq!(h.drain().0, [format!("GET#4 {POLL}")]);
    // The pong restarts the ping interval; the liveness deadline is 25100 + 45000.
    assert_eq!(h.next_timeout(), Some(50100));
    // A server ping is ignored (no pong), but it is a packet: liveness rearmed.
    h.now = h.t0 + ms(30000);
    h.get(4, "1:2");
    assert_eq!(h.drain().0, [format!("GET#5 {POLL}")]);
    h.at(50100);
    assert_eq!(h.drain().0, [format!("POST#6 {POLL} [text/plain;charset=UTF-8] 1:2")]);
    assert_eq!(h.next_timeout(), Some(70100));
    // Messages without a pong keep the session alive but no new ping is sent.
    h.now = h.t0 + ms(60000);
    h.get(5, "2:4a");
    h.post_ok(6);
    h.drain();
    assert_eq!(h.next_timeout(), Some(105000));
    h.at(104999);
    assert_eq!(h.drain(), (vec![], vec![]));
    h.at(105000);
    let (actions, events) = h.drain();
    assert_eq!(actions, ["CANCEL#7"]);
    assert_eq!(events, [closed(CloseReason::PingTimeout)]);
    assert_eq!(h.next_timeout(), None);
    assert_eq!(h.c.send(h.now, PacketData::Text("x".into())), Err(EioClientError::Closed));
}

#[test]
fn server_close_and_noop() {
    let mut h = H::polling(no_upgrade());
    h.drain();
    h.get(2, "1:6");
    assert_eq!(h.drain().0, [format!("GET#3 {POLL}")]);
    h.get(3, "1:61:1");
    assert_eq!(h.drain(), (vec![], vec![closed(CloseReason::TransportClose)]));
    assert!(h.c.is_closed());
    // Close with a POST in flight cancels it.
    let mut h = H::polling(no_upgrade());
    h.drain();
    h.send("x");
    h.drain();
    h.get(2, "1:1");
    assert_eq!(h.drain(), (vec!["CANCEL#3".into()], vec![closed(CloseReason::TransportClose)]));
}

#[test]
fn bad_payloads_close_with_parse_error_after_earlier_packets() {
    let mut h = H::polling(no_upgrade());
    h.drain();
    h.get(2, "6:4hello5:x");
    assert_eq!(h.drain(), (vec![], vec![text("hello"), closed(CloseReason::ParseError)]));
    let mut h = H::polling(no_upgrade());
    h.drain();
    h.get(2, "");
    assert_eq!(h.drain().1, [closed(CloseReason::ParseError)]);
    // Handshakes that are not usable.
    for body in [
        r#"0{"sid":"a","pingInterval":1,"pingTimeout":1}"#,
        r#"0{"sid":"","upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
        r#"0{"sid":"a","upgrades":[1],"pingInterval":1,"pingTimeout":1}"#,
        r#"0{"sid":"a","upgrades":[],"pingInterval":-1,"pingTimeout":1}"#,
        r#"0{"sid":"a","upgrades":[],"pingInterval":1}"#,
        "40",
        "6",
        "0x",
        "b0AQIDBA",
    ] {
        let mut h = H::new(cfg());
        h.open();
        h.drain();
        h.get(1, &framed(body));
        assert_eq!(h.drain(), (vec![], vec![closed(CloseReason::ParseError)]), "{body}");
    }
}

#[test]
fn http_failures_are_transport_errors() {
    let mut h = H::new(cfg());
    h.open();
    h.drain();
    h.respond(1, 400, "application/json", br#"{"code":1,"message":"Session ID unknown"}"#);
    assert_eq!(h.drain().1, [closed(CloseReason::TransportError)]);
    // A failed POST cancels the poll and the probe.
    let mut h = H::polling(cfg());
    h.drain();
    h.send("x");
    h.drain();
    h.c.handle_http_error(h.now, RequestId(4));
    assert_eq!(
        h.drain(),
        (vec!["CANCEL#3".into(), "CLOSEWS#2".into()], vec![closed(CloseReason::TransportError)])
    );
    // A POST answered 400.
    let mut h = H::polling(no_upgrade());
    h.drain();
    h.send("x");
    h.drain();
    h.respond(3, 400, "application/json", b"{}");
    assert_eq!(h.drain(), (vec!["CANCEL#2".into()], vec![closed(CloseReason::TransportError)]));
    // The long poll times out.
    let mut h = H::polling(EioClientConfig { request_timeout: Some(ms(10000)), ..no_upgrade() });
    h.drain();
    h.at(10000);
    assert_eq!(h.drain(), (vec!["CANCEL#2".into()], vec![closed(CloseReason::TransportError)]));
}

#[test]
fn send_queue_caps_are_typed() {
    let mut h = H::new(EioClientConfig { max_queued_packets: 2, ..no_upgrade() });
    h.send("a");
    h.send("b");
    assert_eq!(h.c.send(h.now, PacketData::Text("c".into())), Err(EioClientError::QueueFull));
    assert_eq!(h.c.queued(), 2);
    h.open();
    h.get(1, HANDSHAKE);
    let (actions, _) = h.drain();
    assert_eq!(
        actions[1..],
        [format!("GET#2 {POLL}"), format!("POST#3 {POLL} [text/plain;charset=UTF-8] 2:4a2:4b")]
    );
    assert_eq!(h.c.queued(), 0);
    let mut h = H::new(EioClientConfig { max_queued_bytes: 5, ..no_upgrade() });
    h.send("abc");
    assert_eq!(h.c.send(h.now, PacketData::Text("def".into())), Err(EioClientError::QueueFull));
    h.send("de");
    assert_eq!(h.c.queued_bytes(), 5);
    let mut h = H::new(EioClientConfig { transports: vec![], ..cfg() });
    assert_eq!(h.c.open(h.now), Err(EioClientError::NoTransport));
}

#[test]
fn binary_sends_over_polling() {
    // Binary-capable: a binary payload as soon as one packet is binary.
    let mut h = H::new(no_upgrade());
    h.send_bin(&[1, 2, 3]);
    h.send("a");
    h.open();
    h.get(1, HANDSHAKE);
    let (actions, _) = h.drain();
    assert_eq!(
        actions[2],
        format!("POST#3 {POLL} [application/octet-stream] bin:01 04 ff 04 01 02 03 00 02 ff 34 61")
    );
    // Text only: a text payload.
    h.post_ok(3);
    h.send("b");
    assert_eq!(h.drain().0, [format!("POST#4 {POLL} [text/plain;charset=UTF-8] 2:4b")]);
    // Base64 mode: `b4…` inside a text payload.
    let mut h = H::new(EioClientConfig { force_base64: true, ..no_upgrade() });
    h.send_bin(&[1, 2, 3, 4]);
    h.send("hello");
    h.open();
    h.get(1, HANDSHAKE);
    let (actions, _) = h.drain();
    assert_eq!(
        actions[2],
        format!("POST#3 {POLL}&b64=1 [text/plain;charset=UTF-8] 10:b4AQIDBA==6:4hello")
            .replace(&format!("&sid={SID}&b64=1"), &format!("&b64=1&sid={SID}"))
    );
}

#[test]
fn forced_close_on_polling() {
    let mut h = H::polling(cfg());
    h.drain();
    h.c.close(h.now);
    let (actions, events) = h.drain();
    assert_eq!(
        actions,
        [
            "CLOSEWS#2".to_string(),
            "CANCEL#3".into(),
            format!("POST#4 {POLL} [text/plain;charset=UTF-8] 1:1")
        ]
    );
    assert_eq!(events, [closed(CloseReason::ForcedClose)]);
    assert_eq!(h.next_timeout(), None);
    h.c.close(h.now);
    h.post_ok(4);
    assert_eq!(h.drain(), (vec![], vec![]));

    // With a POST in flight: wait for it, then queue + `1` in one POST.
    let mut h = H::polling(no_upgrade());
    h.drain();
    h.send("a");
    h.drain();
    h.c.close(h.now);
    assert_eq!(h.drain(), (vec!["CANCEL#2".into()], vec![]));
    assert_eq!(h.c.state(), EioClientState::Closing);
    assert_eq!(h.c.send(h.now, PacketData::Text("x".into())), Err(EioClientError::Closed));
    h.post_ok(3);
    assert_eq!(
        h.drain(),
        (
            vec![format!("POST#4 {POLL} [text/plain;charset=UTF-8] 1:1")],
            vec![closed(CloseReason::ForcedClose)]
        )
    );

    // Before the handshake completed.
    let mut h = H::new(cfg());
    h.open();
    h.drain();
    h.c.close(h.now);
    assert_eq!(h.drain(), (vec!["CANCEL#1".into()], vec![closed(CloseReason::ForcedClose)]));
    let mut h = H::new(cfg());
    h.c.close(h.now);
    assert_eq!(h.drain(), (vec![], vec![closed(CloseReason::ForcedClose)]));
    assert_eq!(h.c.open(h.now), Err(EioClientError::AlreadyOpened));
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Op {
        Open,
        Send(bool, Vec<u8>),
        Close,
        Get(u8, u16),
        Post(u16),
        HttpError(bool),
        WsOpen(bool),
        WsMsg(bool, u8),
        WsClosed(bool),
        Advance(u32),
    }

    const BODIES: [&str; 8] = [HANDSHAKE, "1:6", "1:3", "6:4hello", "1:1", "x", "2:40", ""];
    const FRAMES: [&str; 7] = [WS_OPEN, "3probe", "3", "4hi", "6", "b4AQID", "?"];

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Open),
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..8))
                .prop_map(|(b, d)| Op::Send(b, d)),
            Just(Op::Close),
            (0..8u8, prop_oneof![Just(200u16), Just(400)]).prop_map(|(b, s)| Op::Get(b, s)),
            prop_oneof![Just(200u16), Just(500)].prop_map(Op::Post),
            any::<bool>().prop_map(Op::HttpError),
            any::<bool>().prop_map(Op::WsOpen),
            (any::<bool>(), 0..7u8).prop_map(|(w, m)| Op::WsMsg(w, m)),
            any::<bool>().prop_map(Op::WsClosed),
            (0..60_000u32).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #[test]
        fn random_operations_keep_the_invariants(
            ops in proptest::collection::vec(op(), 0..60),
            ws_first in any::<bool>(),
            b64 in any::<bool>(),
        ) {
            let transports = if ws_first {
                vec![Transport::WebSocket, Transport::Polling]
            } else {
                vec![Transport::Polling, Transport::WebSocket]
            };
            let config = EioClientConfig {
                transports,
                force_base64: b64,
                max_queued_packets: 4,
                request_timeout: Some(ms(30_000)),
                ..EioClientConfig::default()
            };
            let mut c = EioClient::new(config, &mut SeededEntropy::new(9));
            let t0 = Instant::now();
            let mut now = t0;
            let mut gets = BTreeSet::new();
            let mut posts = BTreeSet::new();
            let mut wss: Vec<RequestId> = Vec::new();
            let mut saw_closed = false;
            for op in ops {
                match op {
                    Op::Open => { let _ = c.open(now); }
                    Op::Send(bin, d) => {
                        let data = if bin { PacketData::Binary(d.into()) }
                            else { PacketData::Text(String::from_utf8_lossy(&d).into_owned()) };
                        let _ = c.send(now, data);
                    }
                    Op::Close => c.close(now),
                    Op::Get(b, status) => if let Some(&id) = gets.iter().next() {
                        gets.remove(&id);
                        c.handle_http_response(now, id, status, Some(TEXT), BODIES[b as usize].as_bytes());
                    },
                    Op::Post(status) => if let Some(&id) = posts.iter().next() {
                        posts.remove(&id);
                        c.handle_http_response(now, id, status, Some("text/html"), b"ok");
                    },
                    Op::HttpError(get) => {
                        let set = if get { &mut gets } else { &mut posts };
                        if let Some(&id) = set.iter().next() {
                            set.remove(&id);
                            c.handle_http_error(now, id);
                        }
                    }
                    Op::WsOpen(last) => if let Some(&id) = if last { wss.last() } else { wss.first() } {
                        c.handle_ws_open(now, id);
                    },
                    Op::WsMsg(last, m) => if let Some(&id) = if last { wss.last() } else { wss.first() } {
                        c.handle_ws_message(now, id, &Message::from(FRAMES[m as usize]));
                    },
                    Op::WsClosed(last) => if let Some(&id) = if last { wss.last() } else { wss.first() } {
                        wss.retain(|&w| w != id);
                        c.handle_ws_closed(now, id);
                    },
                    Op::Advance(d) => {
                        now += ms(u64::from(d));
                        c.handle_timeout(now);
                        if let Some(t) = c.poll_timeout() {
                            prop_assert!(t > now, "a due deadline survived handle_timeout");
                        }
                    }
                }
                while let Some(a) = c.poll_action() {
                    match a {
                        EioAction::HttpGet { id, .. } => { gets.insert(id); }
                        EioAction::HttpPost { id, .. } => { posts.insert(id); }
                        EioAction::CancelHttp { id } => { gets.remove(&id); posts.remove(&id); }
                        EioAction::OpenWebSocket { id, .. } => wss.push(id),
                        EioAction::WsSend { ws, .. } => prop_assert!(wss.contains(&ws)),
                        EioAction::CloseWebSocket { id } => wss.retain(|&w| w != id),
                    }
                }
                while let Some(e) = c.poll_event() {
                    prop_assert!(!saw_closed, "event after Closed: {:?}", e);
                    saw_closed |= matches!(e, EioEvent::Closed { .. });
                }
                prop_assert!(c.queued() <= 5, "queue over its cap (+1 ping)");
                if c.is_live() {
                    prop_assert!(gets.len() <= 1, "two GETs in flight");
                    prop_assert!(posts.len() <= 1, "two POSTs in flight");
                    prop_assert!(wss.len() <= 2);
                }
                if c.is_closed() {
                    prop_assert!(saw_closed);
                    prop_assert_eq!(c.poll_timeout(), None);
                    // The closing POST may still be out; nothing else is.
                    prop_assert!(gets.is_empty() && wss.is_empty());
                    posts.clear();
                }
            }
        }
    }
}
