//! Loopback test of `glue_tokio::gosf`: the framework server and our own Socket.IO client.

use glue_tokio::gosf::{
    App, Message, Permission, RateLimit, ServerConfig, E_FORBIDDEN, E_RATE_LIMIT,
};
use glue_tokio::sio_client::{SioClient, SioClientOptions};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc::unbounded_channel;
use tokio::time::timeout;

async fn ack(c: &SioClient, endpoint: &str, arg: Value) -> Value {
    let (args, _) = timeout(Duration::from_secs(5), c.emit_with_ack(endpoint, vec![arg], vec![]))
        .await
        .expect("ack in time")
        .expect("ack");
    args.into_iter().next().unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gosf_loopback() {
    let config =
        ServerConfig::builder().host("127.0.0.1").port(0).path("/socket.io/").build().unwrap();
    let app = App::new(config).unwrap();
    assert!(app.listen("connection", |_, _| async { None }).is_err(), "reserved name refused");
    app.listen("echo", |client, request| async move {
        client.set(request.message.text.clone());
        Some(Message::ok().text(request.message.text.clone()))
    })
    .unwrap();
    app.listen("last", |client, _| async move {
        Some(Message::ok().text(client.get::<String>().unwrap_or_default()))
    })
    .unwrap();
    app.listen_sync("secret", |_, _| Some(Message::ok())).unwrap();
    // A broadcast from a disconnect hook must not deadlock (GOSF §11.3).
    app.on_disconnect(|client, _| {
        let _ = client.hub().broadcast("", "left", &Message::ok().text(client.id()));
    });
    app.register_plugin(RateLimit::new(4, Duration::from_secs(60)));
    app.register_plugin(Permission::new(|_, endpoint| endpoint != "secret"));
    let addr = app.start().await.unwrap();
    let url = format!("http://{addr}");

    let a = SioClient::connect(&url, SioClientOptions::default()).unwrap();
    let b = SioClient::connect(&url, SioClientOptions::default()).unwrap();
    let (tx, mut left) = unbounded_channel();
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
        ack(&a, "echo", json!({"id": 1, "text": "hi", "meta": {"x": 1}})).await,
        json!({"id": 1, "success": true, "text": "hi"})
    );
    assert_eq!(ack(&a, "last", json!({})).await["text"], "hi", "per-client session storage");
    assert_eq!(
        ack(&a, "secret", json!({"id": 2})).await,
        json!({"id": 2, "success": false, "text": E_FORBIDDEN})
    );
    assert_eq!(ack(&a, "echo", json!({"id": 3})).await["success"], true);
    assert_eq!(
        ack(&a, "echo", json!({"id": 4})).await,
        json!({"id": 4, "success": false, "text": E_RATE_LIMIT})
    );
    assert_eq!(ack(&a, "echo", Value::Null).await["success"], false);

    // Clients from outside a request, and a server-initiated request.
    assert_eq!(ack(&b, "echo", json!({"text": "b"})).await["success"], true);
    let ids: Vec<String> = app.clients().iter().map(|c| c.id().to_owned()).collect();
    assert_eq!(ids.len(), 2);
    let b_id = b.id().unwrap();
    let client_b = app.client(&b_id).expect("client b by id");
    assert!(client_b.rooms().contains(&b_id), "own-id room");
    let reply = client_b
        .request("ask", &Message::ok().text("q"), Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(reply.text, "re:q");

    let a_id = a.id().unwrap();
    a.close();
    let args = timeout(Duration::from_secs(5), left.recv()).await.expect("left in time").unwrap();
    assert_eq!(args[0]["text"], Value::from(a_id));
    app.shutdown(Duration::from_secs(1)).await;
}
