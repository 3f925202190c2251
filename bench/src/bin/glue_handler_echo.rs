//! A minimal glue server on glue-tokio for the load tools: writes `welcome` to every new
//! socket and answers `echo:<x>` on the main channel with `<x>` from an `on_read` handler
//! (no task per socket), so the measured costs are the library's.
//!
//! `glue_handler_echo --listen ADDR [--report-heap]`
//!
//! With `--report-heap` it prints the live heap bytes (a counting global allocator) every
//! 2 s, for exact per-socket heap figures without allocator overhead.

use glue_tokio::glue::{Server, ServerOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Live allocations per size (16-byte classes up to 8 KiB; the last class holds the rest).
static BY_SIZE: [AtomicIsize; 513] = [const { AtomicIsize::new(0) }; 513];

fn class(size: usize) -> usize {
    (size.div_ceil(16)).min(512)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        BY_SIZE[class(l.size())].fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        BY_SIZE[class(l.size())].fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        BY_SIZE[class(l.size())].fetch_sub(1, Ordering::Relaxed);
        BY_SIZE[class(new)].fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let args = glue_bench::Args::parse("usage: glue_handler_echo --listen ADDR");
    let listen = args.str_or("listen", "127.0.0.1:9500");
    glue_bench::raise_nofile();
    let rt = glue_bench::current_thread_runtime();
    let report = args.get("report-heap").is_some();
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
                        "heap {} live allocations (count, size<=): {top:?}",
                        LIVE.load(Ordering::Relaxed)
                    );
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            });
        }
        let server = Server::new(ServerOptions { listen_address: listen, ..Default::default() });
        server.on_new_socket(|socket| {
            let _ = socket.try_write("welcome");
            let s = socket.clone();
            socket.on_read(move |data| {
                if let Some(x) = data.strip_prefix("echo:") {
                    if s.try_write(x).is_err() {
                        let (s, x) = (s.clone(), x.to_owned());
                        tokio::spawn(async move { s.write(&x).await });
                    }
                }
            });
        });
        server.run().await.expect("serve");
    });
}
