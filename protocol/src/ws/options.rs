//! Settings shared by the runtimes' WebSocket servers and clients (pure data).

use super::handshake::UpgradeCheck;
use super::Config;
use crate::http::Limits;
use std::sync::Arc;
use std::time::Duration;

/// Server settings.
#[derive(Clone)]
pub struct ServerConfig {
    /// WebSocket limits and timers for each connection.
    pub ws: Config,
    /// HTTP limits for the upgrade request.
    pub limits: Limits,
    /// Time allowed for a client to send its upgrade request. Default 10 s.
    pub handshake_timeout: Duration,
    /// Accept/refuse callback; `None` accepts every valid upgrade without a subprotocol.
    pub check: Option<Arc<UpgradeCheck>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ws: Config::default(),
            limits: Limits::default(),
            handshake_timeout: Duration::from_secs(10),
            check: None,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("ws", &self.ws)
            .field("limits", &self.limits)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("check", &self.check.is_some())
            .finish()
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// WebSocket limits and timers.
    pub ws: Config,
    /// Subprotocols to offer.
    pub protocols: Vec<String>,
    /// Extra request header fields (e.g. `Origin`).
    pub headers: Vec<(String, String)>,
    /// Time allowed for TCP connect plus handshake. Default 10 s.
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            ws: Config::default(),
            protocols: Vec::new(),
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}
