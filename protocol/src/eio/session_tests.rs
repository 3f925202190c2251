//! Engine.IO server session tests on a virtual clock, with an in-memory WebSocket client.

use super::session::*;
use super::{PacketData, PollingMode, PostKind};
use crate::rand::SeededEntropy;
use crate::ws::{self, Connection, Message};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config() -> Arc<EioConfig> {
    Arc::new(EioConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        ..EioConfig::default()
    })
}

fn polling(now: Instant, b64: bool) -> EioSession {
    EioSession::new_polling(now, "sid1", config(), PollingMode::Xhr { b64 }, 1, &[])
}

fn body(a: &PollAnswer) -> String {
    String::from_utf8(a.body.to_vec()).unwrap()
}

fn events(s: &mut EioSession) -> Vec<EioEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// A WebSocket client wired to session WebSocket `id`.
struct WsClient {
    conn: Connection,
    id: WsId,
}

impl WsClient {
    fn attach_probe(s: &mut EioSession, now: Instant) -> WsClient {
        let server = Connection::server(s.config().ws_config(), now);
        let id = s.attach_probe(now, server, false).expect("probe accepted");
        WsClient::new(id, now)
    }

    fn new(id: WsId, now: Instant) -> WsClient {
        let conn = Connection::client(ws::Config::default(), Box::new(SeededEntropy::new(7)), now);
        WsClient { conn, id }
    }

    fn send(&mut self, s: &mut EioSession, now: Instant, m: Message) {
        self.conn.send(now, m).unwrap();
        while let Some(b) = self.conn.poll_transmit() {
            s.handle_ws_data(now, self.id, &b);
        }
    }

    fn text(&mut self, s: &mut EioSession, now: Instant, t: &str) {
        self.send(s, now, Message::Text(t.into()));
    }

    fn recv(&mut self, s: &mut EioSession, now: Instant) -> Vec<Message> {
        while let Some(b) = s.poll_ws_transmit(self.id) {
            self.conn.handle_data(now, &b);
        }
        let mut out = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            if let ws::Event::Message(m) = e {
                out.push(m);
            }
        }
        out
    }
}

fn texts(ms: &[Message]) -> Vec<String> {
    ms.iter()
        .map(|m| match m {
            Message::Text(t) => t.as_str().to_owned(),
            Message::Binary(b) => format!("bin{:?}", &b[..]),
        })
        .collect()
}

#[test]
fn polling_handshake_answers_open_then_holds_polls() {
    let t0 = Instant::now();
    let mut s = EioSession::new_polling(
        t0,
        "sid1",
        config(),
        PollingMode::Xhr { b64: true },
        1,
        &[EncodedPacket::message("0")],
    );
    let a = s.poll_answer().expect("handshake answered");
    assert_eq!(a.request, 1);
    assert_eq!(a.content_type, TEXT_CONTENT_TYPE);
    assert_eq!(
        body(&a),
        "77:0{\"sid\":\"sid1\",\"upgrades\":[\"websocket\"],\"pingInterval\":300,\"pingTimeout\":200}2:40"
    );
    // A poll waits until something is sent.
    s.handle_get(t0, 2).unwrap();
    assert!(s.poll_answer().is_none());
    s.send(t0, EncodedPacket::message("2[\"u\",\"€😀é\"]")).unwrap();
    let a = s.poll_answer().unwrap();
    assert_eq!(a.request, 2);
    assert_eq!(body(&a), "14:42[\"u\",\"€😀é\"]");
}

#[test]
fn ping_is_answered_and_messages_are_events() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    s.handle_post(t0, PostKind::Text, b"1:26:4hello10:b4AQIDBA==").unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            EioEvent::Message(PacketData::Text("hello".into())),
            EioEvent::Message(PacketData::Binary(vec![1, 2, 3, 4].into()))
        ]
    );
    s.handle_get(t0, 2).unwrap();
    assert_eq!(body(&s.poll_answer().unwrap()), "1:3");
}

#[test]
fn binary_capable_session_gets_binary_payloads_only_when_needed() {
    let t0 = Instant::now();
    let mut s = polling(t0, false);
    let _ = s.poll_answer();
    s.handle_get(t0, 2).unwrap();
    s.send(t0, EncodedPacket::message("x")).unwrap();
    assert_eq!(s.poll_answer().unwrap().content_type, TEXT_CONTENT_TYPE);
    s.send(t0, EncodedPacket::message("y")).unwrap();
    s.send(t0, EncodedPacket::binary_message(&[0xde, 0xad])).unwrap();
    s.handle_get(t0, 3).unwrap();
    let a = s.poll_answer().unwrap();
    assert_eq!(a.content_type, BINARY_CONTENT_TYPE);
    assert_eq!(&a.body[..], &[0, 2, 0xff, b'4', b'y', 1, 3, 0xff, 4, 0xde, 0xad]);
}

