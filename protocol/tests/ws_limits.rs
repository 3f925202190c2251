//! Every protocol violation, provoked by crafted bytes, with the close code it is answered
//! with; the frame and message size limits; the send buffer cap; API misuse; and
//! pre-encoded broadcast frames.

mod common;

mod ws_limits {
    use super::common::*;
    use bytes::{Bytes, BytesMut};
    use glue_protocol::ws::frame::{EncodedFrame, FrameHeader, OpCode};
    use glue_protocol::ws::{
        CloseCode, CloseReason, Config, Connection, Event, Message, ProtocolError, Role, State,
        UsageError,
    };
    use proptest::prelude::*;

    const ROLES: [Role; 2] = [Role::Server, Role::Client];

    /// Just a header (no payload) addressed to `role`.
    fn header_only(role: Role, fin: bool, opcode: OpCode, payload_len: u64) -> Vec<u8> {
        let h = FrameHeader { fin, rsv: 0, opcode, mask: mask_for(role, 3), payload_len };
        let mut b = BytesMut::new();
        h.encode(&mut b);
        b.to_vec()
    }

    fn limits(max_frame_size: usize, max_message_size: usize) -> Config {
        Config { max_frame_size, max_message_size, ..Config::default() }
    }

    /// Feeds `wire` to a fresh connection of `role` (whole, then byte by byte on another one)
    /// and checks it fails with `error`, sending one close frame with `code`, correctly masked,
    /// and terminating.
    fn assert_violation(role: Role, config: &Config, wire: &[u8], error: ProtocolError, code: u16) {
        assert_eq!(error.close_code(), CloseCode(code), "{error:?}");
        for chunking in [Chunking::Cuts(Vec::new()), Chunking::Bytewise] {
            let now = epoch();
            let mut conn = connection(role, config.clone(), now);
            let out = feed_chunks(&mut conn, now, &chunking.apply(wire));
            assert_eq!(
                out.events,
                vec![Event::Closed(CloseReason::Protocol(error.clone()))],
                "{role:?} {chunking:?}"
            );
            let close = out.close_frame();
            assert_eq!(close.close_code(), Some(code), "{role:?} {error:?}");
            assert_eq!(close.close_reason(), "");
            assert_eq!(close.masked, role == Role::Client);
            assert_eq!(out.frames().len(), 1);
            assert!(conn.is_terminated());
            assert!(!conn.wants_read());
            assert_eq!(conn.state(), State::Closed);
            assert_eq!(conn.poll_timeout(), None);
            // nothing more comes out of it
            conn.handle_data(now, &frame_to(role, true, OpCode::Ping, b"x"));
            let more = drain(&mut conn);
            assert!(more.events.is_empty() && more.wire.is_empty());
        }
    }

    #[test]
    fn reserved_bits() {
        for role in ROLES {
            for rsv in 1..8 {
                for op in [OpCode::Text, OpCode::Ping, OpCode::Continuation] {
                    let wire = raw_frame(true, rsv, op, mask_for(role, 0), b"abc");
                    assert_violation(
                        role,
                        &Config::default(),
                        &wire,
                        ProtocolError::ReservedBits,
                        1002,
                    );
                }
            }
        }
    }

    #[test]
    fn reserved_opcodes() {
        for role in ROLES {
            for v in (3..=7).chain(0xB..=0xF) {
                // refused at the header: the payload never needs to arrive
                let wire = header_only(role, true, OpCode::from_u8(v), 10);
                assert_violation(
                    role,
                    &Config::default(),
                    &wire,
                    ProtocolError::ReservedOpcode(v),
                    1002,
                );
            }
        }
    }

