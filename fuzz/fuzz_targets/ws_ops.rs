//! Operation sequences on an in-memory client/server pair of `ws::Connection`s on a virtual
//! clock: sends of every kind, pings, closes, partial deliveries in both directions, garbage
//! injected into either side, EOFs, timeouts (due and early), time steps, and stalled
//! readers (transmits left queued, so the send buffer fills).
//!
//! Invariants, besides "no panic":
//! * what each side writes is valid RFC 6455 for its role (`glue_fuzz::Wire`), and its data
//!   messages are exactly the sends that returned `Ok`, in order;
//! * a side that got no garbage receives a prefix of what the other side sent, and all of it
//!   once every written byte is delivered while it is still open;
//! * text arrives as UTF-8, no message exceeds `max_message_size`, `Closed` comes at most
//!   once per side and nothing follows it; a `Closed` caused by the peer's close frame carries
//!   the code and reason the peer wrote, and a close started with `close()` writes that frame;
//! * `handle_timeout` clears every due deadline (a run loop cannot spin), and a terminated
//!   side produces no output for any input.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use glue_fuzz::{base, drain_with, Events, Wire};
use glue_protocol::rand::SeededEntropy;
use glue_protocol::ws::frame::{EncodedFrame, OpCode};
use glue_protocol::ws::{
    CloseCode, CloseReason, Config, Connection, KeepAlive, Message, Role, State, UsageError,
};

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

#[derive(Arbitrary, Debug)]
enum Op {
    SendText(Side, String),
    SendBinary(Side, Vec<u8>),
    /// A binary message of `2 * len` copies of `byte` (reaches the frame and message limits).
    SendLarge(Side, u16, u8),
    /// `send_encoded` (server only; a client must refuse it).
    SendEncoded(Side, bool, String),
    Ping(Side, Vec<u8>),
    Pong(Side, Vec<u8>),
    Close(Side, u16, String),
    /// `close(None, reason)`: refused unless `reason` is empty.
    CloseNoCode(Side, String),
    AdvanceTime(u16),
    /// Deliver up to this many bytes (0: all) written by `Side` to the other side.
    Deliver(Side, u16),
    /// Feed these bytes straight into `Side`, as if the peer had sent them.
    InjectGarbage(Side, Vec<u8>),
    Eof(Side),
    /// `true`: run the timers that are due (as a run loop does); `false`: an early call.
    Timeout(Side, bool),
    /// Stop (`true`) or resume (`false`) taking `Side`'s transmits.
    Stall(Side, bool),
}

#[derive(Arbitrary, Debug)]
struct Plan {
    seed: u64,
    /// Keep-alive interval and timeout in ms (at least 1 each).
    keep_alive: Option<(u8, u8)>,
    close_timeout_ms: u8,
    tight_limits: bool,
    ops: Vec<Op>,
}

struct Peer {
    conn: Connection,
    events: Events,
    /// What this side wrote (its outbox holds what is not yet delivered).
    wire: Wire,
    /// Data messages whose send returned `Ok`, in order.
    sent: Vec<(bool, Vec<u8>)>,
    /// The close frame this side's `close()` queued.
    closed_with: Option<(Option<u16>, String)>,
    garbage_in: bool,
    stalled: bool,
}

impl Peer {
    fn drain(&mut self) -> usize {
        drain_with(&mut self.conn, &mut self.events, &mut self.wire, !self.stalled)
    }

    fn sent_ok(&mut self, r: Result<(), UsageError>, text: bool, payload: &[u8]) {
        match r {
            Ok(()) => self.sent.push((text, payload.to_vec())),
            Err(UsageError::Closed) => {
                assert_ne!(self.conn.state(), State::Open, "send refused as Closed while Open")
            }
            Err(UsageError::SendBufferFull { .. }) => assert!(self.stalled, "send buffer full"),
            Err(e) => panic!("unexpected usage error {e:?}"),
        }
    }
}

fn config(plan: &Plan) -> Config {
    let (max_frame_size, max_message_size, max_send_buffer) =
        if plan.tight_limits { (256, 512, 1024) } else { (64 << 10, 128 << 10, 1 << 20) };
    Config {
        max_frame_size,
        max_message_size,
        max_send_buffer,
        keep_alive: plan.keep_alive.map(|(i, t)| KeepAlive {
            interval: Duration::from_millis(1 + u64::from(i)),
            timeout: Duration::from_millis(1 + u64::from(t)),
        }),
        close_timeout: Duration::from_millis(1 + u64::from(plan.close_timeout_ms)),
    }
}

