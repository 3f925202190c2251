//! glue (desertbit/glue 1.9.1 compatible): server over WebSocket and AjaxSocket, and the client.

pub mod client;
