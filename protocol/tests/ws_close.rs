//! The closing handshake: initiated by either side or both, state transitions, which end
//! shuts the transport and when, close timeouts, close codes on the wire, and the deferred
//! effects that let replies to earlier messages go out before the close frame.

mod common;

mod ws_close {
    use super::common::*;
    use bytes::Bytes;
    use glue_protocol::ws::frame::OpCode;
    use glue_protocol::ws::{
        CloseCode, CloseFrame, CloseReason, Config, Event, Message, ProtocolError, Role, State,
        UsageError,
    };
    use proptest::prelude::*;
    use std::time::Duration;

    const SEC: Duration = Duration::from_secs(1);

    fn cf(code: u16, reason: &str) -> CloseFrame {
        CloseFrame { code: Some(CloseCode(code)), reason: reason.into() }
    }

    fn closed(reason: CloseReason) -> Vec<Event> {
        vec![Event::Closed(reason)]
    }

    fn with_close_timeout(secs: u64) -> Config {
        Config { close_timeout: Duration::from_secs(secs), ..Config::default() }
    }

    /// Client closes; the server answers and shuts the transport at once; the client closes
    /// its end when it sees the server's EOF.
    #[test]
    fn client_initiated_close_ends_with_server_eof() {
        let mut p = Pair::default_configs();
        p.set_link(Side::Server, Link::Hold);
        let now = p.now;
        assert_eq!(p.client.state(), State::Open);
        p.client.close(now, Some(CloseCode::NORMAL), "bye").unwrap();
        assert_eq!(p.client.state(), State::Closing);
        assert_eq!(p.client.poll_timeout(), Some(now + 5 * SEC));
        p.drive();
        // the server got the close, answered it and is done
        assert_eq!(p.take_events(Side::Server), closed(CloseReason::Remote(cf(1000, "bye"))));
        assert_eq!(p.server.state(), State::Closed);
        assert!(p.server.is_terminated());
        assert!(!p.server.wants_read());
        assert_eq!(p.server.poll_timeout(), None);
        // its answer is still on the way
        assert_eq!(p.client.state(), State::Closing);
        assert!(p.take_events(Side::Client).is_empty());
        p.release(Side::Server);
        assert_eq!(p.take_events(Side::Client), closed(CloseReason::Local(cf(1000, ""))));
        assert_eq!(p.client.state(), State::Closed);
        // the server's EOF followed its close frame: the client is done too, with no new event
        assert!(p.client.is_terminated());
        assert_eq!(p.client.poll_timeout(), None);
        // on the wire: the client's close (masked, with its reason), the server's echo of the code
        let c = p.sent_frames(Side::Client);
        assert_eq!(c.len(), 1);
        assert!(c[0].masked);
        assert_eq!((c[0].close_code(), c[0].close_reason()), (Some(1000), "bye"));
        let s = p.sent_frames(Side::Server);
        assert_eq!(s.len(), 1);
        assert!(!s[0].masked);
        assert_eq!((s[0].close_code(), s[0].close_reason()), (Some(1000), ""));
    }

    /// Same, but the server's EOF never comes: the client gives up `close_timeout` after the
    /// server's close frame arrived.
    #[test]
    fn client_initiated_close_ends_with_close_timeout() {
        let mut p = Pair::new(with_close_timeout(5), Config::default());
        p.auto_eof = false;
        p.set_link(Side::Server, Link::Hold);
        let now = p.now;
        p.client.close(now, Some(CloseCode(4000)), "").unwrap();
        p.drive();
        assert!(p.server.is_terminated());
        // the answer arrives after 3 s
        p.run_until(3 * SEC);
        p.release(Side::Server);
        assert_eq!(p.take_events(Side::Client), closed(CloseReason::Local(cf(4000, ""))));
        assert_eq!(p.client.state(), State::Closed);
        assert!(!p.client.is_terminated(), "the client waits for the server to close first");
        assert!(p.client.wants_read());
        assert_eq!(p.next_timeout(), Some(p.epoch + 8 * SEC));
        p.run_until(8 * SEC - Duration::from_nanos(1));
        assert!(!p.client.is_terminated());
        assert_eq!(p.step_to_next_timeout(), Some(8 * SEC));
        assert!(p.client.is_terminated());
        assert!(p.take_events(Side::Client).is_empty(), "Closed is reported once");
        assert_eq!(p.next_timeout(), None);
    }

