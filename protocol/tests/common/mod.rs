//! Shared helpers for the WebSocket tests: a frame builder and decoder, the drain contract, a
//! stream "script" that records what a receiver must report, and [`Pair`], a client and a
//! server wired together in memory on a virtual clock.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use glue_protocol::rand::SeededEntropy;
use glue_protocol::ws::frame::{encode_frame, FrameHeader, OpCode};
use glue_protocol::ws::{apply_mask, Config, Connection, Event, Message, Role};
use glue_protocol::Entropy;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------- frames

/// One whole frame on the wire, as raw fields (any rsv, any opcode, any length).
pub fn raw_frame(
    fin: bool,
    rsv: u8,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) -> Vec<u8> {
    let header = FrameHeader { fin, rsv, opcode, mask, payload_len: payload.len() as u64 };
    let mut b = BytesMut::new();
    header.encode(&mut b);
    let start = b.len();
    b.extend_from_slice(payload);
    if let Some(m) = mask {
        apply_mask(&mut b[start..], m, 0);
    }
    b.to_vec()
}

/// The mask a frame sent *to* a connection of `role` must carry (servers receive masked
/// frames, clients unmasked ones).
pub fn mask_for(receiver: Role, seed: u32) -> Option<[u8; 4]> {
    match receiver {
        Role::Server => Some((seed.wrapping_mul(0x9E37_79B9) ^ 0x5A5A_A5A5).to_be_bytes()),
        Role::Client => None,
    }
}

/// A well-formed single frame addressed to a connection of `receiver`'s role.
pub fn frame_to(receiver: Role, fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    raw_frame(fin, 0, opcode, mask_for(receiver, payload.len() as u32 + 7), payload)
}

/// The payload of a close frame.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// A decoded frame (payload already unmasked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: OpCode,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The close code of a close frame (`None` for an empty payload).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, OpCode::Close, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }

    /// The reason text of a close frame.
    pub fn close_reason(&self) -> &str {
        assert_eq!(self.opcode, OpCode::Close, "not a close frame: {self:?}");
        std::str::from_utf8(self.payload.get(2..).unwrap_or_default()).expect("UTF-8 reason")
    }
}

/// Decodes a byte stream made of whole frames; panics on a truncated one.
pub fn parse_frames(mut wire: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let (h, n) = FrameHeader::parse(wire).expect("complete frame header");
        let len = usize::try_from(h.payload_len).expect("payload fits in memory");
        assert!(wire.len() >= n + len, "truncated frame payload");
        let mut payload = wire[n..n + len].to_vec();
        if let Some(m) = h.mask {
            apply_mask(&mut payload, m, 0);
        }
        out.push(Frame {
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            masked: h.mask.is_some(),
            payload,
        });
        wire = &wire[n + len..];
    }
    out
}

/// Checks that every frame a connection of `sender`'s role emits is masked exactly when it
/// must be (client frames masked, server frames not).
pub fn assert_masking(sender: Role, frames: &[Frame]) {
    for f in frames {
        assert_eq!(f.masked, sender == Role::Client, "{sender:?} sent {f:?}");
    }
}

// ------------------------------------------------------------------------- connections

/// The virtual clock's origin; only offsets from it matter.
pub fn epoch() -> Instant {
    Instant::now()
}

/// A connection of `role` created at `now`.
pub fn connection(role: Role, config: Config, now: Instant) -> Connection {
    match role {
        Role::Server => Connection::server(config, now),
        Role::Client => Connection::client(config, Box::new(SeededEntropy::new(42)), now),
    }
}

/// The other role.
pub fn opposite(role: Role) -> Role {
    match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    }
}

/// Everything a connection has to say right now, following the drain contract: poll
/// transmit and events until both are empty.
#[derive(Debug, Default)]
pub struct Output {
    pub wire: Vec<u8>,
    pub events: Vec<Event>,
}

impl Output {
    pub fn frames(&self) -> Vec<Frame> {
        parse_frames(&self.wire)
    }

    /// The only close frame sent; panics if there is not exactly one, or if it is not last.
    pub fn close_frame(&self) -> Frame {
        let frames = self.frames();
        let closes: Vec<&Frame> = frames.iter().filter(|f| f.opcode == OpCode::Close).collect();
        assert_eq!(closes.len(), 1, "expected exactly one close frame in {frames:?}");
        assert_eq!(frames.last(), Some(closes[0]), "the close frame must be sent last");
        closes[0].clone()
    }

