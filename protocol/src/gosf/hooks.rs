//! Hooks (spec §5), their arguments and the order they run in; reserved endpoint names
//! (§12).
//!
//! GOSF has ten hook kinds. Every registered callback of a kind runs in registration order.
//! The framework fixes GOSF's defects here: the broadcast hooks get `endpoint` and `room` in
//! their documented order (GOSF swapped them, §11.4), and a client cannot fire the
//! connection hooks by emitting `connection` / `disconnection` (§11.11), because those names
//! are [reserved](RESERVED_ENDPOINTS).

use super::error::FrameworkError;
use crate::sio::{is_reserved_client_event, is_reserved_server_event};

/// One argument a hook callback receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookArg {
    /// The connection's client handle (runtime: a persistent per-connection handle, §12).
    Client,
    /// The request (`connect` / `disconnect` hooks: a request whose endpoint is `"connect"` /
    /// `"disconnect"` and which has no message).
    Request,
    /// The response: `Option<Message>` (none when the handler returned none).
    Response,
    /// The endpoint (event name) a broadcast is sent on.
    Endpoint,
    /// The room a broadcast is sent to (empty: see the broadcast's own rules).
    Room,
    /// The broadcast message.
    Message,
}

/// A hook kind. The variant docs give the arguments in the order callbacks receive them
/// (also as data: [`Hook::args`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// `(client, request)`: a client connected to the framework's namespace; runs before
    /// any of its requests (GOSF let its first events race with this hook).
    Connect,
    /// `(client, request)`: the client's connection closed, for any reason; runs after its
    /// last request finished, with no framework lock held (GOSF held one: §11.3).
    Disconnect,
    /// `(client, request)`: before the endpoint's handler.
    BeforeRequest,
    /// `(client, request, response)`: after the handler, with its response as returned
    /// (ids not yet echoed, meta present).
    AfterRequest,
    /// `(client, request, response)`: just before the response is sent (also when there is
    /// none); response as returned.
    BeforeResponse,
    /// `(client, request, response)`: after the response was queued (also when there is
    /// none); the response as sent (see [`prepare_response`](super::prepare_response)).
    AfterResponse,
    /// `(client, endpoint, room, message)`: start of a broadcast by a client (to others).
    BeforeClientBroadcast,
    /// `(client, endpoint, room, message)`: end of a broadcast by a client.
    AfterClientBroadcast,
    /// `(endpoint, room, message)`: start of a server-wide broadcast.
    BeforeBroadcast,
    /// `(endpoint, room, message)`: end of a server-wide broadcast.
    AfterBroadcast,
}

/// One step of the request/response cycle (spec §4.2), see [`REQUEST_CYCLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestStep {
    /// Run every callback of this hook kind.
    Hook(Hook),
    /// Call the endpoint's handler.
    Handler,
    /// [`prepare_response`](super::prepare_response): echo the ids, strip meta.
    Prepare,
    /// Emit the response as an event on the endpoint, if
    /// [`Delivery::event`](super::Delivery::event).
    EmitEvent,
    /// Answer the ack, if [`Delivery::ack`](super::Delivery::ack).
    SendAck,
}

/// The request/response cycle in order (spec §4.2, with the ack sent last as GOSF did).
pub const REQUEST_CYCLE: [RequestStep; 8] = [
    RequestStep::Hook(Hook::BeforeRequest),
    RequestStep::Handler,
    RequestStep::Hook(Hook::AfterRequest),
    RequestStep::Hook(Hook::BeforeResponse),
    RequestStep::Prepare,
    RequestStep::EmitEvent,
    RequestStep::Hook(Hook::AfterResponse),
    RequestStep::SendAck,
];

impl Hook {
    /// Every hook kind, in declaration order.
    pub const ALL: [Hook; 10] = [
        Hook::Connect,
        Hook::Disconnect,
        Hook::BeforeRequest,
        Hook::AfterRequest,
        Hook::BeforeResponse,
        Hook::AfterResponse,
        Hook::BeforeClientBroadcast,
        Hook::AfterClientBroadcast,
        Hook::BeforeBroadcast,
        Hook::AfterBroadcast,
    ];

    /// The hooks of one request, in the order they run (the hook steps of
    /// [`REQUEST_CYCLE`]).
    pub const ORDER_FOR_REQUEST: [Hook; 4] =
        [Hook::BeforeRequest, Hook::AfterRequest, Hook::BeforeResponse, Hook::AfterResponse];

    /// The hooks of one connection's life: `Connect` first, `Disconnect` last, every
    /// request's hooks in between.
    pub const ORDER_FOR_CONNECTION: [Hook; 2] = [Hook::Connect, Hook::Disconnect];

    /// The hooks around a client's broadcast, in order (the sends happen in between).
    pub const ORDER_FOR_CLIENT_BROADCAST: [Hook; 2] =
        [Hook::BeforeClientBroadcast, Hook::AfterClientBroadcast];

    /// The hooks around a server-wide broadcast, in order (the sends happen in between).
    pub const ORDER_FOR_BROADCAST: [Hook; 2] = [Hook::BeforeBroadcast, Hook::AfterBroadcast];

