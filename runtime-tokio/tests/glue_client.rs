//! The tokio glue client against a loopback glue server (WebSocket and AjaxSocket).

#[path = "../../runtime-std/tests/glue_client/server.rs"]
mod server;
mod support;

use glue_tokio::glue::client::{Client, ClientOptions, ClientState, Event, SendResult, Transport};
use server::TestServer;
use std::time::{Duration, Instant};
use support::{connected, options, read, wait_event, BOTH, WAIT};
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_echo_channels_and_queued_sends() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        assert_eq!(client.send("first"), Ok(SendResult::Queued));
        assert_eq!(client.send("second"), Ok(SendResult::Queued));
        assert_eq!(client.send(""), Ok(SendResult::Discarded));
        let chat = client.channel("chat");
        assert_eq!(chat.send("on chat"), Ok(SendResult::Queued));
        assert_eq!(wait_event(&client, "connecting", |_| true).await, Event::Connecting);
        let id = connected(&client).await;
        assert_eq!(client.state(), ClientState::Connected);
        assert_eq!(client.socket_id(), Some(id.clone()));
        assert_eq!(client.transport(), Some(transport));
        assert_eq!(read(&client).await, "first");
        assert_eq!(read(&client).await, "second");
        assert_eq!(timeout(WAIT, chat.recv()).await.unwrap().as_deref(), Some("on chat"));
        assert_eq!(client.send("x&y&z é"), Ok(SendResult::Sent));
        assert_eq!(read(&client).await, "x&y&z é");
        assert_eq!(chat.send("c2"), Ok(SendResult::Sent));
        assert_eq!(timeout(WAIT, chat.recv()).await.unwrap().as_deref(), Some("c2"));
        assert_eq!(
            server.data(),
            [
                ("m".to_string(), "first".to_string()),
                ("m".into(), "second".into()),
                ("chat".into(), "on chat".into()),
                ("m".into(), "x&y&z é".into()),
                ("chat".into(), "c2".into()),
            ],
            "{transport:?}"
        );
        assert_eq!(server.lock().initialized, [id]);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        chat.on_message(move |m| tx.send(m).unwrap());
        chat.send("via handler").unwrap();
        assert_eq!(timeout(WAIT, rx.recv()).await.unwrap().unwrap(), "via handler");
        assert!(timeout(Duration::from_millis(50), client.recv()).await.is_err());
        client.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_reconnects_with_a_new_id_and_client_close() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        let id1 = connected(&client).await;
        server.close_all();
        wait_event(&client, "reconnecting", |e| *e == Event::Reconnecting).await;
        let id2 = connected(&client).await;
        assert_ne!(id1, id2, "{transport:?}");
        assert_eq!(client.send("after"), Ok(SendResult::Sent));
        assert_eq!(read(&client).await, "after");
        assert_eq!(server.lock().received.last().unwrap().0, id2);
        client.close();
        assert_eq!(client.state(), ClientState::Disconnected);
        wait_event(&client, "disconnected", |e| *e == Event::Disconnected).await;
        server.wait_for("cl", WAIT, |s| s.client_closed.contains(&id2));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(client.state(), ClientState::Disconnected);
        assert_eq!(server.lock().initialized.len(), 2);
        assert_eq!(client.send("later"), Ok(SendResult::Queued));
        assert!(client.reconnect());
        connected(&client).await;
        assert_eq!(read(&client).await, "later");
        client.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_while_sending_delivers_the_buffer() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        connected(&client).await;
        client.send("before").unwrap();
        assert_eq!(read(&client).await, "before");
        let addr = server.stop();
        wait_event(&client, "reconnect", |e| matches!(e, Event::Error(_) | Event::Reconnecting))
            .await;
        for i in 0..20 {
            assert_eq!(client.send(&format!("m{i}")), Ok(SendResult::Queued), "{transport:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let server = TestServer::start_on(&addr.to_string());
        connected(&client).await;
        for i in 0..20 {
            assert_eq!(read(&client).await, format!("m{i}"));
        }
        let data: Vec<String> = server.data().into_iter().map(|(_, d)| d).collect();
        assert_eq!(data, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
        client.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_buffer_is_discarded_with_the_server_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for transport in BOTH {
        let mut o = options(transport);
        o.config.reset_send_buffer_timeout = Duration::from_millis(300);
        let client = Client::connect(&format!("http://127.0.0.1:{port}"), o).unwrap();
        let t0 = Instant::now();
        assert_eq!(client.send("a"), Ok(SendResult::Queued));
        assert_eq!(client.channel("c").send("b"), Ok(SendResult::Queued));
        let discarded = |e: &Event| matches!(e, Event::Discarded { .. });
        let e = wait_event(&client, "discard", discarded).await;
        assert!(t0.elapsed() >= Duration::from_millis(290));
        assert_eq!(e, Event::Discarded { channel: "m".into(), data: "a".into() });
        assert_eq!(
            wait_event(&client, "discard", discarded).await,
            Event::Discarded { channel: "c".into(), data: "b".into() }
        );
        wait_event(&client, "discard_send_buffer", |e| *e == Event::DiscardSendBuffer).await;
        assert_eq!(client.send("c"), Ok(SendResult::Discarded));
        assert_eq!(
            wait_event(&client, "discard", discarded).await,
            Event::Discarded { channel: "m".into(), data: "c".into() }
        );
        assert_ne!(client.state(), ClientState::Connected);
        client.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_1000_in_order() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        connected(&client).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        client.on_message(move |m| tx.send(m).unwrap());
        for i in 0..1000 {
            assert_eq!(client.send(&format!("msg {i}")), Ok(SendResult::Sent));
        }
        for i in 0..1000 {
            let m = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
            assert_eq!(m, format!("msg {i}"), "{transport:?}");
        }
        assert_eq!(server.data().len(), 1000);
        client.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mib_over_websocket_and_bounded_receive_queue() {
    let server = TestServer::start();
    let mut o = options(Transport::WebSocket);
    o.recv_queue = 4;
    let client = Client::connect(&server.url(), o).unwrap();
    connected(&client).await;
    let big: String = (0..2 << 20).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    assert_eq!(client.send(&big), Ok(SendResult::Sent));
    assert_eq!(read(&client).await, big);
    for i in 0..50 {
        client.send(&i.to_string()).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..50 {
        assert_eq!(read(&client).await, i.to_string());
    }
    client.close();
}

#[tokio::test]
async fn invalid_hosts_are_refused() {
    assert!(Client::connect("127.0.0.1:80", ClientOptions::default()).is_err());
    assert!(Client::connect("https://127.0.0.1", ClientOptions::default()).is_err());
    assert!(Client::connect("ws://127.0.0.1", ClientOptions::default()).is_err());
    let o = ClientOptions { user_agent: "bad\r\nua".into(), ..Default::default() };
    assert!(Client::connect("http://127.0.0.1", o).is_err());
}

#[test]
fn connect_outside_a_runtime_is_an_error() {
    assert!(Client::connect("http://127.0.0.1:1", ClientOptions::default()).is_err());
}
