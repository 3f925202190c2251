//! Helpers shared by the fuzz targets in `fuzz_targets/`: input chunking, a virtual clock,
//! an independent observer of the WebSocket byte stream a connection writes, and the body of
//! the two `ws_frame_*` targets (which differ only in the role).
//!
//! Everything here panics (through `assert!`) when an invariant of `glue-protocol` breaks, so
//! that libFuzzer records the input as a crash.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use glue_protocol::rand::SeededEntropy;
use glue_protocol::ws::frame::{FrameHeader, OpCode};
use glue_protocol::ws::{
    apply_mask, CloseCode, CloseReason, Config, Connection, Event, KeepAlive, Message, Role,
};
use glue_protocol::Outbox;

/// Splits `data` into a fixed-size header (zero-padded when the input is short) and the rest.
pub fn split_header<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut head = [0u8; N];
    let n = data.len().min(N);
    head[..n].copy_from_slice(&data[..n]);
    (head, &data[n..])
}

/// A small deterministic generator (xorshift64*), seeded from input bytes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Cuts the input into chunks the way a socket might deliver it. `mode` (one input byte)
/// chooses the shape:
///
/// * `mode % 4 == 0`: everything at once;
/// * `mode % 4 == 1`: one byte at a time;
/// * `mode % 4 == 2`: random sizes in `1..=8`;
/// * `mode % 4 == 3`: random sizes in `1..=16 * (mode / 4) + 1`.
///
/// The sizes come from a generator seeded by `seed`, which targets may also use for other
/// decisions (via [`Chunker::rng`]) without disturbing the chunking of a given input much.
#[derive(Debug, Clone)]
pub struct Chunker<'a> {
    rest: &'a [u8],
    max: usize,
    sizes: Rng,
    /// Free for the target's own random decisions (time steps and the like).
    pub rng: Rng,
}

impl<'a> Chunker<'a> {
    /// Chunks of `data` shaped by `mode` and `seed`.
    pub fn new(mode: u8, seed: u8, data: &'a [u8]) -> Self {
        let max = match mode % 4 {
            0 => usize::MAX,
            1 => 1,
            2 => 8,
            _ => 16 * usize::from(mode / 4) + 1,
        };
        Chunker {
            rest: data,
            max,
            sizes: Rng::new(u64::from(seed)),
            rng: Rng::new(u64::from(seed) ^ 0xA5A5),
        }
    }
}

impl<'a> Iterator for Chunker<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let n = if self.max == usize::MAX {
            self.rest.len()
        } else {
            1 + self.sizes.below(self.max as u64) as usize
        };
        let (chunk, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        Some(chunk)
    }
}

/// One fixed starting instant for the virtual clocks of all runs (so that `base() + d` never
/// overflows and runs are reproducible).
pub fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// What a run loop does when a deadline may have passed: call `handle_timeout` while
/// `poll_timeout` says a deadline is due. Asserts that one call clears every due deadline
/// (otherwise a runtime would spin).
pub fn run_timers(conn: &mut Connection, now: Instant) {
    let mut rounds = 0;
    while let Some(t) = conn.poll_timeout() {
        if t > now {
            break;
        }
        conn.handle_timeout(now);
        rounds += 1;
        assert!(
            rounds < 2,
            "handle_timeout({now:?}) left a due deadline {:?}",
            conn.poll_timeout()
        );
    }
}

/// An independent parser of the bytes one side writes (built on `FrameHeader::parse` and
/// `apply_mask` only, not on `Connection`), checking that glue-protocol writes what RFC 6455
/// allows: masked frames exactly from clients, no reserved bits or opcodes, control frames of
/// at most 125 bytes, minimal length encoding, valid close payloads, UTF-8 text, and nothing
/// after a close frame. glue-protocol never fragments what it sends, so FIN is always set.
#[derive(Debug)]
pub struct Wire {
    sender: Role,
    /// Bytes of the frame not yet complete.
    buf: Vec<u8>,
    keep: bool,
    /// With [`Wire::keeping`]: every byte seen and not yet taken, for delivery to the peer.
    pub outbox: std::collections::VecDeque<u8>,
    /// Data messages written, in order: `true` for text.
    pub messages: Vec<(bool, Vec<u8>)>,
    /// Pong payloads written, in order.
    pub pongs: Vec<Vec<u8>>,
    /// Ping frames written.
    pub pings: usize,
    /// The close frame written: code and reason.
    pub close: Option<(Option<u16>, String)>,
    /// Frames written.
    pub frames: usize,
    /// Total bytes seen.
    pub bytes: usize,
    /// Sizes of the partial writes [`drain`] makes.
    pub writes: Rng,
}

