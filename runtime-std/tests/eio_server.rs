//! The std Engine.IO server over loopback: raw HTTP for polling, `glue_std::ws` for
//! WebSockets. Every wait is bounded.

use glue_std::eio::{EioConfig, EioServer, EioServerOptions, EioSocket, Origins};
use glue_std::protocol::eio::session::CloseReason;
use glue_std::protocol::eio::{
    decode_binary_payload, decode_text_payload, encode_binary_payload, encode_text_payload, Packet,
    PacketData, PacketType,
};
use glue_std::protocol::http::{ClientConnection, Limits, Request, Response};
use glue_std::ws::{Message, WebSocket};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

struct Srv {
    server: EioServer,
    addr: SocketAddr,
    closed: mpsc::Receiver<(String, CloseReason)>,
}

fn config() -> EioConfig {
    EioConfig {
        ping_interval: Duration::from_millis(2_000),
        ping_timeout: Duration::from_millis(2_000),
        ..EioConfig::default()
    }
}

/// An echo server on an ephemeral loopback port; closes are reported on `closed`.
fn start(session: EioConfig) -> Srv {
    let server = EioServer::new(EioServerOptions {
        origins: Origins::Any,
        session: Arc::new(session),
        ..EioServerOptions::default()
    });
    let (tx, closed) = mpsc::channel();
    let tx = Mutex::new(tx);
    server.on_connection(move |socket: EioSocket| {
        socket.on_message(|socket, data| {
            let _ = socket.send(data);
        });
        let tx = tx.lock().unwrap().clone();
        socket.on_close(move |socket, reason| {
            let _ = tx.send((socket.id().to_owned(), reason));
        });
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    thread::spawn(move || s.serve_tcp(listener).unwrap());
    Srv { server, addr, closed }
}

impl Srv {
    fn closed_reason(&self, sid: &str) -> CloseReason {
        let deadline = Instant::now() + T;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (id, r) = self.closed.recv_timeout(left).expect("a close");
            if id == sid {
                return r;
            }
        }
    }

    fn wait_count(&self, n: usize) {
        let deadline = Instant::now() + T;
        while self.server.count() != n {
            assert!(Instant::now() < deadline, "count stays {}", self.server.count());
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// One keep-alive HTTP connection.
struct Http {
    stream: TcpStream,
    conn: ClientConnection,
    host: String,
}

impl Http {
    fn new(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(T)).unwrap();
        Http { stream, conn: ClientConnection::new(Limits::default()), host: addr.to_string() }
    }

    fn get(&mut self, target: &str) -> Response {
        let r = Request::new("GET", &self.host, target);
        self.request(r)
    }

    fn post(
        &mut self,
        target: &str,
        content_type: &str,
        body: impl Into<bytes::Bytes>,
    ) -> Response {
        let r = Request::new("POST", &self.host, target)
            .header("Content-Type", content_type)
            .body(body);
        self.request(r)
    }

    fn request(&mut self, r: Request) -> Response {
        self.send(r);
        self.response().expect("a response")
    }

    fn send(&mut self, r: Request) {
        let bytes = self.conn.send(&r);
        self.stream.write_all(&bytes).unwrap();
    }

    /// The next response; `None` if the connection closed first.
    fn response(&mut self) -> Option<Response> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(r) = self.conn.poll_response() {
                return Some(r.unwrap());
            }
            let n = match self.stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => panic!("read: {e}"),
            };
            if n == 0 {
                self.conn.handle_eof();
                return self.conn.poll_response().and_then(Result::ok);
            }
            self.conn.handle_data(&buf[..n]);
        }
    }
}

fn path(sid: &str) -> String {
    format!("/engine.io/?EIO=3&transport=polling&sid={sid}")
}

fn body_text(r: &Response) -> String {
    String::from_utf8(r.body.to_vec()).unwrap()
}

/// Packets of a polling answer (text or binary payload by content type).
fn packets(r: &Response) -> Vec<Packet> {
    assert_eq!(r.head.status, 200, "{}", body_text(r));
    let d = if r.head.headers.get("content-type") == Some("application/octet-stream") {
        decode_binary_payload(&r.body)
    } else {
        decode_text_payload(&r.body)
    };
    assert!(d.error.is_none(), "{:?}", d.error);
    d.packets
}

