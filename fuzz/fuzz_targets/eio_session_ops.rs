//! The Engine.IO server session (and the Socket.IO connection above it) driven by
//! byte-chosen operations on a virtual clock: polls, POST bodies of every kind (text,
//! binary, JSONP form) made of fuzz bytes, aborted polls, WebSocket probes fed raw frames
//! (incl. `2probe`/`5` made properly), sends, closes, time. Nothing may panic; every poll
//! answer belongs to a held poll and comes once; the send queue stays within its cap;
//! `Closed` comes at most once and nothing but the close follows it.
#![no_main]

use bytes::Bytes;
use glue_protocol::eio::session::{
    EioConfig, EioEvent, EioSession, EncodedPacket, PollingMode, PostKind, WsId,
};
use glue_protocol::rand::SeededEntropy;
use glue_protocol::sio::{ConnEvent, SioConnConfig, SioServerConn};
use glue_protocol::ws::{self, Connection, Message};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else { return };
    run(selector, data);
});

fn client(now: Instant) -> Connection {
    Connection::client(ws::Config::default(), Box::new(SeededEntropy::new(3)), now)
}

fn run(selector: u8, data: &[u8]) {
    let t0 = Instant::now();
    let mut now = t0;
    let config = Arc::new(EioConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        upgrade_timeout: Duration::from_millis(1000),
        close_timeout: Duration::from_millis(2000),
        max_payload: 4096,
        max_buffered: 1024,
        ..EioConfig::default()
    });
    let (mut sio, initial) = SioServerConn::new(
        SioConnConfig { max_attachment_bytes: 256, max_held_packets: 4, max_pending_acks: 4 },
        selector & 2 == 0,
    );
    let mut held: HashSet<u64> = HashSet::new();
    let mut next_req = 2u64;
    let mode = match selector % 3 {
        0 => PollingMode::Xhr { b64: true },
        1 => PollingMode::Xhr { b64: false },
        _ => PollingMode::Jsonp { index: "0".into() },
    };
    // Client ends of the session's WebSockets.
    let mut clients: Vec<(WsId, Connection)> = Vec::new();
    let mut s = if selector & 4 == 0 {
        held.insert(1);
        EioSession::new_polling(t0, "sid", config.clone(), mode, 1, &initial)
    } else {
        clients.push((0, client(t0)));
        let conn = Connection::server(config.ws_config(), t0);
        EioSession::new_websocket(t0, "sid", config.clone(), conn, selector & 8 != 0, &initial)
    };
    while let Some(a) = s.poll_answer() {
        assert!(held.remove(&a.request), "the handshake answers its own poll");
    }
    let mut closed = 0;
    for chunk in data.split(|&b| b == 0xfe) {
        let Some((&op, arg)) = chunk.split_first() else { continue };
        match op % 12 {
            0 => {
                let id = next_req;
                next_req += 1;
                if s.handle_get(now, id).is_ok() {
                    held.insert(id);
                }
            }
            1 => {
                let kind = match arg.first().map(|b| b % 3) {
                    Some(0) => PostKind::Binary,
                    Some(1) => PostKind::JsonpForm,
                    _ => PostKind::Text,
                };
                let _ = s.handle_post(now, kind, arg);
            }
            2 => {
                if let Some(&id) = held.iter().next() {
                    s.poll_aborted(now, id);
                    held.remove(&id);
                }
            }
            3 => {
                let conn = Connection::server(config.ws_config(), now);
                if let Ok(id) = s.attach_probe(now, conn, arg.first().is_some_and(|b| b & 1 == 1)) {
                    clients.push((id, client(now)));
                }
            }
            4 | 5 => {
                // A client message on one of the WebSockets: canned or fuzz text/binary.
                let Some((id, c)) = clients.last_mut() else { continue };
                let m = match (op % 12, arg.first().copied().unwrap_or(0) % 4) {
                    (4, 0) => Message::Text("2probe".into()),
                    (4, 1) => Message::Text("5".into()),
                    (4, 2) => Message::Text("2".into()),
                    (4, _) => Message::Binary(Bytes::copy_from_slice(arg)),
                    _ => Message::Text(String::from_utf8_lossy(arg).into_owned().into()),
                };
                if c.send(now, m).is_ok() {
                    while let Some(b) = c.poll_transmit() {
                        s.handle_ws_data(now, *id, &b);
                    }
                }
            }
            6 => {
                // Raw bytes straight into a WebSocket.
                if let Some((id, _)) = clients.first() {
                    s.handle_ws_data(now, *id, arg);
                }
            }
            7 => {
                if let Some((id, _)) = clients.first() {
                    s.handle_ws_eof(now, *id);
                }
            }
            8 => {
                let p = if arg.first().is_some_and(|b| b & 1 == 1) {
                    EncodedPacket::binary_message(arg)
                } else {
                    EncodedPacket::message(&String::from_utf8_lossy(arg))
                };
                let before = s.buffered_amount();
                if s.send(now, p.clone()).is_ok() {
                    assert!(s.buffered_amount() <= config.max_buffered.max(before + p.len()));
                }
            }
            9 => s.close(now),
            10 => {
                let ms = u64::from(arg.first().copied().unwrap_or(1)) * 10;
                now += Duration::from_millis(ms);
                s.handle_timeout(now);
                sio.handle_timeout(now);
            }
            _ => {
                if let Some(t) = s.poll_timeout() {
                    now = now.max(t);
                    s.handle_timeout(now);
                }
            }
        }
        // Drain everything (until nothing moves), checking the contract.
        loop {
            let mut moved = false;
            while let Some(a) = s.poll_answer() {
                moved = true;
                assert!(held.remove(&a.request), "answer for a poll that is not held");
            }
            while let Some(e) = s.poll_event() {
                moved = true;
                assert_eq!(closed, 0, "an event after Closed: {e:?}");
                if let EioEvent::Closed(_) = e {
                    closed += 1;
                }
                sio.handle_eio(now, e);
            }
            while let Some(p) = sio.poll_transmit() {
                moved = true;
                let _ = s.send(now, p);
            }
            while let Some(ev) = sio.poll_event() {
                moved = true;
                match ev {
                    ConnEvent::ConnectRequest { nsp, .. } if nsp.len() % 2 == 0 => {
                        sio.accept(now, &nsp)
                    }
                    ConnEvent::ConnectRequest { nsp, .. } => {
                        sio.refuse(now, &nsp, serde_json::Value::from("no"))
                    }
                    ConnEvent::ProtocolError(_) => s.close(now),
                    ConnEvent::Event { nsp, ack: Some(_), .. } => {
                        let _ = sio.register_ack(now, &nsp, Some(Duration::from_millis(50)));
                    }
                    _ => {}
                }
            }
            if !moved {
                break;
            }
        }
        for (id, c) in clients.iter_mut() {
            while let Some(b) = s.poll_ws_transmit(*id) {
                c.handle_data(now, &b);
            }
            while c.poll_event().is_some() {}
            while let Some(b) = c.poll_transmit() {
                s.handle_ws_data(now, *id, &b);
            }
        }
        if let Some(t) = s.poll_timeout() {
            assert!(t >= t0);
        }
    }
    // Closing always finishes the session once time passes.
    s.close(now);
    for (id, _) in &clients {
        s.handle_ws_eof(now, *id);
    }
    for id in held.drain() {
        s.poll_aborted(now, id);
    }
    now += Duration::from_secs(60);
    s.handle_timeout(now);
    while s.poll_answer().is_some() {}
    assert!(s.is_finished(), "a closed session never finishes");
}
