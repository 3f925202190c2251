//! The init handshake (`in`): the client's version check and the server's reply.

use super::message::{Command, PROTOCOL_VERSION};
use bytes::{BufMut, Bytes, BytesMut};

/// What the server does with a client's `in` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitCheck {
    /// Compatible: reply with the socket ID and start the socket.
    Accept,
    /// A valid but incompatible version: send `dr`, then close (after a grace period).
    Incompatible(String),
    /// Not a JSON object with a semantic `version`: close without `dr`.
    Invalid,
}

/// A parsed `MAJOR.MINOR.PATCH[-pre][+build]` version (pre-release and build ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

impl Version {
    /// Parses a semantic version (no `v` prefix; all three parts required; no leading zeros).
    pub fn parse(s: &str) -> Option<Version> {
        let core = s.split_once('+').map_or(s, |(c, build)| if build.is_empty() { "" } else { c });
        let (core, pre) = match core.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (core, None),
        };
        if pre.is_some_and(|p| p.is_empty() || p.split('.').any(str::is_empty)) {
            return None;
        }
        let mut parts = core.split('.');
        let mut num = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return None;
            }
            p.parse().ok()
        };
        let v = Version { major: num()?, minor: num()?, patch: num()? };
        parts.next().is_none().then_some(v)
    }

    /// Whether a client at `self` may talk to a server at `server`: same major, and the
    /// client's (minor, patch) not newer.
    pub fn compatible_with(self, server: Version) -> bool {
        self.major == server.major && (self.minor, self.patch) <= (server.minor, server.patch)
    }
}

/// Checks a client's `in` payload (JSON object; the `version` key is matched ignoring ASCII
/// case, other keys ignored) against [`PROTOCOL_VERSION`].
pub fn check_client_init(payload: &str) -> InitCheck {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(payload)
    else {
        return InitCheck::Invalid;
    };
    let version =
        map.iter().find(|(k, _)| k.eq_ignore_ascii_case("version")).and_then(|(_, v)| v.as_str());
    let Some(version) = version else { return InitCheck::Invalid };
    let Some(client) = Version::parse(version) else { return InitCheck::Invalid };
    let server = Version::parse(PROTOCOL_VERSION).expect("valid own version");
    if client.compatible_with(server) {
        InitCheck::Accept
    } else {
        InitCheck::Incompatible(version.to_owned())
    }
}

/// The server's init reply: `in{"socketID":"<id>"}`.
pub fn init_reply(socket_id: &str) -> Bytes {
    let json = serde_json::json!({ "socketID": socket_id }).to_string();
    let mut b = BytesMut::with_capacity(2 + json.len());
    b.put_slice(Command::Init.as_bytes());
    b.put_slice(json.as_bytes());
    b.freeze()
}

/// The client's init request: `in{"version":"1.9.1"}`.
pub fn client_init() -> Bytes {
    Bytes::from(format!("in{{\"version\":\"{PROTOCOL_VERSION}\"}}"))
}

/// The socket ID from a server's init reply payload; `None` when missing or empty (the
/// client then closes without reconnecting, as glue.js does).
pub fn parse_init_reply(payload: &str) -> Option<String> {
    let serde_json::Value::Object(map) = serde_json::from_str(payload).ok()? else { return None };
    match map.get("socketID") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_rules_of_the_spec() {
        for ok in [
            r#"{"version":"1.9.1"}"#,
            r#"{"VERSION":"1.9.1","x":1}"#,
            r#"{"version":"1.9.1-beta"}"#,
            r#"{"version":"1.0.0"}"#,
            r#"{"version":"1.8.7+b"}"#,
        ] {
            assert_eq!(check_client_init(ok), InitCheck::Accept, "{ok}");
        }
        for dr in ["1.9.2", "1.10.0", "2.0.0", "0.9.1"] {
            assert_eq!(
                check_client_init(&format!(r#"{{"version":"{dr}"}}"#)),
                InitCheck::Incompatible(dr.into())
            );
        }
        for bad in [
            "",
            "garbage",
            "[]",
            "{}",
            r#"{"version":"1.9"}"#,
            r#"{"version":"v1.9.1"}"#,
            r#"{"version":1}"#,
            r#"{"version":"01.9.1"}"#,
            r#"{"version":"1.9.1-"}"#,
        ] {
            assert_eq!(check_client_init(bad), InitCheck::Invalid, "{bad}");
        }
    }

    #[test]
    fn replies_round_trip() {
        assert_eq!(
            &init_reply("6pbPeXBOUGcfpFuFILU1")[..],
            br#"in{"socketID":"6pbPeXBOUGcfpFuFILU1"}"#
        );
        assert_eq!(&client_init()[..], br#"in{"version":"1.9.1"}"#);
        assert_eq!(parse_init_reply(r#"{"socketID":"abc"}"#), Some("abc".into()));
        assert_eq!(parse_init_reply(r#"{"socketID":""}"#), None);
        assert_eq!(parse_init_reply("nope"), None);
    }
}