    #[test]
    fn server_initiated_close() {
        for eof in [true, false] {
            let mut p = Pair::default_configs();
            p.auto_eof = eof;
            p.set_link(Side::Client, Link::Hold);
            let now = p.now;
            p.server.close(now, Some(CloseCode::GOING_AWAY), "restart").unwrap();
            assert_eq!(p.server.state(), State::Closing);
            assert!(!p.server.is_terminated());
            p.drive();
            // the client answered at once and now waits for the server to close the transport
            assert_eq!(
                p.take_events(Side::Client),
                closed(CloseReason::Remote(cf(1001, "restart")))
            );
            assert_eq!(p.client.state(), State::Closed);
            assert!(!p.client.is_terminated());
            assert_eq!(p.server.state(), State::Closing);
            p.release(Side::Client);
            assert_eq!(p.take_events(Side::Server), closed(CloseReason::Local(cf(1001, ""))));
            assert_eq!(p.server.state(), State::Closed);
            assert!(p.server.is_terminated(), "the server closes the transport first");
            if eof {
                assert!(p.client.is_terminated());
            } else {
                assert!(!p.client.is_terminated());
                assert_eq!(p.step_to_next_timeout(), Some(5 * SEC));
                assert!(p.client.is_terminated());
            }
            assert!(p.take_events(Side::Client).is_empty());
            let c = p.sent_frames(Side::Client);
            assert_eq!((c.len(), c[0].close_code(), c[0].masked), (1, Some(1001), true));
        }
    }

    #[test]
    fn simultaneous_close() {
        let mut p = Pair::default_configs();
        let now = p.now;
        p.client.close(now, Some(CloseCode(3001)), "c").unwrap();
        p.server.close(now, Some(CloseCode(3002)), "s").unwrap();
        p.drive();
        // each sent one close frame and reports the other's as the answer
        assert_eq!(p.take_events(Side::Client), closed(CloseReason::Local(cf(3002, "s"))));
        assert_eq!(p.take_events(Side::Server), closed(CloseReason::Local(cf(3001, "c"))));
        assert_eq!(p.sent_frames(Side::Client).len(), 1);
        assert_eq!(p.sent_frames(Side::Server).len(), 1);
        assert!(p.server.is_terminated() && p.client.is_terminated());
    }

    #[test]
    fn empty_close_frame() {
        let mut p = Pair::default_configs();
        let now = p.now;
        p.client.close(now, None, "").unwrap();
        p.drive();
        let empty = CloseFrame { code: None, reason: String::new() };
        assert_eq!(p.take_events(Side::Server), closed(CloseReason::Remote(empty.clone())));
        assert_eq!(p.take_events(Side::Client), closed(CloseReason::Local(empty)));
        assert!(p.sent_frames(Side::Client)[0].payload.is_empty());
        assert!(p.sent_frames(Side::Server)[0].payload.is_empty());
    }

    #[test]
    fn messages_in_flight_are_delivered_while_closing() {
        let mut p = Pair::default_configs();
        let now = p.now;
        p.server.send_text(now, "in flight").unwrap();
        p.client.close(now, Some(CloseCode::NORMAL), "").unwrap();
        p.drive();
        assert_eq!(
            p.take_events(Side::Client),
            vec![
                Event::Message(Message::from("in flight")),
                Event::Closed(CloseReason::Local(cf(1000, ""))),
            ]
        );
    }

    /// The peer never answers the close frame: `CloseTimeout` exactly `close_timeout` later.
    #[test]
    fn close_timeout_when_the_peer_never_answers() {
        for closer in [Side::Client, Side::Server] {
            let mut p = Pair::new(with_close_timeout(2), with_close_timeout(3));
            p.set_link(closer, Link::Drop);
            p.run_until(SEC);
            let now = p.now;
            p.conn(closer).close(now, Some(CloseCode::NORMAL), "").unwrap();
            p.drive();
            let other = if closer == Side::Client { Side::Server } else { Side::Client };
            let deadline = SEC + if closer == Side::Client { 2 * SEC } else { 3 * SEC };
            assert_eq!(p.step_to_next_timeout(), Some(deadline));
            assert_eq!(p.take_events(closer), closed(CloseReason::CloseTimeout));
            assert!(p.conn(closer).is_terminated());
            assert_eq!(p.conn(closer).state(), State::Closed);
            // the transport is shut: the silent peer sees an abnormal end
            assert_eq!(p.take_events(other), closed(CloseReason::Abnormal));
            assert_eq!(p.next_timeout(), None);
        }
    }