    #[test]
    fn fragmented_control_frames() {
        for role in ROLES {
            for op in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
                let wire = frame_to(role, false, op, b"");
                assert_violation(
                    role,
                    &Config::default(),
                    &wire,
                    ProtocolError::FragmentedControl,
                    1002,
                );
            }
        }
    }

    #[test]
    fn control_frames_over_125_bytes() {
        for role in ROLES {
            for (op, len) in [(OpCode::Ping, 126), (OpCode::Pong, 65_535), (OpCode::Close, 1 << 40)]
            {
                let wire = header_only(role, true, op, len);
                assert_violation(
                    role,
                    &Config::default(),
                    &wire,
                    ProtocolError::ControlTooLong(len),
                    1002,
                );
            }
        }
    }

    #[test]
    fn masking_by_role() {
        let unmasked = raw_frame(true, 0, OpCode::Text, None, b"hi");
        assert_violation(
            Role::Server,
            &Config::default(),
            &unmasked,
            ProtocolError::UnmaskedFrame,
            1002,
        );
        let unmasked_ping = raw_frame(true, 0, OpCode::Ping, None, b"");
        assert_violation(
            Role::Server,
            &Config::default(),
            &unmasked_ping,
            ProtocolError::UnmaskedFrame,
            1002,
        );
        let masked = raw_frame(true, 0, OpCode::Binary, Some([1, 2, 3, 4]), b"hi");
        assert_violation(
            Role::Client,
            &Config::default(),
            &masked,
            ProtocolError::MaskedFrame,
            1002,
        );
    }

    #[test]
    fn length_with_the_top_bit_set() {
        for role in ROLES {
            for len in [1u64 << 63, u64::MAX] {
                let wire = header_only(role, true, OpCode::Binary, len);
                assert_violation(
                    role,
                    &Config::default(),
                    &wire,
                    ProtocolError::InvalidLength,
                    1002,
                );
            }
        }
    }

    #[test]
    fn continuation_errors() {
        for role in ROLES {
            for fin in [true, false] {
                let wire = frame_to(role, fin, OpCode::Continuation, b"orphan");
                assert_violation(
                    role,
                    &Config::default(),
                    &wire,
                    ProtocolError::UnexpectedContinuation,
                    1002,
                );
            }
            // after a complete message there is nothing to continue either
            let mut wire = frame_to(role, true, OpCode::Text, b"done");
            wire.extend(frame_to(role, true, OpCode::Continuation, b"more"));
            let (_, out) = feed_fresh(role, Config::default(), &wire);
            assert_eq!(
                out.events,
                vec![
                    Event::Message(Message::from("done")),
                    Event::Closed(CloseReason::Protocol(ProtocolError::UnexpectedContinuation)),
                ]
            );
            for second in [OpCode::Text, OpCode::Binary] {
                let mut wire = frame_to(role, false, OpCode::Binary, b"part");
                wire.extend(frame_to(role, true, OpCode::Ping, b"ok in between"));
                wire.extend(frame_to(role, true, second, b"new"));
                let (_, out) = feed_fresh(role, Config::default(), &wire);
                assert_eq!(out.events.len(), 2);
                assert_eq!(
                    out.events[1],
                    Event::Closed(CloseReason::Protocol(ProtocolError::ExpectedContinuation))
                );
                let kinds: Vec<OpCode> = out.frames().iter().map(|f| f.opcode).collect();
                assert_eq!(kinds, [OpCode::Pong, OpCode::Close]);
                assert_eq!(out.close_frame().close_code(), Some(1002));
            }
        }
    }

    #[test]
    fn bad_close_payloads() {
        for role in ROLES {
            let wire = frame_to(role, true, OpCode::Close, &[0x03]);
            assert_violation(role, &Config::default(), &wire, ProtocolError::CloseTooShort, 1002);
            let wire = frame_to(role, true, OpCode::Close, &close_payload(1005, b""));
            assert_violation(
                role,
                &Config::default(),
                &wire,
                ProtocolError::InvalidCloseCode(1005),
                1002,
            );
            for reason in [&b"\xff"[..], b"ok\xc3", b"\xed\xa0\x80", b"\xc0\xaf"] {
                let wire = frame_to(role, true, OpCode::Close, &close_payload(1000, reason));
                assert_violation(
                    role,
                    &Config::default(),
                    &wire,
                    ProtocolError::InvalidCloseReason,
                    1007,
                );
            }
        }
    }

    #[test]
    fn invalid_utf8_text() {
        for role in ROLES {
            let wire = frame_to(role, true, OpCode::Text, b"abc\xffdef");
            assert_violation(role, &Config::default(), &wire, ProtocolError::InvalidUtf8, 1007);
            let wire = frame_to(role, true, OpCode::Text, b"\xe2\x82");
            assert_violation(role, &Config::default(), &wire, ProtocolError::InvalidUtf8, 1007);
            // the same bytes are fine in a binary message
            let wire = frame_to(role, true, OpCode::Binary, b"abc\xffdef");
            let (_, out) = feed_fresh(role, Config::default(), &wire);
            assert_eq!(out.messages(), vec![Message::from(b"abc\xffdef".to_vec())]);
        }
    }

    #[test]
    fn frame_size_limit() {
        for role in ROLES {
            let config = limits(1000, 1 << 20);
            let ok = frame_to(role, true, OpCode::Binary, &[5; 1000]);
            let (_, out) = feed_fresh(role, config.clone(), &ok);
            assert_eq!(out.messages(), vec![Message::from(vec![5u8; 1000])]);
            // refused at the header, before any payload
            for len in [1001u64, 65_536, 1 << 62] {
                let wire = header_only(role, false, OpCode::Text, len);
                let err = ProtocolError::FrameTooLarge { size: len, limit: 1000 };
                assert_violation(role, &config, &wire, err, 1009);
            }
            // applies to continuation frames too
            let mut wire = frame_to(role, false, OpCode::Binary, &[1; 10]);
            wire.extend(header_only(role, true, OpCode::Continuation, 1001));
            let (_, out) = feed_fresh(role, config.clone(), &wire);
            assert_eq!(
                out.events,
                vec![Event::Closed(CloseReason::Protocol(ProtocolError::FrameTooLarge {
                    size: 1001,
                    limit: 1000
                }))]
            );
            assert_eq!(out.close_frame().close_code(), Some(1009));
            // but not to control frames, which have their own limit
            let tiny = limits(10, 10);
            let ping = frame_to(role, true, OpCode::Ping, &[0; 125]);
            let (_, out) = feed_fresh(role, tiny, &ping);
            assert_eq!(out.events, vec![Event::Ping(Bytes::from(vec![0; 125]))]);
        }
    }

    #[test]
    fn message_size_limit_counts_all_fragments() {
        for role in ROLES {
            let config = limits(1 << 20, 1000);
            // exactly at the limit, twice in a row: the count starts over with each message
            let mut wire = Vec::new();
            for _ in 0..2 {
                wire.extend(frame_to(role, false, OpCode::Binary, &[1; 600]));
                wire.extend(frame_to(role, true, OpCode::Ping, &[2; 125]));
                wire.extend(frame_to(role, true, OpCode::Continuation, &[3; 400]));
            }
            let (conn, out) = feed_fresh(role, config.clone(), &wire);
            assert_eq!(out.messages().len(), 2);
            assert!(!conn.is_terminated());
            // one byte over: refused at the header of the fragment that crosses it
            let mut wire = frame_to(role, false, OpCode::Text, &[b'a'; 600]);
            wire.extend(header_only(role, true, OpCode::Continuation, 401));
            assert_violation(
                role,
                &config,
                &wire,
                ProtocolError::MessageTooLarge { limit: 1000 },
                1009,
            );
            // an unfragmented message over it (within the frame limit)
            let wire = header_only(role, true, OpCode::Binary, 1001);
            assert_violation(
                role,
                &config,
                &wire,
                ProtocolError::MessageTooLarge { limit: 1000 },
                1009,
            );
        }
    }

    #[test]
    fn close_codes_of_every_variant() {
        use ProtocolError as E;
        let cases: Vec<(E, u16)> = vec![
            (E::ReservedBits, 1002),
            (E::ReservedOpcode(3), 1002),
            (E::FragmentedControl, 1002),
            (E::ControlTooLong(126), 1002),
            (E::UnmaskedFrame, 1002),
            (E::MaskedFrame, 1002),
            (E::InvalidLength, 1002),
            (E::UnexpectedContinuation, 1002),
            (E::ExpectedContinuation, 1002),
            (E::CloseTooShort, 1002),
            (E::InvalidCloseCode(1005), 1002),
            (E::InvalidCloseReason, 1007),
            (E::InvalidUtf8, 1007),
            (E::FrameTooLarge { size: 2, limit: 1 }, 1009),
            (E::MessageTooLarge { limit: 1 }, 1009),
            // never raised: bytes after a close frame are discarded (see ws_close)
        ];
        for (e, code) in cases {
            assert_eq!(e.close_code(), CloseCode(code), "{e}");
        }
    }

    proptest! {
        /// Garbage never panics; whatever it is, the connection ends up reporting at most one
        /// `Closed`, and if it failed, it sent exactly one close frame last.
        #[test]
        fn garbage_never_panics(
            wire in proptest::collection::vec(any::<u8>(), 0..400),
            role in prop_oneof![Just(Role::Server), Just(Role::Client)],
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
            max in 0usize..300,
        ) {
            let now = epoch();
            let mut conn = connection(role, limits(max, max), now);
            let out = feed_chunks(&mut conn, now, &split_at_cuts(&wire, &cuts));
            let closes = out.events.iter().filter(|e| matches!(e, Event::Closed(_))).count();
            prop_assert!(closes <= 1);
            if let Some(Event::Closed(CloseReason::Protocol(e))) = out.events.last() {
                prop_assert_eq!(out.close_frame().close_code(), Some(e.close_code().0));
                prop_assert!(conn.is_terminated());
            }
        }
    }

    // ---------------------------------------------------------------- send side

    #[test]
    fn send_buffer_cap() {
        for role in ROLES {
            let now = epoch();
            let config = Config { max_send_buffer: 100, ..Config::default() };
            let mut conn = connection(role, config, now);
            conn.send_binary(now, vec![0u8; 90]).unwrap();
            let buffered = conn.buffered_amount();
            assert_eq!(buffered, 92 + if role == Role::Client { 4 } else { 0 });
            let full = Err(UsageError::SendBufferFull { buffered, limit: 100 });
            assert_eq!(conn.send_binary(now, vec![0u8; 1]), full);
            assert_eq!(conn.send_text(now, ""), full);
            assert_eq!(conn.buffered_amount(), buffered, "a refused send queues nothing");
            // control frames still flow
            conn.ping(now, b"still alive").unwrap();
            conn.pong(now, b"").unwrap();
            let out = drain(&mut conn);
            assert_eq!(out.wire.len(), buffered + 2 + 11 + 2 + 2 * mask_len(role));
            assert_eq!(conn.buffered_amount(), 0);
            // drained: data flows again
            conn.send_text(now, "again").unwrap();
            assert!(matches!(
                conn.send_binary(now, vec![0u8; 90]),
                Err(UsageError::SendBufferFull { limit: 100, .. })
            ));
            // the close frame is not subject to the cap either
            conn.close(now, Some(CloseCode::NORMAL), "").unwrap();
            let kinds: Vec<OpCode> = drain(&mut conn).frames().iter().map(|f| f.opcode).collect();
            assert_eq!(kinds, [OpCode::Text, OpCode::Close]);
        }
    }

    fn mask_len(role: Role) -> usize {
        if role == Role::Client {
            4
        } else {
            0
        }
    }

    #[test]
    fn a_message_bigger_than_the_cap_fits_an_empty_buffer() {
        let now = epoch();
        let mut conn =
            connection(Role::Server, Config { max_send_buffer: 100, ..Config::default() }, now);
        conn.send_binary(now, vec![0u8; 1000]).unwrap();
        assert!(conn.send_binary(now, vec![0u8; 1]).is_err());
        assert_eq!(drain(&mut conn).frames()[0].payload.len(), 1000);
        conn.send_binary(now, vec![0u8; 1]).unwrap();
    }

    /// A peer that pings without reading our output gets no more pongs once the buffer is
    /// full; its pings are still reported.
    #[test]
    fn no_auto_pong_into_a_full_buffer() {
        for role in ROLES {
            let now = epoch();
            let mut conn =
                connection(role, Config { max_send_buffer: 100, ..Config::default() }, now);
            conn.send_binary(now, vec![0u8; 200]).unwrap();
            let wire = frame_to(role, true, OpCode::Ping, b"1");
            conn.handle_data(now, &wire);
            let out = drain(&mut conn);
            assert_eq!(out.events, vec![Event::Ping(Bytes::from_static(b"1"))]);
            let kinds: Vec<OpCode> = out.frames().iter().map(|f| f.opcode).collect();
            assert_eq!(kinds, [OpCode::Binary]);
            // with room again, pings are answered
            conn.handle_data(now, &wire);
            let kinds: Vec<OpCode> = drain(&mut conn).frames().iter().map(|f| f.opcode).collect();
            assert_eq!(kinds, [OpCode::Pong]);
        }
    }

    #[test]
    fn usage_errors() {
        for role in ROLES {
            let now = epoch();
            let mut conn = connection(role, Config::default(), now);
            assert_eq!(conn.ping(now, &[0; 126]), Err(UsageError::ControlTooLong(126)));
            assert_eq!(conn.pong(now, &[0; 300]), Err(UsageError::ControlTooLong(300)));
            conn.ping(now, &[0; 125]).unwrap();
            assert_eq!(
                conn.close(now, Some(CloseCode::ABNORMAL), ""),
                Err(UsageError::InvalidCloseCode(1006))
            );
            assert_eq!(
                conn.close(now, Some(CloseCode::NORMAL), &"r".repeat(124)),
                Err(UsageError::CloseReasonTooLong(124))
            );
            assert_eq!(conn.close(now, None, "why"), Err(UsageError::ReasonWithoutCode));
            // none of that changed anything
            assert_eq!(conn.state(), State::Open);
            let out = drain(&mut conn);
            assert_eq!(out.frames().len(), 1);
            conn.close(now, Some(CloseCode::NORMAL), &"r".repeat(123)).unwrap();
            assert_eq!(conn.close(now, None, ""), Err(UsageError::Closed));
            assert_eq!(conn.send_text(now, "x"), Err(UsageError::Closed));
            assert_eq!(conn.send_binary(now, vec![1u8]), Err(UsageError::Closed));
            assert_eq!(conn.send(now, Message::from("x")), Err(UsageError::Closed));
            assert_eq!(conn.ping(now, b""), Err(UsageError::Closed));
            assert_eq!(conn.pong(now, b""), Err(UsageError::Closed));
            let frame = EncodedFrame::new(OpCode::Text, b"x");
            let expected = match role {
                Role::Server => UsageError::Closed,
                Role::Client => UsageError::EncodedFrameOnClient,
            };
            assert_eq!(conn.send_encoded(now, &frame), Err(expected));
            let close = drain(&mut conn).close_frame();
            assert_eq!(close.close_reason().len(), 123);
        }
    }

    #[test]
    fn sends_fail_after_a_protocol_failure_and_after_the_peers_close() {
        for role in ROLES {
            let (mut conn, _) =
                feed_fresh(role, Config::default(), &frame_to(role, true, OpCode::Text, b"\xff"));
            assert_eq!(conn.send_text(epoch(), "x"), Err(UsageError::Closed));
            assert_eq!(conn.close(epoch(), None, ""), Err(UsageError::Closed));
            let close = frame_to(role, true, OpCode::Close, &close_payload(1000, b""));
            let (mut conn, _) = feed_fresh(role, Config::default(), &close);
            assert_eq!(conn.send_binary(epoch(), vec![1u8]), Err(UsageError::Closed));
            assert_eq!(conn.ping(epoch(), b""), Err(UsageError::Closed));
            assert_eq!(conn.close(epoch(), None, ""), Err(UsageError::Closed));
        }
    }

    #[test]
    fn encoded_frames_are_byte_identical_across_connections() {
        let now = epoch();
        let small = EncodedFrame::new(OpCode::Text, "to everyone €".as_bytes());
        let large = EncodedFrame::new(OpCode::Binary, &vec![0x5Au8; 20_000]);
        let frames = [&small, &large];
        for frame in frames {
            let mut outs = Vec::new();
            for _ in 0..3 {
                let mut conn = connection(Role::Server, Config::default(), now);
                conn.send_encoded(now, frame).unwrap();
                assert_eq!(conn.buffered_amount(), frame.as_bytes().len());
                let chunk = conn.poll_transmit().unwrap();
                assert_eq!(conn.poll_transmit(), None);
                outs.push(chunk);
            }
            for out in &outs {
                assert_eq!(out, frame.as_bytes());
            }
            if frame.as_bytes().len() > 8192 {
                // large frames are not even copied
                for out in &outs {
                    assert_eq!(out.as_ptr(), frame.as_bytes().as_ptr());
                }
            }
        }
        // identical to what `send` produces, and decoded by a client
        let mut conn = connection(Role::Server, Config::default(), now);
        conn.send_text(now, "to everyone €").unwrap();
        assert_eq!(drain(&mut conn).wire, small.as_bytes()[..]);
        let mut server = connection(Role::Server, Config::default(), now);
        server.send_text(now, "a").unwrap();
        server.send_encoded(now, &large).unwrap();
        server.send_encoded(now, &small).unwrap();
        server.send_binary(now, Bytes::from(vec![1u8; 9000])).unwrap();
        let wire = drain(&mut server).wire;
        let (_, out) = feed_fresh(Role::Client, Config::default(), &wire);
        assert_eq!(
            out.messages(),
            vec![
                Message::from("a"),
                Message::from(vec![0x5Au8; 20_000]),
                Message::from("to everyone €"),
                Message::from(vec![1u8; 9000]),
            ]
        );
    }

    #[test]
    fn encoded_frames_are_refused_on_a_client_and_capped_on_a_server() {
        let now = epoch();
        let frame = EncodedFrame::new(OpCode::Binary, b"x");
        let mut client = connection(Role::Client, Config::default(), now);
        assert_eq!(client.send_encoded(now, &frame), Err(UsageError::EncodedFrameOnClient));
        assert_eq!(client.buffered_amount(), 0);
        assert_eq!(client.poll_transmit(), None);
        let mut server: Connection =
            connection(Role::Server, Config { max_send_buffer: 10, ..Config::default() }, now);
        let big = EncodedFrame::new(OpCode::Binary, &[0; 20]);
        server.send_encoded(now, &big).unwrap();
        assert_eq!(
            server.send_encoded(now, &frame),
            Err(UsageError::SendBufferFull { buffered: 22, limit: 10 })
        );
    }

    /// Large server payloads go out by reference, after their own header.
    #[test]
    fn large_server_payloads_are_not_copied() {
        let now = epoch();
        let mut server = connection(Role::Server, Config::default(), now);
        let payload = Bytes::from(vec![3u8; 10_000]);
        server.send_text(now, "x").unwrap();
        server.send_binary(now, payload.clone()).unwrap();
        let first = server.poll_transmit().unwrap();
        assert_eq!(first.len(), 3 + 4, "small frame and the large frame's header together");
        let second = server.poll_transmit().unwrap();
        assert_eq!(second.as_ptr(), payload.as_ptr());
        assert_eq!(server.poll_transmit(), None);
        assert_eq!(server.buffered_amount(), 0);
    }

    proptest! {
        /// `buffered_amount` is exactly what `poll_transmit` will hand out, whatever mix of
        /// sizes and paths (copied, by reference, pre-encoded, control) was used.
        #[test]
        fn buffered_amount_matches_the_output(
            ops in proptest::collection::vec((0u8..5, 0usize..20_000), 0..12),
            role in prop_oneof![Just(Role::Server), Just(Role::Client)],
            drain_at in any::<usize>(),
        ) {
            let now = epoch();
            let mut conn = connection(role, Config::default(), now);
            let mut expected = Vec::new();
            let mut wire = Vec::new();
            for (i, (op, len)) in ops.iter().enumerate() {
                let payload = vec![(i % 256) as u8; *len];
                match op {
                    0 => {
                        conn.send_binary(now, payload.clone()).unwrap();
                        expected.push(Message::from(payload));
                    }
                    1 => {
                        let text = String::from_utf8(vec![b'x'; *len]).unwrap();
                        conn.send_text(now, text.clone()).unwrap();
                        expected.push(Message::from(text));
                    }
                    2 if role == Role::Server => {
                        conn.send_encoded(now, &EncodedFrame::new(OpCode::Binary, &payload)).unwrap();
                        expected.push(Message::from(payload));
                    }
                    _ => conn.ping(now, &payload[..len % 126]).unwrap(),
                }
                if i == drain_at % ops.len() {
                    let pending = conn.buffered_amount();
                    let before = wire.len();
                    while let Some(b) = conn.poll_transmit() {
                        wire.extend_from_slice(&b);
                    }
                    prop_assert_eq!(wire.len() - before, pending);
                    prop_assert_eq!(conn.buffered_amount(), 0);
                }
            }
            let pending = conn.buffered_amount();
            let out = drain(&mut conn);
            prop_assert_eq!(out.wire.len(), pending);
            prop_assert_eq!(conn.buffered_amount(), 0);
            wire.extend_from_slice(&out.wire);
            // and it all decodes on the other side
            let (_, decoded) = feed_fresh(opposite(role), Config::default(), &wire);
            prop_assert_eq!(decoded.messages(), expected);
        }
    }
}
