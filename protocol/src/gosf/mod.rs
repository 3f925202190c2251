//! The runtime-independent core of a GOSF-style framework (`ambelovsky/gosf`, see
//! `shared/spec/gosf-semantics.md`): a fixed message envelope, endpoints answered by a
//! request/response cycle, hooks, rooms and broadcasts, plugins, configuration and
//! microservices, on top of the Socket.IO layer ([`crate::sio`]).
//!
//! This module holds the parts that need no I/O: the [`Message`] envelope and its JSON form,
//! the request rules for an event's arguments ([`Message::from_args`]), the response step
//! ([`prepare_response`], [`ResponsePolicy`]), the hook kinds and their order ([`Hook`],
//! [`REQUEST_CYCLE`]), reserved endpoint names ([`check_endpoint_name`]), the startup
//! configuration ([`ServerConfig`]) and the app context data ([`context`]). The runtimes
//! (`glue_tokio::gosf`, `glue_std::gosf`) add the server, the client handles, hook and
//! plugin registries and microservice connections.
//!
//! It keeps GOSF's wire contract by default and fixes its defects (spec §11, §12): a `null`
//! or malformed request gets a failure response instead of crashing the server or being
//! dropped; hooks receive their arguments in the documented order; reserved names cannot be
//! registered or triggered by clients; `meta` is not sent to clients unless configured; the
//! response's double delivery (event + ack) can be switched off; configuration errors are
//! typed instead of panics or silent fallbacks.
//!
//! ```
//! use glue_protocol::gosf::{prepare_response, Correlation, Message, ResponsePolicy};
//! use serde_json::json;
//!
//! // An incoming `42 7["echo",{"id":5,"text":"hello"}]`: its arguments after the name.
//! let args = [json!({"id": 5, "text": "hello"})];
//! let request = Message::from_args(&args).unwrap_or_else(|e| e.to_response());
//! // The handler's answer ...
//! let response = Message::success(Some(&request.text), None).with_meta(&json!({"secret": 1}))?;
//! // ... as sent: ids echoed, meta stripped.
//! let policy = ResponsePolicy::default();
//! let sent = prepare_response(response, &Correlation::of(&request), policy);
//! assert_eq!(sent.to_json(), r#"{"id":5,"success":true,"text":"hello"}"#);
//! let delivery = policy.delivery(true, true);
//! assert!(delivery.event && delivery.ack); // GOSF's double delivery, by default
//! # Ok::<(), glue_protocol::gosf::ConvertError>(())
//! ```
//!
//! # Every GOSF API item (spec §13) and where it lives
//!
//! "runtime" names are the API of `glue_tokio::gosf` (and likewise `glue_std::gosf`): the
//! package-global state of GOSF becomes an `App` value that dereferences to the [`Hub`]
//! written once here ([`app`]); [`Client`] and the [`plugins`] are written once too.
//! Microservices: the shared part is [`microservice`] (options, errors, response reading,
//! registry); the connections are `glue_tokio::gosf::Microservice` / `glue_std::gosf::Microservice`.
//!
//! | GOSF | here / planned |
//! |---|---|
//! | `App` (var) | runtime: `glue_tokio::gosf::App` (a cloneable handle, not a global, `Deref<Target = Hub>`); its plain data: [`context::AppData`] via [`Hub::with_data`], [`Hub::env`], [`Hub::config`]; app-wide typed slots [`Hub::set_extension`] / [`Hub::extension`] (holding the microservice [`microservice::Registry`]) |
//! | `AppSettings` | [`context::AppData`] (`env`, `configs`); microservices: the [`microservice::Registry`] extension, runtime `App::microservice` / `App::microservice_names` |
//! | `SupportedPlatforms` | not reproduced: no platform guard |
//! | `Startup(config)` | [`ServerConfig::from_map`] / [`ServerConfig::builder`], [`ServerConfig::to_eio_options`], [`ServerConfig::sio_conn_config`], [`ServerConfig::listen_addr`], [`ServerConfig::tls`], [`ServerConfig::cors_headers`]; runtime: `App::new(ServerConfig) -> Result<App, ConfigError>`, `App::start() -> Result<SocketAddr, ServeError>` (activates plugins; `secure` serves https/wss through rustls), `App::run()` (start + serve until shutdown); errors instead of panics |
//! | `Shutdown()` | runtime: `App::shutdown(grace)` (deactivates plugins, in order, and stops the server) |
//! | `Listen(endpoint, handler)` | [`check_endpoint_name`], [`Message::from_args`], [`REQUEST_CYCLE`], [`prepare_response`], [`ResponsePolicy::delivery`], [`event_args`], [`ack_args`]; [`Endpoints`], [`Hub::begin`], [`Hub::finish`]; runtime: `App::listen(endpoint, controller) -> Result<(), FrameworkError>` (tokio: `Fn(Client, Request) -> impl Future<Output = Option<Message>>`, plus `listen_sync`; std: `Fn(&Client, &Request) -> Option<Message>`) |
//! | `Broadcast(room, endpoint, msg)` | [`event_args`], [`Hook::ORDER_FOR_BROADCAST`]; [`Hub::broadcast`]`(room, endpoint, &Message)` (`""` = everyone, sender included); plus [`Hub::clients`], [`Hub::client`], [`Hub::emit_to`] |
//! | `Message` | [`Message`] |
//! | `(*Message).WithoutMeta()` | [`Message::without_meta`] |
//! | `NewSuccessMessage(args...)` | [`Message::success`], [`Message::ok`] + builders |
//! | `NewFailureMessage(args...)` | [`Message::failure`], [`Message::fail`] + builders |
//! | `Request` | [`Request`] `{ endpoint, message, invalid }` |
//! | `Client` | [`Client`] (runtime alias `glue_tokio::gosf::Client`; persistent per connection: `id`, real rooms, `handshake`, session storage, `emit`, `request`) |
//! | `(*Client).Join(room)` | [`Client::join`] |
//! | `(*Client).Leave(room)` | [`Client::leave`] |
//! | `(*Client).LeaveAll()` | [`Client::leave_all`] (every room but the own-id room); [`Client::rooms`] |
//! | `(*Client).Disconnect()` | [`Client::disconnect`] (sends DISCONNECT), [`Client::close`] (all namespaces, closes the connection) |
//! | `(*Client).Broadcast(room, endpoint, msg)` | [`Hook::ORDER_FOR_CLIENT_BROADCAST`]; [`Client::broadcast`]`(room, endpoint, &Message)` (`""` = everyone but the sender) |
//! | `Session` | [`Client::set`] / [`Client::get`] / [`Client::with_session`] / [`Client::remove`] (typed per-connection storage) |
//! | `OnConnect(cb)` | [`Hook::Connect`]; [`Hub::on_connect`] |
//! | `OnDisconnect(cb)` | [`Hook::Disconnect`]; [`Hub::on_disconnect`] |
//! | `OnBeforeRequest(cb)` | [`Hook::BeforeRequest`]; [`Hub::on_before_request`] |
//! | `OnAfterRequest(cb)` | [`Hook::AfterRequest`]; [`Hub::on_after_request`] |
//! | `OnBeforeResponse(cb)` | [`Hook::BeforeResponse`]; [`Hub::on_before_response`] |
//! | `OnAfterResponse(cb)` | [`Hook::AfterResponse`]; [`Hub::on_after_response`] |
//! | `OnBeforeClientBroadcast(cb)` | [`Hook::BeforeClientBroadcast`] (endpoint, room not swapped); [`Hub::on_before_client_broadcast`] |
//! | `OnAfterClientBroadcast(cb)` | [`Hook::AfterClientBroadcast`]; [`Hub::on_after_client_broadcast`] |
//! | `OnBeforeBroadcast(cb)` | [`Hook::BeforeBroadcast`]; [`Hub::on_before_broadcast`] |
//! | `OnAfterBroadcast(cb)` | [`Hook::AfterBroadcast`]; [`Hub::on_after_broadcast`] |
//! | `Plugin` | [`Plugin<A>`](Plugin) `{ name, activate(&A), deactivate(&A) }` (`A` = the runtime's `App`, see [`AppHandle`]); shipped: [`Logging`], [`RateLimit`], [`Permission`]; request guards [`Hub::guard`] |
//! | `RegisterPlugin(p)` | runtime: `App::register_plugin` |
//! | `LoadConfig(name, path)` | [`context::Configs::load_str`]; runtime: `App::load_config(name, path)` reads the file |
//! | `GetConfig(name)` | [`context::Configs::get`], [`context::Configs::server_config`] |
//! | `Microservice` | runtime: `glue_tokio::gosf::Microservice` (one Socket.IO v2 client connection, cloneable handle); options [`MicroserviceOptions`] (URL, path default `/socket.io/`, call timeout default [`DEFAULT_CALL_TIMEOUT`] 2 s, every client option incl. reconnection/backoff; `https` with the client's TLS support); errors [`MicroserviceError`] |
//! | `RegisterMicroservice(name, host, port, secure)` | runtime: `App::register_microservice(name, options) -> Result<Microservice, MicroserviceError>` (duplicate name or bad URL refused; an unreachable service is stored and retried in the background) |
//! | `DeregisterMicroservice(name)` | runtime: `App::deregister_microservice(name) -> Option<Microservice>` (no panic) |
//! | `GetMicroservice(name)` | runtime: `App::microservice(name)` |
//! | `(*Microservice).Connected()` | runtime: `Microservice::connected`, plus `wait_connected(timeout)` |
//! | `(*Microservice).Connect()` | runtime: `Microservice::connect` (non-blocking; plus automatic reconnect with backoff, also after a server DISCONNECT, [`microservice::reconnects_after`]) |
//! | `(*Microservice).Disconnect()` | runtime: `Microservice::disconnect` |
//! | `(*Microservice).Listen(endpoint, cb)` | runtime: `Microservice::listen(endpoint, Fn(Message))` (survives reconnects and `disconnect`/`connect`; panics caught); pushes decode with [`Message::from_args`] |
//! | `(*Microservice).Call(endpoint, msg)` | runtime: `Microservice::call(endpoint, &Message)`, `call_with_timeout` (tokio `async`, std blocking); the ack decodes with [`microservice::read_response`] (`[null]` → `BadResponse(`[`RequestError::NullMessage`]`)`); `Timeout`, `NotConnected`, `Disconnected` errors; [`microservice::Calls`] |
//! | `(*Microservice).Go(endpoint, msg)` | runtime: `Microservice::call` is a future (tokio; spawn it for GOSF's `Go`); `glue_std`: call from a thread of your own |
//! | `(*Microservice).Lob(endpoint, msg)` | runtime: `Microservice::lob -> Result<(), _>` (reports send failures) |
//! | `GoMessage` | not needed: the future's output `Result<Message, _>` |
//! | `ReadGoMessage(ch)` | not needed: `.await` / `JoinHandle::join` |
//! | `StructToMap(v)` | [`struct_to_map`], [`Message::with_body`], [`Message::with_meta`] |
//! | `MapToStruct(m, out)` | [`map_to_struct`], [`Message::body_as`], [`Message::meta_as`] (by JSON names, so it round-trips) |
//! | `ArrayContainsString(a, v)` | not reproduced: `slice::contains` |

