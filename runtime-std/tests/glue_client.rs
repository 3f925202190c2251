//! The blocking glue client against a loopback glue server (WebSocket and AjaxSocket).

#[path = "glue_client/server.rs"]
mod server;

use glue_std::glue::client::{
    Client, ClientConfig, ClientOptions, ClientState, Event, SendResult, Transport,
};
use server::TestServer;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
const BOTH: [Transport; 2] = [Transport::WebSocket, Transport::Ajax];

fn options(transport: Transport) -> ClientOptions {
    ClientOptions {
        config: ClientConfig {
            force_transport: Some(transport),
            reconnect_delay: Duration::from_millis(50),
            reconnect_delay_max: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(3),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Reads events until one matches; panics after `WAIT`.
fn wait_event(client: &Client, what: &str, f: impl Fn(&Event) -> bool) -> Event {
    let until = Instant::now() + WAIT;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting for {what}");
        if let Some(e) = client.read_event_timeout(left) {
            if f(&e) {
                return e;
            }
        }
    }
}

fn connected(client: &Client) -> String {
    match wait_event(client, "connected", |e| matches!(e, Event::Connected { .. })) {
        Event::Connected { socket_id } => socket_id,
        _ => unreachable!(),
    }
}

fn read(client: &Client) -> String {
    client.read_timeout(WAIT).expect("a message")
}

#[test]
fn connect_echo_channels_and_queued_sends() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        // sends made before the connection is up are buffered and go out in order
        assert_eq!(client.send("first"), Ok(SendResult::Queued));
        assert_eq!(client.send("second"), Ok(SendResult::Queued));
        assert_eq!(client.send(""), Ok(SendResult::Discarded));
        let chat = client.channel("chat");
        assert_eq!(chat.send("on chat"), Ok(SendResult::Queued));
        assert_eq!(wait_event(&client, "connecting", |_| true), Event::Connecting);
        let id = connected(&client);
        assert_eq!(client.state(), ClientState::Connected);
        assert_eq!(client.socket_id(), Some(id.clone()));
        assert_eq!(client.transport(), Some(transport));
        assert_eq!(read(&client), "first");
        assert_eq!(read(&client), "second");
        assert_eq!(chat.read_timeout(WAIT).as_deref(), Some("on chat"));
        assert_eq!(client.send("x&y&z é"), Ok(SendResult::Sent));
        assert_eq!(read(&client), "x&y&z é");
        assert_eq!(chat.send("c2"), Ok(SendResult::Sent));
        assert_eq!(chat.read_timeout(WAIT).as_deref(), Some("c2"));
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
        // a handler takes over the channel
        let (tx, rx) = std::sync::mpsc::channel();
        chat.on_message(move |m| tx.send(m).unwrap());
        chat.send("via handler").unwrap();
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), "via handler");
        assert_eq!(client.read_timeout(Duration::from_millis(50)), None);
        client.close();
    }
}

#[test]
fn server_close_reconnects_with_a_new_id_and_client_close() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        let id1 = connected(&client);
        server.close_all();
        assert_eq!(
            wait_event(&client, "reconnecting", |e| *e == Event::Reconnecting),
            Event::Reconnecting
        );
        let id2 = connected(&client);
        assert_ne!(id1, id2, "{transport:?}");
        assert_eq!(client.send("after"), Ok(SendResult::Sent));
        assert_eq!(read(&client), "after");
        assert_eq!(server.lock().received.last().unwrap().0, id2);
        // client close: `cl` reaches the server, no reconnect
        client.close();
        assert_eq!(client.state(), ClientState::Disconnected);
        wait_event(&client, "disconnected", |e| *e == Event::Disconnected);
        server.wait_for("cl", WAIT, |s| s.client_closed.contains(&id2));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(client.state(), ClientState::Disconnected);
        assert_eq!(server.lock().initialized.len(), 2);
        // sends are buffered again; reconnect() delivers them
        assert_eq!(client.send("later"), Ok(SendResult::Queued));
        assert!(client.reconnect());
        connected(&client);
        assert_eq!(read(&client), "later");
    }
}

