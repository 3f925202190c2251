//! Startup configuration (spec §8, §12): GOSF's keys and defaults, plus the settings GOSF
//! lacked, loaded from a JSON object or built in code, validated with typed errors, and
//! turned into the Engine.IO / Socket.IO server options.
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `host` | string | `""` (all IPv4 interfaces) | listen host |
//! | `port` | integer `0..=65535` (an integral float is accepted, as GOSF did) | 9999 | listen port |
//! | `path` | string | `/` | path prefix of the Socket.IO endpoint; normalised to start and end with `/` (GOSF's `/socket.io` without the slash broke clients) |
//! | `secure` | boolean | false | serve TLS; requires `ssl-cert` and `ssl-key` (GOSF silently served plain HTTP) |
//! | `ssl-cert` | string | — | certificate file (PEM) path |
//! | `ssl-key` | string | — | private key file (PEM) path |
//! | `enableCORS` | string | — | `Access-Control-Allow-Origin` value for HTTP responses, with `Access-Control-Allow-Credentials: true` |
//! | `rejectInvalidHostnames` | boolean | true | verify TLS certificates and host names of outgoing (microservice) connections (GOSF: no effect, always verified) |
//! | `pingInterval` | integer (ms) | 30000 | Engine.IO ping interval (GOSF's advertised value) |
//! | `pingTimeout` | integer (ms) | 60000 | Engine.IO ping timeout (GOSF's advertised value) |
//! | `maxMessageSize` | integer (bytes) | 1000000 | largest Engine.IO message / HTTP body, and largest total of one event's attachments |
//! | `allowedOrigins` | array of strings | — (any origin) | Engine.IO origin patterns: `*:*`, `<host>:<port>`, `<host>:*`, `*:<port>`, `<scheme>://<host>:<port>` |
//! | `namespace` | string | `/` | the Socket.IO namespace the endpoints live on |
//! | `doubleDelivery` | boolean | true | GOSF's response as event *and* ack ([`ResponsePolicy::double_delivery`]) |
//! | `exposeMeta` | boolean | false | send `meta` to clients ([`ResponsePolicy::expose_meta`]) |
//!
//! Keys match exactly (like a Go map); unknown keys are ignored ([`unknown_keys`] lists
//! them), `null` counts as absent, a wrong type is [`ConfigError::WrongType`] (GOSF
//! panicked).

use super::error::{ConfigError, JsonKind};
use super::response::ResponsePolicy;
use crate::eio::server::{EioServerOptions, Origins};
use crate::eio::session::EioConfig;
use crate::sio::SioConnConfig;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Every key [`ServerConfig::from_map`] reads, in the order of the module table.
pub const KEYS: &[&str] = &[
    "host",
    "port",
    "path",
    "secure",
    "ssl-cert",
    "ssl-key",
    "enableCORS",
    "rejectInvalidHostnames",
    "pingInterval",
    "pingTimeout",
    "maxMessageSize",
    "allowedOrigins",
    "namespace",
    "doubleDelivery",
    "exposeMeta",
];

/// GOSF's default port.
pub const DEFAULT_PORT: u16 = 9999;

/// The largest duration accepted for `pingInterval` / `pingTimeout`: 2^31 - 1 ms (a
/// JavaScript timer overflows above it).
pub const MAX_DURATION_MS: u64 = i32::MAX as u64;

/// The keys of `map` that [`ServerConfig::from_map`] does not read (typos, or other settings
/// of the same file), in map order.
pub fn unknown_keys(map: &Map<String, Value>) -> Vec<String> {
    map.keys().filter(|k| !KEYS.contains(&k.as_str())).cloned().collect()
}

/// The certificate and key files of a TLS server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsFiles {
    /// Certificate (chain) file path (`ssl-cert`).
    pub cert: String,
    /// Private key file path (`ssl-key`).
    pub key: String,
}

