//! Request and response heads, their parsing (via `httparse`) and header lookup.

use super::HttpError;

/// Size limits applied while parsing HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest head (request/status line plus headers) accepted, in bytes. Default 8 KiB.
    pub max_head: usize,
    /// Most header fields accepted. Default 64.
    pub max_headers: usize,
    /// Largest body accepted, in bytes. Default 1 MiB.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_head: 8 * 1024, max_headers: 64, max_body: 1024 * 1024 }
    }
}

/// HTTP protocol version of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

impl Version {
    /// The version as written on the wire, e.g. `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// Whether a message of `version` with these headers leaves the connection open: HTTP/1.1
/// unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (and no `close`).
fn keep_alive(version: Version, headers: &Headers) -> bool {
    if headers.has_token("connection", "close") {
        return false;
    }
    match version {
        Version::Http11 => true,
        Version::Http10 => headers.has_token("connection", "keep-alive"),
    }
}

/// An ordered list of header fields; lookup ignores ASCII case of names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a field (keeps earlier ones of the same name).
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.fields.push((name.into(), value.into()));
    }
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Whether any value of `name`, read as a comma-separated list, holds `token` (ASCII case
    /// ignored), e.g. `has_token("connection", "upgrade")`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
    }
    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
    /// Removes every field named `name` (ASCII case ignored).
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
    /// Replaces every field named `name` with one field `name: value`, appended at the end.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.fields.push((name, value.into()));
    }
    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// The message's `Content-Length`, if any.
    ///
    /// Repeated fields or comma-separated lists are accepted only when every value is the same
    /// decimal number; anything else (signs, blanks, disagreement, overflow) is
    /// [`HttpError::InvalidContentLength`].
    pub fn content_length(&self) -> Result<Option<u64>, HttpError> {
        let mut found = None;
        for value in self.get_all("content-length") {
            for part in value.split(',') {
                let part = part.trim_matches([' ', '\t']);
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(HttpError::InvalidContentLength);
                }
                let n: u64 = part.parse().map_err(|_| HttpError::InvalidContentLength)?;
                match found {
                    Some(m) if m != n => return Err(HttpError::InvalidContentLength),
                    _ => found = Some(n),
                }
            }
        }
        Ok(found)
    }
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Request target as sent, e.g. `/socket.io/?EIO=3`.
    pub target: String,
    /// Protocol version.
    pub version: Version,
    /// Header fields.
    pub headers: Headers,
}

impl RequestHead {
    /// The target's path (before `?`), still percent-encoded.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }
    /// The raw query string (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
    /// The query decoded as `application/x-www-form-urlencoded` pairs (empty without a query);
    /// see [`parse_query`](super::parse_query).
    pub fn query_pairs(&self) -> Result<Vec<(String, String)>, HttpError> {
        super::parse_query(self.query().unwrap_or(""))
    }
    /// Whether the connection stays open after this request: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }
    /// Whether this request asks to switch protocols (`Connection: upgrade` plus an `Upgrade`
    /// field), e.g. a WebSocket handshake.
    pub fn is_upgrade(&self) -> bool {
        self.headers.has_token("connection", "upgrade") && self.headers.contains("upgrade")
    }
    /// Whether the client waits for `100 Continue` before sending the body
    /// (`Expect: 100-continue` on HTTP/1.1).
    pub fn expects_continue(&self) -> bool {
        self.version == Version::Http11 && self.headers.has_token("expect", "100-continue")
    }
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Protocol version.
    pub version: Version,
    /// Header fields.
    pub headers: Headers,
}

impl ResponseHead {
    /// Whether the connection stays open after this response: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`. (A body delimited by
    /// the end of the connection closes it regardless.)
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }
}

fn version(v: Option<u8>) -> Result<Version, HttpError> {
    match v {
        Some(0) => Ok(Version::Http10),
        Some(1) => Ok(Version::Http11),
        _ => Err(HttpError::Malformed("unsupported HTTP version")),
    }
}

pub(super) fn collect(raw: &[httparse::Header<'_>]) -> Result<Headers, HttpError> {
    let mut headers = Headers { fields: Vec::with_capacity(raw.len()) };
    for h in raw {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| HttpError::Malformed("header value is not UTF-8"))?;
        headers.append(h.name, value);
    }
    Ok(headers)
}

pub(super) fn map_err(e: httparse::Error, limits: &Limits) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders { limit: limits.max_headers },
        httparse::Error::Version => HttpError::Malformed("unsupported HTTP version"),
        _ => HttpError::Malformed("invalid HTTP head"),
    }
}

/// Parses a request head at the start of `buf`.
///
/// `Ok(None)` means more bytes are needed; `Ok(Some((head, n)))` means the head took the first
/// `n` bytes (the body, or the next protocol's bytes, follow). A head over `limits.max_head`
/// is an error even while incomplete.
pub fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let mut storage = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut storage);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            if n > limits.max_head {
                return Err(HttpError::HeadTooLarge { limit: limits.max_head });
            }
            let head = RequestHead {
                method: req.method.unwrap_or_default().to_owned(),
                target: req.path.unwrap_or_default().to_owned(),
                version: version(req.version)?,
                headers: collect(req.headers)?,
            };
            Ok(Some((head, n)))
        }
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            Err(HttpError::HeadTooLarge { limit: limits.max_head })
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(map_err(e, limits)),
    }
}

/// Parses a response head at the start of `buf`; same contract as [`parse_request_head`].
pub fn parse_response_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    let mut storage = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut res = httparse::Response::new(&mut storage);
    match res.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            if n > limits.max_head {
                return Err(HttpError::HeadTooLarge { limit: limits.max_head });
            }
            let head = ResponseHead {
                status: res.code.unwrap_or_default(),
                reason: res.reason.unwrap_or_default().to_owned(),
                version: version(res.version)?,
                headers: collect(res.headers)?,
            };
            Ok(Some((head, n)))
        }
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            Err(HttpError::HeadTooLarge { limit: limits.max_head })
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(map_err(e, limits)),
    }
}

/// Whether re-parsing a still incomplete head in `buf` can give a new answer: only once a new
/// line has ended (a head completes, and most errors show, at a LF), the size limit is passed,
/// or the input has ended. `scanned` remembers how much of `buf` was seen; reset it to 0
/// whenever bytes are consumed from the front of `buf`. This keeps a client that trickles a
/// head byte by byte from costing a full parse per byte.
pub(super) fn head_worth_parsing(
    buf: &[u8],
    scanned: &mut usize,
    limits: &Limits,
    eof: bool,
) -> bool {
    let fresh = buf.get(*scanned..).unwrap_or_default();
    let ready = eof || buf.len() > limits.max_head || fresh.contains(&b'\n');
    *scanned = buf.len();
    ready
}
