//! The tokio Socket.IO server over loopback, driven by raw WebSocket and raw HTTP clients:
//! what the Node suites (tests/sio) cannot see from outside — the session registry, server-side
//! lookups and broadcasts, middleware, ack timeouts.

use glue_protocol::eio::server::EioServerOptions;
use glue_protocol::eio::session::EioConfig;
use glue_protocol::ws::Message;
use glue_tokio::sio::{AckError, EmitError, Payload, SioServer, SioServerOptions};
use glue_tokio::ws::{connect, WebSocket};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

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

async fn start(server: &SioServer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tcp(listener).await });
    addr
}

async fn text(ws: &mut WebSocket) -> String {
    match timeout(LIMIT, ws.recv()).await.expect("a message in time") {
        Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
        Some(Ok(Message::Binary(b))) => format!("bin{:?}", &b[..]),
        other => panic!("connection ended: {other:?}"),
    }
}

/// A WebSocket-only client past the handshake; returns it and its sid.
async fn ws_client(addr: &str) -> (WebSocket, String) {
    let mut ws =
        connect(&format!("ws://{addr}/socket.io/?EIO=3&transport=websocket")).await.unwrap();
    let open = text(&mut ws).await;
    assert!(open.starts_with("0{"), "{open}");
    let v: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(v["upgrades"], json!([]));
    assert_eq!(text(&mut ws).await, "40");
    (ws, v["sid"].as_str().unwrap().to_owned())
}

async fn http(addr: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut buf)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

async fn eventually(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached in time");
}

#[tokio::test]
async fn lookups_rooms_and_broadcasts_from_outside_handlers() {
    let server = SioServer::new(options(5_000));
    server.of("/").on_connection(|socket| {
        socket.on("join", |s, p, _| s.join(p.args[0].as_str().unwrap()));
    });
    let addr = start(&server).await;
    let (mut a, sid_a) = ws_client(&addr).await;
    let (mut b, sid_b) = ws_client(&addr).await;
    let (mut c, _) = ws_client(&addr).await;
    a.send(Message::Text("42[\"join\",\"r\"]".into())).await.unwrap();
    b.send(Message::Text("42[\"join\",\"r\"]".into())).await.unwrap();
    let root = server.of("/");
    eventually(|| root.get(&sid_b).is_some_and(|s| s.rooms().contains(&"r".to_owned()))).await;
    eventually(|| root.get(&sid_a).is_some_and(|s| s.rooms().len() == 2)).await;
    // Server-level broadcast to the room reaches exactly its members.
    assert_eq!(server.to("r").emit("news", vec![json!(1)]).unwrap(), 2);
    assert_eq!(text(&mut a).await, "42[\"news\",1]");
    assert_eq!(text(&mut b).await, "42[\"news\",1]");
    // A socket broadcast excludes the sender; a namespace emit reaches everyone.
    let sa = root.get(&sid_a).unwrap();
    assert_eq!(sa.to("r").emit("x", vec![]).unwrap(), 1);
    assert_eq!(text(&mut b).await, "42[\"x\"]");
    assert_eq!(sa.broadcast().emit("y", vec![]).unwrap(), 2);
    assert_eq!(text(&mut b).await, "42[\"y\"]");
    assert_eq!(text(&mut c).await, "42[\"y\"]");
    assert_eq!(root.emit("z", vec![]).unwrap(), 3);
    for ws in [&mut a, &mut b, &mut c] {
        assert_eq!(text(ws).await, "42[\"z\"]");
    }
    // Reserved names are refused, not sent.
    assert!(sa.emit("disconnect", vec![]).is_err());
    // Leaving the room; a disconnected socket leaves every room.
    sa.leave("r");
    assert_eq!(server.to("r").emit("n", vec![]).unwrap(), 1);
    drop(b);
    eventually(|| root.get(&sid_b).is_none()).await;
    assert_eq!(server.to("r").emit("n", vec![]).unwrap(), 0);
}

#[tokio::test]
async fn server_requests_time_out_or_get_answers() {
    let server = SioServer::new(options(5_000));
    let results = Arc::new(Mutex::new(Vec::new()));
    let addr = start(&server).await;
    let (mut ws, sid) = ws_client(&addr).await;
    let socket = server.of("/").get(&sid).unwrap();
    let r = results.clone();
    socket
        .emit_with_ack(
            "q",
            Payload { args: vec![json!(1)], bins: vec![] },
            Some(Duration::from_millis(100)),
            move |x| r.lock().unwrap().push(x),
        )
        .unwrap();
    let req = text(&mut ws).await;
    assert!(req.starts_with("42") && req.ends_with("[\"q\",1]"), "{req}");
    // No answer: times out.
    eventually(|| results.lock().unwrap().len() == 1).await;
    assert_eq!(results.lock().unwrap()[0], Err(AckError::Timeout));
    // Answered (binary ack) through the async API.
    let s2 = socket.clone();
    let answer = tokio::spawn(async move {
        s2.request("q2", Payload::default(), Some(Duration::from_secs(5))).await
    });
    let req = text(&mut ws).await;
    let id: String = req[2..].chars().take_while(char::is_ascii_digit).collect();
    ws.send(Message::Text(format!("461-{id}[{{\"_placeholder\":true,\"num\":0}}]").into()))
        .await
        .unwrap();
    ws.send(Message::Binary(vec![4, 9, 9].into())).await.unwrap();
    let got = answer.await.unwrap().unwrap();
    assert_eq!(got.bins, vec![bytes::Bytes::from_static(&[9, 9])]);
}

