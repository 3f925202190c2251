//! JSONP polling (`j=<index>`): GET answers wrap the text payload in a script call, POSTs carry
//! it in the form field `d` with newlines protected (spec §1.6).

use super::EioError;
use crate::http::parse_query;

/// The script a JSONP GET is answered with: `___eio[<index>]("<payload as a JS string>");`.
/// `index` must be decimal digits (it lands in JavaScript; anything else is refused).
pub fn encode_jsonp(index: &str, payload: &str) -> Option<String> {
    if index.is_empty() || index.len() > 10 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let json = serde_json::to_string(payload).expect("a string serialises");
    // JSON allows U+2028/U+2029 in strings; older JavaScript does not.
    let json = json.replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029");
    Some(format!("___eio[{index}]({json});"))
}

/// The text payload of a JSONP POST body (`application/x-www-form-urlencoded`, field `d`),
/// with the client's newline protection undone: `\n` (backslash, n) not preceded by a
/// backslash becomes a newline, then `\\n` becomes `\n`. (The scheme cannot carry a
/// backslash directly before a newline: it arrives as a literal backslash-n, as with the
/// reference server.)
pub fn decode_jsonp_post(body: &[u8]) -> Result<String, EioError> {
    let form = std::str::from_utf8(body).map_err(|_| EioError::NotUtf8)?;
    let pairs = parse_query(form).map_err(|_| EioError::NotUtf8)?;
    let data = pairs.into_iter().find(|(k, _)| k == "d").map(|(_, v)| v).ok_or(EioError::Empty)?;
    let mut out = String::with_capacity(data.len());
    let b = data.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'n') && (i == 0 || b[i - 1] != b'\\') {
            out.push('\n');
            i += 2;
            continue;
        }
        // Safe to copy a char at a time: only ASCII is matched above.
        let ch = data[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    Ok(out.replace("\\\\n", "\\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_get_answer() {
        let payload = r#"97:0{"sid":"fbIUE33xvMsqkd8yAAAI","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}2:40"#;
        assert_eq!(
            encode_jsonp("0", payload).unwrap(),
            r#"___eio[0]("97:0{\"sid\":\"fbIUE33xvMsqkd8yAAAI\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000}2:40");"#
        );
        assert_eq!(encode_jsonp("1", "a\u{2028}b").unwrap(), r#"___eio[1]("a\u2028b");"#);
        assert_eq!(encode_jsonp("0);alert(1", "x"), None);
        assert_eq!(encode_jsonp("", "x"), None);
    }

    #[test]
    fn post_newline_protection_round_trip() {
        // Client side: literal backslash-n → backslash-backslash-n, then LF → backslash-n.
        let original = "line1\nline2 \\n literal";
        let protected = original.replace("\\n", "\\\\n").replace('\n', "\\n");
        let body = format!("d={}", crate::http::percent_encode(&protected));
        assert_eq!(decode_jsonp_post(body.as_bytes()).unwrap(), original);
        assert_eq!(decode_jsonp_post(b"d=4hi+there").unwrap(), "4hi there");
        assert_eq!(decode_jsonp_post(b"x=1"), Err(EioError::Empty));
    }
}