    /// The kebab-case name (`"before-request"`, as the spec writes them).
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Connect => "connect",
            Hook::Disconnect => "disconnect",
            Hook::BeforeRequest => "before-request",
            Hook::AfterRequest => "after-request",
            Hook::BeforeResponse => "before-response",
            Hook::AfterResponse => "after-response",
            Hook::BeforeClientBroadcast => "before-client-broadcast",
            Hook::AfterClientBroadcast => "after-client-broadcast",
            Hook::BeforeBroadcast => "before-broadcast",
            Hook::AfterBroadcast => "after-broadcast",
        }
    }

    /// GOSF's registration function (`"OnBeforeRequest"`).
    pub fn gosf_name(self) -> &'static str {
        match self {
            Hook::Connect => "OnConnect",
            Hook::Disconnect => "OnDisconnect",
            Hook::BeforeRequest => "OnBeforeRequest",
            Hook::AfterRequest => "OnAfterRequest",
            Hook::BeforeResponse => "OnBeforeResponse",
            Hook::AfterResponse => "OnAfterResponse",
            Hook::BeforeClientBroadcast => "OnBeforeClientBroadcast",
            Hook::AfterClientBroadcast => "OnAfterClientBroadcast",
            Hook::BeforeBroadcast => "OnBeforeBroadcast",
            Hook::AfterBroadcast => "OnAfterBroadcast",
        }
    }

    /// The hook whose [`as_str`](Hook::as_str) or [`gosf_name`](Hook::gosf_name) is `name`.
    pub fn from_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.as_str() == name || h.gosf_name() == name)
    }

    /// The callback's arguments, in order (the documented order; GOSF delivered `room`
    /// before `endpoint` to the four broadcast hooks).
    pub fn args(self) -> &'static [HookArg] {
        use HookArg::*;
        match self {
            Hook::Connect | Hook::Disconnect | Hook::BeforeRequest => &[Client, Request],
            Hook::AfterRequest | Hook::BeforeResponse | Hook::AfterResponse => {
                &[Client, Request, Response]
            }
            Hook::BeforeClientBroadcast | Hook::AfterClientBroadcast => {
                &[Client, Endpoint, Room, Message]
            }
            Hook::BeforeBroadcast | Hook::AfterBroadcast => &[Endpoint, Room, Message],
        }
    }

    /// Whether the hook runs before the action it surrounds (`Before*`, and `Connect`).
    pub fn is_before(self) -> bool {
        matches!(
            self,
            Hook::Connect
                | Hook::BeforeRequest
                | Hook::BeforeResponse
                | Hook::BeforeClientBroadcast
                | Hook::BeforeBroadcast
        )
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names the framework gives a meaning of its own: GOSF stored its connection handlers
/// under them (§5), so clients could fire the connection hooks by emitting them (§11.11).
pub const FRAMEWORK_RESERVED_EVENTS: &[&str] = &["connection", "disconnection"];

/// Every reserved endpoint name: the framework's ([`FRAMEWORK_RESERVED_EVENTS`]), the
/// Socket.IO server's ([`SERVER_RESERVED_EVENTS`](crate::sio::SERVER_RESERVED_EVENTS)) and
/// the Socket.IO client's ([`CLIENT_RESERVED_EVENTS`](crate::sio::CLIENT_RESERVED_EVENTS):
/// a response is emitted as an event named like its endpoint, which a client would treat as
/// its own lifecycle event). Without duplicates.
pub const RESERVED_ENDPOINTS: &[&str] = &[
    "connection",
    "disconnection",
    "connect",
    "disconnect",
    "disconnecting",
    "error",
    "newListener",
    "removeListener",
    "connect_error",
    "connect_timeout",
    "connecting",
    "reconnect",
    "reconnect_attempt",
    "reconnect_failed",
    "reconnect_error",
    "reconnecting",
    "ping",
    "pong",
];

/// Whether `name` is reserved: it cannot be registered as an endpoint, and incoming events
/// with this name are ignored (never routed, never firing hooks). Case-sensitive, like
/// Socket.IO event names.
pub fn is_reserved_endpoint(name: &str) -> bool {
    FRAMEWORK_RESERVED_EVENTS.contains(&name)
        || is_reserved_server_event(name)
        || is_reserved_client_event(name)
}

/// Whether `name` may be registered as an endpoint: not empty and not
/// [reserved](is_reserved_endpoint).
///
/// ```
/// use glue_protocol::gosf::{check_endpoint_name, FrameworkError};
///
/// assert_eq!(check_endpoint_name("echo"), Ok(()));
/// assert_eq!(check_endpoint_name("connection"),
///     Err(FrameworkError::ReservedEndpoint("connection".into())));
/// assert_eq!(check_endpoint_name(""), Err(FrameworkError::EmptyEndpoint));
/// ```
pub fn check_endpoint_name(name: &str) -> Result<(), FrameworkError> {
    if name.is_empty() {
        return Err(FrameworkError::EmptyEndpoint);
    }
    if is_reserved_endpoint(name) {
        return Err(FrameworkError::ReservedEndpoint(name.to_owned()));
    }
    Ok(())
}
