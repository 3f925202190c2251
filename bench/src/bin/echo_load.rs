//! Closed-loop WebSocket echo load generator.
//!
//! ```text
//! echo_load --url ws://127.0.0.1:PORT/ --conns N --size BYTES --duration SECS
//!           [--warmup SECS] [--server-pid PID] [--label TEXT]
//! ```
//!
//! Opens N connections (raw TCP + HTTP upgrade), then each connection repeatedly sends one
//! masked binary message of `size` bytes and waits for its whole echo before sending the
//! next. After `warmup` seconds it samples the message count and, when `--server-pid` is
//! given, the server's CPU time (utime + stime of /proc/PID/stat); after `duration` more
//! seconds it samples again and prints the rates for that window.
//!
//! The client is deliberately minimal (frames are masked once up front, replies are only
//! header-checked after the first full payload check per connection) so that it costs as
//! little CPU as possible; it runs on a current-thread tokio runtime (pin it to a core).
//!
//! With `--glue`, every connection first does the glue init handshake (`<path>` is then the
//! glue base's `ws`), and each message is the glue message `cd1&mecho:<payload>` (text,
//! payload in ASCII letters) answered by `cd1&m<payload>`: the glue-echo servers' echo.
//!
//! The last line is machine-readable:
//! `RESULT label conns size msgs secs msgs_per_s server_cpu_s msgs_per_server_cpu_s client_cpu_s`

use glue_bench::{frame, handshake, header_len, proc_cpu_seconds, split_url, Args};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USAGE: &str = "usage: echo_load --url ws://HOST:PORT/PATH --conns N --size BYTES \
--duration SECS [--warmup SECS] [--server-pid PID] [--label TEXT] [--glue]";

fn main() {
    let args = Args::parse(USAGE);
    let url = args.get("url").unwrap_or_else(|| {
        eprintln!("{USAGE}");
        std::process::exit(2)
    });
    let (host, path) = split_url(url);
    let conns: usize = args.num("conns", 10);
    let size: usize = args.num("size", 20);
    let duration: f64 = args.num("duration", 10.0);
    let warmup: f64 = args.num("warmup", 2.0);
    let server_pid: Option<u32> = args.get("server-pid").map(|p| p.parse().expect("--server-pid"));
    let label = args.str_or("label", "-");
    let glue = args.get("glue").is_some();
    glue_bench::raise_nofile();

    let rt = glue_bench::current_thread_runtime();
    let result = rt.block_on(run(host, path, conns, size, duration, warmup, server_pid, glue));
    match result {
        Ok(r) => {
            let rate = r.msgs as f64 / r.secs;
            print!(
                "{label}: {conns} conns x {size} B: {} msgs in {:.2} s = {:.0} msg/s",
                r.msgs, r.secs, rate
            );
            match r.server_cpu {
                Some(cpu) => println!(
                    ", server CPU {cpu:.2} s ({:.0}% of a core) = {:.0} msg per server CPU-s, client CPU {:.2} s",
                    100.0 * cpu / r.secs,
                    r.msgs as f64 / cpu,
                    r.client_cpu
                ),
                None => println!(", client CPU {:.2} s", r.client_cpu),
            }
            let cpu = r.server_cpu.unwrap_or(f64::NAN);
            println!(
                "RESULT {label} {conns} {size} {} {:.3} {:.1} {:.3} {:.1} {:.3}",
                r.msgs,
                r.secs,
                rate,
                cpu,
                r.msgs as f64 / cpu,
                r.client_cpu
            );
            // Exit without closing handshakes: the servers see connection resets.
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("echo_load: {e}");
            std::process::exit(1);
        }
    }
}

struct Outcome {
    msgs: u64,
    secs: f64,
    server_cpu: Option<f64>,
    client_cpu: f64,
}

#[allow(clippy::too_many_arguments)] // one call site, plain CLI values
async fn run(
    host: String,
    path: String,
    conns: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    server_pid: Option<u32>,
    glue: bool,
) -> Result<Outcome, String> {
    let mask = Some([0x9c, 0x41, 0x0e, 0x73]); // fixed: fine for a benchmark
    let (request, expected): (Vec<u8>, Vec<u8>) = if glue {
        let payload: Vec<u8> = (0..size).map(|i| b'a' + (i * 7 % 26) as u8).collect();
        let req = [&b"cd1&mecho:"[..], &payload].concat();
        let reply = [&b"cd1&m"[..], &payload].concat();
        (frame(0x1, &req, mask), frame(0x1, &reply, None))
    } else {
        let payload: Vec<u8> = (0..size).map(|i| (i * 7 + 1) as u8).collect();
        (frame(0x2, &payload, mask), frame(0x2, &payload, None))
    };
    let reply_len = expected.len();
    let request: Arc<[u8]> = request.into();
    let expected: Arc<[u8]> = expected.into();
    let body_len = if glue { size + 5 } else { size };
    let reply_head: Arc<[u8]> = expected[..header_len(body_len, false)].into();
    debug_assert_eq!(reply_len, header_len(body_len, false) + body_len);

    let mut streams = Vec::with_capacity(conns);
    for i in 0..conns {
        let mut s = TcpStream::connect(&host).await.map_err(|e| format!("connect #{i}: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        let rest =
            handshake(&mut s, &host, &path).await.map_err(|e| format!("handshake #{i}: {e}"))?;
        if !rest.is_empty() {
            return Err(format!("server sent {} bytes right after the handshake", rest.len()));
        }
        if glue {
            glue_bench::glue_init(&mut s).await.map_err(|e| format!("glue init #{i}: {e}"))?;
        }
        streams.push(s);
    }

    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    for mut s in streams {
        let (request, expected, reply_head) =
            (request.clone(), expected.clone(), reply_head.clone());
        let (count, stop, failed) = (count.clone(), stop.clone(), failed.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; expected.len()];
            let mut first = true;
            let r: std::io::Result<()> = async {
                while !stop.load(Ordering::Relaxed) {
                    s.write_all(&request).await?;
                    s.read_exact(&mut buf).await?;
                    if first {
                        if buf[..] != expected[..] {
                            return Err(std::io::Error::other(
                                "echo differs from the message sent",
                            ));
                        }
                        first = false;
                    } else if buf[..reply_head.len()] != reply_head[..] {
                        return Err(std::io::Error::other("unexpected reply frame header"));
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            .await;
            if let Err(e) = r {
                if !stop.load(Ordering::Relaxed) && failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("echo_load: connection failed: {e}");
                }
            }
        });
    }

    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    let self_pid = std::process::id();
    let cpu = |pid: Option<u32>| pid.map(|p| proc_cpu_seconds(p).expect("read /proc/PID/stat"));
    let (c0, t0, s0, me0) =
        (count.load(Ordering::Relaxed), Instant::now(), cpu(server_pid), cpu(Some(self_pid)));
    tokio::time::sleep(Duration::from_secs_f64(duration)).await;
    let (c1, t1, s1, me1) =
        (count.load(Ordering::Relaxed), Instant::now(), cpu(server_pid), cpu(Some(self_pid)));
    stop.store(true, Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} of {conns} connections failed during the run"));
    }
    Ok(Outcome {
        msgs: c1 - c0,
        secs: (t1 - t0).as_secs_f64(),
        server_cpu: s0.zip(s1).map(|(a, b)| b - a),
        client_cpu: me1.unwrap() - me0.unwrap(),
    })
}