    pub fn messages(&self) -> Vec<Message> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Drains `conn` into `out`.
pub fn drain_into(conn: &mut Connection, out: &mut Output) {
    loop {
        let mut progress = false;
        while let Some(b) = conn.poll_transmit() {
            out.wire.extend_from_slice(&b);
            progress = true;
        }
        while let Some(e) = conn.poll_event() {
            out.events.push(e);
            progress = true;
        }
        if !progress {
            return;
        }
    }
}

/// Drains `conn`.
pub fn drain(conn: &mut Connection) -> Output {
    let mut out = Output::default();
    drain_into(conn, &mut out);
    out
}

/// Feeds `wire` in the given chunks, draining after each one.
pub fn feed_chunks(conn: &mut Connection, now: Instant, chunks: &[&[u8]]) -> Output {
    let mut out = Output::default();
    for c in chunks {
        conn.handle_data(now, c);
        drain_into(conn, &mut out);
    }
    out
}

/// A fresh connection of `role` with `config`, fed `wire` in one piece and drained.
pub fn feed_fresh(role: Role, config: Config, wire: &[u8]) -> (Connection, Output) {
    let now = epoch();
    let mut conn = connection(role, config, now);
    let out = feed_chunks(&mut conn, now, &[wire]);
    (conn, out)
}

/// Splits `wire` at `cuts` (each taken modulo `len + 1`, any order, duplicates allowed).
pub fn split_at_cuts<'a>(wire: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    at.push(0);
    at.push(wire.len());
    at.sort_unstable();
    at.windows(2).map(|w| &wire[w[0]..w[1]]).collect()
}

/// How an input stream is cut into `handle_data` calls.
#[derive(Debug, Clone)]
pub enum Chunking {
    /// One byte per call.
    Bytewise,
    /// At these positions (see [`split_at_cuts`]); empty pieces included.
    Cuts(Vec<usize>),
}

impl Chunking {
    pub fn apply<'a>(&self, wire: &'a [u8]) -> Vec<&'a [u8]> {
        match self {
            Chunking::Bytewise => wire.chunks(1).collect(),
            Chunking::Cuts(cuts) => split_at_cuts(wire, cuts),
        }
    }
}

// ------------------------------------------------------------------------- scripts

/// A byte stream addressed to a connection of role `to`, built frame by frame, with the
/// events and pongs the receiver must produce for it.
#[derive(Debug)]
pub struct Script {
    pub to: Role,
    pub wire: Vec<u8>,
    pub events: Vec<Event>,
    pub pongs: Vec<Vec<u8>>,
    entropy: SeededEntropy,
}

impl Script {
    pub fn new(to: Role, seed: u64) -> Self {
        Script {
            to,
            wire: Vec::new(),
            events: Vec::new(),
            pongs: Vec::new(),
            entropy: SeededEntropy::new(seed),
        }
    }

