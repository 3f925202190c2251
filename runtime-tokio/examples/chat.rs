//! A glue chat: open the printed URL in two browser tabs. The page uses our browser client,
//! served by the glue server at `/glue/glue.js` (WebSocket, or AjaxSocket long-polling where
//! WebSocket is unavailable). Every message is broadcast to every connected socket.
//!
//! `cargo run --release -p glue-tokio --example chat [-- ADDR]` (default 127.0.0.1:8080)

use glue_tokio::glue::{Server, ServerOptions};
use glue_tokio::protocol::http::{Request, Response};
use std::sync::Arc;

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>glue-rs chat</title>
<style>body{font:16px system-ui;margin:2em}#log{white-space:pre-wrap;border:1px solid #ccc;
height:20em;overflow:auto;padding:.5em}</style>
<h1>glue-rs chat</h1><p id="state">connecting…</p><div id="log"></div>
<form id="f"><input id="m" autocomplete="off" size="50" autofocus> <button>send</button></form>
<script src="/glue/glue.js"></script>
<script>
const socket = glue();
const log = (t) => { const l = document.getElementById('log'); l.textContent += t + '\n'; l.scrollTop = 1e9; };
const state = () => { document.getElementById('state').textContent =
  socket.state() + ' (' + (socket.type() || '-') + ') ' + (socket.socketID() || ''); };
['connected', 'connecting', 'reconnecting', 'disconnected'].forEach((e) => socket.on(e, state));
socket.onMessage(log);
document.getElementById('f').onsubmit = (ev) => {
  ev.preventDefault();
  const m = document.getElementById('m');
  if (m.value) { socket.send(m.value); m.value = ''; }
};
</script>
"#;

fn page(request: &Request) -> Response {
    match request.head.path() {
        "/" => Response::new(200).header("Content-Type", "text/html; charset=utf-8").body(PAGE),
        _ => Response::new(404).body("not found\n"),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = Server::new(ServerOptions {
        listen_address: addr.clone(),
        fallback: Some(Arc::new(page)),
        ..ServerOptions::default()
    });
    let all = server.clone();
    server.on_new_socket(move |socket| {
        let _ = socket.try_write(&format!("welcome, {}", socket.id()));
        let (all, me) = (all.clone(), socket.id().to_owned());
        socket.on_read(move |text| {
            // Encoded once, shared by every recipient.
            let line = glue_tokio::glue::encode("m", &format!("{}: {text}", &me[..6]));
            for s in all.sockets() {
                let _ = s.try_write_encoded(&line);
            }
        });
    });
    println!("glue chat on http://{addr}/ (Ctrl-C to stop)");
    server.run().await
}
