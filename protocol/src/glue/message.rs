//! glue messages: `cmd` (2 bytes) + payload, and the channel-data (`cd`) payload
//! `LEN "&" NAME DATA`.
//!
//! LEN counts UTF-16 code units of NAME, the way glue.js counts `String.length`, so non-ASCII
//! channel names work with the browser client (upstream Go counts bytes, which breaks them;
//! both agree for ASCII names).

use bytes::{BufMut, Bytes, BytesMut};
use thiserror::Error;

/// The protocol version this implementation speaks and accepts clients up to.
pub const PROTOCOL_VERSION: &str = "1.9.1";

/// Name of the main channel (`socket.send` / `Socket::write`).
pub const MAIN_CHANNEL: &str = "m";

/// A glue command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `in`: init request (client) or init reply (server).
    Init,
    /// `pi`: ping.
    Ping,
    /// `po`: pong.
    Pong,
    /// `cl`: the client closes.
    Close,
    /// `iv`: the server got an invalid command.
    Invalid,
    /// `dr`: don't reconnect (incompatible version).
    DontReconnect,
    /// `cd`: channel data.
    ChannelData,
}

impl Command {
    /// The two wire bytes.
    pub fn as_bytes(self) -> &'static [u8; 2] {
        match self {
            Command::Init => b"in",
            Command::Ping => b"pi",
            Command::Pong => b"po",
            Command::Close => b"cl",
            Command::Invalid => b"iv",
            Command::DontReconnect => b"dr",
            Command::ChannelData => b"cd",
        }
    }

    /// Parses the two wire bytes.
    pub fn from_bytes(b: [u8; 2]) -> Option<Command> {
        Some(match &b {
            b"in" => Command::Init,
            b"pi" => Command::Ping,
            b"po" => Command::Pong,
            b"cl" => Command::Close,
            b"iv" => Command::Invalid,
            b"dr" => Command::DontReconnect,
            b"cd" => Command::ChannelData,
            _ => return None,
        })
    }
}

/// A message a glue peer sent that cannot be used; none of these closes the socket.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GlueError {
    /// Shorter than the 2-byte command (upstream crashes on these; answered with `iv`).
    #[error("message shorter than 2 bytes")]
    TooShort,
    /// The message is not UTF-8 text.
    #[error("message is not UTF-8")]
    NotUtf8,
    /// An unknown command (answered with `iv`).
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// A `cd` payload without the `&` after the length.
    #[error("channel data without '&' delimiter")]
    MissingDelimiter,
    /// A `cd` length prefix that is not a decimal integer.
    #[error("channel data length {0:?} is not an integer")]
    InvalidLength(String),
    /// A `cd` length outside the payload, or splitting a character.
    #[error("channel data length {0} out of bounds")]
    LengthOutOfBounds(i64),
}

impl GlueError {
    /// Whether the server answers this with `iv` (unknown or short command); otherwise the
    /// message is dropped silently, as upstream does for bad channel data.
    pub fn answer_invalid(&self) -> bool {
        matches!(self, GlueError::TooShort | GlueError::NotUtf8 | GlueError::UnknownCommand(_))
    }
}

/// A decoded glue message borrowing from its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// `in` with its JSON payload.
    Init(&'a str),
    /// `pi`.
    Ping,
    /// `po`.
    Pong,
    /// `cl`.
    Close,
    /// `iv`.
    Invalid,
    /// `dr`.
    DontReconnect,
    /// `cd`: data for a channel.
    ChannelData {
        /// Channel name (`m` is the main channel).
        channel: &'a str,
        /// The data (may be empty, may contain `&`).
        data: &'a str,
    },
}