/// The framework server's startup configuration. See the [module docs](self) for the keys.
///
/// ```
/// use glue_protocol::gosf::ServerConfig;
/// use serde_json::json;
///
/// let c = ServerConfig::from_json(&json!({"port": 8080, "path": "/socket.io"}))?;
/// assert_eq!((c.port, c.normalized_path().as_str()), (8080, "/socket.io/"));
/// let options = c.to_eio_options()?; // validates
/// assert_eq!(options.path, "/socket.io/");
///
/// let c = ServerConfig::builder().port(443).tls("cert.pem", "key.pem").build()?;
/// assert!(c.tls().is_some());
/// assert!(ServerConfig::builder().secure(true).build().is_err());
/// # Ok::<(), glue_protocol::gosf::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `host`: the listen host; empty for all IPv4 interfaces. Default empty.
    pub host: String,
    /// `port`. Default 9999.
    pub port: u16,
    /// `path`, as given (see [`normalized_path`](ServerConfig::normalized_path)). Default `/`.
    pub path: String,
    /// `secure`: serve TLS. Default false.
    pub secure: bool,
    /// `ssl-cert`. Default none.
    pub ssl_cert: Option<String>,
    /// `ssl-key`. Default none.
    pub ssl_key: Option<String>,
    /// `enableCORS`: the `Access-Control-Allow-Origin` value. Default none.
    pub enable_cors: Option<String>,
    /// `rejectInvalidHostnames`: verify TLS peers of outgoing connections. Default true.
    pub reject_invalid_hostnames: bool,
    /// `pingInterval`. Default 30 s.
    pub ping_interval: Duration,
    /// `pingTimeout`. Default 60 s.
    pub ping_timeout: Duration,
    /// `maxMessageSize` in bytes. Default 1 000 000.
    pub max_message_size: usize,
    /// `allowedOrigins`: Engine.IO origin patterns; `None` allows every origin. Default none.
    pub allowed_origins: Option<Vec<String>>,
    /// `namespace`. Default `/`.
    pub namespace: String,
    /// `doubleDelivery`. Default true.
    pub double_delivery: bool,
    /// `exposeMeta`. Default false.
    pub expose_meta: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: String::new(),
            port: DEFAULT_PORT,
            path: "/".into(),
            secure: false,
            ssl_cert: None,
            ssl_key: None,
            enable_cors: None,
            reject_invalid_hostnames: true,
            ping_interval: Duration::from_millis(30_000),
            ping_timeout: Duration::from_millis(60_000),
            max_message_size: 1_000_000,
            allowed_origins: None,
            namespace: "/".into(),
            double_delivery: true,
            expose_meta: false,
        }
    }
}

fn wrong(key: &'static str, expected: &'static str, v: &Value) -> ConfigError {
    ConfigError::WrongType { key, expected, found: JsonKind::of(v) }
}

fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn get_bool(map: &Map<String, Value>, key: &'static str) -> Result<Option<bool>, ConfigError> {
    get(map, key).map(|v| v.as_bool().ok_or_else(|| wrong(key, "boolean", v))).transpose()
}

fn get_string(map: &Map<String, Value>, key: &'static str) -> Result<Option<String>, ConfigError> {
    get(map, key)
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| wrong(key, "string", v)))
        .transpose()
}

fn get_u64(map: &Map<String, Value>, key: &'static str) -> Result<Option<u64>, ConfigError> {
    get(map, key)
        .map(|v| match v {
            Value::Number(n) => n.as_u64().ok_or_else(|| ConfigError::OutOfRange {
                key,
                value: n.to_string(),
                range: "a non-negative integer",
            }),
            _ => Err(wrong(key, "integer", v)),
        })
        .transpose()
}

fn get_port(map: &Map<String, Value>) -> Result<Option<u16>, ConfigError> {
    let Some(v) = get(map, "port") else { return Ok(None) };
    let Value::Number(n) = v else { return Err(wrong("port", "integer", v)) };
    let port = match (n.as_u64(), n.as_f64()) {
        (Some(u), _) => u16::try_from(u).ok(),
        // GOSF accepted JSON's float64 for the port; accept integral values only.
        (None, Some(f)) if f.fract() == 0.0 && (0.0..=65535.0).contains(&f) => Some(f as u16),
        _ => None,
    };
    port.map(Some).ok_or_else(|| ConfigError::InvalidPort(n.to_string()))
}

