//! Percent-encoding (RFC 3986) and `application/x-www-form-urlencoded` query strings.

use std::borrow::Cow;

use super::HttpError;

/// Decodes `%XX` escapes; `+` stays `+`. Borrows `s` when it holds no escape.
///
/// A `%` not followed by two hex digits, or decoded bytes that are not UTF-8, is
/// [`HttpError::InvalidPercentEncoding`] (400).
pub fn percent_decode(s: &str) -> Result<Cow<'_, str>, HttpError> {
    decode(s, false)
}

/// Percent-encodes every byte of `s` except the unreserved characters
/// `A-Z a-z 0-9 - . _ ~`, so the result is safe as a path segment or a query key or value.
pub fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// Splits a query string (without the `?`) into decoded `(key, value)` pairs, in order.
///
/// Pairs are separated by `&` (empty pieces are skipped); a piece without `=` has an empty
/// value; `+` decodes to a space and `%XX` escapes as in [`percent_decode`], whose errors this
/// returns.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, HttpError> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            Ok((decode(key, true)?.into_owned(), decode(value, true)?.into_owned()))
        })
        .collect()
}

/// Builds a query string (without the `?`) from `(key, value)` pairs, each side encoded with
/// [`percent_encode`]; [`parse_query`] gives the pairs back.
pub fn encode_query<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&percent_encode(key.as_ref()));
        out.push('=');
        out.push_str(&percent_encode(value.as_ref()));
    }
    out
}

fn decode(s: &str, plus_is_space: bool) -> Result<Cow<'_, str>, HttpError> {
    if !s.bytes().any(|b| b == b'%' || (plus_is_space && b == b'+')) {
        return Ok(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(HttpError::InvalidPercentEncoding);
                };
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| HttpError::InvalidPercentEncoding)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_cases() {
        assert!(matches!(percent_decode("plain").unwrap(), Cow::Borrowed("plain")));
        assert_eq!(percent_decode("a%20b+c%2Bd").unwrap(), "a b+c+d");
        assert_eq!(percent_decode("%E2%82%ac").unwrap(), "€");
        for bad in ["%", "%2", "%zz", "a%g1", "%FF", "%C3"] {
            assert_eq!(percent_decode(bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn query_cases() {
        let pairs = parse_query("EIO=3&transport=polling&&t=a+b%2B&flag&=v&k=").unwrap();
        let want = [
            ("EIO", "3"),
            ("transport", "polling"),
            ("t", "a b+"),
            ("flag", ""),
            ("", "v"),
            ("k", ""),
        ];
        let got: Vec<_> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        assert_eq!(parse_query("").unwrap(), vec![]);
        assert_eq!(parse_query("a=%").unwrap_err(), HttpError::InvalidPercentEncoding);
    }

    #[test]
    fn encode_cases() {
        assert_eq!(percent_encode("a b/c?d=€~"), "a%20b%2Fc%3Fd%3D%E2%82%AC~");
        assert_eq!(encode_query([("sid", "x y"), ("b64", "1")]), "sid=x%20y&b64=1");
    }
}
