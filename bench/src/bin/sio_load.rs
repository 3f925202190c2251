//! Socket.IO v2 load generator (Engine.IO 3 over WebSocket, with the glue-tokio WebSocket
//! client), three modes:
//!
//! ```text
//! sio_load --url ws://HOST:PORT --mode echo  --conns N [--size 20] --duration S [--warmup S]
//! sio_load --url ws://HOST:PORT --mode idle  --conns N [--settle S] [--concurrency C] [--hold S]
//! sio_load --url ws://HOST:PORT --mode bcast --conns N [--size 20] [--window W] --duration S
//!          [--warmup S]
//! common: [--server-pid PID] [--label TEXT] [--threads T] [--path /socket.io/]
//! ```
//!
//! Every client connects to `ws://HOST:PORT/socket.io/?EIO=3&transport=websocket`, reads the
//! open packet `0{..}` (for `pingInterval`) and the namespace connect `40`, and then sends an
//! Engine.IO ping `2` every pingInterval (a task of its own per client, through the socket's
//! `WsSender`) so that the server keeps it.
//!
//! * `echo`: closed loop, N clients with one request each in flight: `42<id>["echo","<s>"]`
//!   (s = `size` ASCII letters) answered by the ack `43<id>["<s>"]` (checked in full once per
//!   client, then by its `43<id>` prefix). After `warmup` s it samples the ack count and the
//!   server's CPU time (utime + stime from /proc/PID/stat), runs `duration` s and samples
//!   again.
//! * `idle`: reads the server's VmRSS, opens N clients (`concurrency` handshakes in flight),
//!   waits `settle` s and reads VmRSS again: growth per client. Every client keeps a reader,
//!   so a client the server drops is counted out. `--hold S` keeps the clients S more
//!   seconds after the report (for a heap or memory-map look at the server).
//! * `bcast`: N receivers join room `bench` (`42<id>["join","bench"]`, acked), one more
//!   client (not in the room) triggers broadcasts `42<id>["bcast","bench","<s>"]`, each of
//!   which the server emits as `bcast` (`<s>`) to the room and acks. The trigger keeps at
//!   most `window` broadcasts (default 4) not yet received by every receiver (waiting for
//!   its ack and then until the receipts catch up); receivers count `42["bcast",..` packets.
//!   Deliveries per second and per server CPU-second over the window; at the end it waits
//!   up to 5 s for stragglers and reports how many deliveries never arrived.
//!
//! The runtime is current-thread with `--threads 1` (default; the tool is pinned to one
//! core), else multi-thread with T workers. The last line is machine-readable:
//! `RESULT mode label conns size count secs rate server_cpu_s per_server_cpu_s client_cpu_s
//! extra` — for `idle`: `RESULT idle label conns_open rss0_kb rss1_kb kib_per_conn failed`.

use glue_bench::{proc_cpu_seconds, proc_rss_kb, Args};
use glue_tokio::ws::{connect_with, ClientConfig, Message, WebSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: sio_load --url ws://HOST:PORT --mode echo|idle|bcast --conns N \
[--size BYTES] [--duration SECS] [--warmup SECS] [--settle SECS] [--concurrency C] \
[--window W] [--hold SECS] [--server-pid PID] [--label TEXT] [--threads T] [--path /socket.io/]";

fn main() {
    let args = Args::parse(USAGE);
    let Some(url) = args.get("url") else {
        eprintln!("{USAGE}");
        std::process::exit(2)
    };
    let base = url.trim_end_matches('/').to_string();
    let path = args.str_or("path", "/socket.io/");
    let cfg = Cfg {
        url: format!("{base}{path}?EIO=3&transport=websocket"),
        mode: args.str_or("mode", "echo"),
        conns: args.num("conns", 100),
        size: args.num("size", 20),
        duration: args.num("duration", 10.0),
        warmup: args.num("warmup", 2.0),
        settle: args.num("settle", 5.0),
        hold: args.num("hold", 0.0),
        concurrency: args.num("concurrency", 64),
        window: args.num("window", 4),
        server_pid: args.get("server-pid").map(|p| p.parse().expect("--server-pid")),
        label: args.str_or("label", "-"),
    };
    let threads: usize = args.num("threads", 1);
    let limit = glue_bench::raise_nofile();
    if (limit as usize) < cfg.conns + 64 {
        eprintln!("sio_load: open-files limit {limit} is too low for {} connections", cfg.conns);
        std::process::exit(1);
    }
    let rt = if threads <= 1 {
        glue_bench::current_thread_runtime()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("tokio runtime")
    };
    let r = rt.block_on(async move {
        match cfg.mode.as_str() {
            "echo" => echo(&cfg).await,
            "idle" => idle(&cfg).await,
            "bcast" => bcast(&cfg).await,
            m => Err(format!("unknown mode {m}")),
        }
    });
    match r {
        // Exit without closing handshakes: the servers see the connections drop.
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("sio_load: {e}");
            std::process::exit(1);
        }
    }
}

