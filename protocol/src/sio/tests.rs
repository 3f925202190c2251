//! Tests of the Socket.IO codec: the examples of spec §2.2 and §2.4, the malformed inputs of
//! §2.8, reconstruction, the encoder's refusals, and property round trips.

use super::*;
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};

fn dec(s: &str) -> (SioPacket, usize) {
    SioPacket::decode(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn packet(kind: SioPacketType, nsp: &str, id: Option<u64>, data: Option<Value>) -> SioPacket {
    SioPacket { kind, nsp: nsp.into(), query: None, id, data, attachments: Vec::new() }
}

/// Decodes `s` to `p` (expecting `n` attachments), and `p` with `attachments` encodes to `s`.
fn both_ways(s: &str, p: SioPacket, n: usize) {
    assert_eq!(SioPacket::decode(s), Ok((p.clone(), n)), "decode {s:?}");
    let with: Vec<Bytes> = (0..n).map(|i| Bytes::from(vec![i as u8])).collect();
    assert_eq!(SioPacket { attachments: with, ..p }.encode(), s, "encode");
}

#[test]
fn spec_table_2_2() {
    use SioPacketType::*;
    both_ways("0", SioPacket::connect("/"), 0);
    both_ways("0/chat,", SioPacket::connect("/chat"), 0);
    both_ways("0/chat?token=abc,", SioPacket::connect_with_query("/chat", "token=abc"), 0);
    both_ways("1", SioPacket::disconnect("/"), 0);
    both_ways("1/chat,", SioPacket::disconnect("/chat"), 0);
    both_ways(
        r#"2["hello","world"]"#,
        packet(Event, "/", None, Some(json!(["hello", "world"]))),
        0,
    );
    both_ways(r#"20["echo","hi"]"#, packet(Event, "/", Some(0), Some(json!(["echo", "hi"]))), 0);
    both_ways(r#"2/chat,7["hi"]"#, packet(Event, "/chat", Some(7), Some(json!(["hi"]))), 0);
    both_ways(r#"30["hi"]"#, packet(Ack, "/", Some(0), Some(json!(["hi"]))), 0);
    both_ways("30[]", packet(Ack, "/", Some(0), Some(json!([]))), 0);
    both_ways(r#"4"nope""#, packet(Error, "/", None, Some(json!("nope"))), 0);
    both_ways(
        r#"4/chat,"not authorized""#,
        packet(Error, "/chat", None, Some(json!("not authorized"))),
        0,
    );
    both_ways(r#"4/chat,{"code":42}"#, packet(Error, "/chat", None, Some(json!({"code": 42}))), 0);
    let ph = json!({"_placeholder": true, "num": 0});
    both_ways(
        r#"51-["b",{"_placeholder":true,"num":0},"x"]"#,
        packet(BinaryEvent, "/", None, Some(json!(["b", ph, "x"]))),
        1,
    );
    both_ways(
        r#"51-/chat,0["welcome",{"_placeholder":true,"num":0}]"#,
        packet(BinaryEvent, "/chat", Some(0), Some(json!(["welcome", ph]))),
        1,
    );
    both_ways(
        r#"61-2[{"_placeholder":true,"num":0}]"#,
        packet(BinaryAck, "/", Some(2), Some(json!([ph]))),
        1,
    );
}

#[test]
fn constructors_match_the_spec_table() {
    let a = || vec![Bytes::from_static(&[1])];
    let enc = |p: Result<SioPacket, SioUsageError>| p.unwrap().encode();
    assert_eq!(
        enc(SioPacket::event("/", "hello", vec![json!("world")], vec![], None)),
        r#"2["hello","world"]"#
    );
    assert_eq!(
        enc(SioPacket::event("/", "echo", vec![json!("hi")], vec![], Some(0))),
        r#"20["echo","hi"]"#
    );
    assert_eq!(enc(SioPacket::event("/chat", "hi", vec![], vec![], Some(7))), r#"2/chat,7["hi"]"#);
    assert_eq!(enc(SioPacket::ack("/", 0, vec![json!("hi")], vec![])), r#"30["hi"]"#);
    assert_eq!(enc(SioPacket::ack("/", 0, vec![], vec![])), "30[]");
    assert_eq!(enc(SioPacket::error("/", json!("nope"))), r#"4"nope""#);
    assert_eq!(enc(SioPacket::error("/chat", json!({"code": 42}))), r#"4/chat,{"code":42}"#);
    assert_eq!(
        enc(SioPacket::event("/", "b", vec![placeholder(0), json!("x")], a(), None)),
        r#"51-["b",{"_placeholder":true,"num":0},"x"]"#
    );
    assert_eq!(
        enc(SioPacket::event("/chat", "welcome", vec![placeholder(0)], a(), Some(0))),
        r#"51-/chat,0["welcome",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(
        enc(SioPacket::ack("/", 2, vec![placeholder(0)], a())),
        r#"61-2[{"_placeholder":true,"num":0}]"#
    );
    // The reference's "encode error" packet, and non-ASCII written raw.
    assert_eq!(enc(SioPacket::error("/", json!("encode error"))), r#"4"encode error""#);
    assert_eq!(
        enc(SioPacket::event("/", "é", vec![json!("😀\u{2028}")], vec![], None)),
        "2[\"é\",\"😀\u{2028}\"]"
    );
}

#[test]
fn encode_picks_the_binary_type_from_the_attachments() {
    let mut p = packet(SioPacketType::BinaryEvent, "/", None, Some(json!(["x"])));
    assert_eq!(p.encode(), r#"2["x"]"#);
    p.kind = SioPacketType::Event;
    p.attachments = vec![Bytes::new(), Bytes::new()];
    assert_eq!(p.encode(), r#"52-["x"]"#);
    let mut a = packet(SioPacketType::BinaryAck, "/x", Some(1), Some(json!([])));
    assert_eq!(a.encode(), "3/x,1[]");
    a.kind = SioPacketType::Ack;
    a.attachments = vec![Bytes::new()];
    assert_eq!(a.encode(), "61-/x,1[]");
    // Attachments of other types are not announced; a query only belongs to CONNECT.
    let mut c = SioPacket::connect_with_query("/", "a=1");
    assert_eq!(c.encode(), "0/?a=1,");
    c.kind = SioPacketType::Disconnect;
    c.attachments = vec![Bytes::new()];
    assert_eq!(c.encode(), "1");
}

#[test]
fn decode_details() {
    use SioPacketType::*;
    // The namespace without its trailing comma (captured: `0/open`).
    assert_eq!(dec("0/open").0, SioPacket::connect("/open"));
    assert_eq!(dec("1/chat").0, SioPacket::disconnect("/chat"));
    // An explicit "/" namespace; a query on "/"; an empty query; '?' twice.
    assert_eq!(dec(r#"2/,5["x"]"#).0, packet(Event, "/", Some(5), Some(json!(["x"]))));
    assert_eq!(dec("0/?a=b,").0, SioPacket::connect_with_query("/", "a=b"));
    assert_eq!(dec("0/chat?,").0, SioPacket::connect_with_query("/chat", ""));
    assert_eq!(dec("0/a?b?c,").0, SioPacket::connect_with_query("/a", "b?c"));
    // '?' is only split off for CONNECT.
    assert_eq!(dec("1/a?b,").0, SioPacket::disconnect("/a?b"));
    // CONNECT with data, ids on other types.
    assert_eq!(dec(r#"0/x,{"t":1}"#).0, packet(Connect, "/x", None, Some(json!({"t": 1}))));
    assert_eq!(dec("15").0, packet(Disconnect, "/", Some(5), None));
    assert_eq!(dec("0/x,9").0, packet(Connect, "/x", Some(9), None));
    // Leading zeros in ids and counts are just decimal.
    assert_eq!(dec("3007[]").0, packet(Ack, "/", Some(7), Some(json!([]))));
    assert_eq!(dec(r#"601-[{"_placeholder":true,"num":0}]"#).1, 1);
    // A space is not an ack id digit (the reference's quirk), JSON whitespace is fine.
    assert_eq!(dec("2 [\"x\"] ").0, packet(Event, "/", None, Some(json!(["x"]))));
    // The largest id; ACK without data; ERROR without data.
    assert_eq!(dec("39007199254740991[]").0.id, Some(MAX_ID));
    assert_eq!(dec("31").0, packet(Ack, "/", Some(1), None));
    assert_eq!(dec("4").0, packet(Error, "/", None, None));
    // Ten attachments, unused attachments, a placeholder used twice, nested placeholders.
    assert_eq!(dec(r#"510-["x"]"#).1, 10);
    assert_eq!(dec(r#"52-["x",{"_placeholder":true,"num":1}]"#).1, 2);
    let nested = r#"51-["x",{"a":[{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":0}]"#;
    assert_eq!(dec(nested).1, 1);
    // Placeholders in non-binary packets are ordinary JSON.
    assert_eq!(dec(r#"2["x",{"_placeholder":true,"num":9}]"#).1, 0);
}

#[test]
fn captured_binary_examples_2_4() {
    let mut r = Reconstructor::new(100);
    let ws = "51-0[\"echo\",\"é😀\",{\"_placeholder\":true,\"num\":0}]";
    assert_eq!(r.handle_text(ws), Ok(None));
    let p = r.handle_binary(Bytes::from_static(&[1, 2])).unwrap().unwrap();
    assert_eq!(p.kind, SioPacketType::BinaryEvent);
    assert_eq!(p.id, Some(0));
    assert_eq!(p.event_name(), Some("echo"));
    assert_eq!(p.args(), &[json!("é😀"), placeholder(0)]);
    assert_eq!(p.attachments, vec![Bytes::from_static(&[1, 2])]);
    assert_eq!(p.encode(), ws);
    let ack = SioPacket::ack("/", 0, vec![json!("é😀"), placeholder(0)], p.attachments.clone());
    assert_eq!(ack.unwrap().encode(), "61-0[\"é😀\",{\"_placeholder\":true,\"num\":0}]");
}

#[test]
fn malformed_table_2_8() {
    use SioError::*;
    let err = |s: &str| SioPacket::decode(s).map(|_| ()).unwrap_err();
    // Server 2.5.1 closes on these.
    assert_eq!(err(r#"2"str""#), InvalidPayload);
    assert_eq!(err("2[]"), InvalidPayload);
    assert_eq!(err("2[{}]"), InvalidPayload);
    assert_eq!(err(r#"5-["x"]"#), InvalidAttachments);
    assert_eq!(err(r#"11-["x"]"#), InvalidJson);
    assert_eq!(err(r#"511-["x"]"#), TooManyAttachments);
    assert_eq!(err(""), Empty);
    // The reference makes ERROR packets of these; we refuse them (allowed, safer).
    assert_eq!(err("9"), UnknownType('9'));
    assert_eq!(err("x"), UnknownType('x'));
    assert_eq!(err("é"), UnknownType('é'));
    // `2` without data: the reference dispatches a nameless event; refused here.
    assert_eq!(err("2"), InvalidPayload);
    // Client 2.5.0 throws on these.
    assert_eq!(err("2{}"), InvalidPayload);
    assert_eq!(err(r#"2"x""#), InvalidPayload);
    assert_eq!(err(r#"50-["x"]"#), InvalidAttachments);
    // Accepted: a number as event name, an ACK without id (servers ignore it), reserved
    // names (servers ignore them, see `is_reserved_server_event`), ERRORs, DISCONNECT.
    let (p, _) = dec("2[1]");
    assert_eq!((p.kind, p.event_name(), p.args()), (SioPacketType::Event, None, &[][..]));
    assert_eq!(dec("3").0, packet(SioPacketType::Ack, "/", None, None));
    let (p, _) = dec(r#"2["disconnect","fake"]"#);
    assert!(is_reserved_server_event(p.event_name().unwrap()));
    assert!(is_reserved_server_event(dec(r#"2["error","x"]"#).0.event_name().unwrap()));
    assert_eq!(dec(r#"4/x,"boom""#).0.data, Some(json!("boom")));
    assert_eq!(dec(r#"4{"code":1}"#).0.data, Some(json!({"code": 1})));
    assert_eq!(dec(r#"2["connect"]"#).0.event_name(), Some("connect"));
    assert_eq!(dec("1").0, SioPacket::disconnect("/"));
    assert_eq!(dec(r#"51-["x",{"_placeholder":true,"num":0}]"#).1, 1);
}

#[test]
fn more_malformed() {
    use SioError::*;
    let err = |s: &str| SioPacket::decode(s).map(|_| ()).unwrap_err();
    for s in ["5", "51", "5x-[\"x\"]", "5 1-[\"x\"]", "5-1[\"x\"]", "60-[]", "600-[]"] {
        assert_eq!(err(s), InvalidAttachments, "{s:?}");
    }
    assert_eq!(err(r#"599999999999999999999999999-["x"]"#), TooManyAttachments);
    assert_eq!(err("611-[]"), TooManyAttachments);
    // Huge ids.
    assert_eq!(err("39007199254740992[]"), InvalidId);
    assert_eq!(err("399999999999999999[]"), InvalidId);
    assert_eq!(err("300000000000000001[]"), InvalidId);
    assert_eq!(err(&format!("2{}[\"x\"]", "9".repeat(10_000))), InvalidId);
    // Per-type payload checks.
    for s in [
        "0[]",
        r#"0"x""#,
        "0/a,1",
        "1{}",
        "1[]",
        "1/x,[\"a\"]",
        "2[null]",
        "2[[\"x\"]]",
        "2/x,1",
        "3{}",
        r#"3"x""#,
        "4[]",
        "41",
        "4true",
        "51-",
        "61-0",
        "61-0{}",
        "51-[{\"_placeholder\":true,\"num\":0}]",
        "2/x[\"x\"]",
    ] {
        if s == "0/a,1" || s == "41" {
            // CONNECT / ERROR with an id and no data is fine.
            assert!(SioPacket::decode(s).is_ok(), "{s:?}");
            continue;
        }
        assert_eq!(err(s), InvalidPayload, "{s:?}");
    }
    for s in ["2[\"x\"", "2[\"x\"]]", "2,[\"x\"]", "3-1[]", "2[\"\\ud800\"]", "2[1e999]"] {
        assert_eq!(err(s), InvalidJson, "{s:?}");
    }
    // Placeholders: out of range, malformed num.
    for s in [
        r#"51-["x",{"_placeholder":true,"num":1}]"#,
        r#"51-["x",{"_placeholder":true}]"#,
        r#"51-["x",{"_placeholder":true,"num":-1}]"#,
        r#"51-["x",{"_placeholder":true,"num":0.5}]"#,
        r#"51-["x",{"_placeholder":true,"num":"0"}]"#,
        r#"62-[[{"_placeholder":true,"num":0}],{"k":{"_placeholder":true,"num":2}}]"#,
    ] {
        assert_eq!(err(s), IllegalPlaceholder, "{s:?}");
    }
    // Deep nesting is refused by the JSON parser, not by a stack overflow.
    let deep = format!("2[\"x\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(err(&deep), InvalidJson);
}

#[test]
fn reconstruction_across_calls() {
    let mut r = Reconstructor::new(10);
    assert!(!r.is_pending());
    assert_eq!(r.handle_text(r#"2["a"]"#).unwrap().unwrap().event_name(), Some("a"));
    let header = r#"62-/n,3[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
    assert_eq!(r.handle_text(header), Ok(None));
    assert!(r.is_pending());
    assert_eq!(r.handle_binary(Bytes::from_static(b"abc")), Ok(None));
    assert!(r.is_pending());
    let p = r.handle_binary(Bytes::from_static(b"")).unwrap().unwrap();
    assert!(!r.is_pending());
    assert_eq!(p.kind, SioPacketType::BinaryAck);
    assert_eq!((p.nsp.as_str(), p.id), ("/n", Some(3)));
    assert_eq!(p.attachments, vec![Bytes::from_static(b"abc"), Bytes::new()]);
    assert_eq!(p.encode(), header);
    // And again: the state is reusable.
    assert_eq!(r.handle_text(header), Ok(None));
    r.reset();
    assert!(!r.is_pending());
    assert_eq!(r.handle_text("1"), Ok(Some(SioPacket::disconnect("/"))));
}

#[test]
fn reconstruction_errors() {
    let header = r#"52-["x",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
    // Binary when not reconstructing.
    let mut r = Reconstructor::new(10);
    assert_eq!(r.handle_binary(Bytes::from_static(b"x")), Err(SioError::UnexpectedBinary));
    // Text while reconstructing (even a valid packet), then the state is clean.
    assert_eq!(r.handle_text(header), Ok(None));
    assert_eq!(r.handle_binary(Bytes::from_static(b"x")), Ok(None));
    assert_eq!(r.handle_text(r#"2["y"]"#), Err(SioError::UnexpectedText));
    assert!(!r.is_pending());
    assert_eq!(r.handle_binary(Bytes::from_static(b"x")), Err(SioError::UnexpectedBinary));
    // Too many bytes in total (10 allowed: 6 + 4 fits, 6 + 5 does not).
    assert_eq!(r.handle_text(header), Ok(None));
    assert_eq!(r.handle_binary(Bytes::from_static(b"123456")), Ok(None));
    assert_eq!(r.handle_binary(Bytes::from_static(b"12345")), Err(SioError::AttachmentsTooLarge));
    assert!(!r.is_pending());
    assert_eq!(r.handle_text(header), Ok(None));
    assert_eq!(r.handle_binary(Bytes::from_static(b"123456")), Ok(None));
    assert_eq!(r.handle_binary(Bytes::from_static(b"1234")).unwrap().unwrap().attachments.len(), 2);
    let mut zero = Reconstructor::new(0);
    assert_eq!(zero.handle_text(header), Ok(None));
    assert_eq!(zero.handle_binary(Bytes::new()), Ok(None));
    assert_eq!(zero.handle_binary(Bytes::from_static(b"1")), Err(SioError::AttachmentsTooLarge));
    // Decode errors pass through and leave nothing pending.
    assert_eq!(
        r.handle_text(r#"51-["x",{"_placeholder":true,"num":1}]"#),
        Err(SioError::IllegalPlaceholder)
    );
    assert_eq!(r.handle_text(r#"511-["x"]"#), Err(SioError::TooManyAttachments));
    assert!(!r.is_pending());
}

#[test]
fn encoder_refusals() {
    use SioUsageError::*;
    let b = |n: usize| (0..n).map(|_| Bytes::from_static(b"z")).collect::<Vec<_>>();
    let phs = |n: usize| (0..n).map(placeholder).collect::<Vec<_>>();
    for name in [
        "connect",
        "disconnect",
        "error",
        "ping",
        "pong",
        "reconnecting",
        "newListener",
        "connection",
        "disconnecting",
    ] {
        assert_eq!(
            SioPacket::event("/", name, vec![], vec![], None),
            Err(ReservedEvent(name.into()))
        );
    }
    assert!(SioPacket::event("/", "message", vec![], vec![], None).is_ok());
    for nsp in ["", "chat", "/a,b"] {
        assert_eq!(
            SioPacket::event(nsp, "x", vec![], vec![], None),
            Err(InvalidNamespace(nsp.into()))
        );
        assert_eq!(SioPacket::ack(nsp, 0, vec![], vec![]), Err(InvalidNamespace(nsp.into())));
        assert_eq!(SioPacket::error(nsp, json!("x")), Err(InvalidNamespace(nsp.into())));
    }
    assert_eq!(
        SioPacket::event("/", "x", vec![], vec![], Some(MAX_ID + 1)),
        Err(IdTooLarge(MAX_ID + 1))
    );
    assert_eq!(SioPacket::ack("/", u64::MAX, vec![], vec![]), Err(IdTooLarge(u64::MAX)));
    assert!(SioPacket::ack("/", MAX_ID, vec![], vec![]).is_ok());
    assert_eq!(SioPacket::event("/", "x", phs(11), b(11), None), Err(TooManyAttachments(11)));
    assert!(SioPacket::event("/", "x", phs(10), b(10), None).is_ok());
    // Placeholders must be exactly 0..n.
    assert_eq!(
        SioPacket::event("/", "x", vec![placeholder(0)], vec![], None),
        Err(PlaceholderOutOfRange)
    );
    assert_eq!(SioPacket::ack("/", 1, vec![placeholder(1)], b(1)), Err(PlaceholderOutOfRange));
    assert_eq!(
        SioPacket::ack("/", 1, vec![json!({"_placeholder": true})], b(1)),
        Err(PlaceholderOutOfRange)
    );
    assert_eq!(SioPacket::ack("/", 1, vec![], b(1)), Err(UnreferencedAttachment(0)));
    assert_eq!(SioPacket::ack("/", 1, vec![placeholder(1)], b(2)), Err(UnreferencedAttachment(0)));
    let twice = vec![placeholder(0), json!({"k": [placeholder(1), placeholder(0)]})];
    assert!(SioPacket::event("/", "x", twice, b(2), None).is_ok());
    // A `_placeholder` that is not `true` is ordinary data.
    assert!(SioPacket::ack("/", 1, vec![json!({"_placeholder": 1, "num": 5})], vec![]).is_ok());
    // ERROR data.
    for bad in [json!(1), json!([]), json!(null), json!(true)] {
        assert_eq!(SioPacket::error("/", bad), Err(InvalidErrorData));
    }
}

#[test]
fn placeholder_helpers() {
    assert_eq!(placeholder(3), json!({"_placeholder": true, "num": 3}));
    assert_eq!(is_placeholder(&placeholder(3)), Some(3));
    assert_eq!(is_placeholder(&json!({"_placeholder": true, "num": 1, "extra": 0})), Some(1));
    assert_eq!(is_placeholder(&json!({"_placeholder": false, "num": 1})), None);
    assert_eq!(is_placeholder(&json!({"_placeholder": true, "num": -1})), None);
    assert_eq!(is_placeholder(&json!([placeholder(0)])), None);
    let v = json!(["x", placeholder(0), {"a": [placeholder(1), {"b": placeholder(0)}]}, {"_placeholder": true}]);
    assert_eq!(count_placeholders(&v), 3);
    assert_eq!(count_placeholders(&json!("x")), 0);
}

#[test]
fn accessors() {
    let p = SioPacket::event("/", "n", vec![json!(1), json!(2)], vec![], None).unwrap();
    assert_eq!((p.event_name(), p.args()), (Some("n"), &[json!(1), json!(2)][..]));
    let a = SioPacket::ack("/", 1, vec![json!(1)], vec![]).unwrap();
    assert_eq!((a.event_name(), a.args()), (None, &[json!(1)][..]));
    assert_eq!(SioPacket::connect("/").args(), &[] as &[Value]);
    assert_eq!(SioPacketType::from_u8(7), None);
    assert_eq!(SioPacketType::BinaryAck.digit(), '6');
    assert!(SioPacketType::BinaryEvent.is_binary() && !SioPacketType::Event.is_binary());
}

// ---- properties ----

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ]
}

/// Arbitrary JSON without placeholders (keys never start with `_`).
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zé]{0,4}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn nsp() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_string()), "/[a-zA-Z0-9_é.-]{0,8}"]
}

fn id() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(prop_oneof![0..100u64, Just(MAX_ID), 0..=MAX_ID])
}

/// Arguments with placeholders for `0..n` inserted at random places (some twice).
fn args_with_placeholders(n: usize) -> impl Strategy<Value = Vec<Value>> {
    (
        prop::collection::vec(json_value(), 0..4),
        prop::collection::vec(any::<prop::sample::Index>(), n + 1),
    )
        .prop_map(move |(mut args, idx)| {
            for (num, i) in idx.iter().take(n).enumerate() {
                let at = i.index(args.len() + 1);
                args.insert(at, placeholder(num));
            }
            if n > 0 {
                // one placeholder nested, referenced a second time
                let extra = idx[n].index(n);
                args.push(json!({"nested": [placeholder(extra)]}));
            }
            args
        })
}

fn attachments(n: usize) -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20).prop_map(Bytes::from), n)
}

fn arb_packet() -> impl Strategy<Value = SioPacket> {
    let connect =
        (nsp(), prop::option::of("[a-zA-Z0-9=&%?/]{0,12}"), id(), prop::option::of(json_value()))
            .prop_map(|(nsp, query, id, data)| {
                let data = data.map(|d| match d {
                    Value::Object(_) => d,
                    other => json!({ "v": other }),
                });
                SioPacket { query, id, data, ..SioPacket::connect(&nsp) }
            });
    let disconnect =
        (nsp(), id()).prop_map(|(nsp, id)| SioPacket { id, ..SioPacket::disconnect(&nsp) });
    let error = (nsp(), id(), prop_oneof![any::<String>().prop_map(Value::String), json_value()])
        .prop_map(|(nsp, id, d)| {
            let d = if d.is_object() || d.is_string() { d } else { json!({ "e": d }) };
            SioPacket { id, ..SioPacket::error(&nsp, d).unwrap() }
        });
    let event = (nsp(), any::<String>(), id(), 0..=MAX_ATTACHMENTS)
        .prop_flat_map(|(nsp, name, id, n)| {
            (Just(nsp), Just(name), Just(id), args_with_placeholders(n), attachments(n))
        })
        .prop_map(|(nsp, name, id, args, att)| {
            let mut data = vec![Value::String(name)];
            data.extend(args);
            let kind =
                if att.is_empty() { SioPacketType::Event } else { SioPacketType::BinaryEvent };
            SioPacket {
                kind,
                nsp,
                query: None,
                id,
                data: Some(Value::Array(data)),
                attachments: att,
            }
        });
    let ack = (nsp(), id(), 0..=MAX_ATTACHMENTS)
        .prop_flat_map(|(nsp, id, n)| {
            (Just(nsp), Just(id), args_with_placeholders(n), attachments(n))
        })
        .prop_map(|(nsp, id, args, att)| {
            let kind = if att.is_empty() { SioPacketType::Ack } else { SioPacketType::BinaryAck };
            SioPacket {
                kind,
                nsp,
                query: None,
                id,
                data: Some(Value::Array(args)),
                attachments: att,
            }
        });
    prop_oneof![connect, disconnect, error, event, ack]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_reconstruct_round_trip(p in arb_packet()) {
        let s = p.encode();
        let (decoded, n) = SioPacket::decode(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        prop_assert_eq!(n, p.attachments.len());
        prop_assert_eq!(&decoded, &SioPacket { attachments: Vec::new(), ..p.clone() });
        let mut r = Reconstructor::new(usize::MAX);
        let mut out = r.handle_text(&s)?;
        for a in &p.attachments {
            prop_assert!(out.is_none());
            out = r.handle_binary(a.clone())?;
        }
        prop_assert!(!r.is_pending());
        prop_assert_eq!(out, Some(p));
    }

    #[test]
    fn constructors_round_trip(nsp in nsp(), name in "[a-z]{1,8}", n in 0..=MAX_ATTACHMENTS, seed in any::<u64>()) {
        prop_assume!(check_emittable(&name).is_ok());
        let args: Vec<Value> = (0..n).map(placeholder).chain([json!(seed)]).collect();
        let att: Vec<Bytes> = (0..n).map(|i| Bytes::from(vec![i as u8; i])).collect();
        let ev = SioPacket::event(&nsp, &name, args.clone(), att.clone(), Some(seed & MAX_ID)).unwrap();
        let ack = SioPacket::ack(&nsp, seed & MAX_ID, args, att).unwrap();
        for p in [ev, ack] {
            let mut r = Reconstructor::new(1000);
            let mut out = r.handle_text(&p.encode())?;
            for a in &p.attachments {
                out = r.handle_binary(a.clone())?;
            }
            prop_assert_eq!(out, Some(p));
        }
    }

    #[test]
    fn decode_never_panics_and_round_trips(s in "[0-6]?[0-9]{0,2}-?(/[a-z?,]{0,4})?,?[0-9]{0,3}.{0,12}") {
        if let Ok((p, n)) = SioPacket::decode(&s) {
            let att = vec![Bytes::new(); n];
            let again = SioPacket::decode(&SioPacket { attachments: att, ..p.clone() }.encode());
            prop_assert_eq!(again, Ok((p, n)));
        }
    }

    #[test]
    fn decode_arbitrary_text(s in any::<String>()) {
        let _ = SioPacket::decode(&s);
    }
}

#[test]
fn numbers_round_trip_exactly() {
    // Found by the property test: without serde_json's `float_roundtrip` this came back 1 ULP off.
    let s = r#"4{"":1.2503043998294203e-308}"#;
    let (p, _) = dec(s);
    assert_eq!(p.encode(), s);
    assert_eq!(p.data.unwrap()[""].as_f64(), Some(1.2503043998294203e-308));
    let s = r#"2["x",-0.0,0.1,1e21,5e-324,1.7976931348623157e308,18446744073709551615,-9223372036854775808]"#;
    let (p, _) = dec(s);
    assert_eq!(dec(&p.encode()).0, p);
}
