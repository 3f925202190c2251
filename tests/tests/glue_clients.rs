//! Both Rust glue clients against both runtimes' servers (the `glue-echo` fixture, run as a
//! process so that it can be killed and restarted), over both transports: queued sends,
//! echo, channels, a 1000-message burst, server-side close → reconnect with a new ID, a
//! 2 MiB message (WebSocket), server restart while sending, send-buffer discard, client close.

use glue_protocol::glue::{ClientConfig, ClientState, SendResult, Transport};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);
const RUNTIMES: [&str; 2] = ["tokio", "std"];
const TRANSPORTS: [Transport; 2] = [Transport::WebSocket, Transport::Ajax];

/// A `fixture glue-echo` process on a fixed port.
struct Fixture {
    runtime: &'static str,
    port: u16,
    www: std::path::PathBuf,
    child: Option<Child>,
}

impl Fixture {
    fn start(runtime: &'static str) -> Fixture {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let www =
            std::env::temp_dir().join(format!("glue-clients-www-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&www).unwrap();
        let mut f = Fixture { runtime, port, www, child: None };
        f.spawn();
        f
    }

    fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_fixture"))
            .args(["glue-echo", "--runtime", self.runtime, "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--static")
            .arg(&self.www)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the fixture");
        self.child = Some(child);
        let until = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < until, "fixture did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.www);
    }
}

fn config(transport: Transport) -> ClientConfig {
    ClientConfig {
        force_transport: Some(transport),
        reconnect_delay: Duration::from_millis(50),
        reconnect_delay_max: Duration::from_millis(300),
        reconnect_attempts: 0,
        connect_timeout: Duration::from_secs(3),
        reset_send_buffer_timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

/// The operations the scenarios need, for both clients.
trait TestClient {
    fn send(&self, data: &str) -> SendResult;
    fn send_on(&self, channel: &str, data: &str) -> SendResult;
    fn read(&self) -> Option<String>;
    fn read_on(&self, channel: &str) -> Option<String>;
    /// Waits for `Connected`; returns the socket ID.
    fn connected(&self) -> String;
    /// Waits for a `Discarded` event; returns its data.
    fn discarded(&self) -> String;
    fn state(&self) -> ClientState;
    fn close(&self);
}

mod std_client {
    use super::*;
    use glue_std::glue::client::{Client, ClientOptions, Event};

    pub struct C(pub Client);

    pub fn connect(url: &str, transport: Transport) -> C {
        let options = ClientOptions { config: config(transport), ..Default::default() };
        C(Client::connect(url, options).unwrap())
    }

    impl C {
        fn event(&self, f: impl Fn(&Event) -> bool) -> Event {
            let until = Instant::now() + WAIT;
            loop {
                let left = until.saturating_duration_since(Instant::now());
                assert!(!left.is_zero(), "no such event in time");
                if let Some(e) = self.0.read_event_timeout(left) {
                    if f(&e) {
                        return e;
                    }
                }
            }
        }
    }

    impl TestClient for C {
        fn send(&self, data: &str) -> SendResult {
            self.0.send(data).unwrap()
        }
        fn send_on(&self, channel: &str, data: &str) -> SendResult {
            self.0.channel(channel).send(data).unwrap()
        }
        fn read(&self) -> Option<String> {
            self.0.read_timeout(WAIT)
        }
        fn read_on(&self, channel: &str) -> Option<String> {
            self.0.channel(channel).read_timeout(WAIT)
        }
        fn connected(&self) -> String {
            match self.event(|e| matches!(e, Event::Connected { .. })) {
                Event::Connected { socket_id } => socket_id,
                _ => unreachable!(),
            }
        }
        fn discarded(&self) -> String {
            match self.event(|e| matches!(e, Event::Discarded { .. })) {
                Event::Discarded { data, .. } => data,
                _ => unreachable!(),
            }
        }
        fn state(&self) -> ClientState {
            self.0.state()
        }
        fn close(&self) {
            self.0.close()
        }
    }
}

mod tokio_client {
    use super::*;
    use glue_tokio::glue::client::{Client, ClientOptions, Event};

    pub struct C(pub Client, pub tokio::runtime::Runtime);

    pub fn connect(url: &str, transport: Transport) -> C {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let options = ClientOptions { config: config(transport), ..Default::default() };
        let client = rt.block_on(async { Client::connect(url, options) }).unwrap();
        C(client, rt)
    }

    impl C {
        fn event(&self, f: impl Fn(&Event) -> bool) -> Event {
            self.1.block_on(async {
                tokio::time::timeout(WAIT, async {
                    loop {
                        let e = self.0.recv_event().await.expect("client stopped");
                        if f(&e) {
                            return e;
                        }
                    }
                })
                .await
                .expect("no such event in time")
            })
        }
    }

    impl TestClient for C {
        fn send(&self, data: &str) -> SendResult {
            self.0.send(data).unwrap()
        }
        fn send_on(&self, channel: &str, data: &str) -> SendResult {
            self.0.channel(channel).send(data).unwrap()
        }
        fn read(&self) -> Option<String> {
            self.1
                .block_on(async { tokio::time::timeout(WAIT, self.0.recv()).await.ok().flatten() })
        }
        fn read_on(&self, channel: &str) -> Option<String> {
            let ch = self.0.channel(channel);
            self.1.block_on(async { tokio::time::timeout(WAIT, ch.recv()).await.ok().flatten() })
        }
        fn connected(&self) -> String {
            match self.event(|e| matches!(e, Event::Connected { .. })) {
                Event::Connected { socket_id } => socket_id,
                _ => unreachable!(),
            }
        }
        fn discarded(&self) -> String {
            match self.event(|e| matches!(e, Event::Discarded { .. })) {
                Event::Discarded { data, .. } => data,
                _ => unreachable!(),
            }
        }
        fn state(&self) -> ClientState {
            self.0.state()
        }
        fn close(&self) {
            self.0.close()
        }
    }
}

fn scenarios(server: &mut Fixture, transport: Transport, c: &dyn TestClient) {
    let what = format!("{} server, {transport:?}", server.runtime);
    // Sends before the connection is up are queued and delivered in order.
    assert_eq!(c.send("echo:q1"), SendResult::Queued, "{what}");
    assert_eq!(c.send("echo:q2"), SendResult::Queued, "{what}");
    let id1 = c.connected();
    assert_eq!(c.read().as_deref(), Some("welcome"), "{what}");
    assert_eq!(c.read().as_deref(), Some("q1"), "{what}");
    assert_eq!(c.read().as_deref(), Some("q2"), "{what}");
    // Echo with `&` and non-ASCII; the golang channel.
    assert_eq!(c.send("echo:a&b é ü"), SendResult::Sent, "{what}");
    assert_eq!(c.read().as_deref(), Some("a&b é ü"), "{what}");
    assert_eq!(c.send_on("golang", "over golang"), SendResult::Sent);
    assert_eq!(c.read_on("golang").as_deref(), Some("over golang"), "{what}");
    // A burst arrives complete and in order.
    c.send("burst:1000");
    for i in 0..1000 {
        assert_eq!(c.read(), Some(format!("b{i}")), "{what}");
    }
    // 2 MiB over WebSocket.
    if transport == Transport::WebSocket {
        let big = "x".repeat(2 << 20);
        c.send(&format!("echo:{big}"));
        assert_eq!(c.read().map(|m| m.len()), Some(2 << 20), "{what}");
    }
    // Server-side close: automatic reconnect with a new socket ID.
    c.send("close");
    let id2 = c.connected();
    assert_ne!(id1, id2, "{what}");
    assert_eq!(c.read().as_deref(), Some("welcome"), "{what}");
    // Server restart while the client keeps sending: everything buffered arrives, in order.
    server.kill();
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..20 {
        c.send(&format!("echo:r{i}"));
    }
    server.spawn();
    let id3 = c.connected();
    assert_ne!(id2, id3);
    assert_eq!(c.read().as_deref(), Some("welcome"), "{what}");
    for i in 0..20 {
        assert_eq!(c.read(), Some(format!("r{i}")), "{what}");
    }
    // Client close: disconnected, no reconnect.
    c.close();
    assert_eq!(c.state(), ClientState::Disconnected, "{what}");
}

fn discard_scenario(
    transport: Transport,
    connect: impl Fn(&str, ClientConfig) -> Box<dyn TestClient>,
) {
    // Nothing listens: the buffer is discarded after reset_send_buffer_timeout.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config =
        ClientConfig { reset_send_buffer_timeout: Duration::from_millis(300), ..config(transport) };
    let c = connect(&format!("http://127.0.0.1:{port}"), config);
    assert_eq!(c.send("lost 1"), SendResult::Queued);
    assert_eq!(c.send("lost 2"), SendResult::Queued);
    assert_eq!(c.discarded(), "lost 1");
    assert_eq!(c.discarded(), "lost 2");
    assert_eq!(c.send("too late"), SendResult::Discarded);
    c.close();
}

#[test]
fn std_client_against_both_servers() {
    for runtime in RUNTIMES {
        for transport in TRANSPORTS {
            let mut server = Fixture::start(runtime);
            let c = std_client::connect(&server.url(), transport);
            scenarios(&mut server, transport, &c);
        }
    }
}

#[test]
fn tokio_client_against_both_servers() {
    for runtime in RUNTIMES {
        for transport in TRANSPORTS {
            let mut server = Fixture::start(runtime);
            let c = tokio_client::connect(&server.url(), transport);
            scenarios(&mut server, transport, &c);
        }
    }
}

#[test]
fn both_clients_discard_their_buffer_when_no_server_comes() {
    for transport in TRANSPORTS {
        discard_scenario(transport, |url, config| {
            let options = glue_std::glue::client::ClientOptions { config, ..Default::default() };
            Box::new(std_client::C(glue_std::glue::client::Client::connect(url, options).unwrap()))
        });
        discard_scenario(transport, |url, config| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let options = glue_tokio::glue::client::ClientOptions { config, ..Default::default() };
            let client =
                rt.block_on(async { glue_tokio::glue::client::Client::connect(url, options) });
            Box::new(tokio_client::C(client.unwrap(), rt))
        });
    }
}