fn run(plan: Plan) {
    let start = base();
    let mut now: Instant = start;
    let config = config(&plan);
    let client = Connection::client(config.clone(), Box::new(SeededEntropy::new(plan.seed)), now);
    let server = Connection::server(config.clone(), now);
    let peer = |conn, role| Peer {
        conn,
        events: Events::default(),
        wire: Wire::keeping(role, plan.seed),
        sent: Vec::new(),
        closed_with: None,
        garbage_in: false,
        stalled: false,
    };
    let mut peers = [peer(client, Role::Client), peer(server, Role::Server)];
    let idx = |s: Side| match s {
        Side::Client => 0,
        Side::Server => 1,
    };

    let mut large = 0usize;
    let mut checked: [Checked; 2] = Default::default();
    for op in plan.ops {
        // Input to a terminated side must produce nothing.
        let quiet: Option<usize> = match &op {
            Op::Deliver(from, _) => Some(1 - idx(*from)),
            Op::InjectGarbage(s, _) | Op::Eof(s) | Op::Timeout(s, _) => Some(idx(*s)),
            _ => None,
        }
        .filter(|&i| peers[i].conn.is_terminated());
        let before = quiet
            .map(|i| (peers[i].events.count, peers[i].wire.bytes, peers[i].conn.buffered_amount()));

        match op {
            Op::SendText(s, text) => {
                let p = &mut peers[idx(s)];
                let r = p.conn.send_text(now, text.as_str());
                p.sent_ok(r, true, text.as_bytes());
            }
            Op::SendBinary(s, data) => {
                let p = &mut peers[idx(s)];
                let r = p.conn.send(now, Message::Binary(data.clone().into()));
                p.sent_ok(r, false, &data);
            }
            Op::SendLarge(s, len, byte) => {
                // At most 256 KiB of large messages per run, to keep runs fast and small.
                large += 2 * usize::from(len);
                if large > 256 << 10 {
                    continue;
                }
                let data = vec![byte; 2 * usize::from(len)];
                let p = &mut peers[idx(s)];
                let r = p.conn.send_binary(now, data.clone());
                p.sent_ok(r, false, &data);
            }
            Op::SendEncoded(s, text, body) => {
                let frame = if text {
                    EncodedFrame::new(OpCode::Text, body.as_bytes())
                } else {
                    EncodedFrame::new(OpCode::Binary, body.as_bytes())
                };
                let p = &mut peers[idx(s)];
                let r = p.conn.send_encoded(now, &frame);
                if s == Side::Client {
                    assert_eq!(r, Err(UsageError::EncodedFrameOnClient));
                } else {
                    p.sent_ok(r, text, body.as_bytes());
                }
            }
            Op::Ping(s, data) | Op::Pong(s, data) if data.len() > 125 => {
                let p = &mut peers[idx(s)];
                let open = p.conn.state() == State::Open;
                let r = p.conn.ping(now, &data);
                assert!(r.is_err(), "ping of {} bytes accepted", data.len());
                let r2 = p.conn.pong(now, &data);
                if open {
                    assert_eq!(r, Err(UsageError::ControlTooLong(data.len())));
                    assert_eq!(r2, Err(UsageError::ControlTooLong(data.len())));
                }
            }
            Op::Ping(s, data) => {
                let p = &mut peers[idx(s)];
                let open = p.conn.state() == State::Open;
                assert_eq!(
                    p.conn.ping(now, &data).is_ok(),
                    open,
                    "ping refused or accepted wrongly"
                );
            }
            Op::Pong(s, data) => {
                let p = &mut peers[idx(s)];
                let open = p.conn.state() == State::Open;
                assert_eq!(
                    p.conn.pong(now, &data).is_ok(),
                    open,
                    "pong refused or accepted wrongly"
                );
            }
            Op::Close(s, code, reason) => {
                let p = &mut peers[idx(s)];
                let was_open = p.conn.state() == State::Open;
                match p.conn.close(now, Some(CloseCode(code)), &reason) {
                    Ok(()) => {
                        assert!(was_open && CloseCode(code).is_sendable() && reason.len() <= 123);
                        assert!(p.closed_with.is_none(), "second close accepted");
                        p.closed_with = Some((Some(code), reason));
                    }
                    Err(UsageError::Closed) => assert!(!was_open),
                    Err(UsageError::InvalidCloseCode(c)) => {
                        assert_eq!(c, code);
                        assert!(!CloseCode(code).is_sendable());
                    }
                    Err(UsageError::CloseReasonTooLong(n)) => assert!(n > 123),
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            Op::CloseNoCode(s, reason) => {
                let p = &mut peers[idx(s)];
                let was_open = p.conn.state() == State::Open;
                match p.conn.close(now, None, &reason) {
                    Ok(()) => {
                        assert!(was_open && reason.is_empty());
                        assert!(p.closed_with.is_none(), "second close accepted");
                        p.closed_with = Some((None, String::new()));
                    }
                    Err(UsageError::Closed) => assert!(!was_open),
                    Err(UsageError::ReasonWithoutCode) => assert!(!reason.is_empty()),
                    Err(UsageError::CloseReasonTooLong(n)) => assert!(n > 123),
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            Op::AdvanceTime(ms) => {
                now += Duration::from_millis(u64::from(ms));
            }
            Op::Deliver(from, max) => {
                let (a, b) = pair(&mut peers, idx(from));
                let n = if max == 0 {
                    a.wire.outbox.len()
                } else {
                    usize::from(max).min(a.wire.outbox.len())
                };
                let bytes: Vec<u8> = a.wire.outbox.drain(..n).collect();
                b.conn.handle_data(now, &bytes);
            }
            Op::InjectGarbage(s, bytes) => {
                let p = &mut peers[idx(s)];
                if !bytes.is_empty() {
                    p.garbage_in = true;
                }
                p.conn.handle_data(now, &bytes);
            }
            Op::Eof(s) => {
                let p = &mut peers[idx(s)];
                p.conn.handle_eof(now);
                assert!(p.conn.is_terminated());
                assert_eq!(p.conn.poll_timeout(), None);
            }
            Op::Timeout(s, due) => {
                let p = &mut peers[idx(s)];
                if due {
                    glue_fuzz::run_timers(&mut p.conn, now);
                } else {
                    p.conn.handle_timeout(now);
                }
                if let Some(t) = p.conn.poll_timeout() {
                    assert!(t > now, "deadline {t:?} still due after handle_timeout({now:?})");
                }
            }
            Op::Stall(s, stall) => peers[idx(s)].stalled = stall,
        }

        for p in peers.iter_mut() {
            p.drain();
        }
        if let (Some(i), Some(before)) = (quiet, before) {
            let p = &peers[i];
            let after = (p.events.count, p.wire.bytes, p.conn.buffered_amount());
            assert_eq!(after, before, "a terminated connection produced output");
        }
        check(&peers, &mut checked);
    }
}

fn pair(peers: &mut [Peer; 2], from: usize) -> (&mut Peer, &mut Peer) {
    let [c, s] = peers;
    if from == 0 {
        (c, s)
    } else {
        (s, c)
    }
}

/// How far [`check`] has compared each side's messages (each is compared once).
#[derive(Default)]
struct Checked {
    /// Messages of this side's wire compared with its sends.
    written: usize,
    /// Messages this side received compared with the other side's sends.
    received: usize,
}

fn check(peers: &[Peer; 2], checked: &mut [Checked; 2]) {
    for i in 0..2 {
        let (a, b) = (&peers[i], &peers[1 - i]);
        // What `a` wrote is what it was asked to send (all of it unless stalled).
        let written = &a.wire.messages;
        assert!(written.len() <= a.sent.len(), "more messages written than sent");
        for (w, sent) in written.iter().zip(&a.sent).skip(checked[i].written) {
            assert_eq!(w, sent, "written message differs from the one sent");
        }
        checked[i].written = written.len();
        if !a.stalled {
            assert_eq!(written.len(), a.sent.len(), "sent messages not written");
        }
        if let Some((code, reason)) = &a.closed_with {
            if let Some(w) = a.wire.close() {
                assert_eq!(w, (*code, reason.as_str()), "close() wrote another close frame");
            }
        }
        if b.garbage_in {
            continue;
        }
        // `b` got only what `a` wrote: a prefix of `a`'s messages, and all of them once
        // everything is delivered while `b` still reads.
        let got = &b.events.messages;
        assert!(got.len() <= a.sent.len(), "more messages received than sent");
        for (g, sent) in got.iter().zip(&a.sent).skip(checked[1 - i].received) {
            assert_eq!(g, sent, "message changed in transit");
        }
        checked[1 - i].received = got.len();
        let all_delivered = !a.stalled && a.wire.outbox.is_empty() && a.conn.buffered_amount() == 0;
        if all_delivered && b.events.closed.is_none() {
            assert_eq!(got.len(), a.sent.len(), "delivered messages not received");
        }
        match &b.events.closed {
            Some(CloseReason::Remote(f)) | Some(CloseReason::Local(f)) => {
                let expected = (f.code.map(|c| c.0), f.reason.as_str());
                assert_eq!(a.wire.close(), Some(expected), "Closed reports another frame");
            }
            _ => {}
        }
    }
}

libfuzzer_sys::fuzz_target!(|plan: Plan| {
    run(plan);
});