    /// A message and a protocol violation arrive in one read: the message is still delivered,
    /// the application's reply to it goes out, and only then the close frame.
    #[test]
    fn reply_to_a_message_before_a_violation_precedes_the_close_frame() {
        for role in [Role::Server, Role::Client] {
            let now = epoch();
            let mut conn = connection(role, Config::default(), now);
            let mut wire = frame_to(role, true, OpCode::Text, b"question");
            wire.extend(frame_to(role, true, OpCode::Ping, b"p"));
            wire.extend(raw_frame(true, 0b100, OpCode::Binary, mask_for(role, 1), b"bad"));
            wire.extend(frame_to(role, true, OpCode::Text, b"never delivered"));
            conn.handle_data(now, &wire);
            assert_eq!(conn.poll_event(), Some(Event::Message(Message::from("question"))));
            assert_eq!(conn.state(), State::Open);
            conn.send_text(now, "answer").unwrap();
            assert_eq!(conn.poll_event(), Some(Event::Ping(Bytes::from_static(b"p"))));
            conn.send_binary(now, vec![1u8]).unwrap();
            assert_eq!(
                conn.poll_event(),
                Some(Event::Closed(CloseReason::Protocol(ProtocolError::ReservedBits)))
            );
            assert_eq!(conn.state(), State::Closed);
            assert!(conn.is_terminated());
            assert_eq!(conn.send_text(now, "too late"), Err(UsageError::Closed));
            let out = drain(&mut conn);
            assert!(out.events.is_empty());
            let frames = out.frames();
            let kinds: Vec<OpCode> = frames.iter().map(|f| f.opcode).collect();
            assert_eq!(kinds, [OpCode::Pong, OpCode::Text, OpCode::Binary, OpCode::Close]);
            assert_eq!(frames[1].payload, b"answer");
            assert_eq!(out.close_frame().close_code(), Some(1002));
        }
    }

    /// Same with the peer's close frame: the reply to the message before it precedes the
    /// answering close frame (through the pair, with an echoing server).
    #[test]
    fn reply_to_a_message_before_a_close_precedes_the_close_answer() {
        let mut p = Pair::default_configs();
        p.hook = Some(echo_hook(Side::Server));
        let now = p.now;
        p.client.send_text(now, "last words").unwrap();
        p.client.close(now, Some(CloseCode::NORMAL), "done").unwrap();
        p.drive();
        let kinds: Vec<OpCode> = p.sent_frames(Side::Server).iter().map(|f| f.opcode).collect();
        assert_eq!(kinds, [OpCode::Text, OpCode::Close]);
        assert_eq!(
            p.take_events(Side::Client),
            vec![
                Event::Message(Message::from("last words")),
                Event::Closed(CloseReason::Local(cf(1000, ""))),
            ]
        );
        assert!(p.client.is_terminated());
    }

    /// Until the `Closed` event is polled the connection still accepts sends; afterwards not.
    #[test]
    fn the_close_answer_waits_for_the_closed_event() {
        let now = epoch();
        let mut conn = connection(Role::Server, Config::default(), now);
        conn.handle_data(
            now,
            &frame_to(Role::Server, true, OpCode::Close, &close_payload(1000, b"")),
        );
        assert_eq!(conn.poll_transmit(), None, "nothing is sent before the event is polled");
        assert_eq!(conn.state(), State::Open);
        // the application may still choose its own close code before polling
        conn.close(now, Some(CloseCode(4321)), "mine").unwrap();
        assert_eq!(conn.poll_event(), Some(Event::Closed(CloseReason::Remote(cf(1000, "")))));
        assert!(conn.is_terminated());
        let out = drain(&mut conn);
        let close = out.close_frame();
        assert_eq!((close.close_code(), close.close_reason()), (Some(4321), "mine"));
        assert_eq!(out.frames().len(), 1);
    }

    /// Bytes after the peer's close frame are discarded, whatever they are.
    #[test]
    fn data_after_the_close_frame_is_ignored() {
        for role in [Role::Server, Role::Client] {
            let mut wire = frame_to(role, true, OpCode::Close, &close_payload(1000, b"x"));
            wire.extend(frame_to(role, true, OpCode::Text, b"after"));
            wire.extend(raw_frame(true, 7, OpCode::Reserved(5), None, b"garbage"));
            let (mut conn, out) = feed_fresh(role, Config::default(), &wire);
            assert_eq!(out.events, closed(CloseReason::Remote(cf(1000, "x"))));
            assert_eq!(out.close_frame().close_code(), Some(1000));
            conn.handle_data(epoch(), b"\xff\xff\xff");
            assert!(drain(&mut conn).events.is_empty());
        }
    }

