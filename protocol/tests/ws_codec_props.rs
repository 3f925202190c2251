//! Property tests of the WebSocket codecs: frame headers, masking, whole frames decoded by a
//! connection of the opposite role, fragmentation with interleaved control frames, arbitrary
//! chunking of the input stream, and incremental UTF-8 validation.

mod common;

mod ws_codec_props {
    use super::common::*;
    use bytes::{Bytes, BytesMut};
    use glue_protocol::ws::frame::{encode_frame, FrameHeader, OpCode, MAX_HEADER_LEN};
    use glue_protocol::ws::{
        apply_mask, CloseReason, Config, Connection, Event, Message, ProtocolError, Role,
    };
    use proptest::prelude::*;

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![Just(Role::Server), Just(Role::Client)]
    }

    /// Payload lengths from every size class of the length field.
    fn payload_len() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..=125,
            126u64..=65535,
            65536u64..=u64::MAX,
            Just(125u64),
            Just(126u64),
            Just(65535u64),
            Just(65536u64),
            Just(u64::MAX),
            Just(1u64 << 63),
        ]
    }

    fn header() -> impl Strategy<Value = FrameHeader> {
        (any::<bool>(), 0u8..8, 0u8..16, proptest::option::of(any::<[u8; 4]>()), payload_len())
            .prop_map(|(fin, rsv, op, mask, payload_len)| FrameHeader {
                fin,
                rsv,
                opcode: OpCode::from_u8(op),
                mask,
                payload_len,
            })
    }

    fn chunking() -> impl Strategy<Value = Chunking> {
        prop_oneof![
            1 => Just(Chunking::Bytewise),
            4 => proptest::collection::vec(any::<usize>(), 0..24).prop_map(Chunking::Cuts),
        ]
    }

    /// Text with plenty of 2-, 3- and 4-byte sequences.
    fn multibyte_text() -> impl Strategy<Value = String> {
        prop_oneof!["[aé€𝄞κόσμε\u{10FFFF}\u{80}\u{7FF}\u{800}\u{FFFF}]{0,60}", any::<String>()]
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            multibyte_text().prop_map(Message::from),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Message::from),
            // a few that need the 16-bit length form
            (126usize..1200, any::<u8>()).prop_map(|(n, b)| Message::from(vec![b; n])),
        ]
    }

    fn control_payload() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..=125)
    }

    /// A sequence whose invalidity std's validator reports with an `error_len`.
    fn invalid_utf8() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(vec![0xFF]),
            Just(vec![0xFE]),
            Just(vec![0x80]),
            Just(vec![0xBF]),
            Just(vec![0xC0, 0x80]),
            Just(vec![0xC1, 0xBF]),
            Just(vec![0xE0, 0x80, 0x80]),
            Just(vec![0xED, 0xA0, 0x80]),
            Just(vec![0xF4, 0x90, 0x80, 0x80]),
            Just(vec![0xF5, 0x80, 0x80, 0x80]),
            Just(vec![0xF8, 0x88, 0x80, 0x80, 0x80]),
            Just(vec![0xE2, 0x82, b'a']),
            Just(vec![0xF0, 0x9D, 0x84]), // truncated 4-byte sequence, then more text
        ]
    }

    fn is_closed_utf8(e: &Event) -> bool {
        matches!(e, Event::Closed(CloseReason::Protocol(ProtocolError::InvalidUtf8)))
    }

    fn reference_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= mask[(i + offset) % 4];
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn header_roundtrip(h in header()) {
            let mut b = BytesMut::new();
            h.encode(&mut b);
            prop_assert_eq!(b.len(), h.encoded_len());
            prop_assert!(b.len() <= MAX_HEADER_LEN);
            prop_assert_eq!(FrameHeader::len_from_prefix([b[0], b[1]]), b.len());
            // the length field uses the size class of the payload length
            let ext = b.len() - 2 - if h.mask.is_some() { 4 } else { 0 };
            let (marker, want_ext) = match h.payload_len {
                n if n <= 125 => (n as u8, 0),
                n if n <= 65535 => (126, 2),
                _ => (127, 8),
            };
            prop_assert_eq!(b[1] & 0x7f, marker);
            prop_assert_eq!(ext, want_ext);
            prop_assert_eq!(b[1] & 0x80 != 0, h.mask.is_some());
            let (parsed, n) = FrameHeader::parse(&b).expect("whole header");
            prop_assert_eq!(parsed, h);
            prop_assert_eq!(n, b.len());
            // every strict prefix is incomplete; trailing bytes are not part of the header
            for cut in 0..b.len() {
                prop_assert!(FrameHeader::parse(&b[..cut]).is_none());
            }
            b.extend_from_slice(&[0xAB; 20]);
            prop_assert_eq!(FrameHeader::parse(&b), Some((h, n)));
        }

        #[test]
        fn opcode_roundtrip(v in 0u8..16) {
            let op = OpCode::from_u8(v);
            prop_assert_eq!(op.as_u8(), v);
            prop_assert_eq!(op.is_control(), v >= 8);
            prop_assert_eq!(matches!(op, OpCode::Reserved(_)), matches!(v, 3..=7 | 0xB..=0xF));
        }

        #[test]
        fn mask_matches_reference_and_is_an_involution(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            mask in any::<[u8; 4]>(),
            offset in 0usize..1000,
            split in any::<usize>(),
        ) {
            let mut fast = data.clone();
            apply_mask(&mut fast, mask, offset);
            let mut slow = data.clone();
            reference_mask(&mut slow, mask, offset);
            prop_assert_eq!(&fast, &slow);
            apply_mask(&mut fast, mask, offset);
            prop_assert_eq!(&fast, &data);
            // masking in two pieces, the second at the right offset, is the same
            let at = split % (data.len() + 1);
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(at);
            apply_mask(a, mask, offset);
            apply_mask(b, mask, offset + at);
            prop_assert_eq!(&pieces, &slow);
        }

        #[test]
        fn encoded_frame_decodes_on_the_other_side(
            msg in message(),
            receiver in role(),
            mask in any::<[u8; 4]>(),
        ) {
            let opcode = if msg.is_text() { OpCode::Text } else { OpCode::Binary };
            let mask = (receiver == Role::Server).then_some(mask);
            let mut b = BytesMut::new();
            encode_frame(&mut b, true, opcode, mask, msg.payload());
            let (_, n) = FrameHeader::parse(&b).expect("header");
            prop_assert_eq!(b.len(), n + msg.payload().len());
            let (conn, out) = feed_fresh(receiver, Config::default(), &b);
            prop_assert_eq!(out.events, vec![Event::Message(msg)]);
            prop_assert!(out.wire.is_empty());
            prop_assert!(!conn.is_terminated());
        }

        #[test]
        fn connection_output_decodes_on_the_other_side(
            msgs in proptest::collection::vec(message(), 0..6),
            sender in role(),
            chunks in chunking(),
        ) {
            let now = epoch();
            let mut tx = connection(sender, Config::default(), now);
            for m in &msgs {
                tx.send(now, m.clone()).unwrap();
            }
            let sent = drain(&mut tx);
            assert_masking(sender, &sent.frames());
            let mut rx = connection(opposite(sender), Config::default(), now);
            let out = feed_chunks(&mut rx, now, &chunks.apply(&sent.wire));
            prop_assert_eq!(out.messages(), msgs);
        }

        #[test]
        fn fragments_with_interleaved_pings(
            msg in message(),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            pings in proptest::collection::vec(control_payload(), 0..8),
            receiver in role(),
            seed in any::<u64>(),
            chunks in chunking(),
        ) {
            let mut script = Script::new(receiver, seed);
            script.message(&msg, &cuts, &pings);
            script.check(Config::default(), &Chunking::Cuts(Vec::new()));
            script.check(Config::default(), &chunks);
        }

        #[test]
        fn any_chunking_of_a_stream_decodes_the_same(
            items in proptest::collection::vec(
                (message(), proptest::collection::vec(any::<usize>(), 0..4),
                 proptest::collection::vec(control_payload(), 0..3),
                 proptest::option::of(control_payload())),
                0..8),
            receiver in role(),
            seed in any::<u64>(),
            chunks in chunking(),
        ) {
            let mut script = Script::new(receiver, seed);
            for (msg, cuts, pings, pong) in &items {
                script.message(msg, cuts, pings);
                if let Some(p) = pong {
                    script.pong(p);
                }
            }
            script.check(Config::default(), &chunks);
        }

        #[test]
        fn text_split_inside_utf8_sequences(
            text in "[é€𝄞\u{10FFFF}]{1,40}",
            cuts in proptest::collection::vec(any::<usize>(), 1..10),
            receiver in role(),
            seed in any::<u64>(),
            chunks in chunking(),
        ) {
            // most cuts land inside a multibyte sequence
            let msg = Message::from(text);
            let mut script = Script::new(receiver, seed);
            script.message(&msg, &cuts, &[]);
            script.check(Config::default(), &chunks);
        }

        /// Invalid UTF-8 anywhere in a (fragmented, chunked) text message fails the
        /// connection with 1007, and no message is delivered.
        #[test]
        fn invalid_utf8_anywhere_is_1007(
            prefix in multibyte_text(),
            bad in invalid_utf8(),
            suffix in multibyte_text(),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            receiver in role(),
            chunks in chunking(),
        ) {
            let mut payload = prefix.into_bytes();
            payload.extend_from_slice(&bad);
            payload.extend_from_slice(suffix.as_bytes());
            prop_assume!(std::str::from_utf8(&payload).is_err());
            let mut wire = Vec::new();
            let pieces = split_at_cuts(&payload, &cuts);
            for (i, p) in pieces.iter().enumerate() {
                let op = if i == 0 { OpCode::Text } else { OpCode::Continuation };
                wire.extend(frame_to(receiver, i == pieces.len() - 1, op, p));
            }
            let now = epoch();
            let mut conn = connection(receiver, Config::default(), now);
            let out = feed_chunks(&mut conn, now, &chunks.apply(&wire));
            prop_assert_eq!(out.events.len(), 1);
            prop_assert!(is_closed_utf8(&out.events[0]), "{:?}", out.events);
            prop_assert_eq!(out.close_frame().close_code(), Some(1007));
            prop_assert!(conn.is_terminated());
        }

        /// The failure is reported as soon as the bytes read so far can no longer be the start
        /// of valid UTF-8 (std's `error_len` is the oracle), not when the message ends.
        #[test]
        fn invalid_utf8_fails_fast(
            prefix in multibyte_text(),
            bad in invalid_utf8(),
            suffix in multibyte_text(),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            receiver in role(),
        ) {
            let mut payload = prefix.into_bytes();
            payload.extend_from_slice(&bad);
            payload.extend_from_slice(suffix.as_bytes());
            let pieces = split_at_cuts(&payload, &cuts);
            // the first fragment after which the bytes are definitely invalid
            let mut seen = 0;
            let mut fatal = pieces.len() - 1;
            for (i, p) in pieces.iter().enumerate() {
                seen += p.len();
                if matches!(std::str::from_utf8(&payload[..seen]), Err(e) if e.error_len().is_some()) {
                    fatal = i;
                    break;
                }
            }
            let now = epoch();
            let mut conn = connection(receiver, Config::default(), now);
            for (i, p) in pieces.iter().enumerate() {
                let op = if i == 0 { OpCode::Text } else { OpCode::Continuation };
                let fin = i == pieces.len() - 1;
                let out = feed_chunks(&mut conn, now, &[&frame_to(receiver, fin, op, p)]);
                if i < fatal {
                    prop_assert!(out.events.is_empty(), "failed early at {}: {:?}", i, out.events);
                    prop_assert!(out.wire.is_empty());
                } else {
                    prop_assert_eq!(out.events.len(), 1);
                    prop_assert!(is_closed_utf8(&out.events[0]), "{:?}", out.events);
                    prop_assert_eq!(out.close_frame().close_code(), Some(1007));
                    break;
                }
            }
        }
    }

    #[test]
    fn header_size_class_boundaries() {
        for (len, header_len) in
            [(0u64, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (u64::MAX >> 1, 10)]
        {
            for mask in [None, Some([1, 2, 3, 4])] {
                let h = FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode: OpCode::Binary,
                    mask,
                    payload_len: len,
                };
                let mut b = BytesMut::new();
                h.encode(&mut b);
                let extra = if mask.is_some() { 4 } else { 0 };
                assert_eq!(b.len(), header_len + extra, "len {len}");
                assert_eq!(FrameHeader::parse(&b), Some((h, header_len + extra)));
            }
        }
        // the RFC's examples (§5.7)
        let mut b = BytesMut::new();
        encode_frame(&mut b, true, OpCode::Text, None, b"Hello");
        assert_eq!(&b[..], b"\x81\x05\x48\x65\x6c\x6c\x6f");
        let mut b = BytesMut::new();
        encode_frame(&mut b, true, OpCode::Text, Some([0x37, 0xfa, 0x21, 0x3d]), b"Hello");
        assert_eq!(&b[..], b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
        let mut b = BytesMut::new();
        encode_frame(&mut b, true, OpCode::Binary, None, &[0u8; 256]);
        assert_eq!(&b[..4], b"\x82\x7E\x01\x00");
        let mut b = BytesMut::new();
        encode_frame(&mut b, true, OpCode::Binary, None, &[0u8; 65536]);
        assert_eq!(&b[..10], b"\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00");
    }

    /// The RFC's fragmented example: "Hel" + "lo" as two unmasked frames, received by a client,
    /// with a ping in between; and a 64-bit-length message decoded in odd chunks.
    #[test]
    fn rfc_fragmented_example_and_large_messages() {
        let wire =
            [&b"\x01\x03\x48\x65\x6c"[..], b"\x89\x05\x48\x65\x6c\x6c\x6f", b"\x80\x02\x6c\x6f"]
                .concat();
        let (_, out) = feed_fresh(Role::Client, Config::default(), &wire);
        assert_eq!(
            out.events,
            vec![Event::Ping(Bytes::from_static(b"Hello")), Event::Message(Message::from("Hello"))]
        );
        let frames = out.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!((frames[0].opcode, &frames[0].payload[..]), (OpCode::Pong, &b"Hello"[..]));
        assert!(frames[0].masked);

        for receiver in [Role::Server, Role::Client] {
            let big: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 251) as u8).collect();
            let text: String = "€𝄞a".repeat(10_000);
            let mut script = Script::new(receiver, 9);
            script.message(&Message::from(big.clone()), &[], &[]);
            script.message(&Message::from(text), &[33_333, 1], &[b"mid".to_vec()]);
            script.message(&Message::from(big), &[65_535, 65_536], &[]);
            for step in [1usize, 7, 4096, 65_537] {
                let cuts: Vec<usize> = (0..script.wire.len()).step_by(step).collect();
                script.check(Config::default(), &Chunking::Cuts(cuts));
            }
        }
    }

    /// A bad byte in a non-final fragment fails the connection before the final fragment
    /// arrives; the close frame carries 1007.
    #[test]
    fn bad_fragment_fails_before_the_final_one() {
        for receiver in [Role::Server, Role::Client] {
            let now = epoch();
            let mut conn: Connection = connection(receiver, Config::default(), now);
            let first = frame_to(receiver, false, OpCode::Text, "κόσ".as_bytes());
            let out = feed_chunks(&mut conn, now, &[&first]);
            assert!(out.events.is_empty() && out.wire.is_empty());
            // "μ" split: its lead byte ends the second fragment, then an invalid byte
            let second = frame_to(receiver, false, OpCode::Continuation, &[0xCE, 0xBC, 0xCE, 0x41]);
            let out = feed_chunks(&mut conn, now, &[&second]);
            assert_eq!(out.events.len(), 1, "{:?}", out.events);
            assert!(is_closed_utf8(&out.events[0]));
            assert_eq!(out.close_frame().close_code(), Some(1007));
            assert!(conn.is_terminated());
            // the final fragment is ignored
            let last = frame_to(receiver, true, OpCode::Continuation, b"e");
            let out = feed_chunks(&mut conn, now, &[&last]);
            assert!(out.events.is_empty() && out.wire.is_empty());
        }
    }

    /// A dangling sequence at the end of the final fragment is invalid (and only then).
    #[test]
    fn truncated_sequence_at_message_end_is_1007() {
        for receiver in [Role::Server, Role::Client] {
            let now = epoch();
            let mut conn = connection(receiver, Config::default(), now);
            let a = frame_to(receiver, false, OpCode::Text, &[b'a', 0xF0, 0x9D]);
            let b = frame_to(receiver, false, OpCode::Continuation, &[0x84]);
            let out = feed_chunks(&mut conn, now, &[&a, &b]);
            assert!(out.events.is_empty(), "{:?}", out.events);
            let c = frame_to(receiver, true, OpCode::Continuation, &[]);
            let out = feed_chunks(&mut conn, now, &[&c]);
            assert_eq!(out.events.len(), 1);
            assert!(is_closed_utf8(&out.events[0]));
            assert_eq!(out.close_frame().close_code(), Some(1007));
        }
    }
}
