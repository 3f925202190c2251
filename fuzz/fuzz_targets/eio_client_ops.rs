//! The Engine.IO rev 3 client machine driven by byte-chosen operations on a virtual clock:
//! commands (open, send text/binary, close), HTTP answers (bodies from the input, as text or
//! binary payloads, canned handshakes, statuses), request errors, WebSocket reports (open,
//! text/binary frames from the input, canned probe answers, closes) and time.
//!
//! Input: one config byte (transport order, base64, upgrade, request timeout), then
//! operations separated by NUL bytes. Nothing may panic; actions and events stay bounded per
//! step; the send queue stays within its cap (plus one ping); at most one GET and one POST are
//! in flight while the session lives; WebSocket sends only go to sockets the machine opened
//! and has not closed; no event follows `Closed`; `handle_timeout` leaves no due deadline.
#![no_main]

use bytes::Bytes;
use glue_protocol::eio::client::{
    EioAction, EioClient, EioClientConfig, EioClientState, EioEvent, RequestId, Transport,
};
use glue_protocol::eio::PacketData;
use glue_protocol::rand::SeededEntropy;
use glue_protocol::ws::Message;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const HANDSHAKE: &[u8] = br#"97:0{"sid":"Dq5ELz4SbkYDv4GfAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}2:40"#;
const WS_OPEN: &str =
    r#"0{"sid":"5715nasRQJzd4zRdAAAB","upgrades":[],"pingInterval":1000,"pingTimeout":500}"#;
const CAP: usize = 8;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let transports = match flags & 3 {
        0 => vec![Transport::Polling, Transport::WebSocket],
        1 => vec![Transport::WebSocket, Transport::Polling],
        2 => vec![Transport::Polling],
        _ => vec![Transport::WebSocket],
    };
    let config = EioClientConfig {
        transports,
        force_base64: flags & 4 != 0,
        upgrade: flags & 8 == 0,
        timestamp_requests: flags & 16 == 0,
        request_timeout: (flags & 32 != 0).then(|| Duration::from_secs(5)),
        max_queued_packets: CAP,
        max_queued_bytes: 256,
        ..EioClientConfig::default()
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut c = EioClient::new(config, &mut SeededEntropy::new(u64::from(flags)));
    let mut gets: BTreeSet<RequestId> = BTreeSet::new();
    let mut posts: BTreeSet<RequestId> = BTreeSet::new();
    let mut wss: Vec<RequestId> = Vec::new();
    let mut closed = false;
    for chunk in rest.split(|&b| b == 0) {
        let Some((&op, arg)) = chunk.split_first() else { continue };
        let pick_ws = |wss: &Vec<RequestId>| {
            if arg.len() % 2 == 0 {
                wss.first().copied()
            } else {
                wss.last().copied()
            }
        };
        match op % 15 {
            0 => {
                let _ = c.open(now);
            }
            1 => {
                let _ = c.send(now, PacketData::Text(String::from_utf8_lossy(arg).into_owned()));
            }
            2 => {
                let _ = c.send(now, PacketData::Binary(Bytes::copy_from_slice(arg)));
            }
            3 => c.close(now),
            4 | 5 | 6 => {
                if let Some(&id) = gets.iter().next() {
                    gets.remove(&id);
                    let (ct, body) = match op % 15 {
                        4 => ("text/plain; charset=UTF-8", arg),
                        5 => ("application/octet-stream", arg),
                        _ => ("text/plain; charset=UTF-8", HANDSHAKE),
                    };
                    let status = if arg.first() == Some(&b'!') { 400 } else { 200 };
                    c.handle_http_response(now, id, status, Some(ct), body);
                }
            }
            7 => {
                if let Some(&id) = posts.iter().next() {
                    posts.remove(&id);
                    let status = if arg.first() == Some(&b'!') { 500 } else { 200 };
                    c.handle_http_response(now, id, status, Some("text/html"), b"ok");
                }
            }
            8 => {
                let set = if arg.len() % 2 == 0 { &mut gets } else { &mut posts };
                if let Some(&id) = set.iter().next() {
                    set.remove(&id);
                    c.handle_http_error(now, id);
                }
            }
            9 => {
                if let Some(id) = pick_ws(&wss) {
                    c.handle_ws_open(now, id);
                }
            }
            10 => {
                if let Some(id) = pick_ws(&wss) {
                    let text = String::from_utf8_lossy(arg).into_owned();
                    c.handle_ws_message(now, id, &Message::from(text));
                }
            }
            11 => {
                if let Some(id) = pick_ws(&wss) {
                    c.handle_ws_message(now, id, &Message::Binary(Bytes::copy_from_slice(arg)));
                }
            }
            12 => {
                if let Some(id) = pick_ws(&wss) {
                    wss.retain(|&w| w != id);
                    c.handle_ws_closed(now, id);
                }
            }
            13 => {
                if let Some(id) = pick_ws(&wss) {
                    let canned = match arg.first().copied().unwrap_or(0) % 3 {
                        0 => "3probe",
                        1 => WS_OPEN,
                        _ => "3",
                    };
                    c.handle_ws_message(now, id, &Message::from(canned));
                }
            }
            _ => {
                let step = arg.first().copied().unwrap_or(1);
                now += Duration::from_millis(u64::from(step) * 250);
                c.handle_timeout(now);
                if let Some(t) = c.poll_timeout() {
                    assert!(t > now, "a due deadline survived handle_timeout");
                }
            }
        }
        let mut actions = 0;
        while let Some(a) = c.poll_action() {
            actions += 1;
            assert!(actions < 10_000, "unbounded actions");
            match a {
                EioAction::HttpGet { id, .. } => {
                    gets.insert(id);
                }
                EioAction::HttpPost { id, .. } => {
                    posts.insert(id);
                }
                EioAction::CancelHttp { id } => {
                    gets.remove(&id);
                    posts.remove(&id);
                }
                EioAction::OpenWebSocket { id, .. } => wss.push(id),
                EioAction::WsSend { ws, .. } => assert!(wss.contains(&ws), "send on a closed ws"),
                EioAction::CloseWebSocket { id } => wss.retain(|&w| w != id),
            }
        }
        let mut events = 0;
        while let Some(e) = c.poll_event() {
            events += 1;
            assert!(events < 10_000, "unbounded events");
            assert!(!closed, "event after Closed: {e:?}");
            closed |= matches!(e, EioEvent::Closed { .. });
        }
        assert!(c.queued() <= CAP + 1, "send queue over its cap");
        assert!(c.queued_bytes() <= 256, "send queue bytes over the cap");
        match c.state() {
            EioClientState::Opening | EioClientState::Open => {
                assert!(gets.len() <= 1, "two GETs in flight");
                assert!(posts.len() <= 1, "two POSTs in flight");
                assert!(wss.len() <= 2, "more than two websockets");
            }
            EioClientState::Closed => {
                assert!(closed, "closed without the Closed event");
                assert!(c.poll_timeout().is_none(), "deadline after the close");
                assert!(gets.is_empty() && wss.is_empty(), "transport left open after the close");
                posts.clear();
            }
            _ => {}
        }
    }
});