    const RESERVED_CODES: [u16; 14] =
        [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1999, 2000, 2999, 5000, 50_000, 65_535];
    const VALID_CODES: [u16; 18] = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4500, 4998, 4999,
    ];

    #[test]
    fn reserved_close_codes_are_refused_with_1002() {
        for role in [Role::Server, Role::Client] {
            for code in RESERVED_CODES {
                let wire = frame_to(role, true, OpCode::Close, &close_payload(code, b"r"));
                let (conn, out) = feed_fresh(role, Config::default(), &wire);
                assert_eq!(
                    out.events,
                    closed(CloseReason::Protocol(ProtocolError::InvalidCloseCode(code)))
                );
                let close = out.close_frame();
                assert_eq!(close.close_code(), Some(1002), "code {code}");
                assert_eq!(close.masked, role == Role::Client);
                assert!(conn.is_terminated());
            }
        }
    }

    #[test]
    fn valid_close_codes_are_echoed() {
        for role in [Role::Server, Role::Client] {
            for code in VALID_CODES {
                let wire =
                    frame_to(role, true, OpCode::Close, &close_payload(code, "ü".as_bytes()));
                let (conn, out) = feed_fresh(role, Config::default(), &wire);
                assert_eq!(out.events, closed(CloseReason::Remote(cf(code, "ü"))));
                assert_eq!(out.close_frame().close_code(), Some(code));
                assert_eq!(conn.state(), State::Closed);
                assert_eq!(conn.is_terminated(), role == Role::Server);
            }
        }
    }

    #[test]
    fn the_api_refuses_codes_that_may_not_be_sent() {
        for code in RESERVED_CODES {
            let mut conn = connection(Role::Client, Config::default(), epoch());
            assert_eq!(
                conn.close(epoch(), Some(CloseCode(code)), ""),
                Err(UsageError::InvalidCloseCode(code))
            );
            assert_eq!(conn.state(), State::Open, "a refused close changes nothing");
            assert!(drain(&mut conn).wire.is_empty());
        }
        for code in VALID_CODES {
            let mut conn = connection(Role::Server, Config::default(), epoch());
            conn.close(epoch(), Some(CloseCode(code)), "").unwrap();
            assert_eq!(drain(&mut conn).close_frame().close_code(), Some(code));
        }
    }

    proptest! {
        /// Any code and reason from the peer: accepted (and the code echoed) exactly when
        /// sendable and UTF-8; otherwise 1002 or 1007.
        #[test]
        fn any_close_payload(
            code in any::<u16>(),
            reason in proptest::collection::vec(any::<u8>(), 0..=123),
            text in "\\PC{0,30}",
            use_text in any::<bool>(),
            role in prop_oneof![Just(Role::Server), Just(Role::Client)],
            chunks in proptest::collection::vec(any::<usize>(), 0..5),
        ) {
            let reason = if use_text && text.len() <= 123 { text.into_bytes() } else { reason };
            let wire = frame_to(role, true, OpCode::Close, &close_payload(code, &reason));
            let now = epoch();
            let mut conn = connection(role, Config::default(), now);
            let out = feed_chunks(&mut conn, now, &split_at_cuts(&wire, &chunks));
            let sent = out.close_frame().close_code();
            let sendable = CloseCode(code).is_sendable();
            match std::str::from_utf8(&reason) {
                _ if !sendable => {
                    let err = ProtocolError::InvalidCloseCode(code);
                    prop_assert_eq!(out.events, closed(CloseReason::Protocol(err)));
                    prop_assert_eq!(sent, Some(1002));
                }
                Ok(r) => {
                    prop_assert_eq!(out.events, closed(CloseReason::Remote(cf(code, r))));
                    prop_assert_eq!(sent, Some(code));
                }
                Err(_) => {
                    let err = ProtocolError::InvalidCloseReason;
                    prop_assert_eq!(out.events, closed(CloseReason::Protocol(err)));
                    prop_assert_eq!(sent, Some(1007));
                }
            }
        }
    }
}
