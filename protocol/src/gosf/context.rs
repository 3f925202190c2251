//! App context data (spec §9, §8 `LoadConfig` / `GetConfig`) as plain values: environment
//! variables and named JSON configurations. The runtime owns the instance, reads the process
//! environment and the files; nothing here does I/O.
//!
//! ```
//! use glue_protocol::gosf::context::{Configs, Env};
//!
//! let env = Env::from_entries(["A=1", "URL=postgres://u@h/db?sslmode=require&x=y"]);
//! assert_eq!(env.get("URL"), Some("postgres://u@h/db?sslmode=require&x=y")); // not truncated
//!
//! let mut configs = Configs::default();
//! configs.load_str("server", r#"{"port": 8080}"#)?;
//! assert_eq!(configs.get("server").unwrap()["port"], 8080);
//! let server = configs.server_config("server")?;
//! assert_eq!(server.port, 8080);
//! # Ok::<(), glue_protocol::gosf::ConfigError>(())
//! ```

use super::config::ServerConfig;
use super::error::{ConfigError, JsonKind};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Environment variables (GOSF's `App.Env`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env(pub BTreeMap<String, String>);

impl Env {
    /// From `NAME=value` entries, split at the *first* `=` (GOSF truncated values that
    /// contain `=`, §11.17). An entry without `=` is a variable with an empty value; a later
    /// entry replaces an earlier one of the same name.
    pub fn from_entries<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Env {
        Env(entries
            .into_iter()
            .map(|e| {
                let e = e.as_ref();
                let (k, v) = e.split_once('=').unwrap_or((e, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect())
    }

    /// From `(name, value)` pairs (e.g. `std::env::vars()`).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Named JSON configurations (GOSF's `App.Config`, `LoadConfig`, `GetConfig`). Only
/// JSON objects are stored; a failed load stores nothing and reports why (GOSF printed the
/// error and stored nil).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configs(pub BTreeMap<String, Map<String, Value>>);

impl Configs {
    /// Parses `text` (a configuration file's contents) and stores the object under `name`,
    /// replacing an earlier one.
    pub fn load_str(&mut self, name: &str, text: &str) -> Result<(), ConfigError> {
        let v: Value = serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        self.insert(name, v)
    }

    /// Stores the object `value` under `name`, replacing an earlier one.
    pub fn insert(&mut self, name: &str, value: Value) -> Result<(), ConfigError> {
        match value {
            Value::Object(map) => {
                self.0.insert(name.to_owned(), map);
                Ok(())
            }
            v => Err(ConfigError::NotAnObject(JsonKind::of(&v))),
        }
    }

    /// The configuration named `name` (GOSF's `GetConfig`).
    pub fn get(&self, name: &str) -> Option<&Map<String, Value>> {
        self.0.get(name)
    }

    /// Removes and returns the configuration named `name`.
    pub fn remove(&mut self, name: &str) -> Option<Map<String, Value>> {
        self.0.remove(name)
    }

    /// The configuration `name` read as a [`ServerConfig`] (GOSF's
    /// `Startup(App.Config["server"])`); an absent name reads as the defaults. Types are
    /// checked; call [`ServerConfig::validate`] for the rest.
    pub fn server_config(&self, name: &str) -> Result<ServerConfig, ConfigError> {
        self.get(name).map_or_else(|| Ok(ServerConfig::default()), ServerConfig::from_map)
    }
}

/// The app context's plain data (GOSF's `AppSettings` minus the microservice registry, which
/// holds live connections and so belongs to the runtime).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppData {
    /// Environment variables.
    pub env: Env,
    /// Named JSON configurations.
    pub configs: Configs,
}