#[test]
fn server_restart_while_sending_delivers_the_buffer() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        connected(&client);
        client.send("before").unwrap();
        assert_eq!(read(&client), "before");
        let addr = server.stop();
        wait_event(&client, "reconnect", |e| matches!(e, Event::Error(_) | Event::Reconnecting));
        let mut queued = 0;
        for i in 0..20 {
            if client.send(&format!("m{i}")).unwrap() == SendResult::Queued {
                queued += 1;
            }
        }
        assert_eq!(queued, 20, "{transport:?}");
        std::thread::sleep(Duration::from_millis(300));
        let server = TestServer::start_on(&addr.to_string());
        connected(&client);
        for i in 0..20 {
            assert_eq!(read(&client), format!("m{i}"));
        }
        let data: Vec<String> = server.data().into_iter().map(|(_, d)| d).collect();
        assert_eq!(data, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
        client.close();
    }
}

#[test]
fn send_buffer_is_discarded_with_the_server_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for transport in BOTH {
        let mut o = options(transport);
        o.config.reset_send_buffer_timeout = Duration::from_millis(300);
        let client = Client::connect(&format!("http://127.0.0.1:{port}"), o).unwrap();
        let t0 = Instant::now();
        assert_eq!(client.send("a"), Ok(SendResult::Queued));
        assert_eq!(client.channel("c").send("b"), Ok(SendResult::Queued));
        let e = wait_event(&client, "discard", |e| matches!(e, Event::Discarded { .. }));
        assert!(t0.elapsed() >= Duration::from_millis(290));
        assert_eq!(e, Event::Discarded { channel: "m".into(), data: "a".into() });
        assert_eq!(
            wait_event(&client, "discard", |e| matches!(e, Event::Discarded { .. })),
            Event::Discarded { channel: "c".into(), data: "b".into() }
        );
        wait_event(&client, "discard_send_buffer", |e| *e == Event::DiscardSendBuffer);
        // expired: further sends are discarded at once
        assert_eq!(client.send("c"), Ok(SendResult::Discarded));
        assert_eq!(
            wait_event(&client, "discard", |e| matches!(e, Event::Discarded { .. })),
            Event::Discarded { channel: "m".into(), data: "c".into() }
        );
        assert_ne!(client.state(), ClientState::Connected);
        client.close();
    }
}

#[test]
fn burst_of_1000_in_order() {
    for transport in BOTH {
        let server = TestServer::start();
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        connected(&client);
        let (tx, rx) = std::sync::mpsc::channel();
        client.on_message(move |m| tx.send(m).unwrap());
        for i in 0..1000 {
            assert_eq!(client.send(&format!("msg {i}")), Ok(SendResult::Sent));
        }
        for i in 0..1000 {
            assert_eq!(rx.recv_timeout(WAIT).unwrap(), format!("msg {i}"), "{transport:?}");
        }
        assert_eq!(server.data().len(), 1000);
        client.close();
    }
}

#[test]
fn two_mib_over_websocket_and_bounded_receive_queue() {
    let server = TestServer::start();
    let mut o = options(Transport::WebSocket);
    o.recv_queue = 4;
    let client = Client::connect(&server.url(), o).unwrap();
    connected(&client);
    let big: String = (0..2 << 20).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    assert_eq!(client.send(&big), Ok(SendResult::Sent));
    assert_eq!(read(&client), big);
    // more than the queue holds: the client stops reading, nothing is lost
    for i in 0..50 {
        client.send(&i.to_string()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..50 {
        assert_eq!(read(&client), i.to_string());
    }
    client.close();
}

#[test]
fn invalid_hosts_are_refused() {
    assert!(Client::connect("127.0.0.1:80", ClientOptions::default()).is_err());
    assert!(Client::connect("https://127.0.0.1", ClientOptions::default()).is_err());
    assert!(Client::connect("ws://127.0.0.1", ClientOptions::default()).is_err());
    let o = ClientOptions { user_agent: "bad\r\nua".into(), ..Default::default() };
    assert!(Client::connect("http://127.0.0.1", o).is_err());
}
