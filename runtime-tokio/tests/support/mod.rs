//! Helpers shared by the tokio glue client tests.
#![allow(dead_code)]

use glue_tokio::glue::client::{Client, ClientConfig, ClientOptions, Event, Transport};
use std::time::Duration;
use tokio::time::timeout;

pub const WAIT: Duration = Duration::from_secs(10);
pub const BOTH: [Transport; 2] = [Transport::WebSocket, Transport::Ajax];

pub fn options(transport: Transport) -> ClientOptions {
    ClientOptions {
        config: ClientConfig {
            force_transport: Some(transport),
            reconnect_delay: Duration::from_millis(50),
            reconnect_delay_max: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(3),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Receives events until one matches; panics after `WAIT`.
pub async fn wait_event(client: &Client, what: &str, f: impl Fn(&Event) -> bool) -> Event {
    timeout(WAIT, async {
        loop {
            let e = client.recv_event().await.expect("client still running");
            if f(&e) {
                return e;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub async fn connected(client: &Client) -> String {
    match wait_event(client, "connected", |e| matches!(e, Event::Connected { .. })).await {
        Event::Connected { socket_id } => socket_id,
        _ => unreachable!(),
    }
}

pub async fn read(client: &Client) -> String {
    timeout(WAIT, client.recv()).await.expect("a message in time").expect("a message")
}