pub mod app;
pub mod app_core;
pub mod config;
pub mod context;
mod error;
pub mod hooks;
pub mod message;
pub mod microservice;
pub mod plugins;
pub mod response;
#[cfg(test)]
mod tests;

pub use app::{
    reply_message, Client, ClientRequestError, Endpoints, GosfSession, Hub, Outcome, Request,
    ServeError, Step, E_INTERNAL, E_NO_ENDPOINT,
};
pub use config::{unknown_keys, ServerConfig, ServerConfigBuilder, TlsFiles, DEFAULT_PORT};
pub use error::{ConfigError, ConvertError, FrameworkError, JsonKind, RequestError};
pub use hooks::{
    check_endpoint_name, is_reserved_endpoint, Hook, HookArg, RequestStep,
    FRAMEWORK_RESERVED_EVENTS, REQUEST_CYCLE, RESERVED_ENDPOINTS,
};
pub use message::{map_to_struct, struct_to_map, Message, Object};
pub use microservice::{MicroserviceError, MicroserviceOptions, DEFAULT_CALL_TIMEOUT};
pub use plugins::{AppHandle, Logging, Permission, Plugin, RateLimit, E_FORBIDDEN, E_RATE_LIMIT};
pub use response::{ack_args, event_args, prepare_response, Correlation, Delivery, ResponsePolicy};