struct Cfg {
    url: String,
    mode: String,
    conns: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    settle: f64,
    hold: f64,
    concurrency: usize,
    window: u64,
    server_pid: Option<u32>,
    label: String,
}

/// The text of the next text message (binary messages are not expected).
async fn next_text(ws: &mut WebSocket) -> Result<String, String> {
    match ws.recv().await {
        Some(Ok(Message::Text(t))) => Ok(t.as_str().to_owned()),
        Some(Ok(Message::Binary(_))) => Err("unexpected binary message".into()),
        Some(Err(e)) => Err(format!("recv: {e}")),
        None => Err(format!("closed ({:?})", ws.close_reason())),
    }
}

/// Connects, reads the open packet and the `/` connect; starts the ping task.
async fn sio_connect(url: &str) -> Result<WebSocket, String> {
    let mut ws = connect_with(url, ClientConfig::default()).await.map_err(|e| format!("{e}"))?;
    let open = next_text(&mut ws).await?;
    let json = open.strip_prefix('0').ok_or_else(|| format!("expected an open packet: {open}"))?;
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("open packet {json}: {e}"))?;
    let interval = v["pingInterval"].as_u64().ok_or("open packet without pingInterval")?;
    loop {
        let t = next_text(&mut ws).await?;
        if t == "40" || t.starts_with("40/") {
            break;
        }
        if t.starts_with("44") {
            return Err(format!("connect refused: {t}"));
        }
    }
    let tx = ws.sender();
    let every = Duration::from_millis(interval);
    tokio::spawn(async move {
        let mut next = tokio::time::Instant::now() + every;
        loop {
            tokio::time::sleep_until(next).await;
            next += every;
            if tx.send(Message::from("2")).await.is_err() {
                break;
            }
        }
    });
    Ok(ws)
}

/// Sends `42<id>[...]` and waits for `43<id>...` (other packets — pongs `3`, events — are
/// skipped); returns the ack.
async fn request(ws: &mut WebSocket, id: u64, body: &str) -> Result<String, String> {
    ws.send(Message::from(format!("42{id}{body}"))).await.map_err(|e| format!("send: {e}"))?;
    let prefix = format!("43{id}[");
    loop {
        let t = next_text(ws).await?;
        if t.starts_with(&prefix) {
            return Ok(t);
        }
    }
}

fn payload(size: usize) -> String {
    (0..size).map(|i| (b'a' + (i * 7 % 26) as u8) as char).collect()
}

fn cpu(pid: Option<u32>) -> Option<f64> {
    pid.map(|p| proc_cpu_seconds(p).expect("read /proc/PID/stat"))
}

/// Opens `n` clients, `concurrency` at a time; each is handed to `then` (run on its own
/// task). Returns (opened, failed, first error).
async fn open_many<F, Fut>(cfg: &Cfg, n: usize, then: F) -> (usize, usize, Option<String>)
where
    F: Fn(usize, WebSocket) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let sem = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency));
    let mut setups = Vec::with_capacity(n);
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let (url, then) = (cfg.url.clone(), then.clone());
        setups.push(tokio::spawn(async move {
            let r = tokio::time::timeout(Duration::from_secs(10), sio_connect(&url))
                .await
                .unwrap_or_else(|_| Err("no Socket.IO connect within 10 s".into()));
            drop(permit);
            let ws = r?;
            tokio::spawn(then(i, ws));
            Ok::<(), String>(())
        }));
    }
    let (mut ok, mut failed, mut first) = (0, 0, None);
    for h in setups {
        match h.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                first.get_or_insert(e);
            }
        }
    }
    (ok, failed, first)
}

