//! The tokio glue client against the crate's own glue server (`glue_tokio::glue::Server`),
//! over both transports.

mod support;

use glue_tokio::glue::client::{Client, ClientState, Event, SendResult, Transport};
use glue_tokio::glue::{Server, ServerOptions, Socket};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{connected, options, read, wait_event, BOTH, WAIT};
use tokio::time::timeout;

/// An echo server (main channel and `chat`) that remembers its sockets.
struct Echo {
    server: Server,
    addr: SocketAddr,
    sockets: Arc<Mutex<Vec<Socket>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn echo_server(addr: &str) -> Echo {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(ServerOptions::default());
    let sockets: Arc<Mutex<Vec<Socket>>> = Arc::default();
    let seen = sockets.clone();
    server.on_new_socket(move |socket| {
        seen.lock().unwrap().push(socket.clone());
        let s = socket.clone();
        socket.on_read(move |data| {
            let _ = s.try_write(&data);
        });
        let chat = socket.channel("chat");
        let c = chat.clone();
        chat.on_read(move |data| {
            let _ = c.try_write(&data);
        });
    });
    let s = server.clone();
    let task = tokio::spawn(async move {
        let _ = s.serve_tcp(listener).await;
    });
    Echo { server, addr, sockets, task }
}

impl Echo {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn stop(self) -> SocketAddr {
        self.server.release(Duration::from_secs(1)).await;
        self.task.abort();
        let _ = self.task.await;
        self.addr
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_channels_queued_sends_and_burst() {
    for transport in BOTH {
        let server = echo_server("127.0.0.1:0").await;
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        assert_eq!(client.send("queued 1"), Ok(SendResult::Queued));
        assert_eq!(client.send("queued 2"), Ok(SendResult::Queued));
        let chat = client.channel("chat");
        assert_eq!(chat.send("chat 1"), Ok(SendResult::Queued));
        let id = connected(&client).await;
        assert_eq!(client.transport(), Some(transport));
        assert_eq!(server.sockets.lock().unwrap()[0].id(), id);
        assert_eq!(server.sockets.lock().unwrap()[0].transport(), transport);
        assert_eq!(read(&client).await, "queued 1");
        assert_eq!(read(&client).await, "queued 2");
        assert_eq!(timeout(WAIT, chat.recv()).await.unwrap().as_deref(), Some("chat 1"));
        for i in 0..1000 {
            assert_eq!(client.send(&format!("b{i}")), Ok(SendResult::Sent));
        }
        for i in 0..1000 {
            assert_eq!(read(&client).await, format!("b{i}"), "{transport:?}");
        }
        client.close();
        let socket = server.sockets.lock().unwrap()[0].clone();
        timeout(WAIT, socket.closed()).await.expect("the server sees the close");
        assert_eq!(client.state(), ClientState::Disconnected);
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mib_over_websocket() {
    let server = echo_server("127.0.0.1:0").await;
    let client = Client::connect(&server.url(), options(Transport::WebSocket)).unwrap();
    connected(&client).await;
    let big: String = (0..2 << 20).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    assert_eq!(client.send(&big), Ok(SendResult::Sent));
    assert_eq!(read(&client).await, big);
    client.close();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_and_restart() {
    for transport in BOTH {
        let server = echo_server("127.0.0.1:0").await;
        let client = Client::connect(&server.url(), options(transport)).unwrap();
        let id1 = connected(&client).await;
        // server-side close: reconnect with a new ID
        server.sockets.lock().unwrap()[0].close();
        wait_event(&client, "reconnecting", |e| *e == Event::Reconnecting).await;
        let id2 = connected(&client).await;
        assert_ne!(id1, id2, "{transport:?}");
        assert_eq!(client.send("after close"), Ok(SendResult::Sent));
        assert_eq!(read(&client).await, "after close");
        // restart: sends made while it is down are delivered after the reconnect
        let addr = server.stop().await;
        wait_event(&client, "reconnect", |e| matches!(e, Event::Error(_) | Event::Reconnecting))
            .await;
        for i in 0..20 {
            assert_eq!(client.send(&format!("m{i}")), Ok(SendResult::Queued), "{transport:?}");
        }
        let server = echo_server(&addr.to_string()).await;
        connected(&client).await;
        for i in 0..20 {
            assert_eq!(read(&client).await, format!("m{i}"));
        }
        client.close();
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pings_keep_an_idle_connection() {
    for transport in BOTH {
        let server = echo_server("127.0.0.1:0").await;
        let mut o = options(transport);
        o.config.ping_interval = Duration::from_millis(100);
        o.config.ping_reconnect_timeout = Duration::from_millis(300);
        let client = Client::connect(&server.url(), o).unwrap();
        let id = connected(&client).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        // ~10 `pi`/`po` rounds later: still the same connection, no timeout
        assert_eq!(client.socket_id(), Some(id), "{transport:?}");
        while let Ok(Some(e)) = timeout(Duration::from_millis(10), client.recv_event()).await {
            assert!(!matches!(e, Event::Timeout | Event::Reconnecting), "{transport:?}: {e:?}");
        }
        assert_eq!(server.sockets.lock().unwrap().len(), 1);
        client.close();
        server.stop().await;
    }
}
