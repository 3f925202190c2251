//! GOSF-style framework core (placeholder docs, completed below).

pub mod config;
mod error;
pub mod hooks;
pub mod message;
pub mod response;

pub use config::{unknown_keys, ServerConfig, ServerConfigBuilder, TlsFiles, DEFAULT_PORT, MAX_DURATION_MS};
pub use error::{ConfigError, ConvertError, FrameworkError, JsonKind, RequestError};
pub use hooks::{
    check_endpoint_name, is_reserved_endpoint, Hook, HookArg, RequestStep,
    FRAMEWORK_RESERVED_EVENTS, REQUEST_CYCLE, RESERVED_ENDPOINTS,
};
pub use message::{map_to_struct, struct_to_map, Message, Object};
pub use response::{ack_args, event_args, prepare_response, Correlation, Delivery, ResponsePolicy};
