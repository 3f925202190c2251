//! glue message layer: the message codec, the AjaxSocket request grammar, the init check, and
//! a server socket fed the input as a sequence of messages (split at NUL bytes) on a virtual
//! clock. Nothing may panic; a decoded message re-encodes to bytes that decode to it again; the
//! socket emits `Closed` at most once and nothing after it.
#![no_main]

use glue_protocol::glue::ajax::AjaxRequest;
use glue_protocol::glue::{check_client_init, Message, ServerSocket, SocketConfig, SocketEvent};
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let encoded = m.encode();
        assert_eq!(Message::decode(&encoded), Ok(m), "a decoded message does not round-trip");
    }
    let _ = AjaxRequest::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = check_client_init(text);
    }

    let t0 = Instant::now();
    let config = SocketConfig { max_queued: 8, ..SocketConfig::default() };
    let mut socket = ServerSocket::new("s".repeat(20), config, t0);
    let mut now = t0;
    let mut closed = 0;
    for (i, msg) in data.split(|&b| b == 0).enumerate() {
        // every fourth message first moves the clock by a byte-chosen number of seconds
        if i % 4 == 3 {
            now += Duration::from_secs(u64::from(msg.first().copied().unwrap_or(0) % 40));
            socket.handle_timeout(now);
        }
        socket.handle_message(now, msg);
        let _ = socket.write(now, "m", "x");
        while socket.poll_transmit().is_some() {}
        while let Some(e) = socket.poll_event() {
            assert_eq!(closed, 0, "event after Closed: {e:?}");
            if let SocketEvent::Closed(_) = e {
                closed += 1;
            }
        }
        if socket.is_terminated() {
            assert_eq!(socket.poll_timeout(), None, "deadline after termination");
        }
    }
});
