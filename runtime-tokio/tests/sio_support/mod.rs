//! Starts the Socket.IO `sio-e2e` fixture server for the client tests of both runtimes
//! (runtime-std includes this file by path).
//!
//! The server command is a template, as in `tests/sio/README.md`: `{kind}` becomes `sio-e2e`
//! and `{listen}` becomes `127.0.0.1:PORT`; a command without `{kind}` gets
//! ` {kind} --listen {listen}` appended. It runs from the workspace root through
//! `/bin/sh -c 'exec …'` and must print a line containing `listening on`. The default is the
//! Node reference `node tests/sio/ref-fixture.js` (socket.io 2.5.1); `SIO_SERVER_CMD`
//! overrides it, e.g. `target/release/fixture {kind} --runtime tokio --listen {listen}`.
//! A missing `node` or a missing `tests/sio/node_modules` FAILS the tests (no skipping).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The default server command: the Node reference fixture.
pub const REFERENCE: &str = "node tests/sio/ref-fixture.js";

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The command template: `SIO_SERVER_CMD` or [`REFERENCE`]. For the reference, checks that
/// node and the npm modules are there and panics if not.
pub fn server_command() -> String {
    if let Ok(cmd) = std::env::var("SIO_SERVER_CMD") {
        if !cmd.trim().is_empty() {
            return cmd;
        }
    }
    let fixture = root().join("tests/sio/ref-fixture.js");
    assert!(fixture.exists(), "missing {} (the Node reference fixture)", fixture.display());
    let modules = root().join("tests/sio/node_modules/socket.io/package.json");
    assert!(modules.exists(), "missing {}: run `npm ci` in tests/sio", modules.display());
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed (needed for the Socket.IO reference server): {node:?}"
    );
    REFERENCE.to_string()
}

/// A running fixture server; killed on drop.
pub struct SioServer {
    template: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    child: Option<Child>,
}

impl SioServer {
    /// Starts `template` on a free port.
    pub fn start(template: &str) -> SioServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut s = SioServer {
            template: template.to_string(),
            addr: format!("127.0.0.1:{port}"),
            child: None,
        };
        s.spawn();
        s
    }

    /// The default server ([`server_command`]) on a free port.
    pub fn start_default() -> SioServer {
        SioServer::start(&server_command())
    }

    /// `http://ADDR<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn spawn(&mut self) {
        let mut cmd = self.template.clone();
        if !cmd.contains("{kind}") {
            cmd.push_str(" {kind} --listen {listen}");
        }
        let cmd = cmd.replace("{kind}", "sio-e2e").replace("{listen}", &self.addr);
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("exec {cmd}"))
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        self.child = Some(child);
        if rx.recv_timeout(Duration::from_secs(15)).is_err() {
            self.kill();
            panic!("{cmd:?} did not print `listening on` within 15 s");
        }
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same address.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for SioServer {
    fn drop(&mut self) {
        self.kill();
    }
}
