//! TLS through [rustls] (the `ring` crypto provider: builds with a C compiler, no
//! cmake/NASM) and tokio-rustls: the servers' `https`/`wss` ([`TlsServerConfig`], [`serve_tls`],
//! [`SioServer::serve_tls`](crate::sio::SioServer::serve_tls),
//! [`EioServer::serve_tls`](crate::eio::EioServer::serve_tls)) and the clients' verification
//! ([`TlsClientConfig`], built from [`TlsClientOptions`]).
//!
//! ```no_run
//! use glue_tokio::sio::{SioServer, SioServerOptions};
//! use glue_tokio::tls::TlsServerConfig;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = TlsServerConfig::from_pem_files("cert.pem", "key.pem")?;
//! let server = SioServer::new(SioServerOptions::default());
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
//! server.serve_tls(listener, tls).await?;
//! # Ok(())
//! # }
//! ```

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub use glue_protocol::sio::client::{TlsClientOptions, TlsVerify};
pub use rustls;
/// A server-side TLS stream over TCP (what [`serve_tls`]'s handler receives).
pub type ServerTlsStream = tokio_rustls::server::TlsStream<TcpStream>;
/// A client-side TLS stream over TCP.
pub type ClientTlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// Default longest TLS handshake of an accepted connection.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("reading {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The error.
        source: io::Error,
    },
    /// Malformed PEM.
    #[error("PEM: {0}")]
    Pem(String),
    /// The certificate PEM holds no `CERTIFICATE` block.
    #[error("no certificate in the PEM")]
    NoCertificate,
    /// The key PEM holds no private key (PKCS#8, PKCS#1 or SEC1).
    #[error("no private key in the PEM")]
    NoPrivateKey,
    /// The server name is neither a DNS name nor an IP address.
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// rustls refused the configuration (e.g. a key that does not match the certificate).
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The crypto provider every configuration here uses (`ring`), whatever the process default.
#[allow(deprecated)] // ring on purpose: builds with a C compiler only (no cmake/NASM); no post-quantum kx
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path)
        .map_err(|source| TlsError::File { path: path.display().to_string(), source })
}

/// A server's TLS configuration: certificate chain, private key, handshake timeout. Cheap to
/// clone.
#[derive(Clone)]
pub struct TlsServerConfig {
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// From PEM text: `cert_chain_pem` holds the certificate then its intermediates
    /// (`CERTIFICATE` blocks), `key_pem` the private key (PKCS#8, PKCS#1 or SEC1). TLS 1.2
    /// and 1.3, no client authentication.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let certs = certs_from_pem(cert_chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey,
            e => TlsError::Pem(e.to_string()),
        })?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(TlsServerConfig::from_rustls(Arc::new(config)))
    }

    /// From PEM files (see [`from_pem`](Self::from_pem)).
    pub fn from_pem_files(
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let cert = read_file(cert_chain_path.as_ref())?;
        let key = read_file(key_path.as_ref())?;
        TlsServerConfig::from_pem(&cert, &key)
    }

    /// From a rustls configuration of your own (client authentication, ALPN, resumption…).
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        TlsServerConfig { config, handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT }
    }

    /// Sets the longest TLS handshake of an accepted connection (default 10 s); a client
    /// slower than that is dropped.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls configuration.
    pub fn rustls_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// The TLS handshake on an accepted connection, within the handshake timeout.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<ServerTlsStream> {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config.clone());
        match tokio::time::timeout(self.handshake_timeout, acceptor.accept(tcp)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")),
        }
    }
}

/// Accepts TCP connections from `listener` forever, and in each connection's own task does
/// the TLS handshake (within `tls`'s handshake timeout) then runs `handler` with the TLS
/// stream and the peer's address. Failed handshakes are logged (debug) and dropped.
///
/// The servers of this crate have their own [`serve_tls`](crate::sio::SioServer::serve_tls)
/// that also stops on release; this is for anything else that serves a stream.
pub async fn serve_tls<F, Fut>(
    listener: TcpListener,
    tls: TlsServerConfig,
    handler: F,
) -> io::Result<()>
where
    F: Fn(ServerTlsStream, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let _ = tcp.set_nodelay(true);
                let (tls, handler) = (tls.clone(), handler.clone());
                tokio::spawn(async move {
                    match tls.accept(tcp).await {
                        Ok(stream) => handler(stream, peer).await,
                        Err(e) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                    }
                });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A client's TLS configuration: the rustls configuration (verification) and an optional
/// server name that replaces the URL's host. Cheap to clone.
#[derive(Clone)]
pub struct TlsClientConfig {
    config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Default for TlsClientConfig {
    /// WebPKI verification (Mozilla's roots) of the URL's host.
    fn default() -> Self {
        TlsClientConfig::new(&TlsClientOptions::default()).expect("the default TLS client config")
    }
}

impl TlsClientConfig {
    /// From the runtime-independent options ([`TlsVerify`] and the server name). Fails on
    /// malformed or empty custom roots, or an invalid server name.
    pub fn new(options: &TlsClientOptions) -> Result<Self, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?;
        let config = match &options.verify {
            TlsVerify::WebPki => {
                let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            TlsVerify::CustomRootsPem(pem) => {
                let mut roots = RootCertStore::empty();
                for cert in certs_from_pem(pem)? {
                    roots.add(cert)?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            TlsVerify::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
                .with_no_client_auth(),
        };
        let server_name = match &options.server_name {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|_| TlsError::InvalidServerName(name.clone()))?,
            ),
            None => None,
        };
        Ok(TlsClientConfig { config: Arc::new(config), server_name })
    }

    /// From a rustls configuration of your own; `server_name` replaces the URL's host.
    pub fn from_rustls(
        config: Arc<ClientConfig>,
        server_name: Option<ServerName<'static>>,
    ) -> Self {
        TlsClientConfig { config, server_name }
    }

    /// The rustls configuration.
    pub fn rustls_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// The TLS handshake over `tcp` with the server `host` (or the configured server name).
    pub async fn connect(&self, host: &str, tcp: TcpStream) -> io::Result<ClientTlsStream> {
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => ServerName::try_from(host.to_owned()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "invalid TLS server name")
            })?,
        };
        tokio_rustls::TlsConnector::from(self.config.clone()).connect(name, tcp).await
    }
}

/// [`TlsVerify::Insecure`]: accepts any certificate (the handshake signatures are still
/// checked, so the peer holds the key of the certificate it sent).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client connection: plain TCP or TLS.
pub(crate) enum MaybeTlsStream {
    Plain(TcpStream),
    Tls(Box<ClientTlsStream>),
}

impl MaybeTlsStream {
    /// Connects to `host:port`, with TLS when `tls` is given.
    pub(crate) async fn connect(
        host: &str,
        port: u16,
        tls: Option<&TlsClientConfig>,
    ) -> io::Result<MaybeTlsStream> {
        let tcp = TcpStream::connect((host, port)).await?;
        let _ = tcp.set_nodelay(true);
        match tls {
            None => Ok(MaybeTlsStream::Plain(tcp)),
            Some(tls) => Ok(MaybeTlsStream::Tls(Box::new(tls.connect(host, tcp).await?))),
        }
    }

    /// The peer's address.
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            MaybeTlsStream::Plain(s) => s.peer_addr(),
            MaybeTlsStream::Tls(s) => s.get_ref().0.peer_addr(),
        }
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
