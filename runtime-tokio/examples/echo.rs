//! The main example: a WebSocket echo server with a tiny browser page.
//!
//! `cargo run --release -p glue-tokio --example echo [-- ADDR]` then open http://ADDR/
//! (default 127.0.0.1:8080). The page connects to `/ws`, sends what you type, and shows the
//! echoes.

use glue_protocol::http::Response;
use glue_protocol::ws::handshake::is_upgrade_request;
use glue_tokio::ws::{read_request, upgrade, ServerConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>glue-rs echo</title>
<h1>glue-rs WebSocket echo</h1>
<form id="f"><input id="i" autofocus placeholder="say something"> <button>send</button></form>
<pre id="log"></pre>
<script>
const log = (s) => document.getElementById('log').textContent += s + '\n';
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onopen = () => log('connected');
ws.onmessage = (e) => log('echo: ' + e.data);
ws.onclose = (e) => log(`closed (${e.code})`);
document.getElementById('f').onsubmit = (e) => {
  e.preventDefault();
  const i = document.getElementById('i');
  ws.send(i.value);
  i.value = '';
};
</script>
"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("open http://{}/", listener.local_addr()?);
    let config = ServerConfig::default();
    loop {
        let (mut stream, peer) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
            let Ok((head, rest)) = read_request(&mut stream, &config).await else { return };
            if head.path() == "/ws" && is_upgrade_request(&head) {
                let Ok(mut ws) = upgrade(stream, head, &rest, &config).await else { return };
                println!("{peer}: connected");
                while let Some(Ok(msg)) = ws.recv().await {
                    if ws.send(msg).await.is_err() {
                        break;
                    }
                }
                println!("{peer}: closed ({:?})", ws.close_reason());
            } else {
                let response = match head.path() {
                    "/" => Response::new(200)
                        .header("Content-Type", "text/html; charset=utf-8")
                        .body(PAGE.as_bytes().to_vec()),
                    _ => Response::new(404).body(&b"not found"[..]),
                };
                let _ = stream.write_all(&response.header("Connection", "close").encode()).await;
            }
        });
    }
}
