//! The glue client: the glue.js API over WebSocket and AjaxSocket.
