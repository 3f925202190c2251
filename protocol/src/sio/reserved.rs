//! Reserved event names (spec §2.9).

use super::SioUsageError;

/// Names a 2.x client handles locally (`socket.emit` runs its own lifecycle listeners), so a
/// server must never send an EVENT with one of them.
pub const CLIENT_RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "connect_timeout",
    "connecting",
    "disconnect",
    "error",
    "reconnect",
    "reconnect_attempt",
    "reconnect_failed",
    "reconnect_error",
    "reconnecting",
    "ping",
    "pong",
];

/// Names a 2.x server reserves (socket: `error`, `connect`, `disconnect`, `disconnecting`,
/// `newListener`, `removeListener`; namespace: `connect`, `connection`, `newListener`),
/// without duplicates. A server ignores incoming events with these names.
pub const SERVER_RESERVED_EVENTS: &[&str] = &[
    "error",
    "connect",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
    "connection",
];

/// Whether `name` is reserved by the client (§2.9): a server must never send it.
pub fn is_reserved_client_event(name: &str) -> bool {
    CLIENT_RESERVED_EVENTS.contains(&name)
}

/// Whether `name` is reserved by the server (§2.9): a server ignores incoming events with
/// this name (the reference would run its own lifecycle handlers — do not copy that).
pub fn is_reserved_server_event(name: &str) -> bool {
    SERVER_RESERVED_EVENTS.contains(&name)
}

/// Whether an EVENT named `name` may be emitted, by either side: names reserved by the client
/// or by the server are refused ([`SioUsageError::ReservedEvent`]), since the receiving side
/// would either run its lifecycle handlers or drop the event. `message` is an ordinary name.
/// Used by [`SioPacket::event`](super::SioPacket::event).
pub fn check_emittable(name: &str) -> Result<(), SioUsageError> {
    if is_reserved_client_event(name) || is_reserved_server_event(name) {
        return Err(SioUsageError::ReservedEvent(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(CLIENT_RESERVED_EVENTS.len(), 13);
        assert_eq!(SERVER_RESERVED_EVENTS.len(), 7);
        assert!(is_reserved_client_event("reconnect_attempt"));
        assert!(!is_reserved_client_event("disconnecting"));
        assert!(is_reserved_server_event("disconnecting"));
        assert!(is_reserved_server_event("newListener"));
        assert!(!is_reserved_server_event("ping"));
        assert!(!is_reserved_server_event("message"));
        for name in CLIENT_RESERVED_EVENTS.iter().chain(SERVER_RESERVED_EVENTS) {
            assert_eq!(check_emittable(name), Err(SioUsageError::ReservedEvent(name.to_string())));
        }
        assert_eq!(check_emittable("message"), Ok(()));
        assert_eq!(check_emittable("Connect"), Ok(()));
        assert_eq!(check_emittable(""), Ok(()));
    }
}
