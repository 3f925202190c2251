//! The std glue server over loopback: a raw WebSocket client (`glue_std::ws`) and raw HTTP
//! for AjaxSocket. Every wait is bounded.

use glue_std::glue::{Server, ServerOptions, Socket, SocketConfig, SocketType, Transport};
use glue_std::protocol::glue::InboxConfig;
use glue_std::protocol::http::{ClientConnection, Limits, Request};
use glue_std::ws::{Message, WebSocket};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);
const INIT: &str = r#"in{"version":"1.9.1"}"#;

/// A server on an ephemeral loopback port, serving on a background thread.
fn start(
    options: ServerOptions,
    on_new: impl Fn(Socket) + Send + Sync + 'static,
) -> (Server, SocketAddr) {
    let server = Server::new(ServerOptions { socket_type: SocketType::None, ..options });
    server.on_new_socket(on_new);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    thread::spawn(move || s.serve_tcp(listener).unwrap());
    (server, addr)
}

/// Echoes the main channel (`echo:x` → `x`, `burst:n` → `b0`…, `close`) on a reader thread.
fn echo(socket: Socket) {
    let _ = socket.try_write("welcome");
    let s = socket.clone();
    thread::spawn(move || {
        while let Ok(data) = s.read() {
            let r = if let Some(x) = data.strip_prefix("echo:") {
                s.write(x)
            } else if let Some(n) = data.strip_prefix("burst:") {
                (0..n.parse().unwrap()).try_for_each(|i| s.write(&format!("b{i}")))
            } else if data == "close" {
                s.close();
                Ok(())
            } else {
                Ok(())
            };
            if r.is_err() {
                break;
            }
        }
    });
}

fn ws_connect(addr: SocketAddr) -> WebSocket {
    glue_std::ws::connect(&format!("ws://{addr}/glue/ws")).unwrap()
}

/// The next text message (panics after `T`); `None` once closed.
fn ws_recv(ws: &mut WebSocket) -> Option<String> {
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.checked_duration_since(Instant::now()).expect("timed out");
        match ws.recv_timeout(left) {
            None => return None,
            Some(Ok(Some(Message::Text(t)))) => return Some(t.as_str().to_owned()),
            Some(Ok(Some(_))) => {}
            Some(Ok(None)) => panic!("timed out"),
            Some(Err(e)) => panic!("{e}"),
        }
    }
}

fn ws_send(ws: &mut WebSocket, text: &str) {
    ws.send(text.to_owned()).unwrap();
}

/// Connects and completes the init handshake; returns the socket ID.
fn ws_init(ws: &mut WebSocket) -> String {
    ws_send(ws, INIT);
    let reply = ws_recv(ws).unwrap();
    let id = reply.strip_prefix(r#"in{"socketID":""#).and_then(|r| r.strip_suffix("\"}"));
    id.expect("init reply").to_owned()
}

/// One keep-alive HTTP connection.
struct Http {
    stream: TcpStream,
    conn: ClientConnection,
    addr: SocketAddr,
}

impl Http {
    fn new(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(T)).unwrap();
        Http { stream, conn: ClientConnection::new(Limits::default()), addr }
    }

    fn request(&mut self, r: Request) -> (u16, String) {
        self.send(r);
        self.response().expect("response")
    }

    fn send(&mut self, r: Request) {
        let bytes = self.conn.send(&r);
        self.stream.write_all(&bytes).unwrap();
    }

    /// The next response; `None` if the connection closed first.
    fn response(&mut self) -> Option<(u16, String)> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(r) = self.conn.poll_response() {
                let r = r.unwrap();
                return Some((r.head.status, String::from_utf8(r.body.to_vec()).unwrap()));
            }
            let n = self.stream.read(&mut buf).expect("read (timed out?)");
            if n == 0 {
                self.conn.handle_eof();
                if let Some(Ok(r)) = self.conn.poll_response() {
                    return Some((r.head.status, String::from_utf8(r.body.to_vec()).unwrap()));
                }
                return None;
            }
            self.conn.handle_data(&buf[..n]);
        }
    }

    fn post(&mut self, ua: &str, body: &str) -> (u16, String) {
        let host = self.addr.to_string();
        let r = Request::new("POST", &host, "/glue/ajax")
            .header("User-Agent", ua)
            .body(body.to_owned());
        self.request(r)
    }
}

/// An AjaxSocket client: one connection for pushes, one for polls.
struct Ajax {
    push: Http,
    poll: Http,
    uid: String,
    token: String,
}