    /// Appends one frame (via `encode_frame`), masked with a fresh key when the receiver is a
    /// server.
    pub fn frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8]) -> &mut Self {
        let mask = match self.to {
            Role::Server => Some(self.entropy.mask()),
            Role::Client => None,
        };
        let mut b = BytesMut::new();
        encode_frame(&mut b, fin, opcode, mask, payload);
        self.wire.extend_from_slice(&b);
        self
    }

    /// A ping: the receiver reports it and answers with a pong of the same payload.
    pub fn ping(&mut self, payload: &[u8]) -> &mut Self {
        self.frame(true, OpCode::Ping, payload);
        self.events.push(Event::Ping(Bytes::copy_from_slice(payload)));
        self.pongs.push(payload.to_vec());
        self
    }

    /// An unsolicited pong: reported, not answered.
    pub fn pong(&mut self, payload: &[u8]) -> &mut Self {
        self.frame(true, OpCode::Pong, payload);
        self.events.push(Event::Pong(Bytes::copy_from_slice(payload)));
        self
    }

    /// A message, fragmented at `cuts` (see [`split_at_cuts`]; empty fragments allowed), with
    /// `pings[i]` (if any) sent right after fragment `i` when that is not the last fragment.
    pub fn message(&mut self, msg: &Message, cuts: &[usize], pings: &[Vec<u8>]) -> &mut Self {
        let payload = msg.payload().clone();
        let pieces = split_at_cuts(&payload, cuts);
        let last = pieces.len() - 1;
        for (i, piece) in pieces.iter().enumerate() {
            let opcode = match (i, msg) {
                (0, Message::Text(_)) => OpCode::Text,
                (0, Message::Binary(_)) => OpCode::Binary,
                _ => OpCode::Continuation,
            };
            self.frame(i == last, opcode, piece);
            if i < last {
                if let Some(p) = pings.get(i) {
                    self.ping(p);
                }
            }
        }
        self.events.push(Event::Message(msg.clone()));
        self
    }

    /// Feeds the script to a fresh receiver in `chunking`'s pieces and checks it reports
    /// exactly the expected events and answers exactly the expected pongs.
    pub fn check(&self, config: Config, chunking: &Chunking) {
        let now = epoch();
        let mut conn = connection(self.to, config, now);
        let out = feed_chunks(&mut conn, now, &chunking.apply(&self.wire));
        assert_eq!(out.events, self.events);
        let frames = out.frames();
        assert_masking(self.to, &frames);
        let pongs: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                assert_eq!(f.opcode, OpCode::Pong);
                f.payload.clone()
            })
            .collect();
        assert_eq!(pongs, self.pongs);
        assert!(!conn.is_terminated());
    }
}

// ------------------------------------------------------------------------- the pair

/// One end of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// What a direction of the in-memory transport does with the bytes put on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Hands them to the peer at once (zero latency).
    Deliver,
    /// Keeps them until [`Pair::release`].
    Hold,
    /// Loses them (an unresponsive or partitioned peer).
    Drop,
}

/// Application logic run on each event as it is polled (before the next one is polled).
pub type Hook = Box<dyn FnMut(Side, Instant, &mut Connection, &Event)>;

/// `who` replies to every message with the same message.
pub fn echo_hook(who: Side) -> Hook {
    Box::new(move |side, now, conn, event| {
        if let (true, Event::Message(m)) = (side == who, event) {
            conn.send(now, m.clone()).expect("echo");
        }
    })
}

/// Per-direction transport state.
#[derive(Debug)]
struct Pipe {
    link: Link,
    held: Vec<Bytes>,
    /// Everything the sender ever wrote, delivered or not.
    log: Vec<u8>,
    /// Whether the sender's end-of-stream has reached the receiver.
    eof_sent: bool,
}

impl Pipe {
    fn new() -> Self {
        Pipe { link: Link::Deliver, held: Vec::new(), log: Vec::new(), eof_sent: false }
    }
}

/// A client and a server connected in memory, driven on a virtual clock.
///
/// [`drive`](Pair::drive) follows the drain contract for both ends and moves bytes across
/// until nothing changes; when an end is terminated and its output is out, the other end sees
/// end-of-stream (as after a TCP FIN), unless [`auto_eof`](Pair::auto_eof) is off. An end that
/// no longer wants to read is given neither bytes nor end-of-stream.
pub struct Pair {
    pub epoch: Instant,
    pub now: Instant,
    pub client: Connection,
    pub server: Connection,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    pub auto_eof: bool,
    pub hook: Option<Hook>,
    to_server: Pipe,
    to_client: Pipe,
}

impl Pair {
    pub fn new(client_config: Config, server_config: Config) -> Self {
        let epoch = epoch();
        Pair {
            epoch,
            now: epoch,
            client: connection(Role::Client, client_config, epoch),
            server: connection(Role::Server, server_config, epoch),
            client_events: Vec::new(),
            server_events: Vec::new(),
            auto_eof: true,
            hook: None,
            to_server: Pipe::new(),
            to_client: Pipe::new(),
        }
    }

    pub fn default_configs() -> Self {
        Self::new(Config::default(), Config::default())
    }

    /// Virtual time since the pair was created.
    pub fn elapsed(&self) -> Duration {
        self.now - self.epoch
    }

