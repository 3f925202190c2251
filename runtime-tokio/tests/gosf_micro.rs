//! Loopback test of `glue_tokio::gosf::Microservice`: one framework app calls another over our
//! Socket.IO client (call, timeout, bad response, lob, listen across a restart of the service,
//! disconnect while waiting, the registry).

use glue_tokio::gosf::{App, Message, MicroserviceError, MicroserviceOptions, ServerConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::unbounded_channel;
use tokio::time::timeout;

/// The service: `echo`, `slow` (answers after `text` ms), `none` (answers `null`), `push`
/// (pushes `news` to the caller, then answers), `note` (records a lob), `kick` (disconnects
/// the caller with a DISCONNECT).
async fn service(
    port: u16,
    notes: tokio::sync::mpsc::UnboundedSender<String>,
) -> (App, SocketAddr) {
    let config =
        ServerConfig::builder().host("127.0.0.1").port(port).path("/socket.io/").build().unwrap();
    let app = App::new(config).unwrap();
    app.listen_sync("echo", |_, r| Some(Message::ok().text(r.message.text.clone()))).unwrap();
    app.listen("slow", |_, r| async move {
        let ms = r.message.text.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Some(Message::ok().text("slow"))
    })
    .unwrap();
    app.listen_sync("none", |_, _| None).unwrap();
    app.listen_sync("push", |client, r| {
        client.emit("news", &Message::ok().text(r.message.text.clone())).unwrap();
        Some(Message::ok())
    })
    .unwrap();
    app.listen_sync("note", move |_, r| {
        let _ = notes.send(r.message.text.clone());
        None
    })
    .unwrap();
    app.listen_sync("kick", |client, _| {
        client.disconnect();
        None
    })
    .unwrap();
    let addr = app.start().await.unwrap();
    (app, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microservice_loopback() {
    let (notes_tx, mut notes) = unbounded_channel();
    let (b, addr) = service(0, notes_tx.clone()).await;
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
    assert!(svc.wait_connected(Duration::from_secs(5)).await, "connected");
    assert!(a.microservice("b").unwrap().connected());

    let (news_tx, mut news) = unbounded_channel();
    svc.listen("news", move |m| {
        let _ = news_tx.send(m.text);
    });

    // call
    let r = svc.call("echo", &Message::ok().text("hi").id(5)).await.unwrap();
    assert_eq!((r.success, r.text.as_str(), r.id), (true, "hi", 5));
    // timeout (the late answer is dropped), then the next call is not confused by it
    let t0 = Instant::now();
    let e =
        svc.call_with_timeout("slow", &Message::ok().text("400"), Duration::from_millis(150)).await;
    assert_eq!(e.unwrap_err(), MicroserviceError::Timeout(Duration::from_millis(150)));
    assert!(t0.elapsed() < Duration::from_millis(400), "timed out in {:?}", t0.elapsed());
    assert_eq!(svc.call("echo", &Message::ok().text("next")).await.unwrap().text, "next");
    tokio::time::sleep(Duration::from_millis(400)).await; // the late answer arrives and is dropped
    assert_eq!(svc.call("echo", &Message::ok().text("again")).await.unwrap().text, "again");
    // bad response: the service answered `null`
    assert!(matches!(
        svc.call("none", &Message::ok()).await,
        Err(MicroserviceError::BadResponse(_))
    ));
    // lob
    svc.lob("note", &Message::ok().text("lobbed")).unwrap();
    assert_eq!(timeout(Duration::from_secs(5), notes.recv()).await.unwrap().unwrap(), "lobbed");
    // listen
    svc.call("push", &Message::ok().text("one")).await.unwrap();
    assert_eq!(timeout(Duration::from_secs(5), news.recv()).await.unwrap().unwrap(), "one");

    // A server DISCONNECT (socket.io-client would stay away): the microservice comes back.
    svc.lob("kick", &Message::ok()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while svc.connected() {
        assert!(Instant::now() < deadline, "still connected after the kick");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(svc.wait_connected(Duration::from_secs(5)).await, "reconnected after a DISCONNECT");
    assert_eq!(svc.call("echo", &Message::ok().text("back")).await.unwrap().text, "back");

    // The service restarts on the same port (its shutdown sends DISCONNECT).
    b.shutdown(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while svc.connected() {
        assert!(Instant::now() < deadline, "still connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(svc.lob("note", &Message::ok()).unwrap_err(), MicroserviceError::NotConnected);
    assert_eq!(
        svc.call("echo", &Message::ok()).await.unwrap_err(),
        MicroserviceError::NotConnected
    );
    let (b2, _) = service(addr.port(), notes_tx.clone()).await;
    assert!(svc.wait_connected(Duration::from_secs(10)).await, "reconnected");
    svc.call("push", &Message::ok().text("two")).await.unwrap();
    assert_eq!(
        timeout(Duration::from_secs(5), news.recv()).await.unwrap().unwrap(),
        "two",
        "the listener survived the reconnection"
    );

    // The connection drops while a call waits (on an endpoint the service does not have, so
    // never answered): Disconnected, long before the timeout.
    let waiting = {
        let svc = svc.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let r = svc.call_with_timeout("nowhere", &Message::ok(), Duration::from_secs(5)).await;
            (r, t0.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    b2.shutdown(Duration::from_millis(200)).await;
    let (r, took) = waiting.await.unwrap();
    assert_eq!(r.unwrap_err(), MicroserviceError::Disconnected);
    assert!(took < Duration::from_secs(3), "took {took:?}");

    // disconnect / deregister
    let (b3, _) = service(addr.port(), notes_tx).await;
    assert!(svc.wait_connected(Duration::from_secs(10)).await);
    svc.disconnect();
    assert!(!svc.connected());
    assert_eq!(svc.lob("note", &Message::ok()).unwrap_err(), MicroserviceError::NotConnected);
    svc.connect().unwrap();
    assert!(svc.wait_connected(Duration::from_secs(5)).await, "connect after disconnect");
    svc.call("push", &Message::ok().text("three")).await.unwrap();
    assert_eq!(timeout(Duration::from_secs(5), news.recv()).await.unwrap().unwrap(), "three");
    let gone = a.deregister_microservice("b").expect("registered");
    assert!(!gone.connected(), "deregister disconnects");
    assert!(a.deregister_microservice("b").is_none(), "unknown name: None, no panic");
    assert!(a.microservice("b").is_none());
    // The app's shutdown disconnects its microservices (they stay registered).
    let c = a.register_microservice("c", options).unwrap();
    assert!(c.wait_connected(Duration::from_secs(5)).await);
    a.shutdown(Duration::from_millis(100)).await;
    assert!(!c.connected() && a.microservice("c").is_some());
    b3.shutdown(Duration::from_millis(200)).await;
}
