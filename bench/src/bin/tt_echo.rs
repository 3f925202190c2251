//! tokio-tungstenite echo server: `tt_echo --listen ADDR [--read-buffer-size BYTES]`.
//!
//! Default `WebSocketConfig` unless `--read-buffer-size` is given (e.g. 4096 for the
//! low-memory variant). Echoes every text and binary message. Single-threaded tokio
//! runtime (the bench pins each server to one core).

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn main() {
    let args = glue_bench::Args::parse("usage: tt_echo --listen ADDR [--read-buffer-size BYTES]");
    let listen = args.str_or("listen", "127.0.0.1:9003");
    let mut config = WebSocketConfig::default();
    if let Some(v) = args.get("read-buffer-size") {
        config = config.read_buffer_size(v.parse().expect("--read-buffer-size"));
    }
    glue_bench::raise_nofile();
    let name =
        format!("tt_echo (tokio-tungstenite 0.30, read_buffer_size {})", config.read_buffer_size);
    glue_bench::current_thread_runtime()
        .block_on(glue_bench::serve(&listen, &name, move |stream| async move {
            let Ok(mut ws) =
                tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
            else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_binary() || msg.is_text()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        }))
        .expect("serve");
}
