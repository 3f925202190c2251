//! Tests of the GOSF framework core against `shared/spec/gosf-semantics.md`.

use super::config::MAX_DURATION_MS;
use super::context::{AppData, Configs, Env};
use super::message::key_matches;
use super::*;
use crate::eio::server::Origins;
use crate::sio::{CLIENT_RESERVED_EVENTS, SERVER_RESERVED_EVENTS};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::Duration;

fn obj(v: Value) -> Object {
    match v {
        Value::Object(o) => o,
        _ => panic!("not an object"),
    }
}

fn decode(s: &str) -> Result<Message, serde_json::Error> {
    serde_json::from_str(s)
}

// ---------------------------------------------------------------------------------------
// §3 Message: wire form

#[test]
fn verified_wire_example_byte_for_byte() {
    let m = Message {
        id: 5,
        guid: "g".into(),
        uuid: String::new(),
        success: true,
        text: "hello".into(),
        meta: Some(obj(json!({"secret": 1}))),
        body: Some(obj(json!({"a": 1}))),
    };
    let wire =
        r#"{"id":5,"guid":"g","success":true,"text":"hello","meta":{"secret":1},"body":{"a":1}}"#;
    assert_eq!(m.to_json(), wire);
    assert_eq!(serde_json::to_string(&m.to_value()).unwrap(), wire);
    assert_eq!(serde_json::to_string(&Value::from(&m)).unwrap(), wire);
    assert_eq!(decode(wire).unwrap(), m);
}

#[test]
fn field_order_with_every_field() {
    let m = Message::ok()
        .body(obj(json!({"b": 2})))
        .meta(obj(json!({"m": 1})))
        .text("t")
        .uuid("u")
        .guid("g")
        .id(-7);
    assert_eq!(
        m.to_json(),
        r#"{"id":-7,"guid":"g","uuid":"u","success":true,"text":"t","meta":{"m":1},"body":{"b":2}}"#
    );
}

