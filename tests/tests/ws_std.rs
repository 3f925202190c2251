//! glue-std WebSocket server and client over loopback, and both runtimes against each other.

use bytes::Bytes;
use glue_protocol::ws::{CloseCode, CloseFrame, CloseReason, Message};
use std::net::SocketAddr;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

fn std_echo_server() -> SocketAddr {
    let server = glue_std::ws::WsServer::bind("127.0.0.1:0", Default::default()).unwrap();
    let addr = server.local_addr().unwrap();
    std::thread::spawn(move || {
        server.serve(|mut ws| {
            while let Some(Ok(msg)) = ws.recv() {
                if msg == Message::from("close-me") {
                    let _ = ws.close(Some(CloseCode(4001)), "later");
                    return;
                }
                if ws.send(msg).is_err() {
                    return;
                }
            }
        })
    });
    addr
}

fn recv(ws: &mut glue_std::ws::WebSocket) -> Message {
    ws.recv_timeout(LIMIT).expect("open").expect("no I/O error").expect("timely")
}

#[test]
fn std_client_and_server() {
    let addr = std_echo_server();
    let mut ws = glue_std::ws::connect(&format!("ws://{addr}/")).unwrap();
    ws.send("ping ✓").unwrap();
    assert_eq!(recv(&mut ws), Message::from("ping ✓"));
    let big: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    ws.send(big.clone()).unwrap();
    assert_eq!(recv(&mut ws), Message::Binary(Bytes::from(big)));
    ws.send("close-me").unwrap();
    while ws.recv_timeout(LIMIT).is_some_and(|r| r.is_ok()) {}
    assert_eq!(
        ws.close_reason(),
        Some(&CloseReason::Remote(CloseFrame {
            code: Some(CloseCode(4001)),
            reason: "later".into()
        }))
    );
}

#[test]
fn std_sender_from_other_threads() {
    let addr = std_echo_server();
    let mut ws = glue_std::ws::connect(&format!("ws://{addr}/")).unwrap();
    let sender = ws.sender();
    let t = std::thread::spawn(move || {
        for i in 0..100 {
            sender.send(format!("t{i}")).unwrap();
        }
    });
    for i in 0..100 {
        assert_eq!(recv(&mut ws), Message::from(format!("t{i}")));
    }
    t.join().unwrap();
    ws.close(Some(CloseCode::NORMAL), "").unwrap();
    assert!(matches!(ws.close_reason(), Some(CloseReason::Local(_))));
}

#[test]
fn std_recv_timeout_returns_none_while_open() {
    let addr = std_echo_server();
    let mut ws = glue_std::ws::connect(&format!("ws://{addr}/")).unwrap();
    assert!(matches!(ws.recv_timeout(Duration::from_millis(50)), Some(Ok(None))));
    ws.send("after").unwrap();
    assert_eq!(recv(&mut ws), Message::from("after"));
}

#[test]
fn tokio_client_against_std_server_and_std_client_against_tokio_server() {
    let std_addr = std_echo_server();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut ws = glue_tokio::ws::connect(&format!("ws://{std_addr}/")).await.unwrap();
        ws.send("cross").await.unwrap();
        let m = tokio::time::timeout(LIMIT, ws.recv()).await.unwrap().unwrap().unwrap();
        assert_eq!(m, Message::from("cross"));
        ws.close(Some(CloseCode::NORMAL), "").await.unwrap();
    });
    let tokio_addr = rt.block_on(async {
        let server =
            glue_tokio::ws::WsServer::bind("127.0.0.1:0", Default::default()).await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(server.serve(|mut ws| async move {
            while let Some(Ok(m)) = ws.recv().await {
                if ws.send(m).await.is_err() {
                    break;
                }
            }
        }));
        addr
    });
    let mut ws = glue_std::ws::connect(&format!("ws://{tokio_addr}/")).unwrap();
    ws.send(vec![9u8; 100_000]).unwrap();
    assert_eq!(recv(&mut ws), Message::Binary(vec![9u8; 100_000].into()));
    ws.close(None, "").unwrap();
    drop(rt);
}