impl ServerConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder(ServerConfig::default())
    }

    /// Reads a configuration object (GOSF's `Startup(config)` argument). Checks types only;
    /// call [`validate`](ServerConfig::validate) (or
    /// [`to_eio_options`](ServerConfig::to_eio_options), which does) for the rest.
    pub fn from_map(map: &Map<String, Value>) -> Result<ServerConfig, ConfigError> {
        let d = ServerConfig::default();
        let ms = |key| -> Result<Option<Duration>, ConfigError> {
            Ok(get_u64(map, key)?.map(Duration::from_millis))
        };
        let allowed_origins = match get(map, "allowedOrigins") {
            None => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| wrong("allowedOrigins", "array of strings", v))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(v) => return Err(wrong("allowedOrigins", "array of strings", v)),
        };
        let max_message_size = match get_u64(map, "maxMessageSize")? {
            None => d.max_message_size,
            Some(n) => usize::try_from(n).map_err(|_| ConfigError::OutOfRange {
                key: "maxMessageSize",
                value: n.to_string(),
                range: "1..=usize::MAX",
            })?,
        };
        Ok(ServerConfig {
            host: get_string(map, "host")?.unwrap_or(d.host),
            port: get_port(map)?.unwrap_or(d.port),
            path: get_string(map, "path")?.unwrap_or(d.path),
            secure: get_bool(map, "secure")?.unwrap_or(d.secure),
            ssl_cert: get_string(map, "ssl-cert")?,
            ssl_key: get_string(map, "ssl-key")?,
            enable_cors: get_string(map, "enableCORS")?,
            reject_invalid_hostnames: get_bool(map, "rejectInvalidHostnames")?
                .unwrap_or(d.reject_invalid_hostnames),
            ping_interval: ms("pingInterval")?.unwrap_or(d.ping_interval),
            ping_timeout: ms("pingTimeout")?.unwrap_or(d.ping_timeout),
            max_message_size,
            allowed_origins,
            namespace: get_string(map, "namespace")?.unwrap_or(d.namespace),
            double_delivery: get_bool(map, "doubleDelivery")?.unwrap_or(d.double_delivery),
            expose_meta: get_bool(map, "exposeMeta")?.unwrap_or(d.expose_meta),
        })
    }

    /// [`from_map`](ServerConfig::from_map) for a JSON value, which must be an object.
    pub fn from_json(value: &Value) -> Result<ServerConfig, ConfigError> {
        match value {
            Value::Object(map) => ServerConfig::from_map(map),
            v => Err(ConfigError::NotAnObject(JsonKind::of(v))),
        }
    }

    /// [`from_json`](ServerConfig::from_json) for JSON text (a configuration file's
    /// contents; the runtime reads the file).
    pub fn from_json_str(text: &str) -> Result<ServerConfig, ConfigError> {
        let v: Value = serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        ServerConfig::from_json(&v)
    }

    /// The configuration as an object with every key of [`KEYS`] that is set (absent
    /// options left out); [`from_map`](ServerConfig::from_map) reads it back unchanged.
    pub fn to_map(&self) -> Map<String, Value> {
        let ms = |d: Duration| Value::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut m = Map::new();
        m.insert("host".into(), self.host.clone().into());
        m.insert("port".into(), self.port.into());
        m.insert("path".into(), self.path.clone().into());
        m.insert("secure".into(), self.secure.into());
        if let Some(c) = &self.ssl_cert {
            m.insert("ssl-cert".into(), c.clone().into());
        }
        if let Some(k) = &self.ssl_key {
            m.insert("ssl-key".into(), k.clone().into());
        }
        if let Some(c) = &self.enable_cors {
            m.insert("enableCORS".into(), c.clone().into());
        }
        m.insert("rejectInvalidHostnames".into(), self.reject_invalid_hostnames.into());
        m.insert("pingInterval".into(), ms(self.ping_interval));
        m.insert("pingTimeout".into(), ms(self.ping_timeout));
        m.insert("maxMessageSize".into(), self.max_message_size.into());
        if let Some(o) = &self.allowed_origins {
            m.insert("allowedOrigins".into(), o.clone().into());
        }
        m.insert("namespace".into(), self.namespace.clone().into());
        m.insert("doubleDelivery".into(), self.double_delivery.into());
        m.insert("exposeMeta".into(), self.expose_meta.into());
        m
    }

    /// Checks everything the types do not: `secure` needs non-empty `ssl-cert` and
    /// `ssl-key`; `path`, `host`, `namespace`, `enableCORS` and `allowedOrigins` must be
    /// well-formed; durations and the size must be positive (durations at most
    /// [`MAX_DURATION_MS`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn bad_char(c: char) -> bool {
            c.is_whitespace() || c.is_control()
        }
        if self.secure {
            let cert = self.ssl_cert.as_deref().is_some_and(|c| !c.is_empty());
            let key = self.ssl_key.as_deref().is_some_and(|k| !k.is_empty());
            let missing = match (cert, key) {
                (true, true) => None,
                (false, true) => Some("ssl-cert"),
                (true, false) => Some("ssl-key"),
                (false, false) => Some("ssl-cert and ssl-key"),
            };
            if let Some(missing) = missing {
                return Err(ConfigError::SecureWithoutCertificate { missing });
            }
        }
        if self.path.is_empty() || self.path.contains(['?', '#']) || self.path.contains(bad_char) {
            return Err(ConfigError::InvalidPath(self.path.clone()));
        }
        if self.host.contains(bad_char) || self.host.contains('/') {
            return Err(ConfigError::InvalidHost(self.host.clone()));
        }
        if !self.namespace.starts_with('/') || self.namespace.contains(',') {
            return Err(ConfigError::InvalidNamespace(self.namespace.clone()));
        }
        if let Some(cors) = &self.enable_cors {
            if cors.trim().is_empty() || cors.contains(|c: char| c.is_control()) {
                return Err(ConfigError::InvalidCorsOrigin(cors.clone()));
            }
        }
        if let Some(origins) = &self.allowed_origins {
            if origins.is_empty() {
                return Err(ConfigError::NoAllowedOrigins);
            }
            if let Some(o) = origins.iter().find(|o| !valid_origin_pattern(o)) {
                return Err(ConfigError::InvalidOrigin(o.clone()));
            }
        }
        for (key, d) in [("pingInterval", self.ping_interval), ("pingTimeout", self.ping_timeout)] {
            if d.is_zero() || d.as_millis() > u128::from(MAX_DURATION_MS) {
                return Err(ConfigError::OutOfRange {
                    key,
                    value: format!("{} ms", d.as_millis()),
                    range: "1..=2147483647 ms",
                });
            }
        }
        if self.max_message_size == 0 {
            return Err(ConfigError::OutOfRange {
                key: "maxMessageSize",
                value: "0".into(),
                range: "1..=usize::MAX",
            });
        }
        Ok(())
    }

    /// The path with a leading and exactly one trailing `/` (`/socket.io` → `/socket.io/`;
    /// `/` stays `/`, which, as in GOSF, matches every request path).
    pub fn normalized_path(&self) -> String {
        let trimmed = self.path.trim_end_matches('/');
        let mut p = String::with_capacity(trimmed.len() + 2);
        if !trimmed.starts_with('/') {
            p.push('/');
        }
        p.push_str(trimmed);
        if !p.ends_with('/') {
            p.push('/');
        }
        p
    }

    /// The address to listen on: `host:port`, with an IPv6 host in brackets and an empty
    /// host meaning `0.0.0.0` (e.g. `0.0.0.0:9999`, `[::1]:80`).
    pub fn listen_addr(&self) -> String {
        match self.host.as_str() {
            "" => format!("0.0.0.0:{}", self.port),
            h if h.contains(':') && !h.starts_with('[') => format!("[{h}]:{}", self.port),
            h => format!("{h}:{}", self.port),
        }
    }

    /// The TLS files when `secure` is set and both are present.
    pub fn tls(&self) -> Option<TlsFiles> {
        match (self.secure, &self.ssl_cert, &self.ssl_key) {
            (true, Some(cert), Some(key)) => {
                Some(TlsFiles { cert: cert.clone(), key: key.clone() })
            }
            _ => None,
        }
    }

    /// The headers `enableCORS` adds to HTTP responses: `Access-Control-Allow-Origin:
    /// <value>` and `Access-Control-Allow-Credentials: true`; empty when unset.
    pub fn cors_headers(&self) -> Vec<(&'static str, String)> {
        match &self.enable_cors {
            Some(origin) => vec![
                ("Access-Control-Allow-Origin", origin.clone()),
                ("Access-Control-Allow-Credentials", "true".into()),
            ],
            None => Vec::new(),
        }
    }

    /// How responses are delivered ([`ResponsePolicy`] from `doubleDelivery` and
    /// `exposeMeta`).
    pub fn response_policy(&self) -> ResponsePolicy {
        ResponsePolicy { double_delivery: self.double_delivery, expose_meta: self.expose_meta }
    }

    /// The Engine.IO session settings: ping interval and timeout, `max_payload` =
    /// `maxMessageSize`; the rest Engine.IO's defaults.
    pub fn eio_config(&self) -> EioConfig {
        EioConfig {
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            max_payload: self.max_message_size,
            ..EioConfig::default()
        }
    }

    /// The Socket.IO connection limits: one event's attachments may total at most
    /// `maxMessageSize` bytes; the rest the defaults.
    pub fn sio_conn_config(&self) -> SioConnConfig {
        SioConnConfig { max_attachment_bytes: self.max_message_size, ..SioConnConfig::default() }
    }

    /// Validates, then builds the Engine.IO server options: the [normalised
    /// path](ServerConfig::normalized_path), polling and WebSocket both served (GOSF served
    /// WebSocket only, §11.8), no `io` cookie (GOSF set none), the `allowedOrigins` (or any
    /// origin), and [`eio_config`](ServerConfig::eio_config).
    pub fn to_eio_options(&self) -> Result<EioServerOptions, ConfigError> {
        self.validate()?;
        Ok(EioServerOptions {
            path: self.normalized_path(),
            polling: true,
            websocket: true,
            cookie: None,
            origins: match &self.allowed_origins {
                None => Origins::Any,
                Some(list) => Origins::List(list.clone()),
            },
            session: Arc::new(self.eio_config()),
        })
    }
}