impl Wire {
    /// An observer of what a `sender`-role connection writes.
    pub fn new(sender: Role) -> Self {
        Wire {
            sender,
            buf: Vec::new(),
            keep: false,
            outbox: Default::default(),
            messages: Vec::new(),
            pongs: Vec::new(),
            pings: 0,
            close: None,
            frames: 0,
            bytes: 0,
            writes: Rng::new(0),
        }
    }

    /// An observer that also keeps the bytes in [`outbox`](Self::outbox); `seed` drives the
    /// sizes of the partial writes.
    pub fn keeping(sender: Role, seed: u64) -> Self {
        Wire { keep: true, writes: Rng::new(seed), ..Wire::new(sender) }
    }

    /// Feeds written bytes; parses every frame they complete.
    pub fn push(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len();
        if self.keep {
            self.outbox.extend(bytes);
        }
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some((h, n)) = FrameHeader::parse(&self.buf[at..]) {
            assert_eq!(n, h.encoded_len(), "non-minimal length encoding written: {h:?}");
            let len = usize::try_from(h.payload_len).expect("sane payload length");
            if self.buf.len() - at < n + len {
                break;
            }
            let mut payload = self.buf[at + n..at + n + len].to_vec();
            at += n + len;
            self.frame(h, &mut payload);
            self.frames += 1;
        }
        self.buf.drain(..at);
    }

    fn frame(&mut self, h: FrameHeader, payload: &mut [u8]) {
        assert!(self.close.is_none(), "frame after close: {h:?}");
        assert!(h.fin, "glue-protocol does not fragment: {h:?}");
        assert_eq!(h.rsv, 0, "reserved bits written");
        match self.sender {
            Role::Client => apply_mask(payload, h.mask.expect("client frame unmasked"), 0),
            Role::Server => assert!(h.mask.is_none(), "server frame masked"),
        }
        if h.opcode.is_control() {
            assert!(payload.len() <= 125, "control frame of {} bytes written", payload.len());
        }
        match h.opcode {
            OpCode::Text => {
                assert!(std::str::from_utf8(payload).is_ok(), "invalid UTF-8 text written");
                self.messages.push((true, payload.to_vec()));
            }
            OpCode::Binary => self.messages.push((false, payload.to_vec())),
            OpCode::Ping => self.pings += 1,
            OpCode::Pong => self.pongs.push(payload.to_vec()),
            OpCode::Close => {
                self.close = Some(match payload.len() {
                    0 => (None, String::new()),
                    1 => panic!("one-byte close payload written"),
                    _ => {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        assert!(CloseCode(code).is_sendable(), "close code {code} written");
                        let reason = String::from_utf8(payload[2..].to_vec())
                            .expect("close reason written as UTF-8");
                        (Some(code), reason)
                    }
                })
            }
            other => panic!("opcode {other:?} written"),
        }
    }

    /// Whether bytes of an unfinished frame are buffered.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The close frame written, if any.
    pub fn close(&self) -> Option<(Option<u16>, &str)> {
        self.close.as_ref().map(|(c, r)| (*c, r.as_str()))
    }
}

/// What one side has reported through `poll_event`, with the checks every event gets.
#[derive(Debug, Default)]
pub struct Events {
    /// Data messages, in order: `true` for text.
    pub messages: Vec<(bool, Vec<u8>)>,
    /// Ping payloads, in order.
    pub pings: Vec<Vec<u8>>,
    /// Pong payloads, in order.
    pub pongs: Vec<Vec<u8>>,
    /// The one `Closed` reason, once reported.
    pub closed: Option<CloseReason>,
    /// Events reported in total.
    pub count: usize,
}

