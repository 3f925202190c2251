//! fastwebsockets echo server: `fws_echo --listen ADDR`.
//!
//! hyper (HTTP/1.1) does the upgrade; each connection then runs a `FragmentCollector`
//! and echoes every text and binary message. Single-threaded tokio runtime (the bench
//! pins each server to one core).

use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

async fn echo(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(fut.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

async fn upgrade_request(
    mut req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, fut) = upgrade::upgrade(&mut req)?;
    tokio::spawn(async move {
        let _ = echo(fut).await;
    });
    Ok(response)
}

fn main() {
    let args = glue_bench::Args::parse("usage: fws_echo --listen ADDR");
    let listen = args.str_or("listen", "127.0.0.1:9002");
    glue_bench::raise_nofile();
    glue_bench::current_thread_runtime()
        .block_on(glue_bench::serve(
            &listen,
            "fws_echo (fastwebsockets 0.10)",
            |stream| async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new()
                    .serve_connection(io, service_fn(upgrade_request))
                    .with_upgrades()
                    .await;
            },
        ))
        .expect("serve");
}
