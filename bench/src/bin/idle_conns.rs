//! Idle-connection memory probe.
//!
//! ```text
//! idle_conns --url ws://127.0.0.1:PORT/ --server-pid PID [--conns 10000]
//!            [--source-ips K] [--concurrency 64] [--settle SECS] [--message-size BYTES]
//!            [--timeout SECS] [--hold SECS] [--label TEXT]
//! ```
//!
//! Reads the server's VmRSS (/proc/PID/status), opens `conns` WebSocket connections
//! (handshake complete; with `--message-size` > 0 each also echoes one binary message of
//! that size first), leaves them idle for `settle` seconds, reads VmRSS again and reports
//! the growth per connection. Connections are spread over `source-ips` local addresses
//! 127.0.0.1, 127.0.0.2, ... so that ephemeral ports never run short. Every connection
//! keeps a reader task, so a connection the server drops is counted. A connection whose
//! connect + handshake (+ echo) takes longer than `timeout` (default 10 s) counts as failed
//! (a server out of file descriptors leaves connections unanswered in its accept queue).
//!
//! With `--glue`, each connection also completes the glue init handshake (the socket exists,
//! its `welcome` arrived) before it idles.
//!
//! The last line is machine-readable:
//! `RESULT label conns_open rss_before_kb rss_after_kb kb_per_conn conns_failed`

use glue_bench::{frame, handshake, proc_rss_kb, split_url, Args};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const USAGE: &str = "usage: idle_conns --url ws://HOST:PORT/PATH --server-pid PID [--conns N] \
[--source-ips K] [--concurrency C] [--settle SECS] [--message-size BYTES] [--timeout SECS] \
[--hold SECS] [--label TEXT] [--glue]";

fn main() {
    let args = Args::parse(USAGE);
    let Some(url) = args.get("url") else {
        eprintln!("{USAGE}");
        std::process::exit(2)
    };
    let (host, path) = split_url(url);
    let pid: u32 = args.num("server-pid", 0);
    if pid == 0 {
        eprintln!("{USAGE}");
        std::process::exit(2)
    }
    let conns: usize = args.num("conns", 10_000);
    let source_ips: u8 = args.num("source-ips", 1);
    let concurrency: usize = args.num("concurrency", 64);
    let settle: f64 = args.num("settle", 3.0);
    let msg_size: usize = args.num("message-size", 0);
    let hold: f64 = args.num("hold", 0.0);
    let timeout = Duration::from_secs_f64(args.num("timeout", 10.0));
    let label = args.str_or("label", "-");
    let glue = args.get("glue").is_some();
    let limit = glue_bench::raise_nofile();
    if (limit as usize) < conns + 64 {
        eprintln!("idle_conns: open-files limit {limit} is too low for {conns} connections");
        std::process::exit(1);
    }

    let rt = glue_bench::current_thread_runtime();
    rt.block_on(async move {
        let dst: SocketAddr = tokio::net::lookup_host(&host)
            .await
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("cannot resolve {host}"));
        let rss0 = proc_rss_kb(pid).expect("server VmRSS");
        let alive = Arc::new(AtomicU64::new(0));
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let started = Instant::now();
        let mut setups = Vec::with_capacity(conns);
        for i in 0..conns {
            let permit = sem.clone().acquire_owned().await.unwrap();
            let (host, path, alive) = (host.clone(), path.clone(), alive.clone());
            let src = Ipv4Addr::new(127, 0, 0, 1 + (i % source_ips as usize) as u8);
            setups.push(tokio::spawn(async move {
                let r = tokio::time::timeout(
                    timeout,
                    open(dst, src, source_ips > 1, &host, &path, msg_size, glue),
                )
                .await
                .unwrap_or_else(|_| Err(format!("no handshake within {timeout:?}")));
                drop(permit);
                let mut s = r?;
                alive.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    // Idle: the servers here send nothing unasked; just notice a close.
                    let mut b = [0u8; 64];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 {
                            break;
                        }
                    }
                    alive.fetch_sub(1, Ordering::Relaxed);
                });
                Ok::<(), String>(())
            }));
        }
        let mut errors = 0;
        for (i, h) in setups.into_iter().enumerate() {
            if let Err(e) = h.await.unwrap() {
                if errors == 0 {
                    eprintln!("idle_conns: connection #{i}: {e}");
                }
                errors += 1;
            }
        }
        let setup_secs = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs_f64(settle)).await;
        let rss1 = proc_rss_kb(pid).expect("server VmRSS");
        let open_now = alive.load(Ordering::Relaxed);
        let per = (rss1 as f64 - rss0 as f64) / open_now.max(1) as f64;
        println!(
            "{label}: {open_now} of {conns} connections open ({errors} failed, set up in {setup_secs:.1} s); \
             server VmRSS {rss0} KiB -> {rss1} KiB = {per:.2} KiB per connection"
        );
        println!("RESULT {label} {open_now} {rss0} {rss1} {per:.2} {errors}");
        if hold > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(hold)).await;
        }
        std::process::exit(if errors > 0 { 1 } else { 0 });
    });
}

async fn open(
    dst: SocketAddr,
    src: Ipv4Addr,
    bind: bool,
    host: &str,
    path: &str,
    msg_size: usize,
    glue: bool,
) -> Result<TcpStream, String> {
    let sock = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if bind {
        sock.bind(SocketAddr::new(src.into(), 0)).map_err(|e| format!("bind {src}: {e}"))?;
    }
    let mut s = sock.connect(dst).await.map_err(|e| format!("connect: {e}"))?;
    let rest = handshake(&mut s, host, path).await.map_err(|e| format!("handshake: {e}"))?;
    if !rest.is_empty() {
        return Err("data right after the handshake".into());
    }
    if glue {
        glue_bench::glue_init(&mut s).await.map_err(|e| format!("glue init: {e}"))?;
    }
    if msg_size > 0 && !glue {
        let payload = vec![0x5au8; msg_size];
        let req = frame(0x2, &payload, Some([1, 2, 3, 4]));
        let expected = frame(0x2, &payload, None);
        s.write_all(&req).await.map_err(|e| format!("send: {e}"))?;
        let mut buf = vec![0u8; expected.len()];
        s.read_exact(&mut buf).await.map_err(|e| format!("echo: {e}"))?;
        if buf != expected {
            return Err("echo differs".into());
        }
    }
    Ok(s)
}
