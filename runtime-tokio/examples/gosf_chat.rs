//! A complete GOSF-style app: JSON startup configuration (GOSF's keys), endpoints answered by
//! async controllers with the standard Message envelope, rooms, client and global
//! broadcasts, hooks, the three plugins, and a microservice (another Socket.IO v2 server
//! speaking the envelope) called from a controller.
//!
//! ```sh
//! cargo run --release -p glue-tokio --example gosf_chat
//! # optional: MICROSERVICE=http://127.0.0.1:9998 to relay `relay` requests there
//! ```
//! Any socket.io-client 2.x connects to `http://127.0.0.1:9999` (path `/socket.io/`) and
//! emits e.g. `socket.emit('join', {text: 'lobby'}, reply => …)`.

use glue_tokio::gosf::{
    App, Logging, Message, MicroserviceOptions, Permission, RateLimit, ServerConfig,
};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // GOSF's startup keys; `secure`, `ssl-cert` and `ssl-key` switch on https/wss (rustls).
    let config = ServerConfig::from_json_str(
        r#"{"host": "127.0.0.1", "port": 9999, "path": "/socket.io/",
            "pingInterval": 25000, "pingTimeout": 20000, "maxMessageSize": 1000000}"#,
    )?;
    let app = App::new(config)?;

    // Endpoints: the response goes back as the ack and as an event on the endpoint; the
    // request's id/guid/uuid are echoed, `meta` is stripped toward clients.
    app.listen("echo", |_client, request| async move {
        let m = &request.message;
        Some(Message::ok().text(m.text.clone()).body(m.body.clone().unwrap_or_default()))
    })?;
    app.listen("join", |client, request| async move {
        client.join(&request.message.text);
        Some(Message::ok().text(format!("joined {}", request.message.text)))
    })?;
    app.listen("say", |client, request| async move {
        // To the room named by `text`, except the sender.
        let m = &request.message;
        let out = Message::ok().text(m.text.clone()).body(m.body.clone().unwrap_or_default());
        match client.broadcast(&m.text, "say", &out) {
            Ok(_) => Some(Message::ok()),
            Err(e) => Some(Message::fail().text(e.to_string())),
        }
    })?;
    app.listen("announce", |client, request| async move {
        // Everyone, the sender included.
        let _ = client.hub().broadcast(
            "",
            "announce",
            &Message::ok().text(request.message.text.clone()),
        );
        Some(Message::ok())
    })?;

    // A microservice: `relay` forwards the request to its `echo`.
    if let Ok(url) = std::env::var("MICROSERVICE") {
        app.register_microservice("svc", MicroserviceOptions::new(url))?;
    }
    let relay_app = app.clone();
    app.listen("relay", move |_client, request| {
        let app = relay_app.clone();
        async move {
            let Some(svc) = app.microservice("svc") else {
                return Some(Message::fail().text("E_MICROSERVICE"));
            };
            match svc.call("echo", &request.message).await {
                Ok(answer) => Some(answer),
                Err(_) => Some(Message::fail().text("E_MICROSERVICE")),
            }
        }
    })?;

    // Hooks, with the documented argument order, never called under an internal lock.
    app.on_connect(|client, _request| println!("connected {}", client.id()));
    app.on_disconnect(|client, _request| {
        let _ = client.hub().broadcast("", "left", &Message::ok().text(client.id()));
    });

    // Plugins: tracing logs, 20 requests per 10 s per client, `announce` only after `join`.
    app.register_plugin(Logging::new());
    app.register_plugin(RateLimit::new(20, Duration::from_secs(10)));
    app.register_plugin(Permission::new(|client, endpoint| {
        endpoint != "announce" || client.rooms().len() > 1
    }));

    println!("gosf_chat on http://{}", app.start().await?);
    // Serve until the process is stopped (`app.shutdown(grace)` deactivates the plugins,
    // disconnects the microservices and closes every client).
    std::future::pending().await
}
