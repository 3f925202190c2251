//! The tokio glue server over loopback, driven by raw WebSocket and raw HTTP clients.

use glue_tokio::glue::{InboxConfig, Server, ServerOptions, Socket, SocketConfig, Transport};
use glue_tokio::ws::{connect, WebSocket};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const INIT: &str = r#"in{"version":"1.9.1"}"#;
const LIMIT: Duration = Duration::from_secs(10);

async fn start(
    options: ServerOptions,
    on_new: impl Fn(Socket) + Send + Sync + 'static,
) -> (Server, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = Server::new(options);
    server.on_new_socket(on_new);
    let s = server.clone();
    tokio::spawn(async move { s.serve_tcp(listener).await });
    (server, addr)
}

/// Echoes the main channel and channel `c` (opened in the callback) via handlers.
fn echo(socket: Socket) {
    let s = socket.clone();
    socket.on_read(move |d| {
        let _ = s.try_write(&d);
    });
    let c = socket.channel("c");
    let c2 = c.clone();
    c.on_read(move |d| {
        let _ = c2.try_write(&d);
    });
}

async fn ws(addr: &str) -> WebSocket {
    timeout(LIMIT, connect(&format!("ws://{addr}/glue/ws"))).await.unwrap().unwrap()
}

async fn next_text(ws: &mut WebSocket) -> Option<String> {
    match timeout(LIMIT, ws.recv()).await.expect("no message in time") {
        Some(Ok(m)) => Some(String::from_utf8(m.payload().to_vec()).unwrap()),
        _ => None,
    }
}

async fn init(ws: &mut WebSocket) -> String {
    ws.send(glue_protocol::ws::Message::from(INIT.to_owned())).await.unwrap();
    let reply = next_text(ws).await.unwrap();
    let id = reply.strip_prefix(r#"in{"socketID":""#).unwrap().strip_suffix(r#""}"#).unwrap();
    id.to_owned()
}

async fn send(ws: &mut WebSocket, text: &str) {
    ws.send(glue_protocol::ws::Message::from(text.to_owned())).await.unwrap();
}

/// One HTTP/1.1 request on a new connection; returns status and body.
async fn http(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut out)).await.unwrap().unwrap();
    let text = String::from_utf8(out).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

async fn ajax(addr: &str, ua: &str, body: &str) -> (u16, String) {
    http(addr, "POST", "/glue/ajax", &format!("User-Agent: {ua}\r\n"), body).await
}

