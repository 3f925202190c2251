//! A minimal blocking glue test server on loopback (WebSocket and AjaxSocket), built only on
//! `glue_protocol` and `std`, shared by the client tests of both runtimes. It echoes every
//! channel message back on its channel and records what it received.

#![allow(dead_code)]

use glue_protocol::glue::ajax::{AjaxRequest, AjaxSession};
use glue_protocol::glue::{ServerSocket, SocketConfig, SocketEvent};
use glue_protocol::http::{Response, ServerConnection};
use glue_protocol::rand::SeededEntropy;
use glue_protocol::ws::{handshake, Config, Connection, Event, Message};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Srv {
    next_id: u64,
    /// (socket id, channel, data) in arrival order.
    pub received: Vec<(String, String, String)>,
    /// Socket IDs that completed the init handshake, in order.
    pub initialized: Vec<String>,
    /// Bumped by `close_all`: every socket closes.
    close_gen: u64,
    ajax: HashMap<String, (AjaxSession, ServerSocket)>,
    answers: HashMap<u64, bytes::Bytes>,
    rng: Option<SeededEntropy>,
    /// `cl` received (socket ids).
    pub client_closed: Vec<String>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub shared: Arc<(Mutex<Srv>, Condvar)>,
    stop: Arc<AtomicBool>,
    pub poll_hold: Duration,
}

static REQ: AtomicU64 = AtomicU64::new(1);

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_on("127.0.0.1:0")
    }

    pub fn start_on(addr: &str) -> TestServer {
        let listener = TcpListener::bind(addr).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared: Arc<(Mutex<Srv>, Condvar)> = Arc::default();
        shared.0.lock().unwrap().rng = Some(SeededEntropy::new(addr.port() as u64));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, st2) = (shared.clone(), stop.clone());
        let hold = Duration::from_secs(2);
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || loop {
            if st2.load(Ordering::SeqCst) {
                return;
            }
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let (s3, st3) = (s2.clone(), st2.clone());
                    std::thread::spawn(move || serve(stream, s3, st3, hold));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        });
        TestServer { addr, shared, stop, poll_hold: hold }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn lock(&self) -> MutexGuard<'_, Srv> {
        self.shared.0.lock().unwrap()
    }

    /// Closes every glue socket (server-side close).
    pub fn close_all(&self) {
        let mut srv = self.lock();
        srv.close_gen += 1;
        let now = Instant::now();
        let uids: Vec<String> = srv.ajax.keys().cloned().collect();
        for uid in uids {
            srv.ajax.get_mut(&uid).unwrap().1.close(now);
            pump_ajax(&mut srv, &uid);
        }
        self.shared.1.notify_all();
    }

    /// Stops the server: the listener closes and every connection ends.
    pub fn stop(self) -> SocketAddr {
        self.close_all();
        self.stop.store(true, Ordering::SeqCst);
        self.shared.1.notify_all();
        std::thread::sleep(Duration::from_millis(100));
        self.addr
    }

    /// Data received so far (channel, data), all sockets.
    pub fn data(&self) -> Vec<(String, String)> {
        self.lock().received.iter().map(|(_, c, d)| (c.clone(), d.clone())).collect()
    }

    /// Waits until `f` holds for the server state.
    pub fn wait_for(&self, what: &str, timeout: Duration, f: impl Fn(&Srv) -> bool) {
        let until = Instant::now() + timeout;
        let mut srv = self.lock();
        while !f(&srv) {
            let now = Instant::now();
            assert!(now < until, "server: timed out waiting for {what}");
            srv = self
                .shared
                .1
                .wait_timeout(srv, (until - now).min(Duration::from_millis(50)))
                .unwrap()
                .0;
        }
    }
}

fn new_id(srv: &mut Srv) -> String {
    srv.next_id += 1;
    format!("sock{:016}", srv.next_id)
}

fn on_socket_events(srv: &mut Srv, sock: &mut ServerSocket) {
    let now = Instant::now();
    while let Some(e) = sock.poll_event() {
        match e {
            SocketEvent::Initialized => srv.initialized.push(sock.id().to_owned()),
            SocketEvent::Data { channel, data } => {
                srv.received.push((sock.id().to_owned(), channel.clone(), data.clone()));
                let _ = sock.write(now, &channel, &data);
            }
            SocketEvent::Closed(glue_protocol::glue::SocketCloseReason::ClientClosed) => {
                srv.client_closed.push(sock.id().to_owned())
            }
            _ => {}
        }
    }
}

fn pump_ajax(srv: &mut Srv, uid: &str) {
    let Some((mut session, mut sock)) = srv.ajax.remove(uid) else { return };
    on_socket_events(srv, &mut sock);
    let mut rng = srv.rng.take().unwrap();
    while let Some(m) = sock.poll_transmit() {
        session.push_message(m, &mut rng);
    }
    if sock.is_terminated() {
        session.close();
    }
    while let Some(a) = session.poll_answer() {
        srv.answers.insert(a.request, a.body);
    }
    srv.rng = Some(rng);
    if !session.is_closed() {
        srv.ajax.insert(uid.to_owned(), (session, sock));
    }
}

