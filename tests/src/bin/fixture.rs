//! Test fixture: `fixture <kind> --runtime <tokio|std> [--listen ADDR]`.
//!
//! Kinds:
//! * `ws-echo --listen ADDR`: WebSocket server on any path echoing every text and binary
//!   message unchanged (messages up to 64 MiB).
//! * `autobahn-client`: runs the Autobahn client protocol against `$AUTOBAHN_URL`
//!   (`/getCaseCount`, `/runCase?case=i&agent=A`, `/updateReports?agent=A`), agent `glue-<runtime>`.

use glue_protocol::ws::Config;
use std::process::ExitCode;

const MAX: usize = 64 << 20;

fn ws_config() -> Config {
    Config {
        max_frame_size: MAX,
        max_message_size: MAX,
        max_send_buffer: 2 * MAX,
        ..Config::default()
    }
}

struct Args {
    kind: String,
    runtime: String,
    listen: String,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let kind = it.next().ok_or("usage: fixture <kind> --runtime <tokio|std> [--listen ADDR]")?;
    let mut runtime = String::from("tokio");
    let mut listen = String::from("127.0.0.1:9001");
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runtime" => runtime = value,
            "--listen" => listen = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if runtime != "tokio" && runtime != "std" {
        return Err(format!("unknown runtime {runtime} (tokio|std)"));
    }
    Ok(Args { kind, runtime, listen })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fixture: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match (args.kind.as_str(), args.runtime.as_str()) {
        ("ws-echo", "tokio") => tokio_rt().block_on(tokio_kinds::ws_echo(&args.listen)),
        ("ws-echo", _) => std_kinds::ws_echo(&args.listen),
        ("autobahn-client", "tokio") => tokio_rt().block_on(tokio_kinds::autobahn_client()),
        ("autobahn-client", _) => std_kinds::autobahn_client(),
        (kind, _) => Err(format!("unknown kind {kind}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fixture: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A current-thread runtime when pinned to one core, else a multi-thread one.
fn tokio_rt() -> tokio::runtime::Runtime {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build().expect("tokio runtime")
}

fn autobahn_url() -> Result<String, String> {
    std::env::var("AUTOBAHN_URL").map_err(|_| "AUTOBAHN_URL is not set".to_owned())
}

mod tokio_kinds {
    use super::*;
    use glue_tokio::ws::{connect_with, ClientConfig, ServerConfig, WsServer};

    pub async fn ws_echo(listen: &str) -> Result<(), String> {
        let config = ServerConfig { ws: ws_config(), ..ServerConfig::default() };
        let server = WsServer::bind(listen, config).await.map_err(|e| e.to_string())?;
        println!(
            "ws-echo (tokio) listening on {}",
            server.local_addr().map_err(|e| e.to_string())?
        );
        server
            .serve(|mut ws| async move {
                while let Some(Ok(msg)) = ws.recv().await {
                    if ws.send(msg).await.is_err() {
                        break;
                    }
                }
            })
            .await
            .map_err(|e| e.to_string())
    }

    fn client_config() -> ClientConfig {
        ClientConfig { ws: ws_config(), ..ClientConfig::default() }
    }

    pub async fn autobahn_client() -> Result<(), String> {
        let base = autobahn_url()?;
        let agent = "glue-tokio";
        let mut ws = connect_with(&format!("{base}/getCaseCount"), client_config())
            .await
            .map_err(|e| e.to_string())?;
        let count: usize = match ws.recv().await {
            Some(Ok(m)) => {
                String::from_utf8_lossy(m.payload()).trim().parse().map_err(|_| "bad case count")?
            }
            _ => return Err("no case count".into()),
        };
        while ws.recv().await.is_some() {}
        for case in 1..=count {
            let url = format!("{base}/runCase?case={case}&agent={agent}");
            match connect_with(&url, client_config()).await {
                Ok(mut ws) => {
                    while let Some(Ok(msg)) = ws.recv().await {
                        if ws.send(msg).await.is_err() {
                            break;
                        }
                    }
                }
                Err(e) => eprintln!("case {case}: {e}"),
            }
        }
        let mut ws = connect_with(&format!("{base}/updateReports?agent={agent}"), client_config())
            .await
            .map_err(|e| e.to_string())?;
        while ws.recv().await.is_some() {}
        Ok(())
    }
}

mod std_kinds {
    use super::*;
    use glue_std::ws::{connect_with, ClientConfig, ServerConfig, WsServer};

    pub fn ws_echo(listen: &str) -> Result<(), String> {
        let config = ServerConfig { ws: ws_config(), ..ServerConfig::default() };
        let server = WsServer::bind(listen, config).map_err(|e| e.to_string())?;
        println!("ws-echo (std) listening on {}", server.local_addr().map_err(|e| e.to_string())?);
        server
            .serve(|mut ws| {
                while let Some(Ok(msg)) = ws.recv() {
                    if ws.send(msg).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())
    }

    fn client_config() -> ClientConfig {
        ClientConfig { ws: ws_config(), ..ClientConfig::default() }
    }

    pub fn autobahn_client() -> Result<(), String> {
        let base = autobahn_url()?;
        let agent = "glue-std";
        let mut ws = connect_with(&format!("{base}/getCaseCount"), client_config())
            .map_err(|e| e.to_string())?;
        let count: usize = match ws.recv() {
            Some(Ok(m)) => {
                String::from_utf8_lossy(m.payload()).trim().parse().map_err(|_| "bad case count")?
            }
            _ => return Err("no case count".into()),
        };
        while ws.recv().is_some() {}
        for case in 1..=count {
            let url = format!("{base}/runCase?case={case}&agent={agent}");
            match connect_with(&url, client_config()) {
                Ok(mut ws) => {
                    while let Some(Ok(msg)) = ws.recv() {
                        if ws.send(msg).is_err() {
                            break;
                        }
                    }
                }
                Err(e) => eprintln!("case {case}: {e}"),
            }
        }
        let mut ws = connect_with(&format!("{base}/updateReports?agent={agent}"), client_config())
            .map_err(|e| e.to_string())?;
        while ws.recv().is_some() {}
        Ok(())
    }
}
