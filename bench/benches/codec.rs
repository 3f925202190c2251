//! Single-frame codec benchmark: glue-protocol vs tungstenite vs fastwebsockets.
//!
//! Groups (each with the three libraries side by side, one group per payload size):
//!
//! * `decode/<size>`: a masked client→server binary frame held in memory is fed to a
//!   server-role connection of each library and comes out as an owned, unmasked message.
//!   Each library's connection object is reused across iterations (after a message it is
//!   ready for the next frame); the in-memory transport hands over the same frame bytes
//!   once per iteration, so each library copies the frame out of "the wire" once, as it
//!   would from a socket read.
//!     - ours: `ws::Connection::handle_data` + `poll_event`
//!     - tungstenite: `WebSocket::read` (message level) over an in-memory `Read + Write`
//!     - fastwebsockets: `FragmentCollector::read_frame` over an in-memory
//!       `AsyncRead + AsyncWrite`, polled once with a no-op waker (it never pends here)
//! * `encode/<size>`: a server→client (unmasked) binary frame built as bytes in a reused
//!   buffer: header + payload copy.
//!     - ours: `ws::frame::encode_frame` into a `BytesMut`
//!     - tungstenite: `Frame::message(..).format(&mut Vec)`
//!     - fastwebsockets: `Frame::binary(..).write(&mut Vec)`
//! * `send/<size>`: message-level send of the same frame through each library's connection
//!   to a transport that discards what it is given (so zero-copy paths show as such).
//!     - ours: `Connection::send_binary` + draining `poll_transmit` (payloads ≥ 8 KiB are
//!       queued by reference, not copied)
//!     - tungstenite: `WebSocket::send` (copies into its write buffer, then writes)
//!     - fastwebsockets: `WebSocket::write_frame` (writev of header + payload above 1 KiB)
//! * `unmask/<size>`: the masking kernel alone, in place: ours `ws::apply_mask` vs
//!   `fastwebsockets::unmask` (tungstenite's is private).

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::cell::Cell;
use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

const SIZES: &[(usize, &str)] =
    &[(20, "20B"), (1024, "1KiB"), (16 * 1024, "16KiB"), (1 << 20, "1MiB")];
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 7)) as u8).collect()
}

/// A masked client→server binary frame (built by hand, independent of all three crates).
fn masked_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x82u8];
    let n = payload.len();
    if n < 126 {
        f.push(0x80 | n as u8);
    } else if n <= 0xffff {
        f.push(0x80 | 126);
        f.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(n as u64).to_be_bytes());
    }
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// In-memory transport: yields its bytes once per `rearm()`, then "would block"; discards
/// writes. Shared position so the bench loop can rearm it while a library owns the stream.
///
/// The bytes are placed so that the frame *payload* starts on a 64-byte boundary. Reason:
/// on this machine (AMD EPYC, glibc 2.36) `memcpy` of ≥ ~2 KiB uses `rep movsb`, which runs
/// ~20x slower when `(dst - src) mod 4096` is 1..15 (see README); without the alignment the
/// result of a size depended on where the allocator happened to put each library's buffer.
#[derive(Clone)]
struct MemStream {
    data: Rc<Vec<u8>>,
    start: usize,
    pos: Rc<Cell<usize>>,
}

impl MemStream {
    /// `header_len`: bytes before the payload in `bytes` (0 for a write-only stream).
    fn new(bytes: &[u8], header_len: usize) -> Self {
        let mut data = vec![0u8; bytes.len() + 128];
        let base = data.as_ptr() as usize;
        let start = (64 - (base + header_len) % 64) % 64;
        data[start..start + bytes.len()].copy_from_slice(bytes);
        data.truncate(start + bytes.len()); // keeps the allocation (and the alignment)
        let end = data.len();
        MemStream { data: Rc::new(data), start, pos: Rc::new(Cell::new(end)) }
    }
    /// The frame bytes.
    fn bytes(&self) -> &[u8] {
        &self.data[self.start..]
    }
    fn rearm(&self) {
        self.pos.set(self.start);
    }
    fn chunk(&self, max: usize) -> Option<&[u8]> {
        let pos = self.pos.get();
        if pos >= self.data.len() {
            return None;
        }
        let n = max.min(self.data.len() - pos);
        self.pos.set(pos + n);
        Some(&self.data[pos..pos + n])
    }
}