impl Ajax {
    fn new(addr: SocketAddr) -> Ajax {
        let mut push = Http::new(addr);
        let (status, body) = push.post("ua", "i");
        assert_eq!(status, 200, "{body}");
        let (uid, token) = body.split_once('&').unwrap();
        Ajax { uid: uid.into(), token: token.into(), push, poll: Http::new(addr) }
    }

    fn push(&mut self, message: &str) -> u16 {
        let body = format!("u{}&{message}", self.uid);
        self.push.post("ua", &body).0
    }

    /// One poll: the message, or `t` / `c`.
    fn poll(&mut self) -> String {
        let body = format!("o{}&{}", self.uid, self.token);
        let (status, body) = self.poll.post("ua", &body);
        assert_eq!(status, 200, "{body}");
        match body.split_once('&') {
            Some((token, message)) => {
                self.token = token.to_owned();
                message.to_owned()
            }
            None => body,
        }
    }

    /// Whether the session is over: a poll answered `c`, or refused (400) because the
    /// session already ended (spec §3.6).
    fn closed(&mut self) -> bool {
        let body = format!("o{}&{}", self.uid, self.token);
        match self.poll.post("ua", &body) {
            (200, b) => b == "c",
            (400, _) => true,
            _ => false,
        }
    }

    /// Polls until a glue message (skipping `t` answers).
    fn recv(&mut self) -> String {
        loop {
            let m = self.poll();
            if m != "t" {
                return m;
            }
        }
    }