/// Whether `p` is an Engine.IO origin pattern: `*:*`, `<host>:<port>`, `<host>:*`,
/// `*:<port>` or `<scheme>://<host>:<port>`, where a port is decimal (or `*`).
fn valid_origin_pattern(p: &str) -> bool {
    let rest = match p.split_once("://") {
        Some((scheme, rest)) => {
            if scheme.is_empty()
                || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return false;
            }
            rest
        }
        None => p,
    };
    let Some((host, port)) = rest.rsplit_once(':') else { return false };
    let port_ok = port == "*"
        || (!port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
    !host.is_empty()
        && !host.contains(|c: char| c.is_whitespace() || c == '/' || c.is_control())
        && port_ok
}

/// Builds a [`ServerConfig`] in code; [`build`](ServerConfigBuilder::build) validates.
#[derive(Debug, Clone, Default)]
pub struct ServerConfigBuilder(ServerConfig);

impl ServerConfigBuilder {
    /// Sets `host`.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.0.host = host.into();
        self
    }
    /// Sets `port`.
    pub fn port(mut self, port: u16) -> Self {
        self.0.port = port;
        self
    }
    /// Sets `path`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.0.path = path.into();
        self
    }
    /// Sets `secure`.
    pub fn secure(mut self, secure: bool) -> Self {
        self.0.secure = secure;
        self
    }
    /// Sets `ssl-cert`.
    pub fn ssl_cert(mut self, path: impl Into<String>) -> Self {
        self.0.ssl_cert = Some(path.into());
        self
    }
    /// Sets `ssl-key`.
    pub fn ssl_key(mut self, path: impl Into<String>) -> Self {
        self.0.ssl_key = Some(path.into());
        self
    }
    /// Sets `secure`, `ssl-cert` and `ssl-key` at once.
    pub fn tls(self, cert: impl Into<String>, key: impl Into<String>) -> Self {
        self.secure(true).ssl_cert(cert).ssl_key(key)
    }
    /// Sets `enableCORS`.
    pub fn enable_cors(mut self, origin: impl Into<String>) -> Self {
        self.0.enable_cors = Some(origin.into());
        self
    }
    /// Sets `rejectInvalidHostnames`.
    pub fn reject_invalid_hostnames(mut self, reject: bool) -> Self {
        self.0.reject_invalid_hostnames = reject;
        self
    }
    /// Sets `pingInterval`.
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.0.ping_interval = d;
        self
    }
    /// Sets `pingTimeout`.
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.0.ping_timeout = d;
        self
    }
    /// Sets `maxMessageSize`.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.0.max_message_size = bytes;
        self
    }
    /// Sets `allowedOrigins`.
    pub fn allowed_origins<S: Into<String>>(
        mut self,
        origins: impl IntoIterator<Item = S>,
    ) -> Self {
        self.0.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }
    /// Sets `namespace`.
    pub fn namespace(mut self, nsp: impl Into<String>) -> Self {
        self.0.namespace = nsp.into();
        self
    }
    /// Sets `doubleDelivery`.
    pub fn double_delivery(mut self, on: bool) -> Self {
        self.0.double_delivery = on;
        self
    }
    /// Sets `exposeMeta`.
    pub fn expose_meta(mut self, on: bool) -> Self {
        self.0.expose_meta = on;
        self
    }
    /// The configuration, if it [validates](ServerConfig::validate).
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        self.0.validate()?;
        Ok(self.0)
    }
}
