//! Runtime-independent settings of the Socket.IO client runtimes ([`SioClientOptions`]).

use super::client::SioClientConfig;
use super::client_url::{SioUrl, SioUrlError};
use crate::eio::client::Transport;
use std::time::Duration;

/// Which Engine.IO transports a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transports {
    /// Polling first, then upgrade to a WebSocket when the server offers it (the default).
    #[default]
    PollingAndUpgrade,
    /// A WebSocket from the start.
    WebSocketOnly,
    /// Long-polling only.
    PollingOnly,
}

/// How a client verifies the server's certificate on `https`/`wss` (the runtimes build the
/// TLS configuration from it; this crate has no TLS of its own).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum TlsVerify {
    /// Against the Mozilla root certificates (the `webpki-roots` set). The default.
    #[default]
    WebPki,
    /// Against these root certificates only: one or more PEM `CERTIFICATE` blocks (a private
    /// CA, or a self-signed server certificate itself).
    CustomRootsPem(Vec<u8>),
    /// No verification at all: any certificate, any name. Dangerous: only for tests and
    /// self-signed development servers (a man in the middle reads and changes everything).
    Insecure,
}

/// TLS settings of a client (used only for `https`/`wss` URLs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TlsClientOptions {
    /// How the server's certificate is verified. Default [`TlsVerify::WebPki`].
    pub verify: TlsVerify,
    /// The name the certificate must carry (and the SNI sent), when not the URL's host: a DNS
    /// name or an IP address. Default `None` (the URL's host).
    pub server_name: Option<String>,
}

/// Client settings shared by the runtimes; defaults follow socket.io-client 2.x.
#[derive(Debug, Clone, PartialEq)]
pub struct SioClientOptions {
    /// The transports. Default polling + upgrade.
    pub transports: Transports,
    /// The Engine.IO path. Default `/socket.io/`.
    pub path: String,
    /// Extra query pairs for every Engine.IO request (after the URL's own).
    pub query: Vec<(String, String)>,
    /// Reconnect after a lost connection. Default true.
    pub reconnection: bool,
    /// Reconnection attempts before giving up; `None` for no limit. Default `None`.
    pub reconnection_attempts: Option<u32>,
    /// First reconnection delay. Default 1 s.
    pub reconnection_delay: Duration,
    /// Largest reconnection delay. Default 5 s.
    pub reconnection_delay_max: Duration,
    /// Jitter of the reconnection delays (0–1). Default 0.5.
    pub randomization_factor: f64,
    /// Longest an Engine.IO handshake may take. Default 20 s.
    pub connect_timeout: Option<Duration>,
    /// Longest one HTTP request (including a long poll) may stay unanswered; `None` for no
    /// limit. Default 60 s.
    pub request_timeout: Option<Duration>,
    /// The ack timeout `emit_with_ack` uses; `None` to wait until the answer or the
    /// namespace closes. Default 30 s.
    pub ack_timeout: Option<Duration>,
    /// Extra header fields of every HTTP request and WebSocket handshake.
    pub headers: Vec<(String, String)>,
    /// `User-Agent` of every request. Default `glue-rs`.
    pub user_agent: String,
    /// Largest HTTP response body or WebSocket message accepted. Default 16 MiB.
    pub max_message_size: usize,
    /// TLS settings for `https`/`wss` URLs. Default: WebPKI verification of the URL's host.
    pub tls: TlsClientOptions,
}

impl Default for SioClientOptions {
    fn default() -> Self {
        SioClientOptions {
            transports: Transports::default(),
            path: "/socket.io/".into(),
            query: Vec::new(),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            connect_timeout: Some(Duration::from_secs(20)),
            request_timeout: Some(Duration::from_secs(60)),
            ack_timeout: Some(Duration::from_secs(30)),
            headers: Vec::new(),
            user_agent: "glue-rs".into(),
            max_message_size: 16 << 20,
            tls: TlsClientOptions::default(),
        }
    }
}

impl SioClientOptions {
    /// The machine configuration for `url` with these options, and the parsed URL.
    pub fn build(&self, url: &str) -> Result<(SioClientConfig, SioUrl), SioUrlError> {
        let url = SioUrl::parse(url)?;
        let mut config = SioClientConfig::from_url(&url);
        let e = &mut config.engine;
        e.path = self.path.clone();
        e.query.extend(self.query.iter().cloned());
        e.request_timeout = self.request_timeout;
        let (transports, upgrade) = match self.transports {
            Transports::PollingAndUpgrade => (vec![Transport::Polling, Transport::WebSocket], true),
            Transports::WebSocketOnly => (vec![Transport::WebSocket], false),
            Transports::PollingOnly => (vec![Transport::Polling], false),
        };
        e.transports = transports;
        e.upgrade = upgrade;
        config.reconnection = self.reconnection;
        config.reconnection_attempts = self.reconnection_attempts;
        config.reconnection_delay = self.reconnection_delay;
        config.reconnection_delay_max = self.reconnection_delay_max;
        config.randomization_factor = self.randomization_factor;
        config.connect_timeout = self.connect_timeout;
        config.max_attachment_bytes = self.max_message_size;
        Ok((config, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_applies_the_options() {
        let o = SioClientOptions {
            transports: Transports::WebSocketOnly,
            query: vec![("k".into(), "v".into())],
            reconnection: false,
            ..SioClientOptions::default()
        };
        let (c, u) = o.build("http://127.0.0.1:3000/custom?a=1").unwrap();
        assert_eq!(u.namespace, "/custom");
        assert_eq!(c.engine.transports, [Transport::WebSocket]);
        assert!(!c.engine.upgrade && !c.reconnection);
        assert_eq!(c.engine.query, [("a".into(), "1".into()), ("k".into(), "v".into())]);
        assert_eq!((c.engine.host.as_str(), c.engine.port), ("127.0.0.1", Some(3000)));
        assert!(o.build("nope").is_err());
    }
}
