//! Socket.IO packet decoding: the input (lossy UTF-8) as a packet string. Nothing may panic;
//! whatever decodes re-encodes (with its announced attachments) to a string that decodes and
//! reconstructs to the same packet, and re-encodes to itself; the validating constructors
//! agree with the decoder on events and acks they accept.
#![no_main]

use bytes::Bytes;
use glue_protocol::sio::{Reconstructor, SioPacket, SioPacketType};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let Ok((p, n)) = SioPacket::decode(&s) else { return };
    assert!(p.attachments.is_empty());
    assert_eq!(n > 0, p.kind.is_binary(), "attachments exactly for 5/6");
    assert!(n <= glue_protocol::sio::MAX_ATTACHMENTS);

    let att: Vec<Bytes> = (0..n).map(|i| Bytes::from(vec![i as u8; i])).collect();
    let full = SioPacket { attachments: att.clone(), ..p.clone() };
    let encoded = full.encode();
    assert_eq!(SioPacket::decode(&encoded), Ok((p.clone(), n)), "round trip of {encoded:?}");

    let mut r = Reconstructor::new(1024);
    let mut out = r.handle_text(&encoded).expect("decodes");
    for a in &att {
        assert!(out.is_none() && r.is_pending());
        out = r.handle_binary(a.clone()).expect("within limits");
    }
    assert!(!r.is_pending());
    assert_eq!(out.as_ref(), Some(&full));
    assert_eq!(full.encode(), encoded);

    // The constructors accept a subset of what decodes, and build the same packet.
    let args = p.args().to_vec();
    match p.kind {
        SioPacketType::Event | SioPacketType::BinaryEvent => {
            if let Some(name) = p.event_name() {
                if let Ok(c) = SioPacket::event(&p.nsp, name, args, att.clone(), p.id) {
                    assert_eq!(c, full);
                }
            }
        }
        SioPacketType::Ack | SioPacketType::BinaryAck => {
            if let (Some(id), Some(_)) = (p.id, &p.data) {
                if let Ok(c) = SioPacket::ack(&p.nsp, id, args, att) {
                    assert_eq!(c, full);
                }
            }
        }
        SioPacketType::Error => {
            if let (None, Some(d)) = (p.id, &p.data) {
                assert_eq!(SioPacket::error(&p.nsp, d.clone()).as_ref(), Ok(&full));
            }
        }
        SioPacketType::Connect | SioPacketType::Disconnect => {}
    }
});
