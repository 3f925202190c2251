//! The Socket.IO client machine driven by byte-chosen operations on a virtual clock: commands
//! (connect / disconnect namespaces, emit text or binary, emit with ack with or without a
//! deadline, answer acks, close), HTTP answers (bodies from the input as text or binary
//! payloads, canned handshakes and Socket.IO packets, statuses), request errors, WebSocket
//! reports (open, text/binary frames from the input, canned packets, closes) and time.
//!
//! Input: one config byte (transports, reconnection, attempt limit, request timeout), then
//! operations separated by NUL bytes. Nothing may panic; actions and events stay bounded per
//! step; the emit buffer and the pending acks stay within their caps; every Ack / AckTimeout /
//! AckCancelled settles an ack the client handed out, once; Connect and Disconnect alternate
//! per namespace; WebSocket sends only go to sockets the machine opened and has not closed;
//! `handle_timeout` leaves no due deadline; a closed client without a request timeout has no
//! deadline.
#![no_main]

use bytes::Bytes;
use glue_protocol::eio::client::{EioAction, RequestId, Transport};
use glue_protocol::eio::{encode_binary_payload, Packet, PacketType};
use glue_protocol::rand::SeededEntropy;
use glue_protocol::sio::client::{SioClient, SioClientConfig, SioClientEvent, SioClientState};
use glue_protocol::ws::Message;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

const OPEN: &str = r#"0{"sid":"Dq5ELz4SbkYDv4GfAAAA","upgrades":["websocket"],"pingInterval":1000,"pingTimeout":500}"#;
const NSPS: [&str; 3] = ["/", "/a", "/b"];
/// Socket.IO packets a server sends, without the Engine.IO `4`.
const CANNED: [&str; 12] = [
    "0",
    "0/a,",
    "0/b,",
    "4/a,\"Invalid namespace\"",
    "1/a,",
    "1",
    "2[\"ev\",1,{\"k\":\"é\"}]",
    "2/a,7[\"ask\"]",
    "30[\"ok\"]",
    "3/a,1[]",
    "51-[\"bin\",{\"_placeholder\":true,\"num\":0}]",
    "61-/b,0[{\"_placeholder\":true,\"num\":0}]",
];
const BUFFERED: usize = 4;
const ACKS: usize = 4;

