//! The response step of the request/response cycle (spec §4, §12) as pure functions: id echo
//! ([`Correlation`], [`prepare_response`]), meta stripping, and which of "event on the
//! endpoint" / "ack" carry the response ([`ResponsePolicy::delivery`]).

use super::message::{key_matches, Message};
use serde_json::Value;

/// A request's correlation fields (`id`, `guid`, `uuid`), which every response echoes (§4.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Correlation {
    /// The request's `id` (0 when absent).
    pub id: i64,
    /// The request's `guid` (empty when absent).
    pub guid: String,
    /// The request's `uuid` (empty when absent).
    pub uuid: String,
}

impl Correlation {
    /// The correlation fields of a decoded request.
    pub fn of(request: &Message) -> Correlation {
        Correlation { id: request.id, guid: request.guid.clone(), uuid: request.uuid.clone() }
    }

    /// Best-effort correlation fields of arguments that [`Message::from_args`] refused, so
    /// that even the failure response can be matched by the client: from the first argument,
    /// if it is an object, each of `id` / `guid` / `uuid` (names folded like decoding; the
    /// last occurrence wins) whose value has the right type; the others stay empty.
    pub fn salvage(args: &[Value]) -> Correlation {
        let mut c = Correlation::default();
        let Some(Value::Object(o)) = args.first() else { return c };
        for (k, v) in o {
            if key_matches(k, "id") {
                if let Some(id) = v.as_i64() {
                    c.id = id;
                }
            } else if key_matches(k, "guid") {
                if let Some(s) = v.as_str() {
                    c.guid = s.to_owned();
                }
            } else if key_matches(k, "uuid") {
                if let Some(s) = v.as_str() {
                    c.uuid = s.to_owned();
                }
            }
        }
        c
    }
}

impl From<&Message> for Correlation {
    fn from(m: &Message) -> Correlation {
        Correlation::of(m)
    }
}

/// How responses are delivered and what they carry (spec §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponsePolicy {
    /// GOSF's double delivery (§4.2, §11.6): the response is emitted as an event on the
    /// request's endpoint *and*, when the client asked for an ack, sent again as the ack.
    /// When false, a request with an ack gets only the ack and one without gets only the
    /// event. Default true (GOSF's wire contract).
    pub double_delivery: bool,
    /// Send [`Message::meta`] to clients (GOSF did, §11.7). Default false.
    pub expose_meta: bool,
}

impl Default for ResponsePolicy {
    fn default() -> Self {
        ResponsePolicy { double_delivery: true, expose_meta: false }
    }
}

/// Which sends carry one response (see [`ResponsePolicy::delivery`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// Emit the response as the event `[<endpoint>, <response>]` to the requesting client.
    pub event: bool,
    /// Answer the client's ack with [`ack_args`] (the response, or `null` for none).
    pub ack: bool,
}

impl ResponsePolicy {
    /// Where a response goes. `ack_requested`: the event carried an ack id; `has_response`:
    /// the handler returned a message. The ack is always answered when requested (with
    /// `[null]` for no response, as GOSF did), so client callbacks never hang; the event is
    /// only ever sent for an actual response. The event goes first, then the ack (§4.2).
    pub fn delivery(&self, ack_requested: bool, has_response: bool) -> Delivery {
        let event = has_response && (self.double_delivery || !ack_requested);
        Delivery { event, ack: ack_requested }
    }
}

/// The response as sent (§4.2 step 4, §12): `id`, `guid` and `uuid` are the request's
/// (always, even when the handler set others or the request had none), and `meta` is
/// removed unless `policy.expose_meta`. Apply it after the `before-response` hooks; the
/// `after-response` hooks see its result.
///
/// ```
/// use glue_protocol::gosf::{prepare_response, Correlation, Message, ResponsePolicy};
/// use serde_json::json;
///
/// let request = Message::ok().id(5).text("hello");
/// let response = Message::ok().id(99).text("hello").with_meta(&json!({"secret": 1}))?;
/// let sent = prepare_response(response, &Correlation::of(&request), ResponsePolicy::default());
/// assert_eq!(sent.to_json(), r#"{"id":5,"success":true,"text":"hello"}"#);
/// # Ok::<(), glue_protocol::gosf::ConvertError>(())
/// ```
pub fn prepare_response(
    mut response: Message,
    request: &Correlation,
    policy: ResponsePolicy,
) -> Message {
    response.id = request.id;
    response.guid.clone_from(&request.guid);
    response.uuid.clone_from(&request.uuid);
    if !policy.expose_meta {
        response.meta = None;
    }
    response
}

/// The ack's argument list for a (prepared) response: `[<response>]`, or `[null]` when the
/// handler returned none (§4.2 step 6).
pub fn ack_args(response: Option<&Message>) -> Vec<Value> {
    vec![response.map_or(Value::Null, Message::to_value)]
}

/// The event arguments that carry a (prepared) response on its endpoint: `[<response>]`.
pub fn event_args(response: &Message) -> Vec<Value> {
    vec![response.to_value()]
}
