//! Socket.IO v2 benchmark server on glue-tokio (`glue_tokio::sio`), default Engine.IO
//! settings (ping interval 25 s, timeout 20 s, path `/socket.io/`), current-thread runtime.
//!
//! `sio_server --listen ADDR [--report-heap] [--trace-size BYTES]`
//!
//! The event contract shared with `sioxide_server` and `sio-server.js`, namespace `/`:
//! * `echo` (…args) with an ack → acked with the same arguments;
//! * `join` (room) → the socket joins `room` (then acked with no arguments if asked);
//! * `bcast` (room, …args) → `bcast` (…args) emitted to every socket in `room` (the sender
//!   included if it is a member), then acked with no arguments if the client asked.
//!
//! With `--report-heap` a counting global allocator is switched on and the live heap bytes
//! (and the most numerous allocation size classes) are printed every 2 s. `--trace-size N`
//! (implies `--report-heap`) also prints the backtrace of two allocations in N's 16-byte size
//! class, after skipping the first 2000 (start-up): where per-socket memory comes from.

use glue_tokio::sio::{SioServer, SioServerOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

struct Counting;
static COUNT: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Live allocations per size (16-byte classes up to 8 KiB; the last class holds the rest).
static BY_SIZE: [AtomicIsize; 513] = [const { AtomicIsize::new(0) }; 513];

fn class(size: usize) -> usize {
    (size.div_ceil(16)).min(512)
}

/// `--trace-size N`: the size class whose allocations get a backtrace (0: none); the first
/// `TRACE_SKIP` are skipped (start-up), then `TRACE_LEFT` are printed.
static TRACE_CLASS: AtomicUsize = AtomicUsize::new(0);
static TRACE_SKIP: AtomicIsize = AtomicIsize::new(2000);
static TRACE_LEFT: AtomicIsize = AtomicIsize::new(2);
thread_local! {
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

fn maybe_trace(size: usize) {
    let c = TRACE_CLASS.load(Ordering::Relaxed);
    if c == 0 || class(size) != c {
        return;
    }
    if TRACE_SKIP.fetch_sub(1, Ordering::Relaxed) > 0 || TRACE_LEFT.fetch_sub(1, Ordering::Relaxed) <= 0 {
        return;
    }
    IN_TRACE.with(|g| {
        if !g.get() {
            g.set(true);
            eprintln!("allocation of {size} B:\n{}", std::backtrace::Backtrace::force_capture());
            g.set(false);
        }
    });
}

// Counting is switched on once, before the runtime starts, so every block freed while it
// is on was also counted when allocated (apart from a few from `main`'s first lines).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
            BY_SIZE[class(l.size())].fetch_add(1, Ordering::Relaxed);
            maybe_trace(l.size());
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
            BY_SIZE[class(l.size())].fetch_sub(1, Ordering::Relaxed);
        }
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
            BY_SIZE[class(l.size())].fetch_sub(1, Ordering::Relaxed);
            BY_SIZE[class(new)].fetch_add(1, Ordering::Relaxed);
            maybe_trace(new);
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let args = glue_bench::Args::parse("usage: sio_server --listen ADDR [--report-heap] [--trace-size BYTES]");
    let listen = args.str_or("listen", "127.0.0.1:9600");
    let report = args.get("report-heap").is_some() || args.get("trace-size").is_some();
    if let Some(n) = args.get("trace-size") {
        let n: usize = n.parse().expect("--trace-size BYTES");
        TRACE_CLASS.store(class(n), Ordering::Relaxed);
    }
    glue_bench::raise_nofile();
    if report {
        COUNT.store(true, Ordering::Relaxed);
    }
    let rt = glue_bench::current_thread_runtime();
    rt.block_on(async move {
        if report {
            tokio::spawn(async {
                loop {
                    let mut top: Vec<(isize, usize)> = BY_SIZE
                        .iter()
                        .enumerate()
                        .map(|(c, n)| (n.load(Ordering::Relaxed), c * 16))
                        .filter(|(n, _)| *n > 1000)
                        .collect();
                    top.sort_unstable_by(|a, b| b.cmp(a));
                    eprintln!(
                        "heap {} live bytes; live allocations (count, size<=): {top:?}",
                        LIVE.load(Ordering::Relaxed)
                    );
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            });
        }
        let server = SioServer::new(SioServerOptions::default());
        let root = server.of("/");
        let ns = root.clone();
        root.on_connection(move |socket| {
            socket.on("echo", |_, p, ack| {
                if let Some(ack) = ack {
                    let _ = ack.send(p.args, p.bins);
                }
            });
            socket.on("join", |s, p, ack| {
                if let Some(room) = p.args.first().and_then(|v| v.as_str()) {
                    s.join(room);
                }
                if let Some(ack) = ack {
                    let _ = ack.send(Vec::new(), Vec::new());
                }
            });
            let ns = ns.clone();
            socket.on("bcast", move |_, p, ack| {
                let mut args = p.args;
                if args.is_empty() {
                    return;
                }
                let room = args.remove(0);
                if let Some(room) = room.as_str() {
                    let _ = ns.to(room).emit_binary("bcast", args, p.bins);
                }
                if let Some(ack) = ack {
                    let _ = ack.send(Vec::new(), Vec::new());
                }
            });
        });
        let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
        println!("sio_server (glue-tokio) listening on {}", listener.local_addr().unwrap());
        server.serve_tcp(listener).await.expect("serve");
    });
}
