//! The tokio Socket.IO client against the `sio-e2e` fixture (the Node reference
//! socket.io 2.5.1 by default; see `sio_support`), for each transport mode.

mod sio_support;

use bytes::Bytes;
use glue_tokio::protocol::eio::client::Transport;
use glue_tokio::protocol::sio::placeholder;
use glue_tokio::sio_client::{
    json, AckError, DisconnectReason, SioClient, SioClientEvent, SioClientOptions, Transports,
    Value,
};
use sio_support::SioServer;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
const MODES: [Transports; 3] =
    [Transports::PollingOnly, Transports::WebSocketOnly, Transports::PollingAndUpgrade];

fn options(mode: Transports) -> SioClientOptions {
    SioClientOptions {
        transports: mode,
        reconnection_delay: Duration::from_millis(100),
        reconnection_delay_max: Duration::from_millis(300),
        ack_timeout: Some(Duration::from_secs(5)),
        ..SioClientOptions::default()
    }
}

/// A client whose events are recorded.
fn client(url: &str, mode: Transports) -> (SioClient, UnboundedReceiver<SioClientEvent>) {
    let c = SioClient::connect(url, options(mode)).unwrap();
    let (tx, rx) = unbounded_channel();
    c.on_any_event(move |e| {
        let _ = tx.send(e.clone());
    });
    (c, rx)
}

