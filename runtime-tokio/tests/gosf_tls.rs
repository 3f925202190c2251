//! The GOSF app with `secure` on: https/wss through rustls with a certificate generated here
//! (rcgen), written to PEM files as `ssl-cert` / `ssl-key`; our client over `wss` and over
//! `https` polling + upgrade, verifying against the test CA.

use glue_tokio::gosf::{App, Message, MicroserviceOptions, ServerConfig};
use glue_tokio::sio_client::{
    SioClient, SioClientOptions, TlsClientOptions, TlsVerify, Transports,
};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::timeout;

fn certificates(dir: &std::path::Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "glue-rs gosf test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca.pem(), cert_path.display().to_string(), key_path.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gosf_serves_https_and_wss() {
    let dir = std::env::temp_dir().join(format!("glue-gosf-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = certificates(&dir);
    // `secure` without the files is refused before serving.
    assert!(ServerConfig::builder().secure(true).build().is_err());
    let config = ServerConfig::builder()
        .host("127.0.0.1")
        .port(0)
        .path("/socket.io/")
        .tls(cert.clone(), key.clone())
        .build()
        .unwrap();
    let app = App::new(config).unwrap();
    app.listen("echo", |client, request| async move {
        let secure = client.handshake().secure;
        Some(
            Message::ok()
                .text(request.message.text.clone())
                .body(json!({ "secure": secure }).as_object().unwrap().clone()),
        )
    })
    .unwrap();
    let addr = app.start().await.unwrap();
    for (scheme, transports) in
        [("wss", Transports::WebSocketOnly), ("https", Transports::PollingAndUpgrade)]
    {
        let options = SioClientOptions {
            transports,
            reconnection: false,
            tls: TlsClientOptions {
                verify: TlsVerify::CustomRootsPem(ca.clone().into_bytes()),
                server_name: None,
            },
            ..SioClientOptions::default()
        };
        let url = format!("{scheme}://localhost:{}/", addr.port());
        let client = SioClient::connect(&url, options).unwrap();
        let (args, _) = timeout(
            Duration::from_secs(10),
            client.emit_with_ack("echo", vec![json!({"text": scheme})], vec![]),
        )
        .await
        .expect("answer in time")
        .expect("answer");
        let answer: &Value = &args[0];
        assert_eq!(answer["success"], json!(true), "{answer}");
        assert_eq!(answer["text"], json!(scheme));
        assert_eq!(answer["body"]["secure"], json!(true));
        client.close();
    }
    // A microservice over `https` (wss), verified against the test CA.
    let ms = app
        .register_microservice(
            "self",
            MicroserviceOptions::new(format!("https://localhost:{}", addr.port())).tls(
                TlsClientOptions {
                    verify: TlsVerify::CustomRootsPem(ca.clone().into_bytes()),
                    server_name: None,
                },
            ),
        )
        .unwrap();
    assert!(ms.wait_connected(Duration::from_secs(10)).await, "microservice connects over TLS");
    let answer = ms.call("echo", &Message::ok().text("via-ms")).await.unwrap();
    assert!(answer.success);
    assert_eq!(answer.text, "via-ms");
    app.shutdown(Duration::from_secs(2)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