impl Events {
    /// Records and checks one event of a connection configured with `config`.
    pub fn record(&mut self, event: Event, config: &Config) {
        self.count += 1;
        if let Event::Closed(reason) = event {
            assert!(self.closed.is_none(), "second Closed: {reason:?} after {:?}", self.closed);
            self.closed = Some(reason);
            return;
        }
        assert!(self.closed.is_none(), "{event:?} after Closed({:?})", self.closed);
        match event {
            Event::Message(m) => {
                let len = m.payload().len();
                assert!(len <= config.max_message_size, "message of {len} bytes over the limit");
                match m {
                    Message::Text(t) => {
                        assert!(std::str::from_utf8(t.as_bytes()).is_ok(), "text not UTF-8");
                        assert_eq!(t.as_str().len(), len);
                        self.messages.push((true, t.as_bytes().to_vec()));
                    }
                    Message::Binary(b) => self.messages.push((false, b.to_vec())),
                }
            }
            Event::Ping(p) => {
                assert!(p.len() <= 125, "ping payload of {} bytes", p.len());
                self.pings.push(p.to_vec());
            }
            Event::Pong(p) => {
                assert!(p.len() <= 125, "pong payload of {} bytes", p.len());
                self.pongs.push(p.to_vec());
            }
            Event::Closed(_) => unreachable!(),
        }
    }
}

/// Drains a connection's events and transmits, as the run loop does after every input:
/// events first (their effects may queue bytes), then transmits, then events again, until
/// both are empty. Returns how many events and transmits there were.
pub fn drain(conn: &mut Connection, events: &mut Events, wire: &mut Wire) -> usize {
    drain_with(conn, events, wire, true)
}

/// [`drain`], optionally leaving the transmits queued (a peer that does not read).
pub fn drain_with(
    conn: &mut Connection,
    events: &mut Events,
    wire: &mut Wire,
    transmit: bool,
) -> usize {
    let config = conn.config().clone();
    let mut produced = 0;
    let mut spins = 0;
    loop {
        let mut any = false;
        while let Some(e) = conn.poll_event() {
            events.record(e, &config);
            produced += 1;
            any = true;
            if matches!(events.closed, Some(CloseReason::Protocol(_))) {
                assert!(conn.is_terminated(), "not terminated after a protocol error");
            }
        }
        if transmit {
            // As the runtimes write: through an `Outbox`, in partial vectored writes of random
            // sizes, until it runs dry.
            let mut outbox = Outbox::new();
            loop {
                outbox.fill(conn);
                if outbox.is_empty() {
                    break;
                }
                let waiting = outbox.len_bytes();
                let mut budget = 1 + wire.writes.below(waiting as u64) as usize;
                if wire.writes.below(4) == 0 {
                    budget = waiting;
                }
                let slices = outbox.io_slices();
                let mut written = 0;
                for s in &slices[..outbox.chunks()] {
                    let n = (budget - written).min(s.len());
                    wire.push(&s[..n]);
                    written += n;
                }
                assert_eq!(written, budget);
                outbox.advance(written);
                assert_eq!(outbox.len_bytes(), waiting - written, "Outbox::advance lost bytes");
                produced += 1;
                any = true;
            }
            assert_eq!(conn.buffered_amount(), 0, "poll_transmit left bytes behind");
        }
        if !any {
            return produced;
        }
        spins += 1;
        assert!(spins < 1000, "event/transmit draining does not settle");
    }
}

/// Limits of the `ws_frame_*` targets: small enough to be hit by fuzz inputs.
pub fn small_config(keep_alive: bool) -> Config {
    Config {
        max_frame_size: 64 << 10,
        max_message_size: 128 << 10,
        max_send_buffer: 1 << 20,
        keep_alive: keep_alive.then_some(KeepAlive {
            interval: Duration::from_millis(30),
            timeout: Duration::from_millis(20),
        }),
        close_timeout: Duration::from_millis(100),
    }
}