/// Waits for an event matching `f`, skipping others.
async fn wait(
    rx: &mut UnboundedReceiver<SioClientEvent>,
    what: &str,
    f: impl Fn(&SioClientEvent) -> bool,
) -> SioClientEvent {
    timeout(WAIT, async {
        loop {
            let e = rx.recv().await.expect("client running");
            if f(&e) {
                return e;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn is_event<'a>(nsp: &'a str, name: &'a str) -> impl Fn(&SioClientEvent) -> bool + 'a {
    move |e| matches!(e, SioClientEvent::Event { nsp: n, name: m, .. } if n == nsp && m == name)
}

fn event_args(e: SioClientEvent) -> (Vec<Value>, Vec<Bytes>) {
    match e {
        SioClientEvent::Event { args, attachments, .. } => (args, attachments),
        other => panic!("{other:?}"),
    }
}

/// Waits for the upgrade in the upgrade mode (the other modes stay on their transport).
async fn check_transport(
    c: &SioClient,
    rx: &mut UnboundedReceiver<SioClientEvent>,
    mode: Transports,
) {
    match mode {
        Transports::PollingAndUpgrade => {
            // Events before this call were skipped: the upgrade may be done already.
            if c.transport() != Some(Transport::WebSocket) {
                wait(rx, "upgrade", |e| matches!(e, SioClientEvent::Upgraded)).await;
            }
            assert_eq!(c.transport(), Some(Transport::WebSocket));
        }
        Transports::WebSocketOnly => assert_eq!(c.transport(), Some(Transport::WebSocket)),
        Transports::PollingOnly => assert_eq!(c.transport(), Some(Transport::Polling)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_auth_and_messages_on_two_namespaces() {
    let server = SioServer::start_default();
    for mode in MODES {
        let (c, mut rx) = client(&server.url("/"), mode);
        let custom = c.socket("/custom").unwrap();
        let text = "é€😀 \u{2028} \"quoted\"\n";
        c.emit("message", vec![json!(text), json!({"n": 1})], vec![]).unwrap();
        custom.emit("message", vec![json!("custom")], vec![]).unwrap();
        let mut auth = Vec::new();
        let mut back = Vec::new();
        while auth.len() < 2 || back.len() < 2 {
            let e = wait(&mut rx, "auth and message-back", |e| {
                matches!(e, SioClientEvent::Event { .. })
            })
            .await;
            let SioClientEvent::Event { nsp, name, args, .. } = e else { unreachable!() };
            match name.as_str() {
                "auth" => auth.push((nsp, args)),
                "message-back" => back.push((nsp, args)),
                other => panic!("{mode:?}: unexpected {other}"),
            }
        }
        auth.sort_by(|a, b| a.0.cmp(&b.0));
        back.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(auth, [("/".into(), vec![json!({})]), ("/custom".into(), vec![json!({})])]);
        assert_eq!(
            back,
            [
                ("/".into(), vec![json!(text), json!({"n": 1})]),
                ("/custom".into(), vec![json!("custom")])
            ],
            "{mode:?}"
        );
        assert!(c.is_connected() && custom.is_connected());
        let sid = c.id().unwrap();
        assert_eq!(custom.id().unwrap(), format!("/custom#{sid}"));
        check_transport(&c, &mut rx, mode).await;
        // After the upgrade, still working.
        custom.emit("message", vec![json!("after")], vec![]).unwrap();
        let (args, _) =
            event_args(wait(&mut rx, "message-back", is_event("/custom", "message-back")).await);
        assert_eq!(args, [json!("after")]);
        c.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_both_ways() {
    let server = SioServer::start_default();
    for mode in MODES {
        let (c, mut rx) = client(&server.url("/custom"), mode);
        let (args, bins) = c
            .emit_with_ack("message-with-ack", vec![json!("é😀"), json!([1, 2])], vec![])
            .await
            .unwrap();
        assert_eq!((args, bins), (vec![json!("é😀"), json!([1, 2])], vec![]), "{mode:?}");
        // The server asks for an ack: answer it, then get the follow-up with the answer.
        c.on("emit-with-ack", |args, _bins, ack| {
            if let Some(ack) = ack {
                let mut answer = vec![json!("answer")];
                answer.extend(args);
                ack.send(answer, vec![]).unwrap();
            }
        });
        c.emit("emit-with-ack", vec![json!(42)], vec![]).unwrap();
        let first = wait(&mut rx, "the request", is_event("/custom", "emit-with-ack")).await;
        assert!(matches!(first, SioClientEvent::Event { id: Some(_), .. }), "{first:?}");
        let follow = wait(&mut rx, "the follow-up", is_event("/custom", "emit-with-ack")).await;
        let SioClientEvent::Event { args, id, .. } = follow else { unreachable!() };
        assert_eq!((args, id), (vec![json!("answer"), json!(42)], None), "{mode:?}");
        // An event without a handler on the server side never gets an ack: timeout.
        let r = c
            .emit_with_ack_timeout(
                "no-such-event",
                vec![],
                vec![],
                Some(Duration::from_millis(300)),
            )
            .await;
        assert_eq!(r, Err(AckError::Timeout));
        c.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_both_ways() {
    let server = SioServer::start_default();
    for mode in MODES {
        let (c, mut rx) = client(&server.url("/"), mode);
        let bins = vec![
            Bytes::from_static(&[0, 1, 2, 255]),
            Bytes::from((0..=255u8).collect::<Vec<_>>()),
            Bytes::from(vec![7u8; 70_000]),
        ];
        let args = vec![
            json!("text"),
            json!({"a": placeholder(0), "nested": {"list": [1, placeholder(1)]}}),
            placeholder(2),
        ];
        c.emit("message", args.clone(), bins.clone()).unwrap();
        let back = event_args(wait(&mut rx, "message-back", is_event("/", "message-back")).await);
        assert_eq!(back, (args.clone(), bins.clone()), "{mode:?}");
        let acked = c.emit_with_ack("message-with-ack", args.clone(), bins.clone()).await.unwrap();
        assert_eq!(acked, (args, bins), "{mode:?}");
        // Binary in an ack answer.
        c.on("emit-with-ack", |_args, _bins, ack| {
            if let Some(ack) = ack {
                ack.send(vec![placeholder(0), json!("x")], vec![Bytes::from_static(b"\x00bin")])
                    .unwrap();
            }
        });
        c.emit("emit-with-ack", vec![], vec![]).unwrap();
        let follow = wait(&mut rx, "follow-up", |e| {
            matches!(e, SioClientEvent::Event { name, id: None, .. } if name == "emit-with-ack")
        })
        .await;
        assert_eq!(
            event_args(follow),
            (vec![placeholder(0), json!("x")], vec![Bytes::from_static(b"\x00bin")]),
            "{mode:?}"
        );
        c.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_namespace_is_a_connect_error() {
    let server = SioServer::start_default();
    for mode in MODES {
        let (c, mut rx) = client(&server.url("/"), mode);
        let nope = c.socket("/nope").unwrap();
        let (tx, mut errs) = unbounded_channel();
        nope.on_connect_error(move |d| {
            let _ = tx.send(d.clone());
        });
        let e =
            wait(&mut rx, "connect error", |e| matches!(e, SioClientEvent::ConnectError { .. }))
                .await;
        assert_eq!(
            e,
            SioClientEvent::ConnectError { nsp: "/nope".into(), data: json!("Invalid namespace") }
        );
        assert_eq!(errs.recv().await, Some(json!("Invalid namespace")));
        assert!(!nope.is_connected());
        assert!(matches!(nope.emit_with_ack("x", vec![], vec![]).await, Err(AckError::Emit(_))));
        // The root is unaffected.
        c.emit("message", vec![json!(1)], vec![]).unwrap();
        wait(&mut rx, "message-back", is_event("/", "message-back")).await;
        c.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_with_two_clients() {
    let server = SioServer::start_default();
    for mode in MODES {
        let (a, mut arx) = client(&server.url("/custom"), mode);
        let (b, mut brx) = client(&server.url("/custom"), mode);
        b.emit("join", vec![json!("r1")], vec![]).unwrap();
        // A round trip after the join: the server handled it.
        b.emit_with_ack("message-with-ack", vec![], vec![]).await.unwrap();
        a.emit_with_ack("message-with-ack", vec![], vec![]).await.unwrap();
        a.emit("to-room", vec![json!("r1"), json!("hi"), json!({"x": "ü"})], vec![]).unwrap();
        let (args, _) = event_args(wait(&mut brx, "to-room", is_event("/custom", "to-room")).await);
        assert_eq!(args, [json!("hi"), json!({"x": "ü"})], "{mode:?}");
        // The sender is not in the room and gets nothing; B sending to its own room neither.
        b.emit("to-room", vec![json!("r1"), json!("self")], vec![]).unwrap();
        a.emit("message", vec![json!("marker")], vec![]).unwrap();
        let e = wait(
            &mut arx,
            "marker",
            |e| matches!(e, SioClientEvent::Event { name, .. } if name != "auth"),
        )
        .await;
        assert_eq!(event_args(e).0, [json!("marker")]);
        b.emit_with_ack("message-with-ack", vec![], vec![]).await.unwrap();
        while let Ok(e) = brx.try_recv() {
            assert!(!is_event("/custom", "to-room")(&e), "{e:?}");
        }
        a.close();
        b.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_server_restarts() {
    let mut server = SioServer::start_default();
    for mode in MODES {
        let (c, mut rx) = client(&server.url("/"), mode);
        let custom = c.socket("/custom").unwrap();
        let (tx, mut reasons) = unbounded_channel();
        c.on_disconnect(move |r| {
            let _ = tx.send(r.to_string());
        });
        wait(&mut rx, "auth", is_event("/", "auth")).await;
        wait(&mut rx, "auth", is_event("/custom", "auth")).await;
        let sid = c.id().unwrap();
        check_transport(&c, &mut rx, mode).await;
        server.kill();
        let e = wait(
            &mut rx,
            "disconnect",
            |e| matches!(e, SioClientEvent::Disconnect { nsp, .. } if nsp == "/"),
        )
        .await;
        let SioClientEvent::Disconnect { reason, .. } = e else { unreachable!() };
        assert!(matches!(reason, DisconnectReason::Engine(_)), "{reason:?}");
        let r = reasons.recv().await.unwrap();
        assert!(r == "transport close" || r == "transport error" || r == "ping timeout", "{r}");
        // Emits while disconnected are buffered.
        custom.emit("message", vec![json!("buffered")], vec![]).unwrap();
        wait(&mut rx, "a failed attempt", |e| matches!(e, SioClientEvent::Reconnecting { .. }))
            .await;
        server.restart();
        wait(&mut rx, "reconnected", |e| matches!(e, SioClientEvent::Reconnected { .. })).await;
        wait(&mut rx, "auth again", is_event("/", "auth")).await;
        let (args, _) = event_args(
            wait(&mut rx, "buffered message", is_event("/custom", "message-back")).await,
        );
        assert_eq!(args, [json!("buffered")]);
        assert_ne!(c.id().unwrap(), sid, "a new session");
        assert!(custom.is_connected());
        c.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_namespace_then_client() {
    let server = SioServer::start_default();
    for mode in MODES {
        let (c, mut rx) = client(&server.url("/"), mode);
        let custom = c.socket("/custom").unwrap();
        let (tx, mut reasons) = unbounded_channel();
        custom.on_disconnect(move |r| {
            let _ = tx.send(r.to_string());
        });
        wait(&mut rx, "auth", is_event("/custom", "auth")).await;
        custom.disconnect();
        assert_eq!(reasons.recv().await.as_deref(), Some("io client disconnect"));
        assert!(c.emit_with_ack("message-with-ack", vec![json!(1)], vec![]).await.is_ok());
        assert!(custom.emit("message", vec![], vec![]).is_err());
        // Connect it again on the same connection.
        custom.connect().unwrap();
        wait(&mut rx, "auth again", is_event("/custom", "auth")).await;
        c.disconnect();
        custom.disconnect();
        wait(&mut rx, "disconnect", |e| {
            matches!(e, SioClientEvent::Disconnect { nsp, reason: DisconnectReason::ClientDisconnect } if nsp == "/custom")
        })
        .await;
        assert_eq!(c.state(), glue_tokio::protocol::sio::client::SioClientState::Closed);
        assert!(timeout(Duration::from_millis(300), rx.recv()).await.is_err(), "no reconnection");
    }
}
