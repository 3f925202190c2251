//! TLS end to end on loopback: our blocking Socket.IO server over `https`/`wss` (rustls, a CA
//! and a server certificate generated here with rcgen), our blocking client with each
//! verification mode, the shared-stream TLS under concurrent reads and writes, and the Node
//! socket.io-client 2.5.0 (tests/sio/tls.test.js).

#[path = "../../runtime-tokio/tests/tls_support/mod.rs"]
mod tls_support;
use tls_support::{certificates, node_tls_script};

use glue_std::glue::GlueStream;
use glue_std::protocol::eio::client::Transport;
use glue_std::sio::{SioServer, SioServerOptions};
use glue_std::sio_client::{
    json, SioClient, SioClientEvent, SioClientOptions, TlsClientOptions, TlsVerify, Transports,
};
use glue_std::tls::{TlsClientConfig, TlsServerConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// Our server over TLS on an ephemeral port: `echo` acks its arguments back; counts the
/// connections whose handshake says `secure`.
struct Server {
    port: u16,
    ca: String,
    secure_connections: Arc<AtomicUsize>,
    server: SioServer,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.release(Duration::from_secs(1));
    }
}

fn server() -> Server {
    let (ca, chain, key) = certificates();
    let tls = TlsServerConfig::from_pem(chain.as_bytes(), key.as_bytes()).unwrap();
    let server = SioServer::new(SioServerOptions::default());
    let secure_connections = Arc::new(AtomicUsize::new(0));
    let counter = secure_connections.clone();
    server.of("/").on_connection(move |socket| {
        if socket.handshake().secure {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        socket.on("echo", |_socket, payload, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(payload.args.clone(), vec![]);
            }
        });
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = server.clone();
    std::thread::spawn(move || s.serve_tls(listener, tls));
    Server { port, ca, secure_connections, server }
}

fn options(transports: Transports, verify: TlsVerify) -> SioClientOptions {
    SioClientOptions {
        transports,
        reconnection: false,
        connect_timeout: Some(Duration::from_secs(5)),
        ack_timeout: Some(Duration::from_secs(5)),
        tls: TlsClientOptions { verify, server_name: None },
        ..SioClientOptions::default()
    }
}

fn recorded(url: &str, o: SioClientOptions) -> (SioClient, Receiver<SioClientEvent>) {
    let c = SioClient::connect(url, o).unwrap();
    let (tx, rx) = channel();
    c.on_any_event(move |e| {
        let _ = tx.send(e.clone());
    });
    (c, rx)
}

/// Waits for an event matching `f`.
fn wait_for(rx: &Receiver<SioClientEvent>, what: &str, f: impl Fn(&SioClientEvent) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = rx.recv_timeout(left).unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        if f(&e) {
            return;
        }
    }
}

/// Connects, emits `echo` with an ack, and checks the answer.
fn round_trip(url: &str, o: SioClientOptions) -> SioClient {
    let c = SioClient::connect(url, o).unwrap();
    let answer = c.emit_with_ack("echo", vec![json!("over TLS"), json!(7)], vec![]).expect("ack");
    assert_eq!(answer.0, vec![json!("over TLS"), json!(7)]);
    assert!(c.is_connected());
    c
}

#[test]
fn wss_websocket_only_with_custom_roots() {
    let s = server();
    let roots = TlsVerify::CustomRootsPem(s.ca.clone().into_bytes());
    let c = round_trip(
        &format!("wss://localhost:{}", s.port),
        options(Transports::WebSocketOnly, roots),
    );
    assert_eq!(c.transport(), Some(Transport::WebSocket));
    assert_eq!(s.secure_connections.load(Ordering::SeqCst), 1);
    c.close();
}

#[test]
fn https_polling_then_upgrade_with_custom_roots() {
    let s = server();
    let roots = TlsVerify::CustomRootsPem(s.ca.clone().into_bytes());
    // An IP address URL: the certificate's IP SAN is checked.
    let url = format!("https://127.0.0.1:{}", s.port);
    let (c, rx) = recorded(&url, options(Transports::PollingAndUpgrade, roots));
    wait_for(&rx, "the upgrade to wss", |e| matches!(e, SioClientEvent::Upgraded));
    let answer = c.emit_with_ack("echo", vec![json!({"a": [1, 2]})], vec![]).unwrap();
    assert_eq!(answer.0, vec![json!({"a": [1, 2]})]);
    assert_eq!(c.transport(), Some(Transport::WebSocket));
    let p = round_trip(&url, options(Transports::PollingOnly, TlsVerify::Insecure));
    assert_eq!(p.transport(), Some(Transport::Polling));
    assert_eq!(s.secure_connections.load(Ordering::SeqCst), 2);
    c.close();
    p.close();
}

/// Waits until the client's engine closes without having connected.
fn refused(url: &str, o: SioClientOptions) {
    let (c, rx) = recorded(url, o);
    wait_for(&rx, "the engine to fail", |e| {
        assert!(
            !matches!(e, SioClientEvent::Connect { .. }),
            "connected to an unverifiable server"
        );
        matches!(e, SioClientEvent::EngineClosed { .. })
    });
    assert!(!c.is_connected());
    c.close();
}

