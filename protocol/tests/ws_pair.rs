//! A client and a server wired together in memory on a virtual clock: messages, ping/pong,
//! keep-alive timing, end-of-stream, and the drain contract through the [`Machine`] trait.
//!
//! [`Machine`]: glue_protocol::Machine

mod common;

mod ws_pair {
    use super::common::*;
    use bytes::Bytes;
    use glue_protocol::ws::frame::OpCode;
    use glue_protocol::ws::{
        CloseCode, CloseFrame, CloseReason, Config, Event, KeepAlive, Message, Role, State,
    };
    use glue_protocol::Machine;
    use proptest::prelude::*;
    use std::time::Duration;

    const SEC: Duration = Duration::from_secs(1);

    fn keep_alive(interval: u64, timeout: u64) -> Config {
        Config {
            keep_alive: Some(KeepAlive {
                interval: Duration::from_secs(interval),
                timeout: Duration::from_secs(timeout),
            }),
            ..Config::default()
        }
    }

    fn msg_events(msgs: &[Message]) -> Vec<Event> {
        msgs.iter().cloned().map(Event::Message).collect()
    }

    #[test]
    fn messages_flow_both_ways() {
        let mut p = Pair::default_configs();
        let now = p.now;
        p.client.send_text(now, "hello").unwrap();
        p.client.send_binary(now, vec![0u8, 1, 2]).unwrap();
        p.server.send_text(now, String::from("héllo €")).unwrap();
        p.server.send(now, Message::Binary(Bytes::from_static(b"\xff\x00"))).unwrap();
        p.client.send_text(now, "").unwrap();
        p.drive();
        assert_eq!(
            p.take_events(Side::Server),
            msg_events(&[
                Message::from("hello"),
                Message::from(vec![0u8, 1, 2]),
                Message::from("")
            ])
        );
        assert_eq!(
            p.take_events(Side::Client),
            msg_events(&[Message::from("héllo €"), Message::from(vec![0xffu8, 0])])
        );
        assert_masking(Role::Client, &p.sent_frames(Side::Client));
        assert_masking(Role::Server, &p.sent_frames(Side::Server));
        assert_eq!((p.client.state(), p.server.state()), (State::Open, State::Open));
        assert_eq!(p.next_timeout(), None, "no timers without keep-alive or closing");
    }

    #[test]
    fn echo_server_round_trip_including_large_messages() {
        let mut p = Pair::default_configs();
        p.hook = Some(echo_hook(Side::Server));
        let msgs = vec![
            Message::from(vec![7u8; 125]),
            Message::from(vec![8u8; 126]),
            Message::from(vec![9u8; 65_535]),
            Message::from(vec![10u8; 65_536]),
            Message::from("𝄞".repeat(5000)),
        ];
        let now = p.now;
        for m in &msgs {
            p.client.send(now, m.clone()).unwrap();
        }
        p.drive();
        assert_eq!(p.take_events(Side::Server), msg_events(&msgs));
        assert_eq!(p.take_events(Side::Client), msg_events(&msgs));
    }

