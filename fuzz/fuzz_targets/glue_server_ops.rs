//! The server-side glue socket on both transports, driven by byte-chosen operations on a
//! virtual clock: AjaxSocket requests parsed from fuzz bytes (init/push/poll with right and
//! wrong User-Agents and tokens, aborted polls, re-queued answers) and the application's
//! commands (write, read, channel modes, close); and a WsSocket fed raw WebSocket bytes.
//! Nothing may panic; every poll answer belongs to a poll that was made and is answered at
//! most once; queues stay within their caps; `Closed` comes at most once.
#![no_main]

use glue_protocol::glue::ajax::{AjaxRequest, AjaxSession};
use glue_protocol::glue::{
    AjaxSocket, CoreEvent, InboxConfig, ReadMode, SocketConfig, SocketCore, WsSocket,
};
use glue_protocol::rand::SeededEntropy;
use glue_protocol::ws::{Config, Connection};
use glue_protocol::Machine;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const CHANNELS: [&str; 3] = ["m", "a", "ü"];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else { return };
    if selector & 1 == 0 {
        ajax(data);
    } else {
        ws(data);
    }
});

fn config() -> (SocketConfig, InboxConfig) {
    (
        SocketConfig { max_queued: 8, ..SocketConfig::default() },
        InboxConfig { max_messages: 4, max_bytes: 64 },
    )
}

fn ajax(data: &[u8]) {
    let t0 = Instant::now();
    let mut now = t0;
    let mut e = SeededEntropy::new(1);
    let (sc, ic) = config();
    let (session, body) =
        AjaxSession::new("u".repeat(10), "ua", Duration::from_secs(35), 4, &mut e);
    let mut token = String::from_utf8(body.to_vec()).unwrap().split_once('&').unwrap().1.to_owned();
    let mut s = AjaxSocket::new(session, SocketCore::new("s".repeat(20), sc, ic, t0));
    let mut open_polls: HashSet<u64> = HashSet::new();
    let mut next_req = 1u64;
    let mut closed = 0;
    for chunk in data.split(|&b| b == 0) {
        let Some((&op, arg)) = chunk.split_first() else { continue };
        match op % 10 {
            0 => {
                // A request body as the client would send it.
                match AjaxRequest::parse(arg) {
                    Ok(AjaxRequest::Push { message, .. }) => {
                        let ua = if arg.len() % 7 == 0 { "other" } else { "ua" };
                        let _ = s.handle_push(now, ua, message, &mut e);
                    }
                    Ok(AjaxRequest::Poll { token: t, .. }) => {
                        if s.handle_poll(now, next_req, "ua", t, &mut e).is_ok() {
                            open_polls.insert(next_req);
                        }
                        next_req += 1;
                    }
                    _ => {}
                }
            }
            1 => {
                if s.handle_poll(now, next_req, "ua", &token, &mut e).is_ok() {
                    open_polls.insert(next_req);
                }
                next_req += 1;
            }
            2 => {
                let _ = s.handle_push(now, "ua", arg, &mut e);
            }
            3 => {
                let text = String::from_utf8_lossy(arg);
                let ch = CHANNELS[arg.len() % 3];
                let _ = s.core_mut().write(now, ch, &text);
                s.after_command(now, &mut e);
            }
            4 => {
                let ch = CHANNELS[arg.first().copied().unwrap_or(0) as usize % 3];
                let mode = [ReadMode::Read, ReadMode::Handler, ReadMode::Discard, ReadMode::Unread]
                    [arg.len() % 4];
                s.core_mut().set_read_mode(now, ch, mode);
                s.after_command(now, &mut e);
            }
            5 => {
                let ch = CHANNELS[arg.len() % 3];
                let _ = s.core_mut().read(now, ch);
                while s.core_mut().poll_dispatch().is_some() {}
                s.after_command(now, &mut e);
            }
            6 => {
                if let Some(&r) = open_polls.iter().next() {
                    s.poll_aborted(r);
                    open_polls.remove(&r);
                }
            }
            7 => {
                now += Duration::from_secs(u64::from(arg.first().copied().unwrap_or(1) % 50));
                s.handle_timeout(now, &mut e);
            }
            8 => {
                s.core_mut().close(now);
                s.after_command(now, &mut e);
            }
            _ => {
                let _ = s.handle_push(now, "ua", br#"in{"version":"1.9.1"}"#, &mut e);
            }
        }
        while let Some(a) = s.poll_answer() {
            assert!(open_polls.remove(&a.request), "answer for an unknown or answered poll");
            let body = String::from_utf8(a.body.to_vec()).expect("answers are UTF-8");
            if let Some((t, _)) = body.split_once('&') {
                token = t.to_owned();
                if arg_requeue(&body) {
                    if let Some(m) = a.message {
                        s.requeue_front(m, &mut e);
                    }
                }
            }
        }
        while let Some(ev) = s.poll_event() {
            assert_eq!(closed, 0, "event after Closed: {ev:?}");
            if let CoreEvent::Closed(_) = ev {
                closed += 1;
            }
        }
        assert!(s.session().queued() <= 4 + 1, "session queue over its cap");
        assert!(s.core().queued() <= 8 + 64, "socket queue unbounded");
    }
}

fn arg_requeue(body: &str) -> bool {
    body.len() % 5 == 0
}

fn ws(data: &[u8]) {
    let t0 = Instant::now();
    let mut now = t0;
    let (sc, ic) = config();
    let conn = Connection::server(Config { max_message_size: 1 << 12, ..Config::default() }, t0);
    let mut core = SocketCore::new("s".repeat(20), sc, ic, t0);
    core.open_channel("a");
    let mut w = WsSocket::new(conn, core, t0);
    let mut closed = 0;
    for (i, chunk) in data.split(|&b| b == 0xff).enumerate() {
        if i % 3 == 2 {
            now += Duration::from_secs(u64::from(chunk.first().copied().unwrap_or(0) % 50));
            w.handle_timeout(now);
        }
        w.handle_data(now, chunk);
        if w.core().is_init_pending() {
            w.core_mut().init_done();
            w.after_command(now);
        }
        if i % 2 == 1 {
            let _ = w.core_mut().read(now, "a");
            let _ = w.core_mut().write(now, "m", "x");
            w.after_command(now);
        }
        while w.poll_transmit().is_some() {}
        while let Some(ev) = w.poll_event() {
            assert_eq!(closed, 0, "event after Closed: {ev:?}");
            if let CoreEvent::Closed(_) = ev {
                closed += 1;
            }
        }
        while w.core_mut().poll_dispatch().is_some() {}
    }
    w.handle_eof(now);
    while w.poll_transmit().is_some() {}
}