impl io::Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.chunk(buf.len()) {
            Some(chunk) => {
                buf[..chunk.len()].copy_from_slice(chunk);
                Ok(chunk.len())
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl io::Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.chunk(buf.remaining()) {
            Some(chunk) => {
                buf.put_slice(chunk);
                Poll::Ready(Ok(()))
            }
            None => Poll::Pending,
        }
    }
}

impl tokio::io::AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Polls a future that must complete without waiting (the in-memory stream never pends
/// while armed).
fn ready<F: std::future::Future>(f: F) -> F::Output {
    futures_util::FutureExt::now_or_never(f).expect("in-memory future pended")
}

fn decode(c: &mut Criterion) {
    use glue_protocol::ws::{Config, Connection, Event, Message};
    for &(size, name) in SIZES {
        let data = payload(size);
        let frame = masked_frame(&data);
        let hdr = frame.len() - size;
        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.throughput(Throughput::Bytes(size as u64));

        // ours
        {
            let now = Instant::now();
            let mut conn = Connection::server(Config::default(), now);
            let input = MemStream::new(&frame, hdr);
            let frame = input.bytes();
            // correctness check once
            conn.handle_data(now, frame);
            match conn.poll_event() {
                Some(Event::Message(Message::Binary(b))) => assert_eq!(&b[..], &data[..]),
                other => panic!("ours: unexpected {other:?}"),
            }
            g.bench_function(BenchmarkId::from_parameter("ours"), |b| {
                b.iter(|| {
                    conn.handle_data(now, black_box(frame));
                    match conn.poll_event() {
                        Some(Event::Message(m)) => black_box(m),
                        _ => panic!("no message"),
                    }
                })
            });
        }

        // tungstenite
        {
            use tungstenite::protocol::{Role, WebSocket};
            let stream = MemStream::new(&frame, hdr);
            let handle = stream.clone();
            let mut ws = WebSocket::from_raw_socket(stream, Role::Server, None);
            handle.rearm();
            match ws.read().expect("tungstenite read") {
                tungstenite::Message::Binary(b) => assert_eq!(&b[..], &data[..]),
                other => panic!("tungstenite: unexpected {other:?}"),
            }
            g.bench_function(BenchmarkId::from_parameter("tungstenite"), |b| {
                b.iter(|| {
                    handle.rearm();
                    black_box(ws.read().expect("tungstenite read"))
                })
            });
        }

        // fastwebsockets
        {
            use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
            let stream = MemStream::new(&frame, hdr);
            let handle = stream.clone();
            let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
            handle.rearm();
            let f = ready(ws.read_frame()).expect("fastwebsockets read");
            assert_eq!(f.opcode, OpCode::Binary);
            assert_eq!(&f.payload[..], &data[..]);
            g.bench_function(BenchmarkId::from_parameter("fastwebsockets"), |b| {
                b.iter(|| {
                    handle.rearm();
                    black_box(ready(ws.read_frame()).expect("fastwebsockets read"))
                })
            });
        }
        g.finish();
    }
}

/// A copy of `data` placed so that its first byte has the same address modulo 64 as
/// `target` (the place the library will copy it to), returned as a `Bytes` view. See
/// `MemStream` for why copies are kept co-aligned in this benchmark.
fn coaligned(data: &[u8], target: *const u8) -> Bytes {
    let mut v = vec![0u8; data.len() + 64];
    let off = (target as usize + 64 - v.as_ptr() as usize % 64) % 64;
    v[off..off + data.len()].copy_from_slice(data);
    Bytes::from(v).slice(off..off + data.len())
}

fn encode(c: &mut Criterion) {
    use glue_protocol::ws::frame::{encode_frame, OpCode};
    for &(size, name) in SIZES {
        let data = payload(size);
        let hdr = glue_bench::header_len(size, false);
        let mut expected = Vec::new();
        let mut g = c.benchmark_group(format!("encode/{name}"));
        g.throughput(Throughput::Bytes(size as u64));

        // ours
        {
            let mut buf = BytesMut::new();
            encode_frame(&mut buf, true, OpCode::Binary, None, &data);
            expected.extend_from_slice(&buf);
            let src = coaligned(&data, buf[hdr..].as_ptr());
            g.bench_function(BenchmarkId::from_parameter("ours"), |b| {
                b.iter(|| {
                    buf.clear();
                    encode_frame(&mut buf, true, OpCode::Binary, None, black_box(&src));
                    black_box(&buf);
                })
            });
            assert_eq!(&buf[..], &expected[..]);
        }

        // tungstenite
        {
            use tungstenite::protocol::frame::coding::{Data, OpCode};
            use tungstenite::protocol::frame::Frame;
            let mut out: Vec<u8> = Vec::new();
            Frame::message(Bytes::from(data.clone()), OpCode::Data(Data::Binary), true)
                .format(&mut out)
                .unwrap();
            assert_eq!(out, expected, "tungstenite frame bytes differ");
            let src = coaligned(&data, out[hdr..].as_ptr());
            g.bench_function(BenchmarkId::from_parameter("tungstenite"), |b| {
                b.iter(|| {
                    out.clear();
                    Frame::message(black_box(&src).clone(), OpCode::Data(Data::Binary), true)
                        .format(&mut out)
                        .unwrap();
                    black_box(&out);
                })
            });
        }

        // fastwebsockets
        {
            use fastwebsockets::{Frame, Payload};
            let mut out: Vec<u8> = Vec::new();
            let n = Frame::binary(Payload::Borrowed(&data)).write(&mut out).len();
            assert_eq!(&out[..n], &expected[..], "fastwebsockets frame bytes differ");
            let src = coaligned(&data, out[hdr..].as_ptr());
            g.bench_function(BenchmarkId::from_parameter("fastwebsockets"), |b| {
                b.iter(|| {
                    let bytes = Frame::binary(Payload::Borrowed(black_box(&src))).write(&mut out);
                    black_box(bytes);
                })
            });
        }
        g.finish();
    }
}

fn send(c: &mut Criterion) {
    for &(size, name) in SIZES {
        let data = payload(size);
        let shared = Bytes::from(data.clone());
        let mut g = c.benchmark_group(format!("send/{name}"));
        g.throughput(Throughput::Bytes(size as u64));

        // ours
        {
            use glue_protocol::ws::{Config, Connection};
            let now = Instant::now();
            let mut conn = Connection::server(Config::default(), now);
            g.bench_function(BenchmarkId::from_parameter("ours"), |b| {
                b.iter(|| {
                    conn.send_binary(now, black_box(&shared).clone()).expect("send");
                    while let Some(out) = conn.poll_transmit() {
                        black_box(out);
                    }
                })
            });
        }

        // tungstenite
        {
            use tungstenite::protocol::{Role, WebSocket};
            let mut ws = WebSocket::from_raw_socket(MemStream::new(&[], 0), Role::Server, None);
            g.bench_function(BenchmarkId::from_parameter("tungstenite"), |b| {
                b.iter(|| {
                    ws.send(tungstenite::Message::Binary(black_box(&shared).clone()))
                        .expect("send");
                })
            });
        }

        // fastwebsockets
        {
            use fastwebsockets::{Frame, Payload, Role, WebSocket};
            let mut ws = WebSocket::after_handshake(MemStream::new(&[], 0), Role::Server);
            g.bench_function(BenchmarkId::from_parameter("fastwebsockets"), |b| {
                b.iter(|| {
                    let frame = Frame::binary(Payload::Borrowed(black_box(&data)));
                    ready(ws.write_frame(frame)).expect("send");
                })
            });
        }
        g.finish();
    }
}

fn unmask(c: &mut Criterion) {
    for &(size, name) in SIZES {
        let mut buf = payload(size);
        let mut g = c.benchmark_group(format!("unmask/{name}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::from_parameter("ours"), |b| {
            b.iter(|| glue_protocol::ws::apply_mask(black_box(&mut buf), MASK, 0))
        });
        g.bench_function(BenchmarkId::from_parameter("fastwebsockets"), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), MASK))
        });
        g.finish();
    }
}

criterion_group!(benches, decode, encode, send, unmask);
criterion_main!(benches);