#[tokio::test]
async fn websocket_init_echo_and_channel_opened_in_callback() {
    let (server, addr) = start(ServerOptions::default(), echo).await;
    let mut c = ws(&addr).await;
    // Everything in one go: the channel opened by the callback must see the data after `in`.
    send(&mut c, INIT).await;
    send(&mut c, "cd1&chello c").await;
    send(&mut c, "cd1&mhello m").await;
    let reply = next_text(&mut c).await.unwrap();
    assert!(reply.starts_with(r#"in{"socketID":""#), "{reply}");
    assert_eq!(next_text(&mut c).await.unwrap(), "cd1&chello c");
    assert_eq!(next_text(&mut c).await.unwrap(), "cd1&mhello m");
    let id = &reply[15..35];
    let s = server.get_socket(id).expect("registered");
    assert_eq!(s.transport(), Transport::WebSocket);
    assert_eq!(s.remote_addr(), "127.0.0.1");
    send(&mut c, "pi").await;
    assert_eq!(next_text(&mut c).await.unwrap(), "po");
}

#[tokio::test]
async fn ajax_session_round_trip_timeout_keeps_token_and_refusals() {
    let options = ServerOptions { poll_timeout: Duration::from_millis(200), ..Default::default() };
    let (server, addr) = start(options, echo).await;
    let (st, body) = ajax(&addr, "ua", "i").await;
    assert_eq!(st, 200);
    let (uid, token) = body.split_once('&').unwrap();
    assert_eq!((uid.len(), token.len()), (10, 7));
    assert_eq!(ajax(&addr, "ua", &format!("u{uid}&{INIT}")).await, (200, String::new()));
    let (st, body) = ajax(&addr, "ua", &format!("o{uid}&{token}")).await;
    assert_eq!(st, 200);
    let (token, msg) = body.split_once('&').unwrap();
    assert!(msg.starts_with(r#"in{"socketID":""#));
    let id = &msg[15..35];
    assert_eq!(server.get_socket(id).unwrap().transport(), Transport::Ajax);
    // A poll timeout answers `t`; the same token stays valid (upstream breaks here).
    assert_eq!(ajax(&addr, "ua", &format!("o{uid}&{token}")).await, (200, "t".to_owned()));
    assert_eq!(ajax(&addr, "ua", &format!("u{uid}&cd1&mx&y")).await.0, 200);
    let (st, body) = ajax(&addr, "ua", &format!("o{uid}&{token}")).await;
    assert_eq!(st, 200);
    let (new_token, msg) = body.split_once('&').unwrap();
    assert_eq!(msg, "cd1&mx&y");
    // Stale token, wrong User-Agent, unknown uid, bad keys: 400.
    assert_eq!(ajax(&addr, "ua", &format!("o{uid}&{token}")).await.0, 400);
    assert_eq!(ajax(&addr, "other", &format!("o{uid}&{new_token}")).await.0, 400);
    assert_eq!(ajax(&addr, "other", &format!("u{uid}&cd1&mx")).await.0, 400);
    assert_eq!(ajax(&addr, "ua", "oNOPE&abc").await.0, 400);
    assert_eq!(ajax(&addr, "ua", "x").await.0, 400);
    assert_eq!(ajax(&addr, "ua", "").await.0, 400);
    assert_eq!(ajax(&addr, "ua", &format!("u{uid}&")).await.0, 400);
    // Client close: `cl`, then the held poll answers `c` and the uid is gone.
    let poll = {
        let (addr, uid, t) = (addr.clone(), uid.to_owned(), new_token.to_owned());
        tokio::spawn(async move { ajax(&addr, "ua", &format!("o{uid}&{t}")).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ajax(&addr, "ua", &format!("u{uid}&cl")).await.0, 200);
    assert_eq!(poll.await.unwrap(), (200, "c".to_owned()));
    assert_eq!(ajax(&addr, "ua", &format!("u{uid}&cd1&mx")).await.0, 400);
    assert!(server.get_socket(id).is_none());
}

#[tokio::test]
async fn bad_messages_get_iv_dr_or_close_and_other_sockets_go_on() {
    let (_server, addr) = start(ServerOptions::default(), echo).await;
    let mut good = ws(&addr).await;
    init(&mut good).await;
    // 0- and 1-byte messages, unknown commands: `iv`, socket stays.
    let mut bad = ws(&addr).await;
    init(&mut bad).await;
    for m in ["", "x", "zz", "cdq", "cd9&m"] {
        send(&mut bad, m).await;
    }
    send(&mut bad, "cd1&mstill here").await;
    let mut got = Vec::new();
    loop {
        let t = next_text(&mut bad).await.unwrap();
        if t == "cd1&mstill here" {
            break;
        }
        got.push(t);
    }
    assert!(got.iter().all(|t| t == "iv") && got.len() >= 2, "{got:?}");
    // Invalid init JSON: closed without reply.
    let mut c = ws(&addr).await;
    send(&mut c, "in{nope").await;
    assert_eq!(next_text(&mut c).await, None);
    // Incompatible version: `dr`, then closed.
    let mut c = ws(&addr).await;
    send(&mut c, r#"in{"version":"2.0.0"}"#).await;
    assert_eq!(next_text(&mut c).await.as_deref(), Some("dr"));
    assert_eq!(next_text(&mut c).await, None);
    // HTTP: unknown paths, wrong methods.
    assert_eq!(http(&addr, "GET", "/glue/nothing", "", "").await.0, 400);
    assert_eq!(http(&addr, "GET", "/elsewhere", "", "").await.0, 404);
    assert_eq!(http(&addr, "GET", "/glue/ajax", "", "").await.0, 400);
    assert_eq!(http(&addr, "POST", "/glue/ws", "", "").await.0, 405);
    assert_eq!(http(&addr, "GET", "/glue/ws", "Origin: http://evil\r\n", "").await.0, 403);
    // The first socket is unaffected.
    send(&mut good, "cd1&mok").await;
    assert_eq!(next_text(&mut good).await.as_deref(), Some("cd1&mok"));
}

#[tokio::test]
async fn disabled_transports_answer_404_and_cors_needs_origin() {
    let options = ServerOptions {
        websocket: false,
        enable_cors: true,
        check_origin: Some(Arc::new(|_: &_| true)),
        ..Default::default()
    };
    let (_server, addr) = start(options, echo).await;
    let origin = "Origin: http://other\r\n";
    assert_eq!(http(&addr, "GET", "/glue/ws", origin, "").await.0, 404);
    assert_eq!(http(&addr, "POST", "/glue/ajax", "", "i").await.0, 400, "CORS without Origin");
    let (st, body) = http(&addr, "POST", "/glue/ajax", origin, "i").await;
    assert_eq!(st, 200);
    assert!(body.contains('&'));
}

#[tokio::test]
async fn burst_of_1000_writes_arrives_in_order() {
    let (_server, addr) = start(ServerOptions::default(), |socket: Socket| {
        tokio::spawn(async move {
            for i in 0..1000 {
                socket.write(&format!("b{i}")).await.unwrap();
            }
        });
    })
    .await;
    let mut c = ws(&addr).await;
    init(&mut c).await;
    for i in 0..1000 {
        assert_eq!(next_text(&mut c).await.unwrap(), format!("cd1&mb{i}"));
    }
}

#[tokio::test]
async fn slow_reader_gets_everything_by_backpressure_and_keepalive_waits() {
    let options = ServerOptions {
        inbox: InboxConfig { max_messages: 8, max_bytes: 1 << 20 },
        socket: SocketConfig {
            ping_interval: Duration::from_millis(100),
            pong_timeout: Duration::from_millis(100),
            ..Default::default()
        },
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_server, addr) = start(options, move |socket: Socket| {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 300 {
                // Slow: the inbox (8) fills, the server stops reading.
                if got.len() % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                got.push(socket.read().await.unwrap());
            }
            tx.send((got, socket.is_closed())).unwrap();
        });
    })
    .await;
    let mut c = ws(&addr).await;
    init(&mut c).await;
    let mut sender = c.sender();
    tokio::spawn(async move {
        for i in 0..300 {
            sender.send(glue_protocol::ws::Message::from(format!("cd1&m{i}"))).await.unwrap();
        }
        // keep the sender alive until the end
        sender = sender.clone();
        let _ = sender;
    });
    // Answer glue pings while the server reads.
    let pong = tokio::spawn(async move {
        while let Some(t) = next_text(&mut c).await {
            if t == "pi" {
                send(&mut c, "po").await;
            }
        }
    });
    let (got, closed) = timeout(LIMIT, rx.recv()).await.unwrap().unwrap();
    let want: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
    assert!(!closed, "keep-alive must not kill a socket the server itself stopped reading");
    pong.abort();
}

#[tokio::test]
async fn unread_channel_does_not_stall_others() {
    let options = ServerOptions {
        inbox: InboxConfig { max_messages: 4, max_bytes: 1 << 20 },
        ..Default::default()
    };
    let (server, addr) = start(options, |socket: Socket| {
        let _never_read = socket.channel("x");
        let s = socket.clone();
        socket.on_read(move |d| {
            let _ = s.try_write(&d);
        });
    })
    .await;
    let mut c = ws(&addr).await;
    let id = init(&mut c).await;
    for i in 0..20 {
        send(&mut c, &format!("cd1&xdata{i}")).await;
    }
    send(&mut c, "cd1&mmain").await;
    assert_eq!(next_text(&mut c).await.as_deref(), Some("cd1&mmain"));
    let socket = server.get_socket(&id).unwrap();
    let x = socket.channel("x");
    for i in 0..4 {
        assert_eq!(x.read().await.unwrap(), format!("data{i}"), "the first 4 are kept");
    }
}

#[tokio::test]
async fn ping_timeout_closes_a_silent_client() {
    let options = ServerOptions {
        socket: SocketConfig {
            ping_interval: Duration::from_millis(100),
            pong_timeout: Duration::from_millis(100),
            ..Default::default()
        },
        ..Default::default()
    };
    let (server, addr) = start(options, echo).await;
    let mut c = ws(&addr).await;
    let id = init(&mut c).await;
    let socket = server.get_socket(&id).unwrap();
    assert_eq!(next_text(&mut c).await.as_deref(), Some("pi"));
    assert_eq!(next_text(&mut c).await, None, "closed after the pong timeout");
    timeout(LIMIT, socket.closed()).await.unwrap();
    assert!(server.get_socket(&id).is_none());
}

#[tokio::test]
async fn close_and_release() {
    let (server, addr) = start(ServerOptions::default(), |socket: Socket| {
        let s = socket.clone();
        socket.on_read(move |d| {
            if d == "close" {
                s.close();
            }
        });
    })
    .await;
    let mut a = ws(&addr).await;
    let id = init(&mut a).await;
    let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = closed.clone();
    server
        .get_socket(&id)
        .unwrap()
        .on_close(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    send(&mut a, "cd1&mclose").await;
    assert_eq!(next_text(&mut a).await, None);
    assert!(closed.load(std::sync::atomic::Ordering::SeqCst));
    // Release: the written message arrives, then the close.
    let mut b = ws(&addr).await;
    let id = init(&mut b).await;
    server.get_socket(&id).unwrap().try_write("bye").unwrap();
    timeout(LIMIT, server.release(Duration::from_secs(5))).await.unwrap();
    assert_eq!(next_text(&mut b).await.as_deref(), Some("cd1&mbye"));
    assert_eq!(next_text(&mut b).await, None);
    assert_eq!(server.socket_count(), 0);
    assert!(server.is_blocked());
}

#[tokio::test]
async fn ajax_pushes_wait_for_a_slow_reader() {
    let options = ServerOptions {
        inbox: InboxConfig { max_messages: 4, max_bytes: 1 << 20 },
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_server, addr) = start(options, move |socket: Socket| {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..40 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                got.push(socket.read().await.unwrap());
            }
            tx.send(got).unwrap();
        });
    })
    .await;
    let (_, body) = ajax(&addr, "ua", "i").await;
    let (uid, _) = body.split_once('&').unwrap();
    assert_eq!(ajax(&addr, "ua", &format!("u{uid}&{INIT}")).await.0, 200);
    for i in 0..40 {
        assert_eq!(ajax(&addr, "ua", &format!("u{uid}&cd1&m{i}")).await.0, 200);
    }
    let got = timeout(LIMIT, rx.recv()).await.unwrap().unwrap();
    assert_eq!(got, (0..40).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_broadcast_is_encoded_once_for_every_socket() {
    let (server, addr) = start(ServerOptions::default(), |_| {}).await;
    let mut a = ws(&addr).await;
    let mut b = ws(&addr).await;
    init(&mut a).await;
    init(&mut b).await;
    let message = glue_tokio::glue::encode("news", "to all ü");
    let sockets = server.sockets();
    assert_eq!(sockets.len(), 2);
    for s in sockets {
        s.try_write_encoded(&message).unwrap();
    }
    assert_eq!(next_text(&mut a).await.as_deref(), Some("cd4&newsto all ü"));
    assert_eq!(next_text(&mut b).await.as_deref(), Some("cd4&newsto all ü"));
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_listener_serves_glue() {
    use glue_tokio::glue::SocketType;
    let path = std::env::temp_dir().join(format!("glue-tokio-{}.sock", std::process::id()));
    let server = Server::new(ServerOptions {
        socket_type: SocketType::Unix,
        listen_address: path.to_string_lossy().into_owned(),
        ..Default::default()
    });
    let s = server.clone();
    let run = tokio::spawn(async move { s.run().await });
    let mut stream = loop {
        match tokio::net::UnixStream::connect(&path).await {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    stream
        .write_all(b"POST /glue/ajax HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\nContent-Length: 1\r\nConnection: close\r\n\r\ni")
        .await
        .unwrap();
    let mut out = String::new();
    timeout(LIMIT, stream.read_to_string(&mut out)).await.unwrap().unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    let body = out.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(body.split_once('&').map(|(u, t)| (u.len(), t.len())), Some((10, 7)));
    assert_eq!(server.socket_count(), 1);
    server.release(Duration::from_secs(1)).await;
    timeout(LIMIT, run).await.unwrap().unwrap().unwrap();
    let _ = std::fs::remove_file(&path);
}
