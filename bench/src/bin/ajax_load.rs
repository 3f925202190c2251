//! Closed-loop glue AjaxSocket round-trip load generator.
//!
//! ```text
//! ajax_load --url http://127.0.0.1:PORT/glue/ajax --sessions N --size BYTES --duration SECS
//!           [--warmup SECS] [--server-pid PID] [--label TEXT]
//! ```
//!
//! Each session does what glue.js does: `i` (init), pushes `in{"version":"1.9.1"}`, polls
//! until the server's `welcome` (glue-echo servers), then loops: a poll request is sent on
//! its own keep-alive connection, the push `u<uid>&cd1&mecho:<payload>` on another, and the
//! round trip completes when the poll answers `<token>&cd1&m<payload>`. Counts round trips
//! in the measured window and, with `--server-pid`, the server's CPU time over it.
//!
//! The last line is machine-readable:
//! `RESULT label sessions size round_trips secs rate server_cpu_s per_server_cpu_s client_cpu_s`

use glue_bench::{proc_cpu_seconds, Args};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USAGE: &str = "usage: ajax_load --url http://HOST:PORT/BASE/ajax --sessions N --size BYTES \
--duration SECS [--warmup SECS] [--server-pid PID] [--label TEXT]";

/// One keep-alive HTTP/1.1 connection doing POSTs.
struct Conn {
    s: TcpStream,
    host: String,
    path: String,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(host: &str, path: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(host).await?;
        s.set_nodelay(true)?;
        Ok(Conn { s, host: host.into(), path: path.into(), buf: Vec::with_capacity(512) })
    }

    async fn send(&mut self, body: &[u8]) -> std::io::Result<()> {
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ajax_load\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            self.path,
            self.host,
            body.len()
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.s.write_all(&req).await
    }

    async fn response(&mut self) -> std::io::Result<Vec<u8>> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                if !head.starts_with("http/1.1 200") {
                    let line = head.lines().next().unwrap_or("").to_owned();
                    return Err(std::io::Error::other(format!("status: {line}")));
                }
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    let body = self.buf[end + 4..end + 4 + len].to_vec();
                    self.buf.drain(..end + 4 + len);
                    return Ok(body);
                }
            }
            let n = self.s.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn post(&mut self, body: &[u8]) -> std::io::Result<Vec<u8>> {
        self.send(body).await?;
        self.response().await
    }
}

fn split(body: &[u8]) -> (String, Vec<u8>) {
    match body.iter().position(|&b| b == b'&') {
        Some(i) => (String::from_utf8_lossy(&body[..i]).into_owned(), body[i + 1..].to_vec()),
        None => (String::from_utf8_lossy(body).into_owned(), Vec::new()),
    }
}

async fn session(
    host: String,
    path: String,
    size: usize,
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let mut push = Conn::open(&host, &path).await?;
    let mut poll = Conn::open(&host, &path).await?;
    let (uid, mut token) = {
        let (u, t) = split(&push.post(b"i").await?);
        (u, String::from_utf8_lossy(&t).into_owned())
    };
    push.post(format!("u{uid}&in{{\"version\":\"1.9.1\"}}").as_bytes()).await?;
    loop {
        let body = poll.post(format!("o{uid}&{token}").as_bytes()).await?;
        let (t, msg) = split(&body);
        if !msg.is_empty() {
            token = t;
        }
        if msg == b"cd1&mwelcome" {
            break;
        }
    }
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i * 7 % 26) as u8).collect();
    let push_body = [format!("u{uid}&cd1&mecho:").as_bytes(), &payload].concat();
    let want = [&b"cd1&m"[..], &payload].concat();
    while !stop.load(Ordering::Relaxed) {
        poll.send(format!("o{uid}&{token}").as_bytes()).await?;
        push.post(&push_body).await?;
        loop {
            let body = poll.response().await?;
            let (t, msg) = split(&body);
            if msg.is_empty() {
                // `t`: the poll timed out; poll again with the same token.
                poll.send(format!("o{uid}&{token}").as_bytes()).await?;
                continue;
            }
            token = t;
            if msg != want {
                return Err(std::io::Error::other("unexpected echo"));
            }
            break;
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn main() {
    let args = Args::parse(USAGE);
    let url = args.get("url").unwrap_or_else(|| {
        eprintln!("{USAGE}");
        std::process::exit(2)
    });
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = match rest.find('/') {
        Some(i) => (rest[..i].to_owned(), rest[i..].to_owned()),
        None => (rest.to_owned(), "/glue/ajax".to_owned()),
    };
    let sessions: usize = args.num("sessions", 10);
    let size: usize = args.num("size", 20);
    let duration: f64 = args.num("duration", 10.0);
    let warmup: f64 = args.num("warmup", 2.0);
    let server_pid: Option<u32> = args.get("server-pid").map(|p| p.parse().expect("--server-pid"));
    let label = args.str_or("label", "-");
    glue_bench::raise_nofile();
    let rt = glue_bench::current_thread_runtime();
    rt.block_on(async move {
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicU64::new(0));
        for _ in 0..sessions {
            let (host, path, count, stop, failed) =
                (host.clone(), path.clone(), count.clone(), stop.clone(), failed.clone());
            tokio::spawn(async move {
                if let Err(e) = session(host, path, size, count, stop.clone()).await {
                    if !stop.load(Ordering::Relaxed) && failed.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("ajax_load: session failed: {e}");
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
        let cpu = |pid: Option<u32>| pid.map(|p| proc_cpu_seconds(p).expect("read /proc/PID/stat"));
        let me = Some(std::process::id());
        let (c0, t0, s0, m0) = (count.load(Ordering::Relaxed), Instant::now(), cpu(server_pid), cpu(me));
        tokio::time::sleep(Duration::from_secs_f64(duration)).await;
        let (c1, t1, s1, m1) = (count.load(Ordering::Relaxed), Instant::now(), cpu(server_pid), cpu(me));
        stop.store(true, Ordering::Relaxed);
        let failed = failed.load(Ordering::Relaxed);
        if failed > 0 {
            eprintln!("ajax_load: {failed} of {sessions} sessions failed");
            std::process::exit(1);
        }
        let (n, secs) = (c1 - c0, (t1 - t0).as_secs_f64());
        let server_cpu = s0.zip(s1).map(|(a, b)| b - a).unwrap_or(f64::NAN);
        let client_cpu = m1.unwrap() - m0.unwrap();
        println!(
            "{label}: {sessions} sessions x {size} B: {n} round trips in {secs:.2} s = {:.0}/s, server CPU {server_cpu:.2} s = {:.0} round trips per server CPU-s, client CPU {client_cpu:.2} s",
            n as f64 / secs,
            n as f64 / server_cpu
        );
        println!(
            "RESULT {label} {sessions} {size} {n} {secs:.3} {:.1} {server_cpu:.3} {:.1} {client_cpu:.3}",
            n as f64 / secs,
            n as f64 / server_cpu
        );
        std::process::exit(0);
    });
}