#[test]
fn jsonp_answers_are_scripts() {
    let t0 = Instant::now();
    let mut s = EioSession::new_polling(
        t0,
        "s",
        config(),
        PollingMode::Jsonp { index: "3".into() },
        1,
        &[],
    );
    let a = s.poll_answer().unwrap();
    assert!(body(&a).starts_with("___eio[3](\"74:0{\\\"sid\\\""), "{}", body(&a));
    s.handle_post(t0, PostKind::JsonpForm, b"d=6%3A4a%5Cnb%0Ac").unwrap();
    assert_eq!(events(&mut s), vec![EioEvent::Message(PacketData::Text("a\nb\nc".into()))]);
}

#[test]
fn overlapping_poll_fails_the_session() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    s.handle_get(t0, 2).unwrap();
    assert_eq!(s.handle_get(t0, 3), Err(RequestError::OverlappingPoll));
    assert_eq!(events(&mut s), vec![EioEvent::Closed(CloseReason::TransportError)]);
    let a = s.poll_answer().unwrap();
    assert_eq!((a.request, body(&a).as_str()), (2, "1:1"));
    assert!(s.is_finished());
    assert_eq!(s.handle_get(t0, 4), Err(RequestError::Closed));
}

#[test]
fn bad_payload_closes_with_parse_error_after_earlier_packets() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    s.handle_post(t0, PostKind::Text, b"2:4a3:9zz").unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            EioEvent::Message(PacketData::Text("a".into())),
            EioEvent::Closed(CloseReason::ParseError)
        ]
    );
    // The close is delivered to the next poll; then the session is gone.
    s.handle_get(t0, 2).unwrap();
    assert_eq!(body(&s.poll_answer().unwrap()), "1:1");
    assert!(s.is_finished());
    assert_eq!(s.handle_post(t0, PostKind::Text, b"1:2"), Err(RequestError::Closed));
}

#[test]
fn heartbeat_timeout_counts_from_the_last_packet() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_millis(500)));
    let t1 = t0 + Duration::from_millis(400);
    s.handle_post(t1, PostKind::Text, b"1:2").unwrap();
    s.handle_timeout(t0 + Duration::from_millis(500));
    assert!(s.is_open());
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_millis(500)));
    s.handle_get(t1, 2).unwrap();
    assert_eq!(body(&s.poll_answer().unwrap()), "1:3");
    s.handle_get(t1, 3).unwrap();
    s.handle_timeout(t1 + Duration::from_millis(500));
    assert_eq!(events(&mut s), vec![EioEvent::Closed(CloseReason::PingTimeout)]);
    assert_eq!(body(&s.poll_answer().unwrap()), "1:1");
    assert!(s.is_finished());
}

#[test]
fn closed_session_without_poll_lingers_for_close_timeout() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    s.send(t0, EncodedPacket::message("last")).unwrap();
    s.close(t0);
    assert!(!s.is_finished());
    let later = t0 + Duration::from_secs(31);
    assert!(s.poll_timeout().unwrap() <= later);
    s.handle_timeout(later);
    assert!(s.is_finished());
}

#[test]
fn server_close_answers_a_held_poll_with_the_close_packet() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    s.handle_get(t0, 2).unwrap();
    s.send(t0, EncodedPacket::message("a")).unwrap();
    assert_eq!(body(&s.poll_answer().unwrap()), "2:4a");
    s.handle_get(t0, 3).unwrap();
    s.close(t0);
    let a = s.poll_answer().unwrap();
    assert_eq!((a.request, body(&a).as_str()), (3, "1:1"));
    assert!(s.is_finished());
}

#[test]
fn client_close_packet_releases_the_poll_with_noop() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    s.handle_get(t0, 2).unwrap();
    s.handle_post(t0, PostKind::Text, b"1:1").unwrap();
    assert_eq!(events(&mut s), vec![EioEvent::Closed(CloseReason::TransportClose)]);
    assert_eq!(body(&s.poll_answer().unwrap()), "1:6");
    assert!(s.is_finished());
}

#[test]
fn upgrade_happy_path() {
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    s.handle_get(t0, 2).unwrap();
    let mut c = WsClient::attach_probe(&mut s, t0);
    c.text(&mut s, t0, "2probe");
    assert_eq!(texts(&c.recv(&mut s, t0)), vec!["3probe"]);
    // The held poll is released with a noop so the client can pause.
    let a = s.poll_answer().unwrap();
    assert_eq!((a.request, body(&a).as_str()), (2, "1:6"));
    // Still polling until `5`: a message goes to the poll queue, a POST is accepted.
    s.send(t0, EncodedPacket::message("queued")).unwrap();
    s.handle_post(t0, PostKind::Text, b"3:4hi").unwrap();
    c.text(&mut s, t0, "5");
    assert_eq!(
        events(&mut s),
        vec![EioEvent::Message(PacketData::Text("hi".into())), EioEvent::Upgraded]
    );
    assert!(s.is_websocket());
    assert_eq!(texts(&c.recv(&mut s, t0)), vec!["4queued"]);
    // Polling after the upgrade is a transport mismatch.
    assert_eq!(s.handle_get(t0, 3), Err(RequestError::WrongTransport));
    // Heartbeat on the WebSocket; binary frames carry the type byte.
    c.text(&mut s, t0, "2");
    s.send(t0, EncodedPacket::binary_message(&[1, 2])).unwrap();
    assert_eq!(texts(&c.recv(&mut s, t0)), vec!["3".to_owned(), "bin[4, 1, 2]".to_owned()]);
    c.send(&mut s, t0, Message::Binary(vec![4, 9].into()));
    assert_eq!(events(&mut s), vec![EioEvent::Message(PacketData::Binary(vec![9].into()))]);
    // A second WebSocket for the same sid is refused (the runtime closes it).
    let extra = Connection::server(s.config().ws_config(), t0);
    assert!(s.attach_probe(t0, extra, false).is_err());
}

