//! Shared helpers of the benchmark binaries: argument parsing, a minimal raw WebSocket
//! client (handshake + pre-masked frames, so the load generator spends as little CPU as
//! possible), and readers of `/proc/PID/{stat,status}`.

use std::collections::HashMap;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `--key value` pairs (and bare `--flag`, stored as "true").
pub struct Args {
    map: HashMap<String, String>,
}

impl Args {
    /// Parses `std::env::args()`; exits with `usage` on anything that is not `--key [value]`.
    pub fn parse(usage: &str) -> Args {
        let mut map = HashMap::new();
        let mut it = std::env::args().skip(1).peekable();
        while let Some(a) = it.next() {
            if a == "-h" || a == "--help" {
                eprintln!("{usage}");
                std::process::exit(0);
            }
            let Some(key) = a.strip_prefix("--") else {
                eprintln!("unexpected argument {a}\n{usage}");
                std::process::exit(2);
            };
            let value = match it.peek() {
                Some(v) if !v.starts_with("--") => it.next().unwrap(),
                _ => "true".to_string(),
            };
            map.insert(key.to_string(), value);
        }
        Args { map }
    }

    /// A string option.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// A string option with a default.
    pub fn str_or(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_string()
    }

    /// A parsed option with a default; exits on a parse error.
    pub fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        match self.get(key) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                eprintln!("--{key}: cannot parse {v:?}");
                std::process::exit(2);
            }),
        }
    }
}

/// Splits `ws://host:port/path` (or `host:port`) into (`host:port`, `/path`).
pub fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("ws://").unwrap_or(url);
    match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    }
}

/// Sends an HTTP/1.1 upgrade request and waits for a `101` response head. Any bytes the
/// server sent after the head are returned (normally none).
pub async fn handshake(stream: &mut TcpStream, host: &str, path: &str) -> io::Result<Vec<u8>> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed during handshake"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]);
            if !head.starts_with("HTTP/1.1 101") {
                let line = head.lines().next().unwrap_or("").to_string();
                return Err(io::Error::other(format!("handshake refused: {line}")));
            }
            let ok = head.lines().any(|l| {
                l.to_ascii_lowercase().starts_with("sec-websocket-accept:")
                    && l.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            });
            if !ok {
                return Err(io::Error::other("bad Sec-WebSocket-Accept"));
            }
            return Ok(buf.split_off(end + 4));
        }
        if buf.len() > 16 * 1024 {
            return Err(io::Error::other("response head too long"));
        }
    }
}

/// Reads one unmasked server frame: (opcode, payload).
pub async fn read_frame(stream: &mut TcpStream) -> io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    stream.read_exact(&mut h).await?;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            stream.read_exact(&mut b).await?;
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            stream.read_exact(&mut b).await?;
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await?;
    Ok((h[0] & 0x0f, payload))
}

/// The glue init handshake on an open WebSocket: sends `in{"version":"1.9.1"}` and reads
/// until the `welcome` message the glue-echo servers write to every new socket.
pub async fn glue_init(stream: &mut TcpStream) -> io::Result<()> {
    let init = frame(0x1, br#"in{"version":"1.9.1"}"#, Some([7, 8, 9, 10]));
    stream.write_all(&init).await?;
    loop {
        let (_, payload) = read_frame(stream).await?;
        if payload == b"cd1&mwelcome" {
            return Ok(());
        }
    }
}

/// Header length of a frame with this payload length.
pub fn header_len(payload_len: usize, masked: bool) -> usize {
    let ext = if payload_len < 126 {
        0
    } else if payload_len <= 0xffff {
        2
    } else {
        8
    };
    2 + ext + if masked { 4 } else { 0 }
}

/// A whole frame (FIN set) with `opcode`, masked with `mask` when given.
pub fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let n = payload.len();
    let mut f = Vec::with_capacity(header_len(n, mask.is_some()) + n);
    f.push(0x80 | opcode);
    let m = if mask.is_some() { 0x80 } else { 0 };
    if n < 126 {
        f.push(m | n as u8);
    } else if n <= 0xffff {
        f.push(m | 126);
        f.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        f.push(m | 127);
        f.extend_from_slice(&(n as u64).to_be_bytes());
    }
    match mask {
        Some(k) => {
            f.extend_from_slice(&k);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

/// Process CPU time (user + system, all threads) of `pid` in seconds, from /proc/PID/stat.
pub fn proc_cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; fields after it start at "state".
    let after = &stat[stat.rfind(')').ok_or_else(|| io::Error::other("bad stat"))? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = f[11].parse().map_err(io::Error::other)?;
    let stime: u64 = f[12].parse().map_err(io::Error::other)?;
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((utime + stime) as f64 / tck)
}

/// Resident set size of `pid` in KiB (VmRSS from /proc/PID/status).
pub fn proc_rss_kb(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS"))
}

/// Raises the soft open-files limit to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> u64 {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
        r.rlim_cur
    }
}

/// A current-thread tokio runtime (every server here is pinned to one core, so a
/// multi-thread runtime would only add cross-thread wake-ups).
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// Accepts connections forever, handing each to `handle` on a new task. Accept errors
/// (e.g. EMFILE) are reported and retried after a short pause.
pub async fn serve<F, Fut>(listen: &str, name: &str, handle: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static + Send,
{
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("{name} listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(handle(stream));
            }
            Err(e) => {
                eprintln!("{name}: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