impl<'a> Message<'a> {
    /// Decodes one glue message (one WebSocket message / one AjaxSocket body).
    pub fn decode(raw: &'a [u8]) -> Result<Message<'a>, GlueError> {
        if raw.len() < 2 {
            return Err(GlueError::TooShort);
        }
        let text = simdutf8::basic::from_utf8(raw).map_err(|_| GlueError::NotUtf8)?;
        if !text.is_char_boundary(2) {
            return Err(GlueError::UnknownCommand(text.chars().take(2).collect()));
        }
        let (cmd, payload) = text.split_at(2);
        let command = Command::from_bytes([raw[0], raw[1]])
            .ok_or_else(|| GlueError::UnknownCommand(cmd.to_owned()))?;
        Ok(match command {
            Command::Init => Message::Init(payload),
            Command::Ping => Message::Ping,
            Command::Pong => Message::Pong,
            Command::Close => Message::Close,
            Command::Invalid => Message::Invalid,
            Command::DontReconnect => Message::DontReconnect,
            Command::ChannelData => {
                let (channel, data) = decode_channel_data(payload)?;
                Message::ChannelData { channel, data }
            }
        })
    }

    /// Encodes the message.
    pub fn encode(&self) -> Bytes {
        match *self {
            Message::Init(json) => command_with(Command::Init, json),
            Message::Ping => Bytes::from_static(b"pi"),
            Message::Pong => Bytes::from_static(b"po"),
            Message::Close => Bytes::from_static(b"cl"),
            Message::Invalid => Bytes::from_static(b"iv"),
            Message::DontReconnect => Bytes::from_static(b"dr"),
            Message::ChannelData { channel, data } => encode_channel_data(channel, data),
        }
    }
}

fn command_with(cmd: Command, payload: &str) -> Bytes {
    let mut b = BytesMut::with_capacity(2 + payload.len());
    b.put_slice(cmd.as_bytes());
    b.put_slice(payload.as_bytes());
    b.freeze()
}

/// Length of `s` in UTF-16 code units (JavaScript's `String.length`).
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

/// Encodes a whole `cd` message: `cd` LEN `&` NAME DATA.
pub fn encode_channel_data(channel: &str, data: &str) -> Bytes {
    let len = utf16_len(channel).to_string();
    let mut b = BytesMut::with_capacity(2 + len.len() + 1 + channel.len() + data.len());
    b.put_slice(b"cd");
    b.put_slice(len.as_bytes());
    b.put_u8(b'&');
    b.put_slice(channel.as_bytes());
    b.put_slice(data.as_bytes());
    b.freeze()
}

/// Splits a `cd` payload into channel name and data.
///
/// The length accepts what Go's `Atoi` accepts (optional sign, decimal digits) and must lie
/// within the rest of the payload; it counts UTF-16 code units and may not split a character.
pub fn decode_channel_data(payload: &str) -> Result<(&str, &str), GlueError> {
    let (len, rest) = payload.split_once('&').ok_or(GlueError::MissingDelimiter)?;
    let digits = len.strip_prefix(['+', '-']).unwrap_or(len);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GlueError::InvalidLength(len.to_owned()));
    }
    let n: i64 = len.parse().map_err(|_| GlueError::InvalidLength(len.to_owned()))?;
    let want = usize::try_from(n).map_err(|_| GlueError::LengthOutOfBounds(n))?;
    // Walk `want` UTF-16 code units into `rest`.
    let mut units = 0usize;
    let mut split = None;
    for (i, c) in rest.char_indices() {
        if units == want {
            split = Some(i);
            break;
        }
        units += c.len_utf16();
        if units > want {
            return Err(GlueError::LengthOutOfBounds(n));
        }
    }
    let split = match split {
        Some(i) => i,
        None if units == want => rest.len(),
        None => return Err(GlueError::LengthOutOfBounds(n)),
    };
    Ok(rest.split_at(split))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(&encode_channel_data("m", "hello")[..], b"cd1&mhello");
        assert_eq!(&encode_channel_data("golang", "hi&x")[..], b"cd6&golanghi&x");
        assert_eq!(
            Message::decode(b"cd1&mecho:A&B"),
            Ok(Message::ChannelData { channel: "m", data: "echo:A&B" })
        );
        assert_eq!(
            Message::decode(b"in{\"version\":\"1.9.1\"}"),
            Ok(Message::Init("{\"version\":\"1.9.1\"}"))
        );
        assert_eq!(Message::decode(b"pi"), Ok(Message::Ping));
        assert_eq!(Message::decode(b"cd0&"), Ok(Message::ChannelData { channel: "", data: "" }));
    }

    #[test]
    fn non_ascii_channel_names_count_utf16_units() {
        // "ü" is 1 UTF-16 unit (2 bytes); "𝄞" is 2 units (4 bytes).
        assert_eq!(&encode_channel_data("ü", "x")[..], "cd1&üx".as_bytes());
        assert_eq!(&encode_channel_data("𝄞", "x")[..], "cd2&𝄞x".as_bytes());
        assert_eq!(decode_channel_data("2&𝄞x"), Ok(("𝄞", "x")));
        assert_eq!(decode_channel_data("1&𝄞x"), Err(GlueError::LengthOutOfBounds(1)));
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        assert_eq!(Message::decode(b""), Err(GlueError::TooShort));
        assert_eq!(Message::decode(b"c"), Err(GlueError::TooShort));
        assert!(Message::decode(b"zz").unwrap_err().answer_invalid());
        assert!(Message::decode("é".as_bytes()).unwrap_err().answer_invalid());
        assert!(Message::decode(&[0xff, 0xfe, 0xfd]).unwrap_err().answer_invalid());
        assert_eq!(Message::decode(b"cdxyz"), Err(GlueError::MissingDelimiter));
        assert_eq!(decode_channel_data("a&m"), Err(GlueError::InvalidLength("a".into())));
        assert_eq!(decode_channel_data("&m"), Err(GlueError::InvalidLength("".into())));
        assert_eq!(decode_channel_data("-1&m"), Err(GlueError::LengthOutOfBounds(-1)));
        assert_eq!(decode_channel_data("2&m"), Err(GlueError::LengthOutOfBounds(2)));
        assert_eq!(decode_channel_data("+1&mx"), Ok(("m", "x")));
        assert!(decode_channel_data("99999999999999999999&m").is_err());
    }

    proptest::proptest! {
        #[test]
        fn channel_data_round_trips(channel in "\\PC{0,8}", data in "\\PC{0,32}") {
            let encoded = encode_channel_data(&channel, &data);
            let decoded = Message::decode(&encoded).unwrap();
            proptest::prop_assert_eq!(decoded, Message::ChannelData { channel: &channel, data: &data });
            proptest::prop_assert_eq!(decoded.encode(), encoded);
        }

        #[test]
        fn decode_never_panics(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Message::decode(&raw);
        }
    }
}
