//! TLS end to end on loopback: our Socket.IO server over `https`/`wss` (rustls, a CA and a
//! server certificate generated here with rcgen), our client with each verification mode, and
//! the Node socket.io-client 2.5.0 (tests/sio/tls.test.js).

mod tls_support;
use tls_support::{certificates, node_tls_script};

use glue_tokio::sio::{SioServer, SioServerOptions};
use glue_tokio::sio_client::{
    json, SioClient, SioClientEvent, SioClientOptions, TlsClientOptions, TlsVerify, Transports,
};
use glue_tokio::tls::TlsServerConfig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// Our server over TLS on an ephemeral port: `echo` acks its arguments back; counts the
/// connections whose handshake says `secure`.
struct Server {
    port: u16,
    ca: String,
    secure_connections: Arc<AtomicUsize>,
    server: SioServer,
}

async fn server() -> Server {
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tls(listener, tls).await });
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

fn recorded(url: &str, o: SioClientOptions) -> (SioClient, UnboundedReceiver<SioClientEvent>) {
    let c = SioClient::connect(url, o).unwrap();
    let (tx, rx) = unbounded_channel();
    c.on_any_event(move |e| {
        let _ = tx.send(e.clone());
    });
    (c, rx)
}

/// Connects, emits `echo` with an ack, and checks the answer.
async fn round_trip(url: &str, o: SioClientOptions) -> SioClient {
    let c = SioClient::connect(url, o).unwrap();
    let answer = timeout(WAIT, c.emit_with_ack("echo", vec![json!("over TLS"), json!(7)], vec![]))
        .await
        .expect("ack in time")
        .expect("ack");
    assert_eq!(answer.0, vec![json!("over TLS"), json!(7)]);
    assert!(c.is_connected());
    c
}

#[tokio::test]
async fn wss_websocket_only_with_custom_roots() {
    let s = server().await;
    let roots = TlsVerify::CustomRootsPem(s.ca.clone().into_bytes());
    let url = format!("wss://localhost:{}", s.port);
    let c = round_trip(&url, options(Transports::WebSocketOnly, roots)).await;
    assert_eq!(c.transport(), Some(glue_tokio::protocol::eio::client::Transport::WebSocket));
    assert_eq!(s.secure_connections.load(Ordering::SeqCst), 1);
    c.close();
}

#[tokio::test]
async fn https_polling_then_upgrade_with_custom_roots() {
    let s = server().await;
    let roots = TlsVerify::CustomRootsPem(s.ca.clone().into_bytes());
    // An IP address URL: the certificate's IP SAN is checked.
    let url = format!("https://127.0.0.1:{}", s.port);
    let (c, mut rx) = recorded(&url, options(Transports::PollingAndUpgrade, roots));
    timeout(WAIT, async {
        while let Some(e) = rx.recv().await {
            if matches!(e, SioClientEvent::Upgraded) {
                return;
            }
        }
    })
    .await
    .expect("upgraded to wss");
    let answer = timeout(WAIT, c.emit_with_ack("echo", vec![json!({"a": [1, 2]})], vec![]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.0, vec![json!({"a": [1, 2]})]);
    assert_eq!(c.transport(), Some(glue_tokio::protocol::eio::client::Transport::WebSocket));
    let polling_only = options(Transports::PollingOnly, TlsVerify::Insecure);
    let p = round_trip(&url, polling_only).await;
    assert_eq!(p.transport(), Some(glue_tokio::protocol::eio::client::Transport::Polling));
    assert_eq!(s.secure_connections.load(Ordering::SeqCst), 2);
    c.close();
    p.close();
}

/// Waits until the client's engine closes without having connected.
async fn refused(url: &str, o: SioClientOptions) {
    let (c, mut rx) = recorded(url, o);
    timeout(WAIT, async {
        while let Some(e) = rx.recv().await {
            match e {
                SioClientEvent::EngineClosed { .. } => return,
                SioClientEvent::Connect { .. } => panic!("connected to an unverifiable server"),
                _ => {}
            }
        }
    })
    .await
    .expect("the engine fails");
    assert!(!c.is_connected());
    c.close();
}

#[tokio::test]
async fn verification_refuses_an_untrusted_or_misnamed_certificate() {
    let s = server().await;
    // The default (WebPKI roots) does not trust the test CA.
    for transports in [Transports::WebSocketOnly, Transports::PollingAndUpgrade] {
        let url = format!("https://localhost:{}", s.port);
        refused(&url, options(transports, TlsVerify::WebPki)).await;
    }
    // Trusted CA, wrong name.
    let mut o = options(Transports::WebSocketOnly, TlsVerify::CustomRootsPem(s.ca.clone().into()));
    o.tls.server_name = Some("other.example".into());
    refused(&format!("wss://localhost:{}", s.port), o).await;
    assert_eq!(s.server.session_count(), 0);
    assert_eq!(s.secure_connections.load(Ordering::SeqCst), 0);
    // The name override with the right name connects to an address the URL names otherwise.
    let mut o = options(Transports::WebSocketOnly, TlsVerify::CustomRootsPem(s.ca.clone().into()));
    o.tls.server_name = Some("localhost".into());
    round_trip(&format!("wss://127.0.0.1:{}", s.port), o).await.close();
    // No verification at all.
    round_trip(
        &format!("wss://localhost:{}", s.port),
        options(Transports::WebSocketOnly, TlsVerify::Insecure),
    )
    .await
    .close();
}

#[tokio::test]
async fn bad_tls_options_and_pem_are_errors() {
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

#[tokio::test]
async fn a_stalled_handshake_does_not_block_others() {
    let s = server().await;
    // A client that connects and sends nothing: its handshake task waits alone.
    let _idle = tokio::net::TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    let roots = TlsVerify::CustomRootsPem(s.ca.clone().into_bytes());
    round_trip(&format!("wss://localhost:{}", s.port), options(Transports::WebSocketOnly, roots))
        .await
        .close();
}

/// The Node socket.io-client 2.5.0 over `wss` and over `https` polling + upgrade, verifying
/// with the test CA (tests/sio/tls.test.js). Needs `node` and `tests/sio/node_modules`
/// (`cd tests/sio && npm ci`); the test fails without them.
#[tokio::test]
async fn node_socket_io_client_over_tls() {
    let s = server().await;
    let script = node_tls_script();
    let dir = std::env::temp_dir().join(format!("glue-tls-tokio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &s.ca).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("https://localhost:{}", s.port))
        .arg(&ca)
        .kill_on_drop(true)
        .output();
    let out = timeout(Duration::from_secs(30), out).await.expect("node in time").unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "node tls.test.js failed");
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");
}