fn report(cfg: &Cfg, what: &str, count: u64, secs: f64, server_cpu: Option<f64>, me: f64, extra: &str) {
    let rate = count as f64 / secs;
    let conns = cfg.conns;
    let size = cfg.size;
    let label = &cfg.label;
    let mode = &cfg.mode;
    print!("{label}: {mode} {conns} clients x {size} B: {count} {what} in {secs:.2} s = {rate:.0}/s");
    match server_cpu {
        Some(c) => println!(
            ", server CPU {c:.2} s ({:.0}% of a core) = {:.0} per server CPU-s, client CPU {me:.2} s ({:.0}%){extra}",
            100.0 * c / secs,
            count as f64 / c,
            100.0 * me / secs
        ),
        None => println!(", client CPU {me:.2} s{extra}"),
    }
    let c = server_cpu.unwrap_or(f64::NAN);
    println!(
        "RESULT {mode} {label} {conns} {size} {count} {secs:.3} {rate:.1} {c:.3} {:.1} {me:.3} {}",
        count as f64 / c,
        if extra.is_empty() { "-".to_string() } else { extra.trim().replace(' ', "_") }
    );
}

async fn echo(cfg: &Cfg) -> Result<(), String> {
    let s = payload(cfg.size);
    let body: Arc<str> = format!("[\"echo\",\"{s}\"]").into();
    let expected: Arc<str> = format!("[\"{s}\"]").into();
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::with_capacity(cfg.conns);
    for i in 0..cfg.conns {
        clients.push(sio_connect(&cfg.url).await.map_err(|e| format!("client #{i}: {e}"))?);
    }
    for mut ws in clients {
        let (body, expected) = (body.clone(), expected.clone());
        let (count, stop, failed) = (count.clone(), stop.clone(), failed.clone());
        tokio::spawn(async move {
            let r: Result<(), String> = async {
                let mut id = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let ack = request(&mut ws, id, &body).await?;
                    if id == 0 && !ack.ends_with(&*expected) {
                        return Err(format!("ack {ack} differs from the echo sent"));
                    }
                    id += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            .await;
            if let Err(e) = r {
                if !stop.load(Ordering::Relaxed) && failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("sio_load: client failed: {e}");
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(cfg.warmup)).await;
    let me = std::process::id();
    let (c0, t0, s0, m0) = (count.load(Ordering::Relaxed), Instant::now(), cpu(cfg.server_pid), cpu(Some(me)));
    tokio::time::sleep(Duration::from_secs_f64(cfg.duration)).await;
    let (c1, t1, s1, m1) = (count.load(Ordering::Relaxed), Instant::now(), cpu(cfg.server_pid), cpu(Some(me)));
    stop.store(true, Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} of {} clients failed during the run", cfg.conns));
    }
    let sc = s0.zip(s1).map(|(a, b)| b - a);
    report(cfg, "acks", c1 - c0, (t1 - t0).as_secs_f64(), sc, m1.unwrap() - m0.unwrap(), "");
    Ok(())
}

async fn idle(cfg: &Cfg) -> Result<(), String> {
    let pid = cfg.server_pid.ok_or("--server-pid is required for --mode idle")?;
    let rss0 = proc_rss_kb(pid).map_err(|e| format!("server VmRSS: {e}"))?;
    let alive = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let a = alive.clone();
    let (_, failed, first) = open_many(cfg, cfg.conns, move |_, mut ws| {
        let alive = a.clone();
        async move {
            alive.fetch_add(1, Ordering::Relaxed);
            // Idle: pongs only; notice a close.
            while let Some(Ok(_)) = ws.recv().await {}
            alive.fetch_sub(1, Ordering::Relaxed);
        }
    })
    .await;
    if let Some(e) = first {
        eprintln!("sio_load: {failed} clients failed, the first: {e}");
    }
    let setup = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(cfg.settle)).await;
    let rss1 = proc_rss_kb(pid).map_err(|e| format!("server VmRSS: {e}"))?;
    let open = alive.load(Ordering::Relaxed);
    let per = (rss1 as f64 - rss0 as f64) / open.max(1) as f64;
    println!(
        "{}: {open} of {} Socket.IO clients open ({failed} failed, set up in {setup:.1} s); \
         server VmRSS {rss0} KiB -> {rss1} KiB = {per:.2} KiB per client",
        cfg.label, cfg.conns
    );
    println!("RESULT idle {} {open} {rss0} {rss1} {per:.2} {failed}", cfg.label);
    if cfg.hold > 0.0 {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::time::sleep(Duration::from_secs_f64(cfg.hold)).await;
    }
    Ok(())
}

async fn bcast(cfg: &Cfg) -> Result<(), String> {
    let n = cfg.conns as u64;
    let received = Arc::new(AtomicU64::new(0));
    let joined = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let (r, j, d) = (received.clone(), joined.clone(), dropped.clone());
    let started = Instant::now();
    let (_, failed, first) = open_many(cfg, cfg.conns, move |_, mut ws| {
        let (received, joined, dropped) = (r.clone(), j.clone(), d.clone());
        async move {
            match request(&mut ws, 0, "[\"join\",\"bench\"]").await {
                Ok(_) => joined.fetch_add(1, Ordering::Relaxed),
                Err(e) => {
                    eprintln!("sio_load: join: {e}");
                    return;
                }
            };
            while let Some(Ok(m)) = ws.recv().await {
                if m.payload().starts_with(b"42[\"bcast\"") {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            dropped.fetch_add(1, Ordering::Relaxed);
        }
    })
    .await;
    if failed > 0 {
        return Err(format!("{failed} receivers failed; the first: {}", first.unwrap_or_default()));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while joined.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline {
            return Err(format!("only {} of {n} receivers joined", joined.load(Ordering::Relaxed)));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("{}: {n} receivers joined in {:.1} s", cfg.label, started.elapsed().as_secs_f64());

    // The trigger: at most `window` broadcasts not yet delivered to every receiver.
    let mut trigger = sio_connect(&cfg.url).await.map_err(|e| format!("trigger: {e}"))?;
    let body = format!("[\"bcast\",\"bench\",\"{}\"]", payload(cfg.size));
    let issued = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stalls = Arc::new(AtomicU64::new(0));
    let (iss, st, stl, rec) = (issued.clone(), stop.clone(), stalls.clone(), received.clone());
    let window = cfg.window.max(1);
    let trig = tokio::spawn(async move {
        let mut id = 0u64;
        while !st.load(Ordering::Relaxed) {
            // Before broadcast k: broadcasts 0..=k-window must have reached everyone.
            if id >= window {
                let need = (id - window + 1) * n;
                let t = Instant::now();
                while rec.load(Ordering::Relaxed) < need {
                    if t.elapsed() > Duration::from_secs(2) {
                        stl.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
            request(&mut trigger, id, &body).await?;
            id += 1;
            iss.store(id, Ordering::Relaxed);
        }
        Ok::<(), String>(())
    });
    tokio::time::sleep(Duration::from_secs_f64(cfg.warmup)).await;
    let me = std::process::id();
    let (c0, t0, s0, m0) =
        (received.load(Ordering::Relaxed), Instant::now(), cpu(cfg.server_pid), cpu(Some(me)));
    tokio::time::sleep(Duration::from_secs_f64(cfg.duration)).await;
    let (c1, t1, s1, m1) =
        (received.load(Ordering::Relaxed), Instant::now(), cpu(cfg.server_pid), cpu(Some(me)));
    stop.store(true, Ordering::Relaxed);
    if trig.is_finished() {
        if let Ok(Err(e)) = trig.await {
            return Err(format!("trigger failed: {e}"));
        }
    }
    // Let the last broadcasts arrive; count what never did.
    let t = Instant::now();
    let expect = || issued.load(Ordering::Relaxed) * n;
    while received.load(Ordering::Relaxed) < expect() && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let missing = expect().saturating_sub(received.load(Ordering::Relaxed));
    let extra = format!(
        " broadcasts={} missing={missing} stalls={} dropped={}",
        issued.load(Ordering::Relaxed),
        stalls.load(Ordering::Relaxed),
        dropped.load(Ordering::Relaxed)
    );
    let sc = s0.zip(s1).map(|(a, b)| b - a);
    report(cfg, "deliveries", c1 - c0, (t1 - t0).as_secs_f64(), sc, m1.unwrap() - m0.unwrap(), &extra);
    Ok(())
}