#[tokio::test]
async fn middleware_refuses_namespaces_and_unknown_ones_are_invalid() {
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
    let addr = start(&server).await;
    let (mut ws, sid) = ws_client(&addr).await;
    ws.send(Message::Text("40/admin,".into())).await.unwrap();
    assert_eq!(text(&mut ws).await, "44/admin,{\"code\":42}");
    ws.send(Message::Text("40/nope,".into())).await.unwrap();
    assert_eq!(text(&mut ws).await, "44/nope,\"Invalid namespace\"");
    ws.send(Message::Text("40/admin?token=ok,".into())).await.unwrap();
    assert_eq!(text(&mut ws).await, "40/admin,");
    eventually(|| connected.lock().unwrap().len() == 1).await;
    assert_eq!(connected.lock().unwrap()[0], format!("/admin#{sid}"));
}

#[tokio::test]
async fn an_upgrade_never_completed_leaves_nothing_behind() {
    let server = SioServer::new(options(150));
    let addr = start(&server).await;
    let (status, body) = http(
        &addr,
        "GET /socket.io/?EIO=3&transport=polling&b64=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let sid = body.split("\"sid\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(body.ends_with("2:40"), "{body}");
    let mut probe = connect(&format!("ws://{addr}/socket.io/?EIO=3&transport=websocket&sid={sid}"))
        .await
        .unwrap();
    probe.send(Message::Text("2probe".into())).await.unwrap();
    assert_eq!(text(&mut probe).await, "3probe");
    assert_eq!(server.session_count(), 1);
    // The client goes quiet: the session dies of ping timeout, the probe is closed with it,
    // and the registry is empty.
    let end = timeout(LIMIT, probe.recv()).await.unwrap();
    assert!(!matches!(end, Some(Ok(_))), "the probe is closed, got {end:?}");
    // The next poll takes the close packet; then the registry is empty.
    let poll = format!(
        "GET /socket.io/?EIO=3&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(http(&addr, &poll).await, (200, "1:1".to_owned()));
    eventually(|| server.session_count() == 0).await;
    let (status, body) = http(&addr, &poll).await;
    assert_eq!((status, body.as_str()), (400, "{\"code\":1,\"message\":\"Session ID unknown\"}"));
}

#[tokio::test]
async fn release_closes_every_session() {
    let server = SioServer::new(options(5_000));
    let addr = start(&server).await;
    let (mut a, _) = ws_client(&addr).await;
    let (_b, _) = ws_client(&addr).await;
    assert_eq!(server.session_count(), 2);
    server.release(Duration::from_secs(5)).await;
    assert_eq!(server.session_count(), 0);
    let end = timeout(LIMIT, a.recv()).await.unwrap();
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
}

#[tokio::test]
async fn volatile_broadcasts_skip_transports_that_cannot_take_them() {
    let server = SioServer::new(options(5_000));
    let addr = start(&server).await;
    let (mut ws, _) = ws_client(&addr).await;
    // A polling client that holds no poll right now.
    let (status, body) = http(
        &addr,
        "GET /socket.io/?EIO=3&transport=polling&b64=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let sid = body.split("\"sid\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let root = server.of("/");
    eventually(|| root.sockets().len() == 2).await;
    assert_eq!(root.broadcast().volatile().emit("v", vec![]).unwrap(), 1);
    assert_eq!(text(&mut ws).await, "42[\"v\"]");
    assert_eq!(root.get(&sid).unwrap().emit_volatile("v", vec![]), Err(EmitError::Full));
    assert_eq!(root.emit("n", vec![]).unwrap(), 2);
    let poll = format!(
        "GET /socket.io/?EIO=3&transport=polling&b64=1&sid={sid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(http(&addr, &poll).await, (200, "7:42[\"n\"]".to_owned()));
}

#[tokio::test]
async fn typed_payloads_through_serde() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
        #[serde(rename = "yCoord")]
        y: i32,
    }
    let server = SioServer::new(options(5_000));
    server.of("/").on_connection(|socket| {
        socket.on("point", |s, p, _| {
            let mut pt: Point = p.arg(0).expect("a point");
            pt.x += 1;
            s.emit_json("point", &pt).unwrap();
        });
    });
    let addr = start(&server).await;
    let (mut ws, _) = ws_client(&addr).await;
    ws.send(Message::Text("42[\"point\",{\"x\":1,\"yCoord\":5}]".into())).await.unwrap();
    assert_eq!(text(&mut ws).await, "42[\"point\",{\"x\":2,\"yCoord\":5}]");
    assert_eq!(
        Payload::json(&Point { x: 0, y: 1 }).unwrap().arg::<Point>(0).unwrap(),
        Point { x: 0, y: 1 }
    );
    assert!(Payload::default().arg::<Point>(0).is_err());
}
