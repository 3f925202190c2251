//! The std Socket.IO server over loopback, driven by raw WebSocket (`glue_std::ws`) and raw
//! HTTP clients: what the Node suites (tests/sio) cannot see from outside — the session
//! registry, server-side lookups and broadcasts, middleware, ack timeouts. Mirrors
//! tests/tests/sio_tokio.rs. Every wait is bounded.

use glue_std::eio::{EioConfig, EioServerOptions};
use glue_std::sio::{AckError, Payload, SioServer, SioServerOptions};
use glue_std::ws::{connect, Message, WebSocket};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(10);

fn options(ping: u64) -> SioServerOptions {
    SioServerOptions {
        eio: EioServerOptions {
            path: "/socket.io/".into(),
            session: Arc::new(EioConfig {
                ping_interval: Duration::from_millis(ping),
                ping_timeout: Duration::from_millis(ping),
                ..EioConfig::default()
            }),
            ..EioServerOptions::default()
        },
        ..SioServerOptions::default()
    }
}

fn start(server: &SioServer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let s = server.clone();
    thread::spawn(move || s.serve_tcp(listener));
    addr
}

fn text(ws: &mut WebSocket) -> String {
    match ws.recv_timeout(LIMIT) {
        Some(Ok(Some(Message::Text(t)))) => t.as_str().to_owned(),
        Some(Ok(Some(Message::Binary(b)))) => format!("bin{:?}", &b[..]),
        Some(Ok(None)) => panic!("no message in time"),
        other => panic!("connection ended: {other:?}"),
    }
}

/// The next thing on `ws` is its end, no message.
fn assert_ended(ws: &mut WebSocket) {
    match ws.recv_timeout(LIMIT) {
        None | Some(Err(_)) => {}
        Some(Ok(Some(m))) => panic!("unexpected {m:?}"),
        Some(Ok(None)) => panic!("the WebSocket stays open"),
    }
}

/// A WebSocket-only client past the handshake; returns it and its sid.
fn ws_client(addr: &str) -> (WebSocket, String) {
    let mut ws = connect(&format!("ws://{addr}/socket.io/?EIO=3&transport=websocket")).unwrap();
    let open = text(&mut ws);
    assert!(open.starts_with("0{"), "{open}");
    let v: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(v["upgrades"], json!([]));
    assert_eq!(text(&mut ws), "40");
    (ws, v["sid"].as_str().unwrap().to_owned())
}

fn http(addr: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("condition not reached in time");
}

#[test]
fn lookups_rooms_and_broadcasts_from_outside_handlers() {
    let server = SioServer::new(options(5_000));
    server.of("/").on_connection(|socket| {
        socket.on("join", |s, p, _| s.join(p.args[0].as_str().unwrap()));
    });
    let addr = start(&server);
    let (mut a, sid_a) = ws_client(&addr);
    let (mut b, sid_b) = ws_client(&addr);
    let (mut c, _) = ws_client(&addr);
    a.send("42[\"join\",\"r\"]").unwrap();
    b.send("42[\"join\",\"r\"]").unwrap();
    let root = server.of("/");
    eventually(|| root.get(&sid_b).is_some_and(|s| s.rooms().contains(&"r".to_owned())));
    eventually(|| root.get(&sid_a).is_some_and(|s| s.rooms().len() == 2));
    // Server-level broadcast to the room reaches exactly its members.
    assert_eq!(server.to("r").emit("news", vec![json!(1)]).unwrap(), 2);
    assert_eq!(text(&mut a), "42[\"news\",1]");
    assert_eq!(text(&mut b), "42[\"news\",1]");
    // A socket broadcast excludes the sender; a namespace emit reaches everyone.
    let sa = root.get(&sid_a).unwrap();
    assert_eq!(sa.to("r").emit("x", vec![]).unwrap(), 1);
    assert_eq!(text(&mut b), "42[\"x\"]");
    assert_eq!(sa.broadcast().emit("y", vec![]).unwrap(), 2);
    assert_eq!(text(&mut b), "42[\"y\"]");
    assert_eq!(text(&mut c), "42[\"y\"]");
    assert_eq!(root.emit("z", vec![]).unwrap(), 3);
    for ws in [&mut a, &mut b, &mut c] {
        assert_eq!(text(ws), "42[\"z\"]");
    }
    // Reserved names are refused, not sent.
    assert!(sa.emit("disconnect", vec![]).is_err());
    // Leaving the room; a disconnected socket leaves every room.
    sa.leave("r");
    assert_eq!(server.to("r").emit("n", vec![]).unwrap(), 1);
    drop(b);
    eventually(|| root.get(&sid_b).is_none());
    assert_eq!(server.to("r").emit("n", vec![]).unwrap(), 0);
}

