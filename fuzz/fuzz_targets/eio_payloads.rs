//! Engine.IO decoders: text payloads (UTF-16 lengths), binary payloads, single packets in the
//! string, base64 and raw binary forms, JSONP POST bodies. Nothing may panic; whatever decodes re-encodes to a
//! payload that decodes to the same packets.
#![no_main]

use glue_protocol::eio::{
    decode_binary_payload, decode_jsonp_post, decode_text_payload, encode_binary_payload,
    encode_jsonp, encode_text_payload, Packet,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for decoded in [decode_text_payload(data), decode_binary_payload(data)] {
        let packets = decoded.packets;
        if packets.is_empty() {
            continue;
        }
        let text = encode_text_payload(&packets);
        let again = decode_text_payload(text.as_bytes());
        assert_eq!(again.error, None);
        assert_eq!(again.packets, packets, "text payload round trip");
        let bin = encode_binary_payload(&packets);
        let again = decode_binary_payload(&bin);
        assert_eq!(again.error, None);
        assert_eq!(again.packets, packets, "binary payload round trip");
    }
    if let Ok(p) = Packet::decode_binary(data) {
        assert_eq!(Packet::decode_binary(&p.encode_binary()), Ok(p));
    }
    if let Ok(text) = decode_jsonp_post(data) {
        let script = encode_jsonp("3", &text).expect("digits");
        assert!(script.starts_with("___eio[3](\"") && script.ends_with("\");"));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = Packet::decode_str(s) {
            assert_eq!(Packet::decode_str(&p.encode_str()), Ok(p));
        }
    }
});
