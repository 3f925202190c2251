//! TLS through [rustls] (the `ring` crypto provider: builds with a C compiler, no
//! cmake/NASM), blocking: the servers' `https`/`wss` ([`TlsServerConfig`], [`serve_tls`],
//! [`SioServer::serve_tls`](crate::sio::SioServer::serve_tls),
//! [`EioServer::serve_tls`](crate::eio::EioServer::serve_tls)) and the clients' verification
//! ([`TlsClientConfig`], built from [`TlsClientOptions`]).
//!
//! A server's connection is read by one thread while others write to it, so its stream,
//! [`TlsStream`], is not rustls' [`StreamOwned`] (which needs `&mut` for both): the rustls
//! connection sits under a mutex that is held only to encrypt or decrypt, never while waiting
//! on the socket. The reader waits in `read` on the TCP socket with no lock and then feeds
//! what arrived; a writer encrypts under the lock and writes the records out under a second,
//! write-only lock. A blocked writer (a peer that does not read) therefore never stops the
//! reader, and the reader never waits for a writer. The single-threaded HTTP requests of the
//! Socket.IO client use [`StreamOwned`].
//!
//! ```no_run
//! use glue_std::sio::{SioServer, SioServerOptions};
//! use glue_std::tls::TlsServerConfig;
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = TlsServerConfig::from_pem_files("cert.pem", "key.pem")?;
//! let server = SioServer::new(SioServerOptions::default());
//! let listener = std::net::TcpListener::bind("0.0.0.0:443")?;
//! server.serve_tls(listener, tls)?;
//! # Ok(())
//! # }
//! ```

use crate::glue::GlueStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use glue_protocol::sio::client::{TlsClientOptions, TlsVerify};
pub use rustls;
pub use rustls::StreamOwned;

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

    /// The TLS handshake on an accepted connection (blocking, within the handshake timeout).
    pub fn accept(&self, tcp: TcpStream) -> io::Result<TlsStream> {
        let conn = rustls::ServerConnection::new(self.config.clone()).map_err(io::Error::other)?;
        TlsStream::handshake(conn.into(), tcp, self.handshake_timeout)
    }
}

/// Accepts TCP connections from `listener` forever, a thread each: the thread does the TLS
/// handshake (within `tls`'s handshake timeout) then runs `handler` with the TLS stream and the
/// peer's address. Failed handshakes are logged (debug) and dropped.
///
/// The servers of this crate have their own [`serve_tls`](crate::sio::SioServer::serve_tls)
/// that also stops on release; this is for anything else that serves a stream.
pub fn serve_tls<F>(listener: TcpListener, tls: TlsServerConfig, handler: F) -> io::Result<()>
where
    F: Fn(TlsStream, SocketAddr) + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    loop {
        match listener.accept() {
            Ok((tcp, peer)) => {
                let _ = tcp.set_nodelay(true);
                let (tls, handler) = (tls.clone(), handler.clone());
                let spawned = std::thread::Builder::new().spawn(move || match tls.accept(tcp) {
                    Ok(stream) => handler(stream, peer),
                    Err(e) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                });
                if let Err(e) = spawned {
                    tracing::warn!("cannot spawn a connection thread: {e}");
                }
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
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

    fn client_connection(&self, host: &str) -> io::Result<rustls::ClientConnection> {
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => ServerName::try_from(host.to_owned()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "invalid TLS server name")
            })?,
        };
        rustls::ClientConnection::new(self.config.clone(), name).map_err(io::Error::other)
    }

    /// The TLS handshake over `tcp` with the server `host` (or the configured server name),
    /// blocking at most `timeout`; the stream can then be read and written from different
    /// threads.
    pub fn connect(&self, host: &str, tcp: TcpStream, timeout: Duration) -> io::Result<TlsStream> {
        TlsStream::handshake(self.client_connection(host)?.into(), tcp, timeout)
    }

    /// A single-threaded client stream over `tcp` (rustls [`StreamOwned`]; the handshake
    /// happens on first use).
    pub fn stream_owned(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> io::Result<StreamOwned<rustls::ClientConnection, TcpStream>> {
        Ok(StreamOwned::new(self.client_connection(host)?, tcp))
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

struct TlsState {
    conn: rustls::Connection,
    /// Received ciphertext not fed to rustls yet.
    pending: Vec<u8>,
    /// The peer closed the TCP connection.
    eof: bool,
}

impl TlsState {
    /// The TLS records rustls wants sent.
    fn take_output(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out)?;
        }
        Ok(out)
    }
}