/// Body of `ws_frame_server` / `ws_frame_client`: random bytes in random chunkings into a
/// `role` connection.
///
/// Input: `[mode, seed, flags, data...]`; `mode`/`seed` shape the chunks (see [`Chunker`]),
/// `flags` bit 0 enables keep-alive (with the virtual clock advancing 0..40 ms per chunk),
/// bit 1 ends the input with `handle_eof`.
pub fn ws_frame(role: Role, data: &[u8]) {
    let ([mode, seed, flags], rest) = split_header::<3>(data);
    header_checks(rest);

    let keep_alive = flags & 1 != 0;
    let config = small_config(keep_alive);
    let mut now = base();
    let mut conn = match role {
        Role::Server => Connection::server(config.clone(), now),
        Role::Client => {
            Connection::client(config.clone(), Box::new(SeededEntropy::new(u64::from(seed))), now)
        }
    };
    assert_eq!(conn.role(), role);
    let mut events = Events::default();
    let mut wire = Wire::new(role);
    wire.writes = Rng::new(u64::from(flags));
    let mut chunks = Chunker::new(mode, seed, rest);
    while let Some(chunk) = chunks.next() {
        let terminated = conn.is_terminated();
        conn.handle_data(now, chunk);
        let produced = drain(&mut conn, &mut events, &mut wire);
        if terminated {
            assert_eq!(produced, 0, "output after termination");
        }
        if keep_alive {
            now += Duration::from_millis(chunks.rng.below(40));
            let terminated = conn.is_terminated();
            run_timers(&mut conn, now);
            let produced = drain(&mut conn, &mut events, &mut wire);
            if terminated {
                assert_eq!(produced, 0, "output after termination");
            }
        }
    }
    if flags & 2 != 0 {
        conn.handle_eof(now);
        drain(&mut conn, &mut events, &mut wire);
        assert!(conn.is_terminated(), "not terminated after EOF");
        assert!(events.closed.is_some(), "no Closed after EOF");
        assert_eq!(conn.poll_timeout(), None);
        conn.handle_data(now, b"\x81\x80\0\0\0\0\x81\0");
        assert_eq!(drain(&mut conn, &mut events, &mut wire), 0, "output after EOF");
    }

    // Every ping was answered, in order (this target never closes from its own side, so a
    // pong is only left out once the peer's close frame or an error ended reading).
    assert_eq!(wire.pongs, events.pings, "pongs written differ from pings received");
    assert!(!wire.has_partial(), "a frame was written in part");
    // The close frame written matches why the connection closed.
    let written = wire.close();
    match &events.closed {
        None => assert_eq!(written, None, "close frame without Closed"),
        Some(CloseReason::Protocol(e)) => {
            assert_eq!(written, Some((Some(e.close_code().0), "")), "close for {e:?}");
            assert!(conn.is_terminated());
        }
        Some(CloseReason::Remote(f)) => {
            assert_eq!(written, Some((f.code.map(|c| c.0), "")), "close reply to {f:?}");
            if role == Role::Server {
                assert!(conn.is_terminated(), "server not terminated after the closing handshake");
            }
        }
        Some(CloseReason::KeepAliveTimeout) => {
            assert_eq!(written, Some((Some(1001), "keep-alive timeout")));
            assert!(conn.is_terminated());
        }
        Some(CloseReason::Abnormal) => assert_eq!(written, None, "close frame after EOF"),
        Some(CloseReason::CloseTimeout) | Some(CloseReason::Local(_)) => {
            panic!("{:?} without a close sent by this side", events.closed)
        }
    }
}

/// `FrameHeader::parse` on raw bytes: a header it returns re-encodes (minimally) to bytes
/// that parse back to the same header, and `apply_mask` agrees with the bytewise definition.
pub fn header_checks(data: &[u8]) {
    match FrameHeader::parse(data) {
        None => {
            assert!(data.len() < 2 || data.len() < FrameHeader::len_from_prefix([data[0], data[1]]))
        }
        Some((h, n)) => {
            assert!((2..=14).contains(&n) && n <= data.len());
            assert_eq!(n, FrameHeader::len_from_prefix([data[0], data[1]]));
            let mut out = bytes::BytesMut::new();
            h.encode(&mut out);
            assert_eq!(out.len(), h.encoded_len());
            let mut raw = [0u8; glue_protocol::ws::frame::MAX_HEADER_LEN];
            let m = h.write_to(&mut raw);
            assert_eq!(&raw[..m], &out[..], "write_to and encode differ");
            assert_eq!(out[0], data[0], "first header byte changed by a round trip");
            let (h2, n2) = FrameHeader::parse(&out).expect("re-encoded header parses");
            assert_eq!((h2, n2), (h, out.len()));
            assert_eq!(h.opcode.as_u8(), data[0] & 0x0f);
            assert_eq!(OpCode::from_u8(h.opcode.as_u8()), h.opcode);

            let payload = &data[n..];
            let mask = h.mask.unwrap_or([data[0], data[1], 0x5a, 0xc3]);
            let offset = usize::from(data[1]);
            let mut fast = payload.to_vec();
            apply_mask(&mut fast, mask, offset);
            for (i, (a, b)) in fast.iter().zip(payload).enumerate() {
                assert_eq!(*a, b ^ mask[(i + offset) % 4], "apply_mask differs at {i}");
            }
        }
    }
}