#[test]
fn frames_arriving_with_the_upgrade_packet_are_handled() {
    // The client's `5` and its next message in one read of the probe's stream.
    let t0 = Instant::now();
    let mut s = polling(t0, true);
    let _ = s.poll_answer();
    let mut c = WsClient::attach_probe(&mut s, t0);
    c.text(&mut s, t0, "2probe");
    assert_eq!(texts(&c.recv(&mut s, t0)), vec!["3probe"]);
    c.conn.send(t0, Message::Text("5".into())).unwrap();
    c.conn.send(t0, Message::Text("4after".into())).unwrap();
    let mut bytes = Vec::new();
    while let Some(b) = c.conn.poll_transmit() {
        bytes.extend_from_slice(&b);
    }
    s.handle_ws_data(t0, c.id, &bytes);
    assert_eq!(
        events(&mut s),
        vec![EioEvent::Upgraded, EioEvent::Message(PacketData::Text("after".into()))]
    );
}

#[test]
fn probe_aborted_by_other_packet_or_timeout_keeps_polling() {
    let t0 = Instant::now();
    let cfg = Arc::new(EioConfig::default());
    let mut s = EioSession::new_polling(t0, "s", cfg, PollingMode::Xhr { b64: true }, 1, &[]);
    let _ = s.poll_answer();
    let mut c = WsClient::attach_probe(&mut s, t0);
    c.text(&mut s, t0, "4nope");
    let _ = c.recv(&mut s, t0);
    assert!(!s.is_websocket());
    assert!(events(&mut s).is_empty());
    s.handle_get(t0, 2).unwrap();
    s.send(t0, EncodedPacket::message("still")).unwrap();
    assert_eq!(body(&s.poll_answer().unwrap()), "6:4still");
    // The aborted probe's stream ends; a new probe may come, and this one never sends `5`.
    s.handle_ws_eof(t0, c.id);
    assert!(s.ws_terminated(c.id));
    let mut c2 = WsClient::attach_probe(&mut s, t0);
    c2.text(&mut s, t0, "2probe");
    assert_eq!(texts(&c2.recv(&mut s, t0)), vec!["3probe"]);
    let t1 = t0 + Duration::from_secs(10);
    assert!(s.poll_timeout().unwrap() <= t1);
    s.handle_timeout(t1);
    let _ = c2.recv(&mut s, t1);
    assert!(!s.is_websocket() && s.is_open());
    // The probe got a close frame; once its stream ends nothing of it remains.
    s.handle_ws_eof(t1, c2.id);
    assert!(s.ws_terminated(c2.id));
    s.handle_get(t1, 3).unwrap();
    s.send(t1, EncodedPacket::message("ok")).unwrap();
    assert_eq!(body(&s.poll_answer().unwrap()), "3:4ok");
}

#[test]
fn websocket_only_session() {
    let t0 = Instant::now();
    let mut c = WsClient::new(0, t0);
    let conn = Connection::server(config().ws_config(), t0);
    let mut s =
        EioSession::new_websocket(t0, "w", config(), conn, false, &[EncodedPacket::message("0")]);
    assert_eq!(
        texts(&c.recv(&mut s, t0)),
        vec![
            "0{\"sid\":\"w\",\"upgrades\":[],\"pingInterval\":300,\"pingTimeout\":200}".to_owned(),
            "40".to_owned()
        ]
    );
    c.text(&mut s, t0, "2probe");
    assert_eq!(texts(&c.recv(&mut s, t0)), vec!["3"]);
    c.text(&mut s, t0, "");
    assert_eq!(events(&mut s), vec![EioEvent::Closed(CloseReason::ParseError)]);
    let _ = c.recv(&mut s, t0);
    c.conn.close(t0, None, "").ok();
    while let Some(b) = c.conn.poll_transmit() {
        s.handle_ws_data(t0, 0, &b);
    }
    let _ = c.recv(&mut s, t0);
    assert!(s.is_finished());
}

#[test]
fn send_buffer_is_capped() {
    let t0 = Instant::now();
    let cfg = Arc::new(EioConfig { max_buffered: 100, ..EioConfig::default() });
    let mut s = EioSession::new_polling(t0, "s", cfg, PollingMode::Xhr { b64: true }, 1, &[]);
    let _ = s.poll_answer();
    s.send(t0, EncodedPacket::message(&"a".repeat(60))).unwrap();
    assert_eq!(s.send(t0, EncodedPacket::message(&"a".repeat(60))), Err(SendError::Full));
    s.close(t0);
    assert_eq!(s.send(t0, EncodedPacket::message("x")), Err(SendError::Closed));
}