#[test]
fn verification_refuses_an_untrusted_or_misnamed_certificate() {
    let s = server();
    // The default (WebPKI roots) does not trust the test CA.
    for transports in [Transports::WebSocketOnly, Transports::PollingAndUpgrade] {
        refused(&format!("https://localhost:{}", s.port), options(transports, TlsVerify::WebPki));
    }
    // Trusted CA, wrong name.
    let mut o = options(Transports::WebSocketOnly, TlsVerify::CustomRootsPem(s.ca.clone().into()));
    o.tls.server_name = Some("other.example".into());
    refused(&format!("wss://localhost:{}", s.port), o);
    assert_eq!(s.server.session_count(), 0);
    assert_eq!(s.secure_connections.load(Ordering::SeqCst), 0);
    // The right name override connects to an address the URL names otherwise.
    let mut o = options(Transports::WebSocketOnly, TlsVerify::CustomRootsPem(s.ca.clone().into()));
    o.tls.server_name = Some("localhost".into());
    round_trip(&format!("wss://127.0.0.1:{}", s.port), o).close();
    // No verification at all.
    round_trip(
        &format!("wss://localhost:{}", s.port),
        options(Transports::WebSocketOnly, TlsVerify::Insecure),
    )
    .close();
}

#[test]
fn bad_tls_options_and_pem_are_errors() {
    let o = options(Transports::WebSocketOnly, TlsVerify::CustomRootsPem(b"nope".to_vec()));
    assert!(SioClient::connect("https://localhost:1", o).is_err());
    assert!(TlsServerConfig::from_pem(b"", b"").is_err());
    let (_, chain, _) = certificates();
    let (_, _, other_key) = certificates();
    assert!(TlsServerConfig::from_pem(chain.as_bytes(), other_key.as_bytes()).is_err());
    assert!(
        TlsServerConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").is_err()
    );
}

#[test]
fn a_stalled_handshake_times_out_and_does_not_block_others() {
    let (_, chain, key) = certificates();
    let tls = TlsServerConfig::from_pem(chain.as_bytes(), key.as_bytes())
        .unwrap()
        .with_handshake_timeout(Duration::from_millis(300));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A client that connects and sends nothing.
    let idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (tcp, _) = listener.accept().unwrap();
    let started = Instant::now();
    let err = tls.accept(tcp).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(idle);
    // Through the server: a stalled connection has its own thread.
    let s = server();
    let _idle = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let roots = TlsVerify::CustomRootsPem(s.ca.clone().into_bytes());
    round_trip(&format!("wss://localhost:{}", s.port), options(Transports::WebSocketOnly, roots))
        .close();
}

/// The shared TLS stream: a reader thread blocked in `read_shared` while another thread
/// writes (both directions at once, more than the socket buffers hold), then close_notify.
#[test]
fn tls_stream_reads_and_writes_from_different_threads() {
    let (ca, chain, key) = certificates();
    let server_tls = TlsServerConfig::from_pem(chain.as_bytes(), key.as_bytes()).unwrap();
    let client_tls = TlsClientConfig::new(&TlsClientOptions {
        verify: TlsVerify::CustomRootsPem(ca.into_bytes()),
        server_name: None,
    })
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    const TOTAL: usize = 4 << 20;
    // Server: echoes everything it reads, writing from a second thread.
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let stream = Arc::new(server_tls.accept(tcp).unwrap());
        let (tx, rx) = channel::<Vec<u8>>();
        let writer = {
            let stream = stream.clone();
            std::thread::spawn(move || {
                for chunk in rx {
                    stream.write_all_shared(&chunk).unwrap();
                }
            })
        };
        let mut buf = vec![0u8; 16 * 1024];
        let mut n_total = 0;
        loop {
            let n = stream.read_shared(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            n_total += n;
            tx.send(buf[..n].to_vec()).unwrap();
        }
        drop(tx);
        writer.join().unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        n_total
    });
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let stream = Arc::new(client_tls.connect("localhost", tcp, Duration::from_secs(5)).unwrap());
    let writer = {
        let stream = stream.clone();
        std::thread::spawn(move || {
            let chunk: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
            for _ in 0..TOTAL / chunk.len() {
                stream.write_all_shared(&chunk).unwrap();
            }
            // close_notify: the server's reader sees a clean end.
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        })
    };
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = 0usize;
    loop {
        let n = stream.read_shared(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (i, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, ((got + i) % 256) as u8);
        }
        got += n;
    }
    writer.join().unwrap();
    assert_eq!(got, TOTAL);
    assert_eq!(server.join().unwrap(), TOTAL);
}

/// The Node socket.io-client 2.5.0 over `wss` and over `https` polling + upgrade, verifying
/// with the test CA (tests/sio/tls.test.js). Needs `node` and `tests/sio/node_modules`
/// (`cd tests/sio && npm ci`); the test fails without them.
#[test]
fn node_socket_io_client_over_tls() {
    let script = node_tls_script();
    let s = server();
    let dir = std::env::temp_dir().join(format!("glue-tls-std-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &s.ca).unwrap();
    // The script stops itself after 20 s.
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(format!("https://localhost:{}", s.port))
        .arg(&ca)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "node tls.test.js failed");
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");
}