fn text(s: &str) -> Packet {
    Packet { ty: PacketType::Message, data: PacketData::Text(s.into()) }
}

fn binary(b: &[u8]) -> Packet {
    Packet { ty: PacketType::Message, data: PacketData::Binary(bytes::Bytes::copy_from_slice(b)) }
}

/// A polling handshake; returns the sid.
fn handshake(http: &mut Http) -> String {
    let r = http.get("/engine.io/?EIO=3&transport=polling");
    let p = packets(&r);
    assert_eq!(p[0].ty, PacketType::Open);
    let PacketData::Text(json) = &p[0].data else { panic!("text open") };
    let sid = json.split("\"sid\":\"").nth(1).unwrap().split('"').next().unwrap();
    sid.to_owned()
}

fn post_text(http: &mut Http, sid: &str, p: &[Packet]) {
    let r = http.post(&path(sid), "text/plain;charset=UTF-8", encode_text_payload(p));
    assert_eq!((r.head.status, body_text(&r).as_str()), (200, "ok"));
}

fn ws_url(addr: SocketAddr, query: &str) -> String {
    format!("ws://{addr}/engine.io/?EIO=3&transport=websocket{query}")
}

fn recv(ws: &mut WebSocket) -> Message {
    ws.recv_timeout(T).expect("open").expect("no error").expect("in time")
}

fn recv_text(ws: &mut WebSocket) -> String {
    match recv(ws) {
        Message::Text(t) => t.as_str().to_owned(),
        m => panic!("expected text, got {m:?}"),
    }
}

/// The next thing on `ws` is its end (after the close handshake), no message.
fn assert_ws_closed(ws: &mut WebSocket) {
    match ws.recv_timeout(T) {
        None | Some(Err(_)) => {}
        Some(Ok(Some(m))) => panic!("unexpected {m:?}"),
        Some(Ok(None)) => panic!("the WebSocket stays open"),
    }
}