    pub fn conn(&mut self, side: Side) -> &mut Connection {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Sets what happens to the bytes `from` sends.
    pub fn set_link(&mut self, from: Side, link: Link) {
        self.pipe(from).link = link;
    }

    fn pipe(&mut self, from: Side) -> &mut Pipe {
        match from {
            Side::Client => &mut self.to_server,
            Side::Server => &mut self.to_client,
        }
    }

    /// Every byte `from` has written so far, as frames.
    pub fn sent_frames(&self, from: Side) -> Vec<Frame> {
        let pipe = match from {
            Side::Client => &self.to_server,
            Side::Server => &self.to_client,
        };
        parse_frames(&pipe.log)
    }

    /// Takes the events `side` reported so far.
    pub fn take_events(&mut self, side: Side) -> Vec<Event> {
        match side {
            Side::Client => std::mem::take(&mut self.client_events),
            Side::Server => std::mem::take(&mut self.server_events),
        }
    }

    /// Delivers what was held on `from`'s link (at the current instant) and switches it back
    /// to [`Link::Deliver`]; then drives.
    pub fn release(&mut self, from: Side) {
        let now = self.now;
        let held = std::mem::take(&mut self.pipe(from).held);
        self.pipe(from).link = Link::Deliver;
        let peer = match from {
            Side::Client => &mut self.server,
            Side::Server => &mut self.client,
        };
        for b in held {
            if peer.wants_read() {
                peer.handle_data(now, &b);
            }
        }
        self.drive();
    }

    /// `side`'s transport reports end-of-stream (the peer's FIN or a reset); then drives.
    pub fn eof(&mut self, side: Side) {
        let now = self.now;
        self.conn(side).handle_eof(now);
        self.drive();
    }

    /// Runs both ends until neither has anything left to say.
    pub fn drive(&mut self) {
        loop {
            let a = self.pump(Side::Client);
            let b = self.pump(Side::Server);
            if !a && !b {
                return;
            }
        }
    }

    /// One round of the drain contract for `side`; true if anything happened.
    fn pump(&mut self, side: Side) -> bool {
        let now = self.now;
        let Pair {
            client,
            server,
            client_events,
            server_events,
            hook,
            to_server,
            to_client,
            auto_eof,
            ..
        } = self;
        let (me, peer, events, pipe) = match side {
            Side::Client => (client, server, client_events, to_server),
            Side::Server => (server, client, server_events, to_client),
        };
        let mut progress = false;
        loop {
            let mut again = false;
            while let Some(event) = me.poll_event() {
                if let Some(h) = hook.as_mut() {
                    h(side, now, me, &event);
                }
                events.push(event);
                again = true;
            }
            while let Some(b) = me.poll_transmit() {
                pipe.log.extend_from_slice(&b);
                match pipe.link {
                    Link::Deliver if peer.wants_read() => peer.handle_data(now, &b),
                    Link::Deliver | Link::Drop => {}
                    Link::Hold => pipe.held.push(b),
                }
                again = true;
            }
            if !again {
                break;
            }
            progress = true;
        }
        if *auto_eof && me.is_terminated() && !pipe.eof_sent && pipe.held.is_empty() {
            pipe.eof_sent = true;
            if peer.wants_read() {
                peer.handle_eof(now);
            }
            progress = true;
        }
        progress
    }

    /// The earliest deadline of either end.
    pub fn next_timeout(&self) -> Option<Instant> {
        [self.client.poll_timeout(), self.server.poll_timeout()].into_iter().flatten().min()
    }

    /// Moves the clock to the earliest deadline, calls `handle_timeout` on both ends, and
    /// drives.
    /// Returns that deadline as an offset from the epoch.
    pub fn step_to_next_timeout(&mut self) -> Option<Duration> {
        let t = self.next_timeout()?;
        assert!(t >= self.now, "a deadline in the past");
        self.now = t;
        // both ends, deadline or not: early (and late) calls must be harmless
        self.client.handle_timeout(t);
        self.server.handle_timeout(t);
        self.drive();
        Some(t - self.epoch)
    }

    /// Advances the clock to `epoch + at`, handling every deadline on the way.
    pub fn run_until(&mut self, at: Duration) {
        let target = self.epoch + at;
        while self.next_timeout().is_some_and(|t| t <= target) {
            self.step_to_next_timeout();
        }
        assert!(target >= self.now, "time runs forward");
        self.now = target;
    }
}
