//! HTTP/1.1 heads, bodies and limits, for both the server and the client side.
//!
//! Pure parsing and serialisation: the caller owns the socket and the buffers.
//!
//! * Server: feed a [`ServerConnection`] with bytes and take [`Request`]s; answer with
//!   [`Response::encode`] (or [`Response::encode_head`] for upgrades and chunked streams,
//!   followed by [`encode_chunk`] / [`encode_last_chunk`]).
//! * Client: encode [`Request`]s through a [`ClientConnection`] and take its [`Response`]s.
//! * Query strings: [`parse_query`], [`encode_query`], [`percent_decode`], [`percent_encode`].
//!
//! Every [`HttpError`] names the status a server answers with ([`HttpError::status`]).

mod chunked;
mod client;
mod encode;
mod error;
mod head;
mod query;
mod request;
mod response;
mod server;

pub use chunked::{encode_chunk, encode_last_chunk, ChunkedDecoder};
pub use client::ClientConnection;
pub use error::HttpError;
pub use head::{
    parse_request_head, parse_response_head, Headers, Limits, RequestHead, ResponseHead, Version,
};
pub use query::{encode_query, parse_query, percent_decode, percent_encode};
pub use request::Request;
pub use response::{reason_phrase, Response};
pub use server::ServerConnection;
