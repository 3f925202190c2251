//! Shared by the TLS tests of both runtimes (glue-std includes this file by path): a test CA
//! and a server certificate generated with rcgen, and the Node peer check.
#![allow(dead_code)]

use std::path::PathBuf;

/// A test CA, and a server certificate it signed for `localhost` and `127.0.0.1`: (CA PEM,
/// server chain PEM, server key PEM).
pub fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "glue-rs test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// [`certificates`] with the server certificate and key written to PEM files in `dir`:
/// (CA PEM, certificate path, key path).
pub fn certificate_files(dir: &std::path::Path) -> (String, String, String) {
    let (ca, cert, key) = certificates();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    (ca, cert_path.display().to_string(), key_path.display().to_string())
}

/// The Node TLS script (tests/sio/tls.test.js); fails (never skips) when `node` or
/// `tests/sio/node_modules` is missing — run `cd tests/sio && npm ci`.
pub fn node_tls_script() -> PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let modules = root.join("tests/sio/node_modules/socket.io-client");
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok() && modules.exists(),
        "node or tests/sio/node_modules missing (cd tests/sio && npm ci)"
    );
    root.join("tests/sio/tls.test.js")
}
