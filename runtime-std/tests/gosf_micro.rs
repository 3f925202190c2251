//! Loopback test of `glue_std::gosf::Microservice`: one framework app calls another over our
//! Socket.IO client (call, timeout, bad response, lob, listen across a restart of the service,
//! disconnect while waiting, the registry).

use glue_std::gosf::{App, Message, MicroserviceError, MicroserviceOptions, ServerConfig};
use std::net::SocketAddr;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

fn recv<T>(rx: &Receiver<T>) -> T {
    rx.recv_timeout(Duration::from_secs(5)).expect("in time")
}

/// The service: `echo`, `slow` (answers after `text` ms), `none` (answers `null`), `push`
/// (pushes `news` to the caller, then answers), `note` (records a lob), `kick` (disconnects
/// the caller with a DISCONNECT).
fn service(port: u16, notes: Sender<String>) -> (App, SocketAddr) {
    let config =
        ServerConfig::builder().host("127.0.0.1").port(port).path("/socket.io/").build().unwrap();
    let app = App::new(config).unwrap();
    app.listen("echo", |_, r| Some(Message::ok().text(r.message.text.clone()))).unwrap();
    app.listen("slow", |_, r| {
        let ms = r.message.text.parse().unwrap_or(0);
        std::thread::sleep(Duration::from_millis(ms));
        Some(Message::ok().text("slow"))
    })
    .unwrap();
    app.listen("none", |_, _| None).unwrap();
    app.listen("push", |client, r| {
        client.emit("news", &Message::ok().text(r.message.text.clone())).unwrap();
        Some(Message::ok())
    })
    .unwrap();
    app.listen("note", move |_, r| {
        let _ = notes.send(r.message.text.clone());
        None
    })
    .unwrap();
    app.listen("kick", |client, _| {
        client.disconnect();
        None
    })
    .unwrap();
    let addr = app.start().unwrap();
    (app, addr)
}

#[test]
fn microservice_loopback() {
    let (notes_tx, notes) = channel();
    let (b, addr) = service(0, notes_tx.clone());
    let options = MicroserviceOptions::new(format!("http://{addr}"))
        .reconnection_delay(Duration::from_millis(100), Duration::from_millis(300));

    // The caller's app and its registry.
    let a = App::new(ServerConfig::builder().port(0).build().unwrap()).unwrap();
    assert!(matches!(
        a.register_microservice("bad", MicroserviceOptions::new("nope")),
        Err(MicroserviceError::InvalidUrl(_))
    ));
    assert!(a.microservice("bad").is_none(), "a bad URL is not stored");
    let svc = a.register_microservice("b", options.clone()).unwrap();
    assert_eq!(
        a.register_microservice("b", options.clone()).unwrap_err(),
        MicroserviceError::Duplicate("b".into())
    );
    assert_eq!(a.microservice_names(), ["b"]);
    assert!(svc.wait_connected(Duration::from_secs(5)), "connected");
    assert!(a.microservice("b").unwrap().connected());

    let (news_tx, news) = channel();
    let (blocked_tx, blocked) = channel();
    let inner = svc.clone();
    svc.listen("news", move |m| {
        // On the client's own thread a blocking call would wait for itself.
        let _ = blocked_tx.send(inner.call("echo", &Message::ok()).unwrap_err());
        let _ = news_tx.send(m.text);
    });

    // call
    let r = svc.call("echo", &Message::ok().text("hi").id(5)).unwrap();
    assert_eq!((r.success, r.text.as_str(), r.id), (true, "hi", 5));
    // timeout (the late answer is dropped), then the next call is not confused by it
    let t0 = Instant::now();
    let e = svc.call_with_timeout("slow", &Message::ok().text("400"), Duration::from_millis(150));
    assert_eq!(e.unwrap_err(), MicroserviceError::Timeout(Duration::from_millis(150)));
    assert!(t0.elapsed() < Duration::from_millis(400), "timed out in {:?}", t0.elapsed());
    assert_eq!(svc.call("echo", &Message::ok().text("next")).unwrap().text, "next");
    std::thread::sleep(Duration::from_millis(400)); // the late answer arrives and is dropped
    assert_eq!(svc.call("echo", &Message::ok().text("again")).unwrap().text, "again");
    // bad response: the service answered `null`
    assert!(matches!(svc.call("none", &Message::ok()), Err(MicroserviceError::BadResponse(_))));
    // lob
    svc.lob("note", &Message::ok().text("lobbed")).unwrap();
    assert_eq!(recv(&notes), "lobbed");
    // listen
    svc.call("push", &Message::ok().text("one")).unwrap();
    assert_eq!(recv(&news), "one");
    assert_eq!(recv(&blocked), MicroserviceError::WouldBlock);

    // A server DISCONNECT (socket.io-client would stay away): the microservice comes back.
    svc.lob("kick", &Message::ok()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while svc.connected() {
        assert!(Instant::now() < deadline, "still connected after the kick");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(svc.wait_connected(Duration::from_secs(5)), "reconnected after a DISCONNECT");
    assert_eq!(svc.call("echo", &Message::ok().text("back")).unwrap().text, "back");

    // The service restarts on the same port (its shutdown sends DISCONNECT).
    b.shutdown(Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(5);
    while svc.connected() {
        assert!(Instant::now() < deadline, "still connected");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(svc.lob("note", &Message::ok()).unwrap_err(), MicroserviceError::NotConnected);
    assert_eq!(svc.call("echo", &Message::ok()).unwrap_err(), MicroserviceError::NotConnected);
    let (b2, _) = service(addr.port(), notes_tx.clone());
    assert!(svc.wait_connected(Duration::from_secs(10)), "reconnected");
    svc.call("push", &Message::ok().text("two")).unwrap();
    assert_eq!(recv(&news), "two", "the listener survived the reconnection");

    // The connection drops while a call waits (on an endpoint the service does not have, so
    // never answered): Disconnected, long before the timeout.
    let waiting = {
        let svc = svc.clone();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let r = svc.call_with_timeout("nowhere", &Message::ok(), Duration::from_secs(5));
            (r, t0.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    b2.shutdown(Duration::from_millis(200));
    let (r, took) = waiting.join().unwrap();
    assert_eq!(r.unwrap_err(), MicroserviceError::Disconnected);
    assert!(took < Duration::from_secs(3), "took {took:?}");

    // disconnect / deregister
    let (b3, _) = service(addr.port(), notes_tx);
    assert!(svc.wait_connected(Duration::from_secs(10)));
    svc.disconnect();
    assert!(!svc.connected());
    assert_eq!(svc.lob("note", &Message::ok()).unwrap_err(), MicroserviceError::NotConnected);
    svc.connect().unwrap();
    assert!(svc.wait_connected(Duration::from_secs(5)), "connect after disconnect");
    svc.call("push", &Message::ok().text("three")).unwrap();
    assert_eq!(recv(&news), "three");
    let gone = a.deregister_microservice("b").expect("registered");
    assert!(!gone.connected(), "deregister disconnects");
    assert!(a.deregister_microservice("b").is_none(), "unknown name: None, no panic");
    assert!(a.microservice("b").is_none());
    // The app's shutdown disconnects its microservices (they stay registered).
    let c = a.register_microservice("c", options).unwrap();
    assert!(c.wait_connected(Duration::from_secs(5)));
    a.shutdown(Duration::from_millis(100));
    assert!(!c.connected() && a.microservice("c").is_some());
    b3.shutdown(Duration::from_millis(200));
}