#[test]
fn server_requests_time_out_or_get_answers() {
    // Ping 5 s: the WebSocket reader sleeps in `read` for seconds; the 100 ms ack deadline
    // registered from this thread must fire anyway (the timer thread's).
    let server = SioServer::new(options(5_000));
    let results = Arc::new(Mutex::new(Vec::new()));
    let addr = start(&server);
    let (mut ws, sid) = ws_client(&addr);
    let socket = server.of("/").get(&sid).unwrap();
    let r = results.clone();
    let sent = Instant::now();
    socket
        .emit_with_ack(
            "q",
            Payload { args: vec![json!(1)], bins: vec![] },
            Some(Duration::from_millis(100)),
            move |x| r.lock().unwrap().push((x, sent.elapsed())),
        )
        .unwrap();
    let req = text(&mut ws);
    assert!(req.starts_with("42") && req.ends_with("[\"q\",1]"), "{req}");
    // No answer: times out, on time (not when the reader's read times out).
    eventually(|| results.lock().unwrap().len() == 1);
    let (result, after) = results.lock().unwrap()[0].clone();
    assert_eq!(result, Err(AckError::Timeout));
    assert!(after < Duration::from_millis(2_000), "timed out after {after:?}");
    // Answered (binary ack) through the blocking API, from another thread.
    let s2 = socket.clone();
    let answer =
        thread::spawn(move || s2.request("q2", Payload::default(), Some(Duration::from_secs(5))));
    let req = text(&mut ws);
    let id: String = req[2..].chars().take_while(char::is_ascii_digit).collect();
    ws.send(format!("461-{id}[{{\"_placeholder\":true,\"num\":0}}]")).unwrap();
    ws.send(vec![4u8, 9, 9]).unwrap();
    let got = answer.join().unwrap().unwrap();
    assert_eq!(got.bins, vec![bytes::Bytes::from_static(&[9, 9])]);
    // Unanswered through the blocking API: the timeout.
    let s3 = socket.clone();
    let answer = thread::spawn(move || {
        s3.request("q3", Payload::default(), Some(Duration::from_millis(100)))
    });
    assert!(text(&mut ws).ends_with("[\"q3\"]"));
    assert_eq!(answer.join().unwrap(), Err(AckError::Timeout));
    // Pending when the client goes away: disconnected.
    let s4 = socket.clone();
    let answer = thread::spawn(move || s4.request("q4", Payload::default(), None));
    assert!(text(&mut ws).ends_with("[\"q4\"]"));
    drop(ws);
    assert_eq!(answer.join().unwrap(), Err(AckError::Disconnected));
}

#[test]
fn middleware_refuses_namespaces_and_unknown_ones_are_invalid() {
    let server = SioServer::new(options(5_000));
    server.of("/admin").use_middleware(|hs, query| {
        if query == Some("token=ok") || hs.query_value("token").as_deref() == Some("ok") {
            Ok(())
        } else {
            Err(json!({"code": 42}))
        }
    });
    let connected = Arc::new(Mutex::new(Vec::new()));
    let c2 = connected.clone();
    server.of("/admin").on_connection(move |s| c2.lock().unwrap().push(s.id().to_owned()));
    let addr = start(&server);
    let (mut ws, sid) = ws_client(&addr);
    ws.send("40/admin,").unwrap();
    assert_eq!(text(&mut ws), "44/admin,{\"code\":42}");
    ws.send("40/nope,").unwrap();
    assert_eq!(text(&mut ws), "44/nope,\"Invalid namespace\"");
    ws.send("40/admin?token=ok,").unwrap();
    assert_eq!(text(&mut ws), "40/admin,");
    eventually(|| connected.lock().unwrap().len() == 1);
    assert_eq!(connected.lock().unwrap()[0], format!("/admin#{sid}"));
}

#[test]
fn an_upgrade_never_completed_leaves_nothing_behind() {
    let server = SioServer::new(options(150));
    let addr = start(&server);
    let (status, body) = http(
        &addr,
        "GET /socket.io/?EIO=3&transport=polling&b64=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let sid = body.split("\"sid\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(body.ends_with("2:40"), "{body}");
    let mut probe =
        connect(&format!("ws://{addr}/socket.io/?EIO=3&transport=websocket&sid={sid}")).unwrap();
    probe.send("2probe").unwrap();
    assert_eq!(text(&mut probe), "3probe");
    assert_eq!(server.session_count(), 1);
    // The client goes quiet: the session dies of ping timeout, the probe is closed with it.
    assert_ended(&mut probe);
    // The next poll takes the close packet; then the registry is empty.
    let poll = format!(
        "GET /socket.io/?EIO=3&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(http(&addr, &poll), (200, "1:1".to_owned()));
    eventually(|| server.session_count() == 0);
    let (status, body) = http(&addr, &poll);
    assert_eq!((status, body.as_str()), (400, "{\"code\":1,\"message\":\"Session ID unknown\"}"));
}

#[test]
fn release_closes_every_session() {
    let server = SioServer::new(options(5_000));
    let addr = start(&server);
    let (mut a, _) = ws_client(&addr);
    let (_b, _) = ws_client(&addr);
    assert_eq!(server.session_count(), 2);
    server.release(Duration::from_secs(5));
    assert_eq!(server.session_count(), 0);
    assert_ended(&mut a);
}