fn serve(
    mut stream: TcpStream,
    shared: Arc<(Mutex<Srv>, Condvar)>,
    stop: Arc<AtomicBool>,
    hold: Duration,
) {
    let mut conn = ServerConnection::new(glue_protocol::http::Limits {
        max_body: 8 << 20,
        ..Default::default()
    });
    let mut buf = vec![0u8; 64 * 1024];
    stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        while let Some(req) = conn.poll_request() {
            let Ok(req) = req else { return };
            if req.head.is_upgrade() {
                let rest = conn.take_remaining();
                return serve_ws(stream, req.head, &rest, shared, stop);
            }
            let ua = req.head.headers.get("user-agent").unwrap_or("").to_owned();
            let body = ajax(&shared, &stop, &req.body, &ua, hold);
            let resp = match body {
                Ok(b) => {
                    Response::new(200).header("Content-Type", "text/plain; charset=utf-8").body(b)
                }
                Err(()) => Response::new(400).body("Bad Request\n"),
            };
            if stream.write_all(&resp.encode()).is_err() {
                return;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => conn.handle_data(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

fn ajax(
    shared: &Arc<(Mutex<Srv>, Condvar)>,
    stop: &AtomicBool,
    body: &[u8],
    ua: &str,
    hold: Duration,
) -> Result<bytes::Bytes, ()> {
    let mut srv = shared.0.lock().unwrap();
    let now = Instant::now();
    match AjaxRequest::parse(body).map_err(|_| ())? {
        AjaxRequest::Init => {
            let id = new_id(&mut srv);
            let uid = format!("u{:09}", srv.next_id);
            let mut rng = srv.rng.take().unwrap();
            let (session, answer) = AjaxSession::new(uid.clone(), ua, hold, 1024, &mut rng);
            srv.rng = Some(rng);
            srv.ajax.insert(uid, (session, ServerSocket::new(id, SocketConfig::default(), now)));
            Ok(answer)
        }
        AjaxRequest::Push { uid, message } => {
            let (session, sock) = srv.ajax.get_mut(uid).ok_or(())?;
            session.check_push(ua).map_err(|_| ())?;
            sock.handle_message(now, message);
            pump_ajax(&mut srv, uid);
            shared.1.notify_all();
            Ok(bytes::Bytes::new())
        }
        AjaxRequest::Poll { uid, token } => {
            let uid = uid.to_owned();
            let request = REQ.fetch_add(1, Ordering::SeqCst);
            let mut rng = srv.rng.take().unwrap();
            let r = match srv.ajax.get_mut(&uid) {
                Some((session, _)) => {
                    session.handle_poll(now, request, ua, token, &mut rng).map_err(|_| ())
                }
                None => Err(()),
            };
            srv.rng = Some(rng);
            r?;
            pump_ajax(&mut srv, &uid);
            loop {
                if let Some(b) = srv.answers.remove(&request) {
                    return Ok(b);
                }
                if stop.load(Ordering::SeqCst) {
                    return Err(());
                }
                if let Some((session, _)) = srv.ajax.get_mut(&uid) {
                    session.handle_timeout(Instant::now());
                }
                pump_ajax(&mut srv, &uid);
                srv = shared.1.wait_timeout(srv, Duration::from_millis(20)).unwrap().0;
            }
        }
    }
}

fn serve_ws(
    mut stream: TcpStream,
    head: glue_protocol::http::RequestHead,
    rest: &[u8],
    shared: Arc<(Mutex<Srv>, Condvar)>,
    stop: Arc<AtomicBool>,
) {
    let (response, outcome) = handshake::respond(head, None);
    if stream.write_all(&response).is_err() || outcome.is_err() {
        return;
    }
    let now = Instant::now();
    let mut ws = Connection::server(Config::default(), now);
    ws.handle_data(now, rest);
    let (id, mut close_gen) = {
        let mut srv = shared.0.lock().unwrap();
        (new_id(&mut srv), srv.close_gen)
    };
    let mut sock = ServerSocket::new(id, SocketConfig::default(), now);
    let mut buf = vec![0u8; 64 * 1024];
    stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    loop {
        let now = Instant::now();
        {
            let mut srv = shared.0.lock().unwrap();
            if srv.close_gen != close_gen || stop.load(Ordering::SeqCst) {
                close_gen = srv.close_gen;
                sock.close(now);
            }
            while let Some(e) = ws.poll_event() {
                match e {
                    Event::Message(Message::Text(t)) => sock.handle_message(now, t.as_bytes()),
                    Event::Closed(_) => sock.handle_transport_closed(now),
                    _ => {}
                }
            }
            on_socket_events(&mut srv, &mut sock);
            shared.1.notify_all();
        }
        while let Some(m) = sock.poll_transmit() {
            let text = glue_protocol::ws::Utf8Bytes::try_from_bytes(m).unwrap();
            let _ = ws.send(now, Message::Text(text));
        }
        if sock.is_terminated() && ws.state() == glue_protocol::ws::State::Open {
            let _ = ws.close(now, None, "");
        }
        while let Some(b) = ws.poll_transmit() {
            if stream.write_all(&b).is_err() {
                return;
            }
        }
        if ws.is_terminated() || stop.load(Ordering::SeqCst) {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => ws.handle_eof(now),
            Ok(n) => ws.handle_data(Instant::now(), &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                ws.handle_timeout(Instant::now());
                sock.handle_timeout(Instant::now());
            }
            Err(_) => ws.handle_eof(now),
        }
    }
}