    fn init(&mut self) -> String {
        assert_eq!(self.push(INIT), 200);
        let reply = self.recv();
        reply.strip_prefix(r#"in{"socketID":""#).unwrap().strip_suffix("\"}").unwrap().to_owned()
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn websocket_init_and_echo() {
    let (server, addr) = start(ServerOptions::default(), echo);
    let mut ws = ws_connect(addr);
    let id = ws_init(&mut ws);
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mwelcome");
    ws_send(&mut ws, "cd1&mecho:hello&world");
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mhello&world");
    ws_send(&mut ws, "pi");
    assert_eq!(ws_recv(&mut ws).unwrap(), "po");
    let socket = server.get_socket(&id).expect("registered");
    assert_eq!(socket.transport(), Transport::WebSocket);
    assert_eq!(socket.remote_addr(), "127.0.0.1");
    assert_eq!(server.socket_count(), 1);
    ws_send(&mut ws, "cl");
    socket.wait_closed_timeout(T).then_some(()).expect("closed");
    wait_for("unregistered", || server.socket_count() == 0);
}

#[test]
fn ajax_init_and_echo() {
    let (server, addr) = start(ServerOptions::default(), echo);
    let mut a = Ajax::new(addr);
    let id = a.init();
    assert_eq!(a.recv(), "cd1&mwelcome");
    assert_eq!(a.push("cd1&mecho:hi&there"), 200);
    assert_eq!(a.recv(), "cd1&mhi&there");
    let socket = server.get_socket(&id).expect("registered");
    assert_eq!(socket.transport(), Transport::Ajax);
    assert_eq!(socket.user_agent(), "ua");
    // The client closes: the socket goes, and the session with it.
    assert_eq!(a.push("cl"), 200);
    assert!(socket.wait_closed_timeout(T));
    wait_for("unregistered", || server.socket_count() == 0);
    assert_eq!(a.push("cd1&mecho:late"), 400);
}

/// A channel opened by the new-socket callback sees data the client sent right after `in`,
/// even when the callback is slow.
#[test]
fn channel_opened_in_callback_sees_data_sent_right_after_in() {
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let started_tx = std::sync::Mutex::new(started_tx);
    let (_server, addr) = start(ServerOptions::default(), move |socket| {
        let _ = started_tx.lock().unwrap().send(());
        // Widen the window in which later input could overtake the callback.
        thread::sleep(Duration::from_millis(100));
        let chat = socket.channel("chat");
        thread::spawn(move || {
            while let Ok(d) = chat.read() {
                if socket.write(&format!("got:{d}")).is_err() {
                    break;
                }
            }
        });
    });
    // WebSocket: both messages in flight before the callback runs.
    let mut ws = ws_connect(addr);
    ws_send(&mut ws, INIT);
    ws_send(&mut ws, "cd4&chatone");
    assert!(ws_recv(&mut ws).unwrap().starts_with("in{"));
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mgot:one");
    started_rx.recv_timeout(T).unwrap();

    // AjaxSocket: the data comes on another connection while the callback runs.
    let mut a = Ajax::new(addr);
    let uid = a.uid.clone();
    let pusher = thread::spawn(move || {
        let mut h = Http::new(addr);
        h.post("ua", &format!("u{uid}&{INIT}")).0
    });
    started_rx.recv_timeout(T).unwrap();
    assert_eq!(a.push("cd4&chattwo"), 200);
    assert_eq!(pusher.join().unwrap(), 200);
    assert!(a.recv().starts_with("in{"));
    assert_eq!(a.recv(), "cd1&mgot:two");
}

fn small_queues() -> ServerOptions {
    ServerOptions {
        socket: SocketConfig { max_queued: 8, ..SocketConfig::default() },
        ajax_queue: 4,
        ..ServerOptions::default()
    }
}

#[test]
fn websocket_write_burst_in_order() {
    let (_server, addr) = start(small_queues(), echo);
    let mut ws = ws_connect(addr);
    ws_init(&mut ws);
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mwelcome");
    ws_send(&mut ws, "cd1&mburst:1000");
    for i in 0..1000 {
        assert_eq!(ws_recv(&mut ws).unwrap(), format!("cd1&mb{i}"));
    }
    ws_send(&mut ws, "cd1&mecho:done");
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mdone");
}

#[test]
fn ajax_write_burst_in_order() {
    let (_server, addr) = start(small_queues(), echo);
    let mut a = Ajax::new(addr);
    a.init();
    assert_eq!(a.recv(), "cd1&mwelcome");
    assert_eq!(a.push("cd1&mburst:1000"), 200);
    for i in 0..1000 {
        assert_eq!(a.recv(), format!("cd1&mb{i}"));
    }
}

#[test]
fn server_close_is_seen_by_the_client() {
    let (_server, addr) = start(ServerOptions::default(), echo);
    let mut ws = ws_connect(addr);
    ws_init(&mut ws);
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mwelcome");
    ws_send(&mut ws, "cd1&mecho:last");
    ws_send(&mut ws, "cd1&mclose");
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mlast");
    assert_eq!(ws_recv(&mut ws), None, "closed after the queued messages");

    let mut a = Ajax::new(addr);
    a.init();
    assert_eq!(a.recv(), "cd1&mwelcome");
    assert_eq!(a.push("cd1&mecho:last"), 200);
    assert_eq!(a.push("cd1&mclose"), 200);
    assert_eq!(a.recv(), "cd1&mlast");
    assert!(a.closed());
}

#[test]
fn held_poll_is_answered_when_data_arrives_and_timed_out_otherwise() {
    let options =
        ServerOptions { poll_timeout: Duration::from_millis(200), ..ServerOptions::default() };
    let (server, addr) = start(options, |_| {});
    let mut a = Ajax::new(addr);
    let id = a.init();
    let started = Instant::now();
    assert_eq!(a.poll(), "t");
    assert!(started.elapsed() >= Duration::from_millis(150));
    // The token stays valid after `t`; a write answers the held poll.
    let socket = server.get_socket(&id).unwrap();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        socket.write("late").unwrap();
    });
    assert_eq!(a.recv(), "cd1&mlate");
    writer.join().unwrap();
}

#[test]
fn aborted_poll_keeps_the_session() {
    let (server, addr) = start(ServerOptions::default(), |_| {});
    let mut a = Ajax::new(addr);
    let id = a.init();
    // A poll whose connection goes away before an answer.
    {
        let mut h = Http::new(addr);
        let host = addr.to_string();
        let body = format!("o{}&{}", a.uid, a.token);
        h.send(Request::new("POST", &host, "/glue/ajax").header("User-Agent", "ua").body(body));
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(50));
    server.get_socket(&id).unwrap().write("kept").unwrap();
    assert_eq!(a.recv(), "cd1&mkept");
}

#[test]
fn bad_websocket_inputs_leave_other_sockets_alone() {
    let options = ServerOptions {
        socket: SocketConfig {
            dont_reconnect_delay: Duration::from_millis(100),
            ..SocketConfig::default()
        },
        ..ServerOptions::default()
    };
    let (_server, addr) = start(options, echo);
    let mut good = ws_connect(addr);
    ws_init(&mut good);
    assert_eq!(ws_recv(&mut good).unwrap(), "cd1&mwelcome");

    let mut ws = ws_connect(addr);
    ws_send(&mut ws, "x");
    assert_eq!(ws_recv(&mut ws).unwrap(), "iv");
    ws_send(&mut ws, "zz");
    assert_eq!(ws_recv(&mut ws).unwrap(), "iv");
    ws_send(&mut ws, "in{not json");
    assert_eq!(ws_recv(&mut ws), None, "invalid init closes");

    let mut ws = ws_connect(addr);
    ws_send(&mut ws, r#"in{"version":"2.0.0"}"#);
    assert_eq!(ws_recv(&mut ws).unwrap(), "dr");
    assert_eq!(ws_recv(&mut ws), None, "closed after the don't-reconnect delay");

    ws_send(&mut good, "cd1&mecho:still here");
    assert_eq!(ws_recv(&mut good).unwrap(), "cd1&mstill here");
}

#[test]
fn bad_http_inputs_leave_other_sockets_alone() {
    let (_server, addr) = start(ServerOptions::default(), echo);
    let mut good = Ajax::new(addr);
    good.init();
    assert_eq!(good.recv(), "cd1&mwelcome");

    let mut a = Ajax::new(addr);
    a.init();
    assert_eq!(a.recv(), "cd1&mwelcome");
    let stale = a.token.clone();
    assert_eq!(a.push("cd1&mecho:x"), 200);
    assert_eq!(a.recv(), "cd1&mx");
    let mut h = Http::new(addr);
    assert_eq!(h.post("ua", &format!("o{}&{stale}", a.uid)).0, 400, "stale token");
    assert_eq!(h.post("other", &format!("o{}&{}", a.uid, a.token)).0, 400, "wrong User-Agent");
    assert_eq!(h.post("other", &format!("u{}&cd1&mx", a.uid)).0, 400, "wrong User-Agent");
    assert_eq!(h.post("ua", "oNOSUCHUID&token").0, 400, "unknown uid");
    assert_eq!(h.post("ua", "x").0, 400, "unknown key");
    assert_eq!(h.post("ua", "").0, 400, "empty body");
    let host = addr.to_string();
    assert_eq!(h.request(Request::new("GET", &host, "/glue/ajax")).0, 400, "GET ajax");
    assert_eq!(h.request(Request::new("GET", &host, "/glue/nothing")).0, 400);
    assert_eq!(h.request(Request::new("GET", &host, "/elsewhere")).0, 404);
    let (status, body) = h.request(Request::new("GET", &host, "/glue/glue.js"));
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    let cross = Request::new("POST", &host, "/glue/ajax")
        .header("User-Agent", "ua")
        .header("Origin", "http://evil.example")
        .body("i");
    assert_eq!(h.request(cross).0, 403, "cross origin");
    // Garbage HTTP closes only its own connection.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(T)).unwrap();
    raw.write_all(b"NOT HTTP\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = raw.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");

    // The session of the bad requests is intact, and so is the other one.
    assert_eq!(a.push("cd1&mecho:ok"), 200);
    assert_eq!(a.recv(), "cd1&mok");
    assert_eq!(good.push("cd1&mecho:fine"), 200);
    assert_eq!(good.recv(), "cd1&mfine");
}

#[test]
fn disabled_transports_answer_404() {
    let ws_only = ServerOptions { ajax: false, ..ServerOptions::default() };
    let (_s, addr) = start(ws_only, echo);
    assert_eq!(Http::new(addr).post("ua", "i").0, 404);
    let mut ws = ws_connect(addr);
    ws_init(&mut ws);

    let ajax_only = ServerOptions { websocket: false, ..ServerOptions::default() };
    let (_s, addr) = start(ajax_only, echo);
    let err = glue_std::ws::connect(&format!("ws://{addr}/glue/ws")).unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    Ajax::new(addr).init();
}

/// A channel read slowly pushes back on the connection instead of losing data.
#[test]
fn back_pressure_loses_nothing() {
    let options = ServerOptions {
        inbox: InboxConfig { max_messages: 4, ..InboxConfig::default() },
        ..ServerOptions::default()
    };
    let (tx, rx) = mpsc::channel::<Vec<String>>();
    let tx = std::sync::Mutex::new(tx);
    let (_server, addr) = start(options, move |socket| {
        let tx = tx.lock().unwrap().clone();
        let slow = socket.channel("slow");
        // Mark the channel as read now: until its first read a channel counts as unread,
        // and an unread channel drops what exceeds its cap (the inbox policy).
        let _ = slow.read_timeout(Duration::ZERO);
        thread::spawn(move || {
            let mut got = Vec::new();
            while got.len() < 200 {
                match slow.read_timeout(T) {
                    Ok(d) => got.push(d),
                    Err(_) => break,
                }
                if got.len() % 20 == 0 {
                    thread::sleep(Duration::from_millis(10)); // a slow reader
                }
            }
            let _ = slow.write("all read");
            let _ = tx.send(got);
        });
    });
    let expected: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();

    let mut ws = ws_connect(addr);
    ws_init(&mut ws);
    for m in &expected {
        ws_send(&mut ws, &format!("cd4&slow{m}"));
    }
    assert_eq!(rx.recv_timeout(T).unwrap(), expected);
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd4&slowall read");

    let mut a = Ajax::new(addr);
    a.init();
    for m in &expected {
        assert_eq!(a.push(&format!("cd4&slow{m}")), 200);
    }
    assert_eq!(rx.recv_timeout(T).unwrap(), expected);
    assert_eq!(a.recv(), "cd4&slowall read");
}

#[test]
fn handlers_run_in_order_and_survive_panics() {
    let (tx, rx) = mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    let (_server, addr) = start(ServerOptions::default(), move |socket| {
        let tx = tx.lock().unwrap().clone();
        socket.on_read(move |d| {
            if d == "panic" {
                panic!("handler panic (expected by the test)");
            }
            tx.send(d).unwrap();
        });
    });
    let mut ws = ws_connect(addr);
    ws_init(&mut ws);
    for i in 0..50 {
        ws_send(&mut ws, &format!("cd1&m{i}"));
        if i == 25 {
            ws_send(&mut ws, "cd1&mpanic");
        }
    }
    for i in 0..50 {
        assert_eq!(rx.recv_timeout(T).unwrap(), i.to_string());
    }
}

#[test]
fn blocked_server_closes_new_transports() {
    let (server, addr) = start(ServerOptions::default(), echo);
    server.block(true);
    assert!(server.is_blocked());
    let mut ws = ws_connect(addr);
    assert_eq!(ws_recv(&mut ws), None);
    assert_eq!(Http::new(addr).post("ua", "i").0, 503);
    server.block(false);
    let mut ws = ws_connect(addr);
    ws_init(&mut ws);
}

#[test]
fn release_closes_sockets_and_stops_serving() {
    let server = Server::new(ServerOptions {
        listen_address: "127.0.0.1:0".into(),
        ..ServerOptions::default()
    });
    server.on_new_socket(echo);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    let serving = thread::spawn(move || s.serve_tcp(listener));
    let mut ws = ws_connect(addr);
    ws_init(&mut ws);
    let mut a = Ajax::new(addr);
    a.init();
    assert_eq!(a.recv(), "cd1&mwelcome");
    wait_for("two sockets", || server.socket_count() == 2);

    let releaser = {
        let server = server.clone();
        thread::spawn(move || server.release(T))
    };
    assert_eq!(ws_recv(&mut ws).unwrap(), "cd1&mwelcome");
    assert_eq!(ws_recv(&mut ws), None);
    assert!(a.closed());
    releaser.join().unwrap();
    assert_eq!(server.socket_count(), 0);
    serving.join().unwrap().unwrap();
    // `run` after release returns at once.
    server.run().unwrap();
}

#[test]
fn run_with_socket_type_none_waits_for_release() {
    let server =
        Server::new(ServerOptions { socket_type: SocketType::None, ..ServerOptions::default() });
    let s = server.clone();
    let running = thread::spawn(move || s.run());
    server.release(Duration::from_millis(10));
    running.join().unwrap().unwrap();
}

#[cfg(unix)]
#[test]
fn serve_connection_over_a_unix_stream() {
    let (server, _addr) = start(ServerOptions::default(), echo);
    let (client, conn) = std::os::unix::net::UnixStream::pair().unwrap();
    let s = server.clone();
    thread::spawn(move || s.serve_connection(conn, "unix".into()));
    client.set_read_timeout(Some(T)).unwrap();
    let mut client_conn = ClientConnection::new(Limits::default());
    let mut stream = &client;
    let body = "i";
    let r = Request::new("POST", "x", "/glue/ajax").header("User-Agent", "ua").body(body);
    stream.write_all(&client_conn.send(&r)).unwrap();
    let mut buf = [0u8; 1024];
    let response = loop {
        if let Some(r) = client_conn.poll_response() {
            break r.unwrap();
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        client_conn.handle_data(&buf[..n]);
    };
    assert_eq!(response.head.status, 200);
    assert!(std::str::from_utf8(&response.body).unwrap().contains('&'));
}