    proptest! {
        #[test]
        fn random_conversations(
            script in proptest::collection::vec(
                (any::<bool>(), prop_oneof![
                    any::<String>().prop_map(Message::from),
                    proptest::collection::vec(any::<u8>(), 0..2000).prop_map(Message::from),
                ]),
                0..20),
        ) {
            let mut p = Pair::default_configs();
            let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
            for (from_client, m) in script {
                let now = p.now;
                if from_client {
                    p.client.send(now, m.clone()).unwrap();
                    to_server.push(Event::Message(m));
                } else {
                    p.server.send(now, m.clone()).unwrap();
                    to_client.push(Event::Message(m));
                }
                p.drive();
            }
            prop_assert_eq!(p.take_events(Side::Server), to_server);
            prop_assert_eq!(p.take_events(Side::Client), to_client);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Send(Side, Message),
        Ping(Side, Vec<u8>),
        Close(Side, u16),
        Advance(u64),
        Hold(Side),
        Release(Side),
        Eof(Side),
    }

    fn side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::Client), Just(Side::Server)]
    }

    fn op() -> impl Strategy<Value = Op> {
        let calm = prop_oneof![
            4 => (side(), proptest::collection::vec(any::<u8>(), 0..200))
                .prop_map(|(s, b)| Op::Send(s, Message::from(b))),
            2 => (side(), "\\PC{0,20}").prop_map(|(s, t)| Op::Send(s, Message::from(t))),
            1 => (side(), proptest::collection::vec(any::<u8>(), 0..=125))
                .prop_map(|(s, p)| Op::Ping(s, p)),
            1 => (side(), prop_oneof![Just(1000u16), Just(1001), Just(3000), Just(4999)])
                .prop_map(|(s, c)| Op::Close(s, c)),
            2 => (0u64..8000).prop_map(Op::Advance),
        ];
        let rough = prop_oneof![
            2 => side().prop_map(Op::Hold),
            2 => side().prop_map(Op::Release),
            1 => side().prop_map(Op::Eof),
        ];
        prop_oneof![6 => calm, 1 => rough]
    }

    fn messages(events: &[Event]) -> Vec<Message> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Random interleavings of sends, pings, closes, clock jumps, latency and dropped
        /// transports, with or without keep-alive on either side. Invariants: each end reports
        /// `Closed` exactly once and last; messages arrive in order and without gaps (all of
        /// them on a calm run); both ends terminate; on a calm run the close reasons match.
        #[test]
        fn model_run(
            disrupt in any::<bool>(),
            ops in proptest::collection::vec(op(), 0..40),
            client_ka in proptest::option::of((1u64..10, 1u64..10)),
            server_ka in proptest::option::of((1u64..10, 1u64..10)),
        ) {
            let ops: Vec<Op> = if disrupt {
                ops
            } else {
                let calm = |o: &Op| !matches!(o, Op::Hold(_) | Op::Release(_) | Op::Eof(_));
                ops.into_iter().filter(calm).collect()
            };
            let config = |ka: Option<(u64, u64)>| match ka {
                Some((i, t)) => keep_alive(i, t),
                None => Config::default(),
            };
            let mut p = Pair::new(config(client_ka), config(server_ka));
            let (mut sent_by_client, mut sent_by_server) = (Vec::new(), Vec::new());
            for op in ops {
                let now = p.now;
                match op {
                    Op::Send(s, m) => {
                        if p.conn(s).send(now, m.clone()).is_ok() {
                            match s {
                                Side::Client => sent_by_client.push(m),
                                Side::Server => sent_by_server.push(m),
                            }
                        }
                    }
                    Op::Ping(s, b) => {
                        let _ = p.conn(s).ping(now, &b);
                    }
                    Op::Close(s, c) => {
                        let _ = p.conn(s).close(now, Some(CloseCode(c)), "bye");
                    }
                    Op::Advance(ms) => {
                        let to = p.elapsed() + Duration::from_millis(ms);
                        p.run_until(to);
                    }
                    Op::Hold(s) => p.set_link(s, Link::Hold),
                    Op::Release(s) => p.release(s),
                    Op::Eof(s) => p.eof(s),
                }
                p.drive();
            }
            // wind down: deliver everything, ask to close, let the timers run out
            p.release(Side::Client);
            p.release(Side::Server);
            let now = p.now;
            let _ = p.client.close(now, Some(CloseCode::NORMAL), "end");
            p.drive();
            let mut steps = 0;
            while p.step_to_next_timeout().is_some() {
                steps += 1;
                prop_assert!(steps < 100, "timers never settle");
            }
            prop_assert!(p.client.is_terminated(), "client not terminated: {:?}", p.client);
            prop_assert!(p.server.is_terminated(), "server not terminated: {:?}", p.server);
            let (ce, se) = (p.take_events(Side::Client), p.take_events(Side::Server));
            for events in [&ce, &se] {
                let closes = events.iter().filter(|e| matches!(e, Event::Closed(_))).count();
                prop_assert_eq!(closes, 1, "{:?}", events);
                prop_assert!(matches!(events.last(), Some(Event::Closed(_))), "{:?}", events);
            }
            let (got_by_server, got_by_client) = (messages(&se), messages(&ce));
            prop_assert!(sent_by_client.starts_with(&got_by_server));
            prop_assert!(sent_by_server.starts_with(&got_by_client));
            if !disrupt {
                prop_assert_eq!(got_by_server, sent_by_client);
                prop_assert_eq!(got_by_client, sent_by_server);
                let reasons = (ce.last().unwrap(), se.last().unwrap());
                match reasons {
                    (Event::Closed(CloseReason::Local(a)), Event::Closed(CloseReason::Remote(b)))
                    | (Event::Closed(CloseReason::Remote(b)), Event::Closed(CloseReason::Local(a))) => {
                        prop_assert_eq!(a.code, b.code, "the answer echoes the code");
                    }
                    (Event::Closed(CloseReason::Local(_)), Event::Closed(CloseReason::Local(_))) => {}
                    other => prop_assert!(false, "unexpected close reasons {:?}", other),
                }
            }
        }
    }

    #[test]
    fn ping_pong_api_and_auto_pong() {
        let mut p = Pair::default_configs();
        let now = p.now;
        p.client.ping(now, b"from client").unwrap();
        p.server.ping(now, b"").unwrap();
        p.server.ping(now, &[0xAA; 125]).unwrap();
        p.drive();
        // each side reports the pings it got (already answered) and the pongs to its pings
        assert_eq!(
            p.take_events(Side::Server),
            vec![
                Event::Ping(Bytes::from_static(b"from client")),
                Event::Pong(Bytes::new()),
                Event::Pong(Bytes::from(vec![0xAA; 125])),
            ]
        );
        // (the server's pings were queued before it answered the client's ping)
        assert_eq!(
            p.take_events(Side::Client),
            vec![
                Event::Ping(Bytes::new()),
                Event::Ping(Bytes::from(vec![0xAA; 125])),
                Event::Pong(Bytes::from_static(b"from client")),
            ]
        );
        let client_frames = p.sent_frames(Side::Client);
        let kinds: Vec<(OpCode, usize)> =
            client_frames.iter().map(|f| (f.opcode, f.payload.len())).collect();
        assert_eq!(kinds, vec![(OpCode::Ping, 11), (OpCode::Pong, 0), (OpCode::Pong, 125)]);
        // an unsolicited pong is reported and not answered
        p.server.pong(now, b"heartbeat").unwrap();
        p.drive();
        assert_eq!(
            p.take_events(Side::Client),
            vec![Event::Pong(Bytes::from_static(b"heartbeat"))]
        );
        assert_eq!(p.sent_frames(Side::Client).len(), 3);
        assert!(p.take_events(Side::Server).is_empty());
    }

    #[test]
    fn auto_pong_is_sent_in_order_with_data() {
        let mut p = Pair::default_configs();
        let now = p.now;
        p.server.send_text(now, "a").unwrap();
        p.client.send_text(now, "before").unwrap();
        p.server.ping(now, b"p").unwrap();
        p.drive();
        let kinds: Vec<OpCode> = p.sent_frames(Side::Client).iter().map(|f| f.opcode).collect();
        assert_eq!(kinds, vec![OpCode::Text, OpCode::Pong]);
    }

    #[test]
    fn keep_alive_ping_after_silence_pong_resets_it() {
        let mut p = Pair::new(Config::default(), keep_alive(10, 5));
        assert_eq!(p.next_timeout(), Some(p.epoch + 10 * SEC));
        // the first ping, exactly after 10 s of silence; the pong comes back at once
        assert_eq!(p.step_to_next_timeout(), Some(10 * SEC));
        assert_eq!(p.take_events(Side::Client), vec![Event::Ping(Bytes::new())]);
        assert_eq!(p.take_events(Side::Server), vec![Event::Pong(Bytes::new())]);
        assert_eq!(p.next_timeout(), Some(p.epoch + 20 * SEC));
        // this time the pong takes 4 s: the next ping is due 10 s after it arrived
        p.set_link(Side::Client, Link::Hold);
        assert_eq!(p.step_to_next_timeout(), Some(20 * SEC));
        assert_eq!(p.next_timeout(), Some(p.epoch + 25 * SEC), "pong deadline");
        p.run_until(24 * SEC);
        p.release(Side::Client);
        assert_eq!(p.take_events(Side::Server), vec![Event::Pong(Bytes::new())]);
        assert_eq!(p.next_timeout(), Some(p.epoch + 34 * SEC));
        // any incoming bytes count as life: a message at 30 s pushes the ping to 40 s
        p.run_until(30 * SEC);
        let now = p.now;
        p.client.send_text(now, "still here").unwrap();
        p.drive();
        assert_eq!(p.next_timeout(), Some(p.epoch + 40 * SEC));
        assert_eq!(p.step_to_next_timeout(), Some(40 * SEC));
        let pings = p.sent_frames(Side::Server).iter().filter(|f| f.opcode == OpCode::Ping).count();
        assert_eq!(pings, 3);
        assert_eq!(p.server.state(), State::Open);
        assert!(!p.server.is_terminated());
    }

    #[test]
    fn keep_alive_timeout_without_answer() {
        let mut p = Pair::new(Config::default(), keep_alive(10, 5));
        p.set_link(Side::Client, Link::Drop);
        assert_eq!(p.step_to_next_timeout(), Some(10 * SEC));
        assert_eq!(p.take_events(Side::Server), vec![]);
        // nothing before the deadline ...
        p.run_until(15 * SEC - Duration::from_millis(1));
        assert!(!p.server.is_terminated());
        // ... and the timeout exactly at interval + timeout
        assert_eq!(p.step_to_next_timeout(), Some(15 * SEC));
        assert_eq!(p.take_events(Side::Server), vec![Event::Closed(CloseReason::KeepAliveTimeout)]);
        assert!(p.server.is_terminated());
        assert_eq!(p.server.state(), State::Closed);
        assert_eq!(p.server.poll_timeout(), None);
        let close = p.sent_frames(Side::Server).pop().unwrap();
        assert_eq!(close.close_code(), Some(1001));
        assert_eq!(close.close_reason(), "keep-alive timeout");
        // the client saw the ping, then the close frame, then the end of the stream
        assert_eq!(
            p.take_events(Side::Client),
            vec![
                Event::Ping(Bytes::new()),
                Event::Closed(CloseReason::Remote(CloseFrame {
                    code: Some(CloseCode::GOING_AWAY),
                    reason: "keep-alive timeout".into()
                })),
            ]
        );
        assert!(p.client.is_terminated());
        assert_eq!(p.next_timeout(), None);
    }

    #[test]
    fn client_keep_alive_pings_are_masked() {
        let mut p = Pair::new(keep_alive(3, 1), Config::default());
        for at in [3, 6, 9] {
            assert_eq!(p.step_to_next_timeout(), Some(at * SEC));
        }
        let frames = p.sent_frames(Side::Client);
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|f| f.opcode == OpCode::Ping && f.masked));
        assert_eq!(p.take_events(Side::Server).len(), 3);
        assert_eq!(p.take_events(Side::Client), vec![Event::Pong(Bytes::new()); 3]);
    }

    #[test]
    fn keep_alive_stops_once_closing() {
        let mut p = Pair::new(keep_alive(10, 5), keep_alive(10, 5));
        p.run_until(5 * SEC);
        p.auto_eof = false;
        p.set_link(Side::Server, Link::Drop);
        let now = p.now;
        p.client.close(now, None, "").unwrap();
        p.drive();
        // only the close timeout remains for the client; the server is gone
        assert!(p.server.is_terminated());
        assert_eq!(p.next_timeout(), Some(p.epoch + 10 * SEC));
        assert_eq!(p.step_to_next_timeout(), Some(10 * SEC));
        assert_eq!(p.take_events(Side::Client), vec![Event::Closed(CloseReason::CloseTimeout)]);
        assert!(p.sent_frames(Side::Client).iter().all(|f| f.opcode != OpCode::Ping));
    }

    #[test]
    fn eof_without_close_is_abnormal() {
        for side in [Side::Client, Side::Server] {
            let mut p = Pair::default_configs();
            let now = p.now;
            p.client.send_text(now, "x").unwrap();
            p.drive();
            p.auto_eof = false;
            p.eof(side);
            let events = p.take_events(side);
            assert_eq!(events.last(), Some(&Event::Closed(CloseReason::Abnormal)));
            let conn = p.conn(side);
            assert!(conn.is_terminated());
            assert_eq!(conn.state(), State::Closed);
            assert!(!conn.wants_read());
            assert_eq!(conn.poll_transmit(), None, "no close frame after a dropped transport");
            assert_eq!(conn.send_text(now, "late"), Err(glue_protocol::ws::UsageError::Closed));
            // a second end-of-stream reports nothing new
            conn.handle_eof(now);
            assert_eq!(conn.poll_event(), None);
        }
    }

    /// "Early calls are harmless": once terminated, a connection has no deadline, and a stray
    /// `handle_timeout` (at any instant) produces nothing — also after an end-of-stream that
    /// arrived while a keep-alive pong was awaited.
    #[test]
    fn handle_timeout_after_termination_is_harmless() {
        for (client_ka, server_ka) in [(None, Some((10, 5))), (Some((10, 5)), None)] {
            let config =
                |ka: Option<(u64, u64)>| ka.map_or_else(Config::default, |(i, t)| keep_alive(i, t));
            let mut p = Pair::new(config(client_ka), config(server_ka));
            p.auto_eof = false;
            p.set_link(Side::Client, Link::Drop);
            p.set_link(Side::Server, Link::Drop);
            // a ping goes out and its pong deadline is pending when the transport drops
            assert_eq!(p.step_to_next_timeout(), Some(10 * SEC));
            let side = if server_ka.is_some() { Side::Server } else { Side::Client };
            p.eof(side);
            assert_eq!(p.take_events(side), vec![Event::Closed(CloseReason::Abnormal)]);
            let now = p.now;
            let conn = p.conn(side);
            assert!(conn.is_terminated());
            assert_eq!(conn.poll_timeout(), None);
            for later in [0, 5, 6, 3600] {
                conn.handle_timeout(now + later * SEC);
                assert_eq!(conn.poll_transmit(), None, "output after termination");
                assert_eq!(conn.poll_event(), None);
                assert_eq!(conn.poll_timeout(), None);
            }
        }
    }

    #[test]
    fn eof_while_closing_is_abnormal() {
        let mut p = Pair::default_configs();
        p.set_link(Side::Server, Link::Drop);
        let now = p.now;
        p.client.close(now, Some(CloseCode::NORMAL), "").unwrap();
        assert_eq!(p.client.state(), State::Closing);
        p.drive();
        // the server answered (lost) and shut the transport down
        assert!(p.server.is_terminated());
        assert_eq!(p.take_events(Side::Client), vec![Event::Closed(CloseReason::Abnormal)]);
        assert!(p.client.is_terminated());
        assert_eq!(p.client.state(), State::Closed);
    }

    /// The runtime's view: everything through the `Machine` trait.
    #[test]
    fn usable_through_the_machine_trait() {
        fn pump<M: Machine>(m: &mut M, into: &mut Vec<u8>) -> Vec<M::Event> {
            let mut events = Vec::new();
            loop {
                let before = (into.len(), events.len());
                while let Some(b) = m.poll_transmit() {
                    into.extend_from_slice(&b);
                }
                while let Some(e) = m.poll_event() {
                    events.push(e);
                }
                if (into.len(), events.len()) == before {
                    return events;
                }
            }
        }
        let now = epoch();
        let mut client = connection(Role::Client, keep_alive(1, 1), now);
        let mut server = connection(Role::Server, Config::default(), now);
        assert!(Machine::wants_read(&client));
        assert_eq!(Machine::poll_timeout(&client), Some(now + SEC));
        Machine::handle_timeout(&mut client, now + SEC);
        let mut wire = Vec::new();
        assert!(pump(&mut client, &mut wire).is_empty());
        Machine::handle_data(&mut server, now + SEC, &wire);
        let mut back = Vec::new();
        assert_eq!(pump(&mut server, &mut back), vec![Event::Ping(Bytes::new())]);
        Machine::handle_data(&mut client, now + SEC, &back);
        assert_eq!(pump(&mut client, &mut Vec::new()), vec![Event::Pong(Bytes::new())]);
        Machine::handle_eof(&mut server, now + SEC);
        assert!(Machine::is_terminated(&server));
        assert!(!Machine::wants_read(&server));
        assert_eq!(pump(&mut server, &mut Vec::new()), vec![Event::Closed(CloseReason::Abnormal)]);
    }
}
