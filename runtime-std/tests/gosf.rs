//! Loopback test of `glue_std::gosf`: the framework server and our own Socket.IO client.

use glue_std::gosf::{
    App, Message, Permission, RateLimit, ServerConfig, E_FORBIDDEN, E_RATE_LIMIT,
};
use glue_std::sio_client::{SioClient, SioClientOptions};
use serde_json::{json, Value};
use std::sync::mpsc::sync_channel;
use std::time::Duration;

fn ack(c: &SioClient, endpoint: &str, arg: Value) -> Value {
    let (args, _) = c
        .emit_with_ack_timeout(endpoint, vec![arg], vec![], Some(Duration::from_secs(5)))
        .expect("ack");
    args.into_iter().next().unwrap_or(Value::Null)
}

#[test]
fn gosf_loopback() {
    let config =
        ServerConfig::builder().host("127.0.0.1").port(0).path("/socket.io/").build().unwrap();
    let app = App::new(config).unwrap();
    assert!(app.listen("disconnection", |_, _| None).is_err(), "reserved name refused");
    app.listen("echo", |client, request| {
        client.set(request.message.text.clone());
        Some(Message::ok().text(request.message.text.clone()))
    })
    .unwrap();
    app.listen("last", |client, _| {
        Some(Message::ok().text(client.get::<String>().unwrap_or_default()))
    })
    .unwrap();
    app.listen("secret", |_, _| Some(Message::ok())).unwrap();
    app.on_disconnect(|client, _| {
        let _ = client.hub().broadcast("", "left", &Message::ok().text(client.id()));
    });
    app.register_plugin(RateLimit::new(4, Duration::from_secs(60)));
    app.register_plugin(Permission::new(|_, endpoint| endpoint != "secret"));
    let addr = app.start().unwrap();
    let url = format!("http://{addr}");

    let a = SioClient::connect(&url, SioClientOptions::default()).unwrap();
    let b = SioClient::connect(&url, SioClientOptions::default()).unwrap();
    let (tx, left) = sync_channel(4);
    b.on("left", move |args, _, _| {
        let _ = tx.send(args);
    });
    b.on("ask", |args, _, responder| {
        let text = args[0]["text"].as_str().unwrap_or_default().to_owned();
        if let Some(r) = responder {
            let _ = r.send(vec![json!({"success": true, "text": format!("re:{text}")})], vec![]);
        }
    });
    assert_eq!(
        ack(&a, "echo", json!({"id": 1, "text": "hi", "meta": {"x": 1}})),
        json!({"id": 1, "success": true, "text": "hi"})
    );
    assert_eq!(ack(&a, "last", json!({}))["text"], "hi", "per-client session storage");
    assert_eq!(
        ack(&a, "secret", json!({"id": 2})),
        json!({"id": 2, "success": false, "text": E_FORBIDDEN})
    );
    assert_eq!(ack(&a, "echo", json!({"id": 3}))["success"], true);
    assert_eq!(
        ack(&a, "echo", json!({"id": 4})),
        json!({"id": 4, "success": false, "text": E_RATE_LIMIT})
    );
    assert_eq!(ack(&a, "echo", Value::Null)["success"], false);

    assert_eq!(ack(&b, "echo", json!({"text": "b"}))["success"], true);
    assert_eq!(app.clients().len(), 2);
    let b_id = b.id().unwrap();
    let client_b = app.client(&b_id).expect("client b by id");
    assert!(client_b.rooms().contains(&b_id), "own-id room");
    // From a thread of our own (not a handler of that client): blocks until the answer.
    let reply =
        client_b.request("ask", &Message::ok().text("q"), Some(Duration::from_secs(5))).unwrap();
    assert_eq!(reply.text, "re:q");

    let a_id = a.id().unwrap();
    a.close();
    let args = left.recv_timeout(Duration::from_secs(5)).expect("left in time");
    assert_eq!(args[0]["text"], Value::from(a_id));
    app.shutdown(Duration::from_secs(1));
}