fn text_payload(packets: &[String]) -> String {
    packets.iter().map(|p| format!("{}:{p}", glue_protocol::eio::utf16_len(p))).collect()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut config = SioClientConfig::default();
    config.engine.transports = match flags & 3 {
        0 | 1 => vec![Transport::Polling, Transport::WebSocket],
        2 => vec![Transport::Polling],
        _ => vec![Transport::WebSocket],
    };
    config.engine.timestamp_requests = false;
    config.engine.max_queued_packets = 8;
    config.engine.max_queued_bytes = 512;
    let request_timeout = flags & 4 != 0;
    config.engine.request_timeout = request_timeout.then(|| Duration::from_secs(5));
    config.reconnection = flags & 8 == 0;
    config.reconnection_attempts = (flags & 16 != 0).then_some(2);
    config.connect_timeout = (flags & 32 != 0).then(|| Duration::from_secs(3));
    config.max_buffered = BUFFERED;
    config.max_pending_acks = ACKS;
    config.max_namespaces = 3;
    config.max_attachment_bytes = 64;
    let t0 = Instant::now();
    let mut now = t0;
    let mut c = SioClient::new(config, &mut SeededEntropy::new(u64::from(flags)));
    let mut gets: BTreeSet<RequestId> = BTreeSet::new();
    let mut posts: BTreeSet<RequestId> = BTreeSet::new();
    let mut wss: Vec<RequestId> = Vec::new();
    let mut pending: HashSet<(String, u64)> = HashSet::new();
    let mut connected: HashSet<String> = HashSet::new();
    let mut asked: Vec<(String, u64)> = Vec::new();
    for chunk in rest.split(|&b| b == 0) {
        let Some((&op, arg)) = chunk.split_first() else { continue };
        let a0 = arg.first().copied().unwrap_or(0);
        let nsp = NSPS[usize::from(a0) % NSPS.len()];
        let pick_ws = |wss: &Vec<RequestId>| {
            if arg.len() % 2 == 0 {
                wss.first().copied()
            } else {
                wss.last().copied()
            }
        };
        let text = || String::from_utf8_lossy(arg.get(1..).unwrap_or(&[])).into_owned();
        match op % 20 {
            0 => {
                let query = (a0 & 8 != 0).then_some("q=1");
                let _ = c.connect(now, nsp, query);
            }
            1 => c.disconnect(now, nsp),
            2 => c.close(now),
            3 => {
                let _ = c.emit(now, nsp, "m", vec![text().into()], vec![]);
            }
            4 => {
                let ph = glue_protocol::sio::placeholder(0);
                let bin = Bytes::copy_from_slice(arg);
                let _ = c.emit(now, nsp, "b", vec![ph], vec![bin]);
            }
            5 => {
                let timeout = (a0 & 8 != 0).then(|| Duration::from_millis(u64::from(a0) * 10));
                if let Ok(id) = c.emit_with_ack(now, nsp, "q", vec![text().into()], vec![], timeout)
                {
                    assert!(pending.insert((nsp.to_owned(), id)), "ack id handed out twice");
                }
            }
            6 => {
                if let Some((n, id)) = asked.pop() {
                    let _ = c.ack(now, &n, id, vec![text().into()], vec![]);
                }
            }
            7..=10 => {
                if let Some(&id) = gets.iter().next() {
                    gets.remove(&id);
                    let status = if a0 == b'!' { 400 } else { 200 };
                    match op % 20 {
                        7 => c.handle_http_response(now, id, status, Some("text/plain"), arg),
                        8 => c.handle_http_response(
                            now,
                            id,
                            status,
                            Some("application/octet-stream"),
                            arg,
                        ),
                        9 => {
                            let body = text_payload(&[OPEN.to_owned(), "40".to_owned()]);
                            c.handle_http_response(now, id, status, None, body.as_bytes());
                        }
                        _ => {
                            // Canned packets chosen by the argument bytes, with attachments.
                            let mut packets: Vec<Packet> = Vec::new();
                            for &b in arg.iter().take(6) {
                                let p = CANNED[usize::from(b) % CANNED.len()];
                                packets.push(Packet::text(PacketType::Message, p));
                                if p.starts_with('5') || p.starts_with('6') {
                                    packets.push(Packet::binary(PacketType::Message, vec![b; 3]));
                                }
                            }
                            let body = encode_binary_payload(&packets);
                            c.handle_http_response(
                                now,
                                id,
                                status,
                                Some("application/octet-stream"),
                                &body,
                            );
                        }
                    }
                }
            }
            11 => {
                if let Some(&id) = posts.iter().next() {
                    posts.remove(&id);
                    let status = if a0 == b'!' { 500 } else { 200 };
                    c.handle_http_response(now, id, status, Some("text/html"), b"ok");
                }
            }
            12 => {
                let set = if arg.len() % 2 == 0 { &mut gets } else { &mut posts };
                if let Some(&id) = set.iter().next() {
                    set.remove(&id);
                    c.handle_http_error(now, id);
                }
            }
            13 => {
                if let Some(id) = pick_ws(&wss) {
                    c.handle_ws_open(now, id);
                }
            }
            14 => {
                if let Some(id) = pick_ws(&wss) {
                    c.handle_ws_message(now, id, &Message::from(text()));
                }
            }
            15 => {
                if let Some(id) = pick_ws(&wss) {
                    c.handle_ws_message(now, id, &Message::Binary(Bytes::copy_from_slice(arg)));
                }
            }
            16 => {
                if let Some(id) = pick_ws(&wss) {
                    wss.retain(|&w| w != id);
                    c.handle_ws_closed(now, id);
                }
            }
            17 => {
                if let Some(id) = pick_ws(&wss) {
                    let m = match a0 % 4 {
                        0 => "3probe".to_owned(),
                        1 => OPEN.to_owned(),
                        2 => "3".to_owned(),
                        _ => format!("4{}", CANNED[arg.len() % CANNED.len()]),
                    };
                    c.handle_ws_message(now, id, &Message::from(m));
                }
            }
            18 => {
                if let Some(id) = pick_ws(&wss) {
                    c.handle_ws_message(now, id, &Message::Binary(Bytes::from(vec![4, a0])));
                }
            }
            _ => {
                now += Duration::from_millis(u64::from(a0) * 50);
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
            match e {
                SioClientEvent::Ack { nsp, id, .. }
                | SioClientEvent::AckTimeout { nsp, id }
                | SioClientEvent::AckCancelled { nsp, id } => {
                    assert!(pending.remove(&(nsp, id)), "an ack settled twice or never asked");
                }
                SioClientEvent::Connect { nsp } => {
                    assert!(connected.insert(nsp), "connected twice");
                }
                SioClientEvent::Disconnect { nsp, .. } => {
                    assert!(connected.remove(&nsp), "disconnected while not connected");
                }
                SioClientEvent::Event { nsp, id: Some(id), .. } => {
                    if asked.len() < 16 {
                        asked.push((nsp, id));
                    }
                }
                _ => {}
            }
        }
        assert!(c.buffered() <= BUFFERED, "emit buffer over its cap");
        assert!(c.pending_acks() <= ACKS, "pending acks over the cap");
        assert_eq!(c.pending_acks(), pending.len(), "pending acks miscounted");
        if c.state() == SioClientState::Closed {
            assert!(connected.is_empty(), "connected namespaces on a closed client");
            assert!(pending.is_empty(), "pending acks on a closed client");
            if !request_timeout {
                assert!(c.poll_timeout().is_none(), "deadline on a closed client");
            }
        }
    }
});
