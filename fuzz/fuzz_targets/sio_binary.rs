//! The Socket.IO `Reconstructor` fed a sequence of Engine.IO messages, checked against a
//! model. The input is split at 0xFF bytes; each piece is an op byte and its argument:
//! `t` text (lossy UTF-8), `b` binary, `h` a generated binary header (count, id, namespace
//! and placeholders from the argument bytes), `r` reset; other op bytes pick one of these.
//! Nothing may panic; results are exactly the model's; attachments never exceed the cap.
#![no_main]

use bytes::Bytes;
use glue_protocol::sio::{Reconstructor, SioError, SioPacket};

const MAX_BYTES: usize = 64;

struct Model {
    header: SioPacket,
    expected: usize,
    received: Vec<Bytes>,
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut r = Reconstructor::new(MAX_BYTES);
    let mut model: Option<Model> = None;
    for piece in data.split(|&b| b == 0xFF) {
        let Some((&op, arg)) = piece.split_first() else { continue };
        let op = match op {
            b't' | b'b' | b'h' | b'r' => op,
            other => [b't', b'b', b'h', b'r'][usize::from(other % 4)],
        };
        assert_eq!(r.is_pending(), model.is_some());
        match op {
            b't' | b'h' => {
                let text =
                    if op == b'h' { header(arg) } else { String::from_utf8_lossy(arg).into() };
                let got = r.handle_text(&text);
                if model.take().is_some() {
                    assert_eq!(got, Err(SioError::UnexpectedText));
                    continue;
                }
                match SioPacket::decode(&text) {
                    Err(e) => assert_eq!(got, Err(e)),
                    Ok((p, 0)) => assert_eq!(got, Ok(Some(p))),
                    Ok((p, n)) => {
                        assert_eq!(got, Ok(None));
                        model = Some(Model { header: p, expected: n, received: Vec::new() });
                    }
                }
            }
            b'b' => {
                let bytes = Bytes::copy_from_slice(arg);
                let got = r.handle_binary(bytes.clone());
                let Some(mut m) = model.take() else {
                    assert_eq!(got, Err(SioError::UnexpectedBinary));
                    continue;
                };
                let total: usize = m.received.iter().map(Bytes::len).sum::<usize>() + bytes.len();
                if total > MAX_BYTES {
                    assert_eq!(got, Err(SioError::AttachmentsTooLarge));
                    continue;
                }
                m.received.push(bytes);
                if m.received.len() < m.expected {
                    assert_eq!(got, Ok(None));
                    model = Some(m);
                    continue;
                }
                let done = SioPacket { attachments: m.received, ..m.header };
                assert_eq!(got.as_ref(), Ok(&Some(done.clone())));
                // A complete packet goes round again through a fresh reconstructor.
                let mut again = Reconstructor::new(MAX_BYTES);
                let mut out = again.handle_text(&done.encode()).expect("re-encoded header");
                for a in &done.attachments {
                    out = again.handle_binary(a.clone()).expect("same attachments");
                }
                assert_eq!(out, Some(done));
            }
            _ => {
                r.reset();
                model = None;
            }
        }
        assert_eq!(r.is_pending(), model.is_some());
    }
});

/// A BINARY_EVENT / BINARY_ACK header built from the argument bytes: mostly valid, with
/// counts 0–12 and placeholder numbers that may be out of range.
fn header(arg: &[u8]) -> String {
    let get = |i: usize| arg.get(i).copied().unwrap_or(0);
    let kind = if get(0) & 1 == 0 { '5' } else { '6' };
    let count = get(1) % 13;
    let mut s = format!("{kind}{count}-");
    if get(2) & 1 == 1 {
        s.push_str("/nsp,");
    }
    if get(2) & 2 == 2 {
        s.push_str(&u64::from(get(3)).to_string());
    }
    s.push_str(if kind == '5' { "[\"ev\"" } else { "[0" });
    for &b in arg.iter().skip(4).take(16) {
        let num = b % 14;
        if b & 0x80 != 0 {
            s.push_str(&format!(",{{\"k\":[{{\"_placeholder\":true,\"num\":{num}}}]}}"));
        } else {
            s.push_str(&format!(",{{\"_placeholder\":true,\"num\":{num}}}"));
        }
    }
    s.push(']');
    s
}