/// A TLS connection over TCP (server or client side) that one thread reads while others
/// write, through shared references: a [`GlueStream`] (the servers serve it), and
/// [`Read`]/[`Write`] for `&TlsStream`. See the [module docs](self) for the locking.
pub struct TlsStream {
    tcp: TcpStream,
    state: Mutex<TlsState>,
    /// Held while records go out on the socket, so they keep the order rustls made them in.
    write_io: Mutex<()>,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.tcp.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
}

impl TlsStream {
    /// Runs the handshake of `conn` over `tcp` within `timeout` (every socket wait gets the
    /// time left, so a peer that trickles bytes cannot stretch it).
    fn handshake(
        mut conn: rustls::Connection,
        mut tcp: TcpStream,
        timeout: Duration,
    ) -> io::Result<TlsStream> {
        let deadline = Instant::now() + timeout;
        while conn.is_handshaking() || conn.wants_write() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            tcp.set_read_timeout(Some(left))?;
            tcp.set_write_timeout(Some(left))?;
            if conn.wants_write() {
                conn.write_tls(&mut tcp)?;
                continue;
            }
            let n = match conn.read_tls(&mut tcp) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock) => return Err(timed_out()),
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if let Err(e) = conn.process_new_packets() {
                // Tell the peer why (best effort).
                while conn.wants_write() && conn.write_tls(&mut tcp).is_ok() {}
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        tcp.set_read_timeout(None)?;
        tcp.set_write_timeout(None)?;
        Ok(TlsStream {
            tcp,
            state: Mutex::new(TlsState { conn, pending: Vec::new(), eof: false }),
            write_io: Mutex::new(()),
        })
    }

    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    /// Writes the records rustls has ready; the caller holds `write_io`.
    fn drain(&self) -> io::Result<()> {
        loop {
            let out = lock(&self.state).take_output()?;
            if out.is_empty() {
                return Ok(());
            }
            (&self.tcp).write_all(&out)?;
        }
    }
}

impl GlueStream for TlsStream {
    fn read_shared(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut st = lock(&self.state);
                loop {
                    match st.conn.reader().read(buf) {
                        Ok(n) => return Ok(n),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        // EOF without close_notify: an end all the same.
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                        Err(e) => return Err(e),
                    }
                    if st.pending.is_empty() {
                        if st.eof {
                            return Ok(0);
                        }
                        break;
                    }
                    let TlsState { conn, pending, .. } = &mut *st;
                    let fed = conn.read_tls(&mut &pending[..])?;
                    pending.drain(..fed);
                    if let Err(e) = conn.process_new_packets() {
                        let alert = st.take_output().unwrap_or_default();
                        drop(st);
                        if let Ok(_w) = self.write_io.try_lock() {
                            let _ = (&self.tcp).write_all(&alert);
                        }
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
                if st.pending.capacity() > 64 * 1024 {
                    st.pending = Vec::new();
                }
                // Post-handshake messages (session tickets, key updates): out now unless a
                // writer is busy (it sends them after its own records).
                if st.conn.wants_write() {
                    if let Ok(_w) = self.write_io.try_lock() {
                        let out = st.take_output()?;
                        drop(st);
                        (&self.tcp).write_all(&out)?;
                    }
                }
            }
            // Wait for the socket with no lock held.
            let n = (&self.tcp).read(buf)?;
            let mut st = lock(&self.state);
            if n == 0 {
                st.eof = true;
            } else {
                st.pending.extend_from_slice(&buf[..n]);
            }
        }
    }

    fn write_vectored_shared(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let _w = lock(&self.write_io);
        let n = lock(&self.state).conn.writer().write_vectored(bufs)?;
        self.drain()?;
        Ok(n)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_write_timeout(timeout)
    }

    /// Shutting down the write side sends close_notify first (unless a writer is blocked on
    /// the socket: shutdown must not wait for it).
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            if let Ok(_w) = self.write_io.try_lock() {
                let out = {
                    let mut st = lock(&self.state);
                    st.conn.send_close_notify();
                    st.take_output()
                };
                if let Ok(out) = out {
                    let _ = (&self.tcp).write_all(&out);
                }
            }
        }
        self.tcp.shutdown(how)
    }
}

impl Read for &TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_shared(buf)
    }
}

impl Write for &TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored_shared(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_vectored_shared(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
