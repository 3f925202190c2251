//! The framework's errors: [`RequestError`] (a client's event cannot be read as a request),
//! [`ConvertError`] (typed body/meta conversion), [`ConfigError`] (startup configuration),
//! [`FrameworkError`] (misuse of the framework's registration API).

use thiserror::Error;

/// The kind of a JSON value, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    /// The kind of `v`.
    pub fn of(v: &serde_json::Value) -> JsonKind {
        use serde_json::Value;
        match v {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }

    /// The JSON name (`"null"`, `"boolean"`, `"number"`, `"string"`, `"array"`, `"object"`).
    pub fn as_str(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Bool => "boolean",
            JsonKind::Number => "number",
            JsonKind::String => "string",
            JsonKind::Array => "array",
            JsonKind::Object => "object",
        }
    }
}

impl std::fmt::Display for JsonKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an incoming event's arguments are not a request (spec §12). GOSF dropped such events
/// silently, or crashed on `null` (§11.1); the framework answers them with
/// [`RequestError::to_response`] instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The event carried no argument (`["echo"]`).
    #[error("invalid request: expected one message object, got no argument")]
    MissingArgument,
    /// The argument is JSON `null` (GOSF: nil-pointer crash of the whole server).
    #[error("invalid request: the message is null")]
    NullMessage,
    /// The argument is not an object (`["echo","str"]`).
    #[error("invalid request: the message must be an object, got {0}")]
    NotAnObject(JsonKind),
    /// More than one argument (`["echo",{…},{…}]`); the payload is the number of arguments.
    #[error("invalid request: expected one message object, got {0} arguments")]
    ExtraArguments(usize),
    /// The object has a field of the wrong type (`{"id":"x"}`, `{"body":[1]}`, a fractional
    /// or out-of-range `id`); the payload is the decoder's description.
    #[error("invalid request: {0}")]
    InvalidField(String),
}

impl RequestError {
    /// The failure response for this error: `success: false`, `text` = the error's message,
    /// no body, no meta, no ids (echo them with
    /// [`prepare_response`](super::prepare_response) and
    /// [`Correlation::salvage`](super::Correlation::salvage)).
    pub fn to_response(&self) -> super::Message {
        super::Message::failure(Some(&self.to_string()), None)
    }
}

/// Why a typed value could not be turned into a body/meta map or back (the `StructToMap` /
/// `MapToStruct` use cases, spec §13).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The value serialises to JSON that is not an object (nor `null`).
    #[error("expected a JSON object, got {0}")]
    NotAnObject(JsonKind),
    /// serde failed (a required field is missing, a type does not match, a map key is not a
    /// string, ...); the payload is serde's description.
    #[error("{0}")]
    Serde(String),
}

/// Why a startup configuration was refused (spec §8, §11.15).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration text is not JSON.
    #[error("configuration is not valid JSON: {0}")]
    Json(String),
    /// The configuration is JSON but not an object.
    #[error("configuration must be a JSON object, got {0}")]
    NotAnObject(JsonKind),
    /// A key has a value of the wrong JSON type (GOSF panicked on a type assertion).
    #[error("configuration key {key:?}: expected {expected}, got {found}")]
    WrongType {
        /// The key, as spelled in the configuration (`"secure"`, `"ssl-cert"`, ...).
        key: &'static str,
        /// What the key takes (`"boolean"`, `"string"`, `"integer"`, ...).
        expected: &'static str,
        /// What was found.
        found: JsonKind,
    },
    /// `port` is not an integer in `0..=65535`.
    #[error("configuration key \"port\": {0} is not a port number (0..=65535)")]
    InvalidPort(String),
    /// `secure` is set but `ssl-cert` and/or `ssl-key` are missing or empty (GOSF silently
    /// served plain HTTP).
    #[error("\"secure\" is set but {missing} is missing")]
    SecureWithoutCertificate {
        /// `"ssl-cert"`, `"ssl-key"` or `"ssl-cert and ssl-key"`.
        missing: &'static str,
    },
    /// `path` is empty, or contains `?`, `#`, whitespace or a control character.
    #[error("invalid path {0:?}")]
    InvalidPath(String),
    /// `host` contains whitespace, `/` or a control character.
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    /// `namespace` does not start with `/` or contains `,`.
    #[error("invalid namespace {0:?}")]
    InvalidNamespace(String),
    /// `enableCORS` is empty or contains a control character (it becomes a header value).
    #[error("invalid enableCORS value {0:?}")]
    InvalidCorsOrigin(String),
    /// An `allowedOrigins` entry is not `*:*`, `<host>:<port>`, `<host>:*`, `*:<port>` or
    /// `<scheme>://<host>:<port>`.
    #[error("invalid allowed origin {0:?}")]
    InvalidOrigin(String),
    /// `allowedOrigins` is an empty list (no client could connect).
    #[error("allowedOrigins is empty")]
    NoAllowedOrigins,
    /// A duration or size that must be positive is zero, or one above its maximum.
    #[error("configuration key {key:?}: {value} is out of range ({range})")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// The offending value.
        value: String,
        /// The accepted range, for the message.
        range: &'static str,
    },
}

/// Misuse of the framework's registration API.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameworkError {
    /// The endpoint name is reserved (spec §12): Socket.IO or the framework itself gives it a
    /// meaning, or the client would handle the response event locally.
    #[error("reserved endpoint name {0:?}")]
    ReservedEndpoint(String),
    /// The endpoint name is empty.
    #[error("empty endpoint name")]
    EmptyEndpoint,
}
