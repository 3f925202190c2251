//! The glue client state machine driven by byte-chosen operations on a virtual clock:
//! commands (connect, send, reconnect, close), transport reports (open, error, closed),
//! server messages from the fuzz bytes, and time. Nothing may panic; actions and events stay
//! bounded; after `close` no transport is opened until `reconnect`.
#![no_main]

use glue_protocol::glue::{Action, ClientConfig, GlueClient};
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let config = ClientConfig { max_buffered: 8, ..ClientConfig::default() };
    let mut c = GlueClient::new(config, t0);
    let mut transport_open = false;
    for chunk in data.split(|&b| b == 0) {
        let Some((&op, arg)) = chunk.split_first() else { continue };
        match op % 11 {
            0 => {
                let _ = c.connect(now);
            }
            1 => {
                let ch = if arg.len() % 2 == 0 { "m" } else { "chan" };
                let _ = c.send(now, ch, &String::from_utf8_lossy(arg));
            }
            2 => {
                let _ = c.reconnect(now);
            }
            3 => c.close(now),
            4 if transport_open => c.handle_transport_open(now),
            5 if transport_open => {
                transport_open = false;
                c.handle_transport_error(now, "boom");
            }
            6 if transport_open => {
                transport_open = false;
                c.handle_transport_closed(now);
            }
            7 | 8 => c.handle_message(now, arg),
            9 => c.handle_message(now, br#"in{"socketID":"abcdefghijklmnopqrst"}"#),
            _ => {
                now += Duration::from_millis(u64::from(arg.first().copied().unwrap_or(1)) * 100);
                c.handle_timeout(now);
            }
        }
        let mut actions = 0;
        while let Some(a) = c.poll_action() {
            actions += 1;
            assert!(actions < 10_000, "unbounded actions");
            match a {
                Action::OpenTransport(_) => transport_open = true,
                Action::CloseTransport => transport_open = false,
                Action::Send(_) => {}
            }
        }
        let mut events = 0;
        while c.poll_event().is_some() {
            events += 1;
            assert!(events < 10_000, "unbounded events");
        }
        assert!(c.buffered() <= 8, "send buffer over its cap");
        if let Some(t) = c.poll_timeout() {
            assert!(t >= t0, "deadline in the past of the start");
        }
    }
});