#[test]
fn polling_handshake_body_and_headers() {
    let srv = start(config());
    let mut http = Http::new(srv.addr);
    let r = http.request(
        Request::new("GET", &http.host.clone(), "/engine.io/?EIO=3&transport=polling")
            .header("Origin", "http://app.test"),
    );
    assert_eq!(r.head.status, 200);
    let h = &r.head.headers;
    assert_eq!(h.get("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(h.get("access-control-allow-origin"), Some("http://app.test"));
    assert_eq!(h.get("access-control-allow-credentials"), Some("true"));
    let body = body_text(&r);
    let sid = body.split("\"sid\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(sid.len(), 20);
    let cookie = h.get("set-cookie").unwrap();
    assert!(cookie.starts_with(&format!("io={sid}; Path=/")), "{cookie}");
    let open = format!(
        "0{{\"sid\":\"{sid}\",\"upgrades\":[\"websocket\"],\"pingInterval\":2000,\"pingTimeout\":2000}}"
    );
    assert_eq!(body, format!("{}:{open}", open.len()));
    assert!(srv.server.get(&sid).is_some());
    assert_eq!(srv.server.count(), 1);

    // Without Origin: `*`, no credentials.
    let r = http.get("/engine.io/?EIO=3&transport=polling");
    assert_eq!(r.head.headers.get("access-control-allow-origin"), Some("*"));
    assert_eq!(r.head.headers.get("access-control-allow-credentials"), None);
    assert_eq!(srv.server.count(), 2);
}

#[test]
fn echo_over_polling_text_binary_and_b64() {
    let srv = start(config());
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    post_text(&mut http, &sid, &[text("héllo 😀 \u{2028}"), text("")]);
    let p = packets(&http.get(&path(&sid)));
    assert_eq!(p, vec![text("héllo 😀 \u{2028}"), text("")]);

    // Binary payload in, binary payload out.
    let body = encode_binary_payload(&[binary(&[0, 1, 255]), text("t")]);
    let r = http.post(&path(&sid), "application/octet-stream", body);
    assert_eq!(r.head.status, 200);
    let r = http.get(&path(&sid));
    assert_eq!(r.head.headers.get("content-type"), Some("application/octet-stream"));
    assert_eq!(packets(&r), vec![binary(&[0, 1, 255]), text("t")]);

    // A b64 session: binary travels as `b4…` in text payloads.
    let r = http.get("/engine.io/?EIO=3&transport=polling&b64=1");
    let PacketData::Text(json) = &packets(&r)[0].data else { panic!() };
    let sid = json.split("\"sid\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let b64 = format!("{sid}&b64=1");
    let r = http.post(&path(&b64), "text/plain;charset=UTF-8", "6:b4AAH/");
    assert_eq!(r.head.status, 200);
    let r = http.get(&path(&b64));
    assert_eq!(r.head.headers.get("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(body_text(&r), "6:b4AAH/");
}

#[test]
fn held_poll_answered_by_a_send_from_another_thread() {
    let srv = start(config());
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    let socket = srv.server.get(&sid).unwrap();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        socket.send(PacketData::Text("pushed".into())).unwrap();
    });
    let started = Instant::now();
    let p = packets(&http.get(&path(&sid)));
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(p, vec![text("pushed")]);
    sender.join().unwrap();
    // The connection goes on: ping/pong over the same keep-alive connection.
    post_text(
        &mut http,
        &sid,
        &[Packet { ty: PacketType::Ping, data: PacketData::Text("probe".into()) }],
    );
    let p = packets(&http.get(&path(&sid)));
    assert_eq!(p[0].ty, PacketType::Pong);
}

#[test]
fn overlapping_get_is_500_and_the_first_poll_gets_close() {
    let srv = start(config());
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    let target = path(&sid);
    http.send(Request::new("GET", &http.host.clone(), &target));
    thread::sleep(Duration::from_millis(100));
    let mut second = Http::new(srv.addr);
    let r = second.get(&target);
    assert_eq!(r.head.status, 500);
    let first = http.response().expect("the first poll is answered");
    assert_eq!(body_text(&first), "1:1");
    assert_eq!(srv.closed_reason(&sid), CloseReason::TransportError);
    srv.wait_count(0);
}

#[test]
fn unknown_sid_is_400_code_1() {
    let srv = start(config());
    let mut http = Http::new(srv.addr);
    let r = http.get(&path("nope"));
    assert_eq!(r.head.status, 400);
    assert_eq!(body_text(&r), r#"{"code":1,"message":"Session ID unknown"}"#);
    let r = http.post(&path("nope"), "text/plain", "1:1");
    assert_eq!(r.head.status, 400);
    assert!(body_text(&r).contains("\"code\":1"));
    // WebSocket probe of an unknown sid: refused before the upgrade.
    assert!(glue_std::ws::connect(&ws_url(srv.addr, "&sid=nope")).is_err());
}

#[test]
fn upgrade_then_echo_over_websocket_and_post_is_400_code_3() {
    let srv = start(config());
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    // A poll held while the probe runs gets a noop.
    let target = path(&sid);
    http.send(Request::new("GET", &http.host.clone(), &target));
    let mut ws = glue_std::ws::connect(&ws_url(srv.addr, &format!("&sid={sid}"))).unwrap();
    ws.send("2probe").unwrap();
    assert_eq!(recv_text(&mut ws), "3probe");
    let noop = http.response().unwrap();
    assert_eq!(packets(&noop)[0].ty, PacketType::Noop);
    ws.send("5").unwrap();
    ws.send("4over ws 😀").unwrap();
    assert_eq!(recv_text(&mut ws), "4over ws 😀");
    ws.send(vec![4u8, 9, 8]).unwrap();
    assert_eq!(recv(&mut ws), Message::Binary(bytes::Bytes::from_static(&[4, 9, 8])));
    assert!(srv.server.get(&sid).unwrap().is_websocket());
    // Sent from another thread: written by that thread.
    let socket = srv.server.get(&sid).unwrap();
    thread::spawn(move || socket.send(PacketData::Text("from afar".into())).unwrap())
        .join()
        .unwrap();
    assert_eq!(recv_text(&mut ws), "4from afar");

    let r = http.post(&target, "text/plain", "1:1");
    assert_eq!(r.head.status, 400);
    assert_eq!(body_text(&r), r#"{"code":3,"message":"Bad request"}"#);
    let r = http.get(&target);
    assert_eq!(r.head.status, 400);

    // A second probe is accepted and closed at once.
    let mut again = glue_std::ws::connect(&ws_url(srv.addr, &format!("&sid={sid}"))).unwrap();
    assert_ws_closed(&mut again);

    // The client closes: the session ends.
    ws.send("1").unwrap();
    assert_eq!(srv.closed_reason(&sid), CloseReason::TransportClose);
    // The server closes the WebSocket; the client answers the close frame.
    assert_ws_closed(&mut ws);
    srv.wait_count(0);
}

#[test]
fn websocket_only_session_echoes() {
    let srv = start(config());
    let mut ws = glue_std::ws::connect(&ws_url(srv.addr, "")).unwrap();
    let open = recv_text(&mut ws);
    assert!(open.starts_with("0{\"sid\":\""), "{open}");
    assert!(open.contains("\"upgrades\":[]"), "{open}");
    ws.send("4a\u{2028}b").unwrap();
    assert_eq!(recv_text(&mut ws), "4a\u{2028}b");
    ws.send("2").unwrap();
    assert_eq!(recv_text(&mut ws), "3");
    assert_eq!(srv.server.count(), 1);
    drop(ws);
    srv.wait_count(0);
}

#[test]
fn ping_timeout_closes_polling_and_websocket_sessions() {
    let srv = start(EioConfig {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(100),
        ..EioConfig::default()
    });
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    let mut ws = glue_std::ws::connect(&ws_url(srv.addr, "")).unwrap();
    let open = recv_text(&mut ws);
    let ws_sid = open.split("\"sid\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let started = Instant::now();
    let mut reasons = vec![srv.closed_reason(&sid)];
    reasons.push(srv.closed_reason(&ws_sid));
    assert_eq!(reasons, vec![CloseReason::PingTimeout; 2]);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The WebSocket is closed by the server.
    loop {
        match ws.recv_timeout(T) {
            None | Some(Err(_)) => break,
            Some(Ok(Some(_))) => {}
            Some(Ok(None)) => panic!("the WebSocket stays open"),
        }
    }
    let r = http.get(&path(&sid));
    // The close packet (the linger), then the session is gone.
    assert_eq!(body_text(&r), "1:1");
    srv.wait_count(0);
    let r = http.get(&path(&sid));
    assert_eq!(r.head.status, 400);
}

#[test]
fn oversize_post_drops_the_connection_and_closes_the_session() {
    let srv = start(EioConfig { max_payload: 1000, ..config() });
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    let big = format!("2001:4{}", "x".repeat(2000));
    let r = Request::new("POST", &http.host.clone(), &path(&sid))
        .header("Content-Type", "text/plain")
        .body(big);
    let bytes = http.conn.send(&r);
    let _ = http.stream.write_all(&bytes);
    assert!(http.response().is_none(), "no answer, the connection is dropped");
    assert_eq!(srv.closed_reason(&sid), CloseReason::ForcedClose);
    let mut again = Http::new(srv.addr);
    let r = again.get(&path(&sid));
    assert_eq!(body_text(&r), "1:1");
    srv.wait_count(0);
}

#[test]
fn aborted_poll_closes_the_session() {
    let srv = start(config());
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    http.send(Request::new("GET", &http.host.clone(), &path(&sid)));
    thread::sleep(Duration::from_millis(100));
    drop(http);
    assert_eq!(srv.closed_reason(&sid), CloseReason::TransportError);
    srv.wait_count(0);
}

#[test]
fn release_closes_sessions_and_stops_serving() {
    let srv = start(config());
    let mut ws = glue_std::ws::connect(&ws_url(srv.addr, "")).unwrap();
    let _open = recv_text(&mut ws);
    // The client reads on (and so answers the close handshake).
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        while let Some(Ok(m)) = ws.recv() {
            let _ = tx.send(m);
        }
    });
    let mut http = Http::new(srv.addr);
    let sid = handshake(&mut http);
    http.send(Request::new("GET", &http.host.clone(), &path(&sid)));
    thread::sleep(Duration::from_millis(50));
    srv.server.release(T);
    assert_eq!(srv.server.count(), 0);
    assert_eq!(body_text(&http.response().unwrap()), "1:1");
    // The WebSocket is closed (a close frame, as the reference: no `1` packet).
    match rx.recv_timeout(T) {
        Err(mpsc::RecvTimeoutError::Disconnected) => {}
        other => panic!("the WebSocket should close, got {other:?}"),
    }
    // New sessions are refused, the listener is closed.
    thread::sleep(Duration::from_millis(100));
    assert!(TcpStream::connect(srv.addr).is_err() || srv.server.count() == 0);
}