#[test]
fn omission_rules() {
    assert_eq!(Message::default().to_json(), r#"{"success":false}"#);
    assert_eq!(Message::ok().to_json(), r#"{"success":true}"#);
    let empty_maps = Message::ok().meta(Map::new()).body(Map::new());
    assert_eq!(empty_maps.to_json(), r#"{"success":true}"#);
    assert_eq!(empty_maps.to_value(), json!({"success": true}));
    assert_eq!(empty_maps.clone().normalized(), Message::ok());
    // success is never omitted, even when false; id 0 is omitted, negative ids are not
    assert_eq!(Message::fail().id(0).to_json(), r#"{"success":false}"#);
    assert_eq!(Message::fail().id(-1).to_json(), r#"{"id":-1,"success":false}"#);
}

#[test]
fn constructors() {
    let body = obj(json!({"k": "v"}));
    let s = Message::success(Some("hi"), Some(body.clone()));
    assert_eq!(s.to_json(), r#"{"success":true,"text":"hi","body":{"k":"v"}}"#);
    let f = Message::failure(Some("no"), None);
    assert_eq!(f.to_json(), r#"{"success":false,"text":"no"}"#);
    assert_eq!(Message::failure(None, Some(body.clone())).body, Some(body));
    assert_eq!(Message::success(None, None), Message::ok());
    assert_eq!(Message::failure(None, None), Message::fail());
    let m = Message::ok().meta(obj(json!({"x": 1}))).text("t");
    assert_eq!(m.clone().without_meta(), Message::ok().text("t"));
    assert_eq!(Message::ok().without_meta(), Message::ok());
}

// ---------------------------------------------------------------------------------------
// §3 Message: decoding like Go's encoding/json

#[test]
fn decode_case_insensitive_names() {
    let m = decode(
        r#"{"ID":3,"Guid":"g","UUID":"u","SUCCESS":true,"Text":"x","Meta":{"a":1},"BODY":{"b":2}}"#,
    )
    .unwrap();
    assert_eq!(
        m,
        Message::ok()
            .id(3)
            .guid("g")
            .uuid("u")
            .text("x")
            .meta(obj(json!({"a":1})))
            .body(obj(json!({"b":2})))
    );
    // Go's folding also maps the long s and the Kelvin sign onto ASCII letters
    assert!(decode("{\"\u{017F}uccess\":true}").unwrap().success);
    assert!(key_matches("\u{212A}", "k"));
    assert!(key_matches("TeXt", "text"));
    assert!(!key_matches("texts", "text"));
    assert!(!key_matches("tex", "text"));
    assert!(!key_matches("t\u{0130}xt", "text"));
}

#[test]
fn decode_ignores_unknown_fields() {
    let m = decode(r#"{"x":{"deep":[1,{"y":null}]},"id":1,"ids":5,"successful":false,"body":{}}"#)
        .unwrap();
    assert_eq!(m, Message::fail().id(1).body(Map::new()));
    assert_eq!(decode("{}").unwrap(), Message::default());
}

#[test]
fn decode_null_fields() {
    // null leaves a scalar unchanged and clears a map (Go semantics)
    let m = decode(r#"{"id":4,"id":null,"text":"t","text":null,"success":true,"success":null}"#)
        .unwrap();
    assert_eq!(m, Message::ok().id(4).text("t"));
    let m = decode(r#"{"body":{"a":1},"Body":null,"meta":null}"#).unwrap();
    assert_eq!(m, Message::default());
}

#[test]
fn decode_repeated_fields() {
    // scalars: the last one wins; maps: merged into the earlier one
    let m = decode(r#"{"id":1,"ID":2,"body":{"a":1,"b":1},"Body":{"b":2,"c":3}}"#).unwrap();
    assert_eq!(m.id, 2);
    assert_eq!(m.body, Some(obj(json!({"a":1,"b":2,"c":3}))));
}

#[test]
fn decode_wrong_types_fail_the_whole_message() {
    for bad in [
        r#"{"id":"x"}"#,
        r#"{"id":1.5}"#,
        r#"{"id":1.0}"#,
        r#"{"id":1e3}"#,
        r#"{"id":9223372036854775808}"#,
        r#"{"id":true}"#,
        r#"{"guid":5}"#,
        r#"{"uuid":[]}"#,
        r#"{"success":"true"}"#,
        r#"{"success":1}"#,
        r#"{"text":1}"#,
        r#"{"meta":[1]}"#,
        r#"{"body":"x"}"#,
        r#"{"Body":1}"#,
        r#"{"text":"ok","id":"x"}"#,
    ] {
        assert!(decode(bad).is_err(), "{bad}");
    }
    for bad in ["null", "[1]", "[]", "\"s\"", "5", "true"] {
        assert!(decode(bad).is_err(), "{bad}");
    }
    // i64 limits are accepted
    assert_eq!(decode(r#"{"id":-9223372036854775808}"#).unwrap().id, i64::MIN);
    assert_eq!(decode(r#"{"id":9223372036854775807}"#).unwrap().id, i64::MAX);
}

#[test]
fn numbers_in_body_stay_exact() {
    // Go turned these into float64 (12345678901234567890 → 12345678901234567000); we keep them.
    let wire =
        r#"{"success":true,"body":{"big":12345678901234567890,"neg":-9007199254740993,"f":0.1}}"#;
    let m = decode(wire).unwrap();
    assert_eq!(m.to_json(), wire);
}

// ---------------------------------------------------------------------------------------
// §12 request rules

#[test]
fn request_rules() {
    assert_eq!(
        Message::from_args(&[json!({"id": 5, "text": "hello"})]),
        Ok(Message::fail().id(5).text("hello"))
    );
    assert_eq!(Message::from_args(&[json!({})]), Ok(Message::default()));
    assert_eq!(Message::from_args(&[]), Err(RequestError::MissingArgument));
    assert_eq!(Message::from_args(&[Value::Null]), Err(RequestError::NullMessage));
    for (v, kind) in [
        (json!("str"), JsonKind::String),
        (json!(1), JsonKind::Number),
        (json!(true), JsonKind::Bool),
        (json!([{}]), JsonKind::Array),
    ] {
        assert_eq!(Message::from_args(&[v]), Err(RequestError::NotAnObject(kind)));
    }
    assert_eq!(Message::from_args(&[json!({}), json!({})]), Err(RequestError::ExtraArguments(2)));
    assert_eq!(
        Message::from_args(&[Value::Null, json!(1), json!(2)]),
        Err(RequestError::ExtraArguments(3))
    );
    assert!(matches!(
        Message::from_args(&[json!({"id": "x"})]),
        Err(RequestError::InvalidField(_))
    ));
    // a binary placeholder inside the body is just an object
    let p = crate::sio::placeholder(0);
    assert_eq!(
        Message::from_args(&[json!({"body": {"file": p}})]).unwrap().body.unwrap()["file"],
        p
    );
}

#[test]
fn request_errors_become_failure_responses() {
    let e = Message::from_args(&[Value::Null]).unwrap_err();
    let r = e.to_response();
    assert!(!r.success);
    assert_eq!(r.text, "invalid request: the message is null");
    assert_eq!((r.id, r.meta, r.body), (0, None, None));
    let e = RequestError::NotAnObject(JsonKind::Array);
    assert_eq!(e.to_response().text, "invalid request: the message must be an object, got array");

    // echo what can be salvaged from a refused request
    let args = [json!({"ID": 9, "guid": "g", "uuid": 5, "body": "wrong"})];
    let err = Message::from_args(&args).unwrap_err();
    let c = Correlation::salvage(&args);
    assert_eq!(c, Correlation { id: 9, guid: "g".into(), uuid: String::new() });
    let sent = prepare_response(err.to_response(), &c, ResponsePolicy::default());
    assert_eq!((sent.id, sent.guid.as_str(), sent.success), (9, "g", false));
    assert_eq!(Correlation::salvage(&[]), Correlation::default());
    assert_eq!(Correlation::salvage(&[json!("x")]), Correlation::default());
    assert_eq!(Correlation::salvage(&[json!({"id": 1.5})]), Correlation::default());
}

// ---------------------------------------------------------------------------------------
// §4 response step

#[test]
fn response_echoes_ids_and_strips_meta() {
    let request = Message::from_args(&[json!({"id": 5, "text": "hello"})]).unwrap();
    let response = Message::success(Some(&request.text), None).meta(obj(json!({"secret": 1})));
    let c = Correlation::of(&request);
    // GOSF's verified transcript (meta exposed)
    let gosf = ResponsePolicy { double_delivery: true, expose_meta: true };
    assert_eq!(
        prepare_response(response.clone(), &c, gosf).to_json(),
        r#"{"id":5,"success":true,"text":"hello","meta":{"secret":1}}"#
    );
    // default: meta stripped
    assert_eq!(
        prepare_response(response.clone(), &c, ResponsePolicy::default()).to_json(),
        r#"{"id":5,"success":true,"text":"hello"}"#
    );
    // the handler's ids are always replaced, also by empty ones
    let handler = Message::ok().id(77).guid("h").uuid("h");
    let sent = prepare_response(handler, &Correlation::default(), ResponsePolicy::default());
    assert_eq!(sent.to_json(), r#"{"success":true}"#);
    let c = Correlation { id: 1, guid: "g".into(), uuid: "u".into() };
    let sent = prepare_response(Message::fail(), &c, ResponsePolicy::default());
    assert_eq!(sent.to_json(), r#"{"id":1,"guid":"g","uuid":"u","success":false}"#);
    assert_eq!(Correlation::from(&sent), c);
}

#[test]
fn delivery_plan() {
    let double = ResponsePolicy::default();
    assert!(double.double_delivery && !double.expose_meta);
    let single = ResponsePolicy { double_delivery: false, expose_meta: false };
    let d = |event, ack| Delivery { event, ack };
    // (ack requested, has response)
    assert_eq!(double.delivery(true, true), d(true, true));
    assert_eq!(double.delivery(false, true), d(true, false));
    assert_eq!(double.delivery(true, false), d(false, true));
    assert_eq!(double.delivery(false, false), d(false, false));
    assert_eq!(single.delivery(true, true), d(false, true));
    assert_eq!(single.delivery(false, true), d(true, false));
    assert_eq!(single.delivery(true, false), d(false, true));
    assert_eq!(single.delivery(false, false), d(false, false));
    assert_eq!(ack_args(None), vec![Value::Null]);
    let m = Message::ok().id(5);
    assert_eq!(ack_args(Some(&m)), vec![json!({"id": 5, "success": true})]);
    assert_eq!(event_args(&m), vec![json!({"id": 5, "success": true})]);
}

// ---------------------------------------------------------------------------------------
// §13 StructToMap / MapToStruct

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    #[serde(rename = "userName")]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age: Option<u32>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
struct Lenient {
    #[serde(default)]
    n: i32,
}

#[test]
fn typed_body_and_meta() {
    let u = User { name: "ann".into(), age: None };
    let m = Message::ok()
        .with_body(&u)
        .unwrap()
        .with_meta(&User { name: "m".into(), age: Some(3) })
        .unwrap();
    assert_eq!(
        m.to_json(),
        r#"{"success":true,"meta":{"userName":"m","age":3},"body":{"userName":"ann"}}"#
    );
    assert_eq!(m.body_as::<User>().unwrap(), u);
    assert_eq!(m.meta_as::<User>().unwrap().age, Some(3));
    // round trip through the wire by JSON names
    assert_eq!(decode(&m.to_json()).unwrap().body_as::<User>().unwrap(), u);
    // missing body reads as {}
    assert_eq!(Message::ok().body_as::<Lenient>().unwrap(), Lenient::default());
    assert!(matches!(Message::ok().body_as::<User>(), Err(ConvertError::Serde(_))));
    // json! values work; null clears; non-objects are refused
    let m = Message::ok().with_body(&json!({"a": 1})).unwrap();
    assert_eq!(m.body, Some(obj(json!({"a": 1}))));
    assert_eq!(m.with_body(&Value::Null).unwrap().body, None);
    assert_eq!(
        Message::ok().with_body(&5).unwrap_err(),
        ConvertError::NotAnObject(JsonKind::Number)
    );
    assert_eq!(
        Message::ok().with_meta(&[1, 2]).unwrap_err(),
        ConvertError::NotAnObject(JsonKind::Array)
    );
    assert_eq!(struct_to_map(&u).unwrap(), obj(json!({"userName": "ann"})));
    assert_eq!(
        map_to_struct::<User>(&obj(json!({"userName": "x", "age": 1}))).unwrap().age,
        Some(1)
    );
    assert_eq!(struct_to_map("s").unwrap_err(), ConvertError::NotAnObject(JsonKind::String));
}

// ---------------------------------------------------------------------------------------
// §5 hooks, §12 reserved names

#[test]
fn hooks_and_order() {
    assert_eq!(Hook::ALL.len(), 10);
    let mut sorted = Hook::ALL.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 10);
    for h in Hook::ALL {
        assert_eq!(Hook::from_name(h.as_str()), Some(h));
        assert_eq!(Hook::from_name(h.gosf_name()), Some(h));
        assert_eq!(h.to_string(), h.as_str());
        assert!(!h.args().is_empty());
    }
    assert_eq!(Hook::from_name("nope"), None);
    // the documented (not swapped) order
    use HookArg::*;
    assert_eq!(Hook::BeforeClientBroadcast.args(), &[Client, Endpoint, Room, Message]);
    assert_eq!(Hook::AfterClientBroadcast.args(), &[Client, Endpoint, Room, Message]);
    assert_eq!(Hook::BeforeBroadcast.args(), &[Endpoint, Room, Message]);
    assert_eq!(Hook::AfterBroadcast.args(), &[Endpoint, Room, Message]);
    assert_eq!(Hook::Connect.args(), &[Client, Request]);
    assert_eq!(Hook::AfterResponse.args(), &[Client, Request, Response]);
    // request cycle: the hook steps are ORDER_FOR_REQUEST; handler after before-request;
    // prepare before the sends; event before after-response before ack (§4.2)
    let hooks: Vec<Hook> = REQUEST_CYCLE
        .iter()
        .filter_map(|s| if let RequestStep::Hook(h) = s { Some(*h) } else { None })
        .collect();
    assert_eq!(hooks, Hook::ORDER_FOR_REQUEST);
    let pos = |step| REQUEST_CYCLE.iter().position(|s| *s == step).unwrap();
    assert!(pos(RequestStep::Hook(Hook::BeforeRequest)) < pos(RequestStep::Handler));
    assert!(pos(RequestStep::Handler) < pos(RequestStep::Hook(Hook::AfterRequest)));
    assert!(pos(RequestStep::Hook(Hook::BeforeResponse)) < pos(RequestStep::Prepare));
    assert!(pos(RequestStep::Prepare) < pos(RequestStep::EmitEvent));
    assert!(pos(RequestStep::EmitEvent) < pos(RequestStep::Hook(Hook::AfterResponse)));
    assert_eq!(REQUEST_CYCLE.last(), Some(&RequestStep::SendAck));
    for order in [
        &Hook::ORDER_FOR_CONNECTION[..],
        &Hook::ORDER_FOR_CLIENT_BROADCAST,
        &Hook::ORDER_FOR_BROADCAST,
        &Hook::ORDER_FOR_REQUEST[..2],
    ] {
        assert!(order[0].is_before() && !order[1].is_before());
    }
}

#[test]
fn reserved_endpoints() {
    let mut all: Vec<&str> = FRAMEWORK_RESERVED_EVENTS
        .iter()
        .chain(SERVER_RESERVED_EVENTS)
        .chain(CLIENT_RESERVED_EVENTS)
        .copied()
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut listed = RESERVED_ENDPOINTS.to_vec();
    listed.sort_unstable();
    assert_eq!(listed, all);
    for name in RESERVED_ENDPOINTS {
        assert!(is_reserved_endpoint(name));
        assert_eq!(
            check_endpoint_name(name),
            Err(FrameworkError::ReservedEndpoint(name.to_string()))
        );
    }
    for ok in ["echo", "message", "Connection", "connect ", "chat/room", "disconnected"] {
        assert_eq!(check_endpoint_name(ok), Ok(()), "{ok}");
    }
    assert_eq!(check_endpoint_name(""), Err(FrameworkError::EmptyEndpoint));
}

// ---------------------------------------------------------------------------------------
// §8 configuration

#[test]
fn config_defaults() {
    let c = ServerConfig::default();
    assert_eq!(c.port, 9999);
    assert_eq!(c.port, DEFAULT_PORT);
    assert_eq!((c.host.as_str(), c.path.as_str(), c.namespace.as_str()), ("", "/", "/"));
    assert!(!c.secure && c.ssl_cert.is_none() && c.ssl_key.is_none() && c.enable_cors.is_none());
    assert!(c.reject_invalid_hostnames && c.double_delivery && !c.expose_meta);
    assert_eq!(
        (c.ping_interval, c.ping_timeout),
        (Duration::from_secs(30), Duration::from_secs(60))
    );
    assert_eq!(c.max_message_size, 1_000_000);
    assert_eq!(c.allowed_origins, None);
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(ServerConfig::from_json(&json!({})), Ok(c.clone()));
    assert_eq!(ServerConfig::builder().build(), Ok(c.clone()));
    assert_eq!(c.listen_addr(), "0.0.0.0:9999");
    assert_eq!(c.tls(), None);
    assert!(c.cors_headers().is_empty());
    assert_eq!(c.response_policy(), ResponsePolicy::default());
}

#[test]
fn config_from_json() {
    let text = r#"{
        "host": "127.0.0.1", "port": 8443.0, "path": "/socket.io", "secure": true,
        "ssl-cert": "c.pem", "ssl-key": "k.pem", "enableCORS": "https://a.example",
        "rejectInvalidHostnames": false, "pingInterval": 25000, "pingTimeout": 5000,
        "maxMessageSize": 4096, "allowedOrigins": ["https://a.example:443", "localhost:*"],
        "namespace": "/api", "doubleDelivery": false, "exposeMeta": true,
        "database": {"user": "x"}, "ssl_cert": "typo"
    }"#;
    let c = ServerConfig::from_json_str(text).unwrap();
    assert_eq!(
        c,
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 8443,
            path: "/socket.io".into(),
            secure: true,
            ssl_cert: Some("c.pem".into()),
            ssl_key: Some("k.pem".into()),
            enable_cors: Some("https://a.example".into()),
            reject_invalid_hostnames: false,
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(5_000),
            max_message_size: 4096,
            allowed_origins: Some(vec!["https://a.example:443".into(), "localhost:*".into()]),
            namespace: "/api".into(),
            double_delivery: false,
            expose_meta: true,
        }
    );
    assert_eq!(c.validate(), Ok(()));
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        unknown_keys(v.as_object().unwrap()),
        vec!["database".to_string(), "ssl_cert".into()]
    );
    assert_eq!(c.tls(), Some(TlsFiles { cert: "c.pem".into(), key: "k.pem".into() }));
    assert_eq!(
        c.cors_headers(),
        vec![
            ("Access-Control-Allow-Origin", "https://a.example".to_string()),
            ("Access-Control-Allow-Credentials", "true".to_string())
        ]
    );
    assert_eq!(c.listen_addr(), "127.0.0.1:8443");
    assert_eq!(c.response_policy(), ResponsePolicy { double_delivery: false, expose_meta: true });

    let eio = c.to_eio_options().unwrap();
    assert_eq!(eio.path, "/socket.io/");
    assert!(eio.polling && eio.websocket && eio.cookie.is_none());
    assert!(matches!(&eio.origins, Origins::List(l) if l.len() == 2));
    assert_eq!(eio.session.ping_interval, Duration::from_millis(25_000));
    assert_eq!(eio.session.ping_timeout, Duration::from_millis(5_000));
    assert_eq!(eio.session.max_payload, 4096);
    assert_eq!(c.sio_conn_config().max_attachment_bytes, 4096);
    assert!(matches!(ServerConfig::default().to_eio_options().unwrap().origins, Origins::Any));
    assert_eq!(ServerConfig::default().to_eio_options().unwrap().path, "/");

    // to_map reads back unchanged
    assert_eq!(ServerConfig::from_map(&c.to_map()), Ok(c.clone()));
    assert_eq!(
        ServerConfig::from_map(&ServerConfig::default().to_map()),
        Ok(ServerConfig::default())
    );
}

#[test]
fn config_types_and_nulls() {
    let from = |v: Value| ServerConfig::from_json(&v);
    // null counts as absent
    assert_eq!(
        from(json!({"port": null, "secure": null, "ssl-cert": null})),
        Ok(ServerConfig::default())
    );
    let wt = |key, expected, found| Err(ConfigError::WrongType { key, expected, found });
    assert_eq!(from(json!({"secure": "true"})), wt("secure", "boolean", JsonKind::String));
    assert_eq!(from(json!({"port": "80"})), wt("port", "integer", JsonKind::String));
    assert_eq!(from(json!({"host": 1})), wt("host", "string", JsonKind::Number));
    assert_eq!(from(json!({"enableCORS": true})), wt("enableCORS", "string", JsonKind::Bool));
    assert_eq!(
        from(json!({"pingInterval": "1s"})),
        wt("pingInterval", "integer", JsonKind::String)
    );
    assert_eq!(
        from(json!({"allowedOrigins": "*:*"})),
        wt("allowedOrigins", "array of strings", JsonKind::String)
    );
    assert_eq!(
        from(json!({"allowedOrigins": [1]})),
        wt("allowedOrigins", "array of strings", JsonKind::Number)
    );
    assert!(matches!(
        from(json!({"pingTimeout": -1})),
        Err(ConfigError::OutOfRange { key: "pingTimeout", .. })
    ));
    assert!(matches!(
        from(json!({"maxMessageSize": 1.5})),
        Err(ConfigError::OutOfRange { key: "maxMessageSize", .. })
    ));
    // ports: integers and integral floats in range
    assert_eq!(from(json!({"port": 0})).unwrap().port, 0);
    assert_eq!(from(json!({"port": 65535})).unwrap().port, 65535);
    assert_eq!(from(json!({"port": 80.0})).unwrap().port, 80);
    for bad in [json!(65536), json!(-1), json!(80.5), json!(1e10), json!(-0.5)] {
        assert!(matches!(from(json!({"port": bad})), Err(ConfigError::InvalidPort(_))), "{bad}");
    }
    assert_eq!(
        ServerConfig::from_json(&json!([1])),
        Err(ConfigError::NotAnObject(JsonKind::Array))
    );
    assert!(matches!(ServerConfig::from_json_str("{port:1}"), Err(ConfigError::Json(_))));
    assert_eq!(ServerConfig::from_json_str("null"), Err(ConfigError::NotAnObject(JsonKind::Null)));
}

#[test]
fn config_validation() {
    let b = ServerConfig::builder;
    let secure = |missing| Err(ConfigError::SecureWithoutCertificate { missing });
    assert_eq!(b().secure(true).build(), secure("ssl-cert and ssl-key"));
    assert_eq!(b().secure(true).ssl_cert("c").build(), secure("ssl-key"));
    assert_eq!(b().secure(true).ssl_key("k").build(), secure("ssl-cert"));
    assert_eq!(b().tls("", "k").build(), secure("ssl-cert"));
    assert!(b().tls("c", "k").build().is_ok());
    // cert/key without secure: ignored, like GOSF
    let c = b().ssl_cert("c").ssl_key("k").build().unwrap();
    assert_eq!(c.tls(), None);

    for bad in ["", "/a b", "/a?b", "/a#b", "/a\n"] {
        assert_eq!(b().path(bad).build(), Err(ConfigError::InvalidPath(bad.into())), "{bad:?}");
    }
    for bad in ["a b", "a/b", "h\t"] {
        assert_eq!(b().host(bad).build(), Err(ConfigError::InvalidHost(bad.into())));
    }
    for bad in ["api", "/a,b", ""] {
        assert_eq!(b().namespace(bad).build(), Err(ConfigError::InvalidNamespace(bad.into())));
    }
    for bad in ["", " ", "a\r\nSet-Cookie: x"] {
        assert_eq!(b().enable_cors(bad).build(), Err(ConfigError::InvalidCorsOrigin(bad.into())));
    }
    assert!(b().enable_cors("*").build().is_ok());
    assert_eq!(
        b().allowed_origins(Vec::<String>::new()).build(),
        Err(ConfigError::NoAllowedOrigins)
    );
    for ok in ["*:*", "localhost:3000", "localhost:*", "*:443", "https://a.example:443", "[::1]:80"]
    {
        assert!(b().allowed_origins([ok]).build().is_ok(), "{ok}");
    }
    for bad in ["localhost", "a:", ":80", "a:b", "http://a", "://a:1", "a b:1", "a:123456"] {
        assert_eq!(
            b().allowed_origins([bad]).build(),
            Err(ConfigError::InvalidOrigin(bad.into())),
            "{bad}"
        );
    }
    assert!(matches!(
        b().ping_interval(Duration::ZERO).build(),
        Err(ConfigError::OutOfRange { key: "pingInterval", .. })
    ));
    assert!(matches!(
        b().ping_timeout(Duration::from_millis(MAX_DURATION_MS + 1)).build(),
        Err(ConfigError::OutOfRange { key: "pingTimeout", .. })
    ));
    assert!(b().ping_timeout(Duration::from_millis(MAX_DURATION_MS)).build().is_ok());
    assert!(matches!(
        b().max_message_size(0).build(),
        Err(ConfigError::OutOfRange { key: "maxMessageSize", .. })
    ));
    // to_eio_options validates
    let invalid = ServerConfig { secure: true, ..ServerConfig::default() };
    assert!(invalid.to_eio_options().is_err());
    // the builder sets every field
    let c = b()
        .host("::1")
        .port(1)
        .path("x")
        .reject_invalid_hostnames(false)
        .namespace("/n")
        .double_delivery(false)
        .expose_meta(true)
        .build()
        .unwrap();
    assert_eq!(c.listen_addr(), "[::1]:1");
    assert_eq!(c.normalized_path(), "/x/");
    assert!(!c.reject_invalid_hostnames && !c.double_delivery && c.expose_meta);
    assert_eq!(b().host("[::1]").port(2).build().unwrap().listen_addr(), "[::1]:2");
    assert_eq!(b().host("example.com").build().unwrap().listen_addr(), "example.com:9999");
}

#[test]
fn path_normalisation() {
    for (given, want) in [
        ("/", "/"),
        ("//", "/"),
        ("/socket.io", "/socket.io/"),
        ("/socket.io/", "/socket.io/"),
        ("/socket.io//", "/socket.io/"),
        ("socket.io", "/socket.io/"),
        ("/a/b", "/a/b/"),
    ] {
        let c = ServerConfig { path: given.into(), ..ServerConfig::default() };
        assert_eq!(c.normalized_path(), want, "{given}");
    }
}

// ---------------------------------------------------------------------------------------
// §9 app context

#[test]
fn context_data() {
    let env = Env::from_entries(["A=1", "B=x=y=z", "C", "D=", "A=2"]);
    assert_eq!(env.get("A"), Some("2"));
    assert_eq!(env.get("B"), Some("x=y=z"));
    assert_eq!(env.get("C"), Some(""));
    assert_eq!(env.get("D"), Some(""));
    assert_eq!(env.get("E"), None);
    assert_eq!(Env::from_pairs([("K", "V=W")]).get("K"), Some("V=W"));

    let mut configs = Configs::default();
    assert_eq!(configs.server_config("server"), Ok(ServerConfig::default()));
    configs.load_str("server", r#"{"port": 1234}"#).unwrap();
    assert_eq!(configs.server_config("server").unwrap().port, 1234);
    assert!(matches!(configs.load_str("bad", "{"), Err(ConfigError::Json(_))));
    assert_eq!(configs.load_str("bad", "[]"), Err(ConfigError::NotAnObject(JsonKind::Array)));
    assert_eq!(configs.get("bad"), None);
    configs.insert("server", json!({"port": "x"})).unwrap();
    assert!(configs.server_config("server").is_err());
    assert!(configs.remove("server").is_some());
    assert_eq!(configs.get("server"), None);
    let app = AppData { env, configs };
    assert_eq!(app.clone(), app);
}

// ---------------------------------------------------------------------------------------
// property tests

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((".{0,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Option<Object>> {
    prop::option::of(
        prop::collection::vec((".{0,6}", arb_json()), 0..4).prop_map(|kv| kv.into_iter().collect()),
    )
}

fn arb_message() -> impl Strategy<Value = Message> {
    (any::<i64>(), ".{0,8}", ".{0,8}", any::<bool>(), ".{0,12}", arb_object(), arb_object())
        .prop_map(|(id, guid, uuid, success, text, meta, body)| Message {
            id,
            guid,
            uuid,
            success,
            text,
            meta,
            body,
        })
}

fn shuffle_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
        .collect()
}

proptest! {
    #[test]
    fn message_round_trip(m in arb_message()) {
        let wire = m.to_json();
        let back = decode(&wire).unwrap();
        prop_assert_eq!(&back, &m.clone().normalized());
        prop_assert_eq!(back.to_json(), wire.clone());
        prop_assert_eq!(serde_json::to_string(&m.to_value()).unwrap(), wire);
        prop_assert_eq!(Message::from_args(&[m.to_value()]).unwrap(), m.normalized());
    }

    #[test]
    fn decode_any_key_case(m in arb_message(), mask in any::<u64>()) {
        let Value::Object(o) = m.to_value() else { unreachable!() };
        let shouted: Map<String, Value> = o.into_iter().map(|(k, v)| (shuffle_case(&k, mask), v)).collect();
        prop_assert_eq!(Message::from_args(&[Value::Object(shouted)]).unwrap(), m.normalized());
    }

    #[test]
    fn from_args_never_panics(args in prop::collection::vec(arb_json(), 0..3)) {
        match Message::from_args(&args) {
            Ok(m) => prop_assert_eq!(Message::from_args(&[m.to_value()]).unwrap(), m.normalized()),
            Err(e) => {
                let r = e.to_response();
                prop_assert!(!r.success && !r.text.is_empty());
            }
        }
        let _ = Correlation::salvage(&args);
    }
}
