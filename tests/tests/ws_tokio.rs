//! glue-tokio WebSocket server and client over loopback.

use bytes::Bytes;
use glue_protocol::ws::{CloseCode, CloseFrame, CloseReason, Config, KeepAlive, Message};
use glue_tokio::ws::{connect, connect_with, ClientConfig, ServerConfig, WebSocket, WsServer};
use glue_tokio::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

async fn echo_server(config: ServerConfig) -> SocketAddr {
    let server = WsServer::bind("127.0.0.1:0", config).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(|mut ws: WebSocket| async move {
        while let Some(Ok(msg)) = ws.recv().await {
            if msg == Message::from("close-me") {
                let _ = ws.close(Some(CloseCode(4000)), "bye").await;
                return;
            }
            if ws.send(msg).await.is_err() {
                return;
            }
        }
    }));
    addr
}

async fn recv(ws: &mut WebSocket) -> Message {
    timeout(LIMIT, ws.recv()).await.expect("timely").expect("open").expect("no I/O error")
}

#[tokio::test]
async fn echo_text_binary_and_large() {
    let addr = echo_server(ServerConfig::default()).await;
    let mut ws = connect(&format!("ws://{addr}/any/path?x=1")).await.unwrap();
    ws.send("héllo 🌍").await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::from("héllo 🌍"));
    ws.send(Bytes::from_static(&[0, 1, 2, 255])).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::Binary(Bytes::from_static(&[0, 1, 2, 255])));
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(big.clone()).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::Binary(big.into()));
    ws.close(Some(CloseCode::NORMAL), "done").await.unwrap();
    match ws.close_reason() {
        Some(CloseReason::Local(CloseFrame { code: Some(CloseCode::NORMAL), .. })) => {}
        other => panic!("unexpected close reason {other:?}"),
    }
}

#[tokio::test]
async fn server_initiated_close_reaches_client() {
    let addr = echo_server(ServerConfig::default()).await;
    let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
    ws.send("close-me").await.unwrap();
    assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
    assert_eq!(
        ws.close_reason(),
        Some(&CloseReason::Remote(CloseFrame {
            code: Some(CloseCode(4000)),
            reason: "bye".into()
        }))
    );
}

#[tokio::test]
async fn sender_from_other_tasks_keeps_order() {
    let addr = echo_server(ServerConfig::default()).await;
    let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
    let sender = ws.sender();
    let task = tokio::spawn(async move {
        for i in 0..100 {
            sender.send(format!("m{i}")).await.unwrap();
        }
    });
    for i in 0..100 {
        assert_eq!(recv(&mut ws).await, Message::from(format!("m{i}")));
    }
    task.await.unwrap();
}

#[tokio::test]
async fn oversize_message_closes_with_1009() {
    let config = ServerConfig {
        ws: Config { max_message_size: 1024, ..Config::default() },
        ..ServerConfig::default()
    };
    let addr = echo_server(config).await;
    let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
    ws.send(vec![7u8; 2048]).await.unwrap();
    assert!(timeout(LIMIT, ws.recv()).await.unwrap().is_none());
    match ws.close_reason() {
        Some(CloseReason::Remote(f)) => assert_eq!(f.code, Some(CloseCode::TOO_BIG)),
        other => panic!("unexpected close reason {other:?}"),
    }
}

#[tokio::test]
async fn keep_alive_drops_a_silent_peer() {
    let config = ServerConfig {
        ws: Config {
            keep_alive: Some(KeepAlive {
                interval: Duration::from_millis(50),
                timeout: Duration::from_millis(50),
            }),
            ..Config::default()
        },
        ..ServerConfig::default()
    };
    let addr = echo_server(config).await;
    // A raw client that completes the handshake and then never answers pings.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    timeout(LIMIT, tcp.read_to_end(&mut got)).await.expect("server closes").unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    let frames = &got[got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    // a ping (0x89, empty) then a close frame with 1001
    assert_eq!(&frames[..2], &[0x89, 0x00]);
    assert_eq!(frames[2], 0x88);
    assert_eq!(&frames[4..6], &1001u16.to_be_bytes());
}

#[tokio::test]
async fn keep_alive_keeps_a_responsive_peer() {
    let ka = KeepAlive { interval: Duration::from_millis(30), timeout: Duration::from_millis(60) };
    let config = ServerConfig {
        ws: Config { keep_alive: Some(ka), ..Config::default() },
        ..Default::default()
    };
    let addr = echo_server(config).await;
    let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
    // recv drives the client (auto-pong) across several keep-alive periods.
    let idle = timeout(Duration::from_millis(400), ws.recv()).await;
    assert!(idle.is_err(), "connection stayed open and silent: {idle:?}");
    ws.send("still here").await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::from("still here"));
}

async fn raw_response(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let _ = timeout(LIMIT, tcp.read_to_end(&mut got)).await.expect("server answers and closes");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn bad_handshakes_get_http_errors() {
    let addr = echo_server(ServerConfig::default()).await;
    let r = raw_response(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    let r = raw_response(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 426") && r.contains("Sec-WebSocket-Version: 13"), "{r}");
    let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 10_000));
    let r = raw_response(addr, &huge).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    let r = raw_response(addr, b"\x16\x03\x01garbage\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
}

#[tokio::test]
async fn origin_check_and_subprotocol() {
    let config = ServerConfig {
        check: Some(Arc::new(|hs: &glue_tokio::ws::Handshake| {
            if hs.origin() != Some("http://good.example") {
                return Err(403);
            }
            Ok(hs.protocols().iter().find(|p| *p == "chat").cloned())
        })),
        ..ServerConfig::default()
    };
    let addr = echo_server(config).await;
    let url = format!("ws://{addr}/");
    let bad = ClientConfig {
        headers: vec![("Origin".into(), "http://evil.example".into())],
        ..ClientConfig::default()
    };
    match connect_with(&url, bad).await {
        Err(Error::Handshake(e)) => assert!(e.to_string().contains("403"), "{e}"),
        other => panic!("expected a refused handshake, got {other:?}"),
    }
    let good = ClientConfig {
        headers: vec![("Origin".into(), "http://good.example".into())],
        protocols: vec!["other".into(), "chat".into()],
        ..ClientConfig::default()
    };
    let mut ws = connect_with(&url, good).await.unwrap();
    ws.send("hi").await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::from("hi"));
}

#[tokio::test]
async fn many_concurrent_clients() {
    let addr = echo_server(ServerConfig::default()).await;
    let mut tasks = Vec::new();
    for c in 0..50 {
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(&format!("ws://{addr}/")).await.unwrap();
            for i in 0..20 {
                let m = Message::from(format!("{c}:{i}"));
                ws.send(m.clone()).await.unwrap();
                assert_eq!(recv(&mut ws).await, m);
            }
            ws.close(None, "").await.unwrap();
        }));
    }
    for t in tasks {
        timeout(LIMIT, t).await.unwrap().unwrap();
    }
}
