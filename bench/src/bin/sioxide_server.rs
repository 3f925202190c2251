//! Socket.IO v2 benchmark server on socketioxide 0.18 with its `v4` feature (the Socket.IO
//! v4 protocol of socket.io 1.x/2.x, Engine.IO 3), served by hyper 1 (HTTP/1.1 with
//! upgrades), default settings (ping interval 25 s, timeout 20 s, path `/socket.io`),
//! current-thread runtime.
//!
//! `sioxide_server --listen ADDR`
//!
//! Same event contract as `sio_server` (namespace `/`): `echo` acked with its argument,
//! `join` (room, acked), `bcast` (room, payload) → `bcast` (payload) to the room, then acked.

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

fn main() {
    let args = glue_bench::Args::parse("usage: sioxide_server --listen ADDR");
    let listen = args.str_or("listen", "127.0.0.1:9601");
    glue_bench::raise_nofile();
    let rt = glue_bench::current_thread_runtime();
    rt.block_on(async move {
        let (svc, io) = SocketIo::new_svc();
        io.ns("/", async |s: SocketRef| {
            s.on("echo", async |Data(d): Data<Value>, ack: AckSender| {
                let _ = ack.send(&d);
            });
            s.on("join", async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
                s.join(room);
                let _ = ack.send(&());
            });
            s.on(
                "bcast",
                async |io: SocketIo, Data((room, payload)): Data<(String, Value)>, ack: AckSender| {
                    let _ = io.to(room).emit("bcast", &payload).await;
                    let _ = ack.send(&());
                },
            );
        });
        let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
        println!("sioxide_server (socketioxide 0.18, v4) listening on {}", listener.local_addr().unwrap());
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("sioxide_server: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let svc = svc.clone();
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
}
