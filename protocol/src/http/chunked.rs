//! `Transfer-Encoding: chunked`: an incremental decoder and the two encoding helpers.

use bytes::{BufMut, Bytes, BytesMut};

use super::encode::put_headers;
use super::head::{collect, map_err};
use super::{Headers, HttpError, Limits};

/// Incremental decoder of a chunked body, chunk extensions (skipped) and trailer fields.
///
/// Feed it bytes with [`decode`](Self::decode); it stops right after the body's final empty
/// line, so bytes of a following message are left unconsumed. Line ends must be CRLF.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    limits: Limits,
    state: State,
    /// Size of the chunk being read, from its hex digits.
    size: u64,
    digits: u8,
    /// Bytes of the current size line (digits and extensions), capped by `limits.max_head`.
    line: usize,
    /// Body bytes so far, capped by `limits.max_body`.
    total: usize,
    /// The raw trailer section, capped by `limits.max_head`.
    trailer: Vec<u8>,
    trailers: Headers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    SizeSpace,
    Extension,
    SizeLf,
    Data(u64),
    DataCr,
    DataLf,
    Trailer,
    Done,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies over `limits.max_body`, size lines or trailer sections over
    /// `limits.max_head` and more than `limits.max_headers` trailer fields.
    pub fn new(limits: Limits) -> Self {
        ChunkedDecoder {
            limits,
            state: State::Size,
            size: 0,
            digits: 0,
            line: 0,
            total: 0,
            trailer: Vec::new(),
            trailers: Headers::new(),
        }
    }

    /// Decodes from `input`, appending chunk data to `body`; returns how many bytes of `input`
    /// it consumed (all of them unless the body ended inside `input`).
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<usize, HttpError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Data(remaining) => {
                    let take = remaining.min((input.len() - i) as u64) as usize;
                    body.extend_from_slice(&input[i..i + take]);
                    i += take;
                    let left = remaining - take as u64;
                    self.state = if left == 0 { State::DataCr } else { State::Data(left) };
                    continue;
                }
                State::Done => return Ok(i),
                State::Size => match hex(b) {
                    Some(v) => {
                        if self.digits == 15 {
                            return Err(HttpError::InvalidChunk("chunk size too long"));
                        }
                        self.size = self.size * 16 + u64::from(v);
                        self.digits += 1;
                    }
                    None if self.digits == 0 => {
                        return Err(HttpError::InvalidChunk("missing chunk size"))
                    }
                    None => self.after_size(b)?,
                },
                State::SizeSpace => self.after_size(b)?,
                State::Extension => match b {
                    b'\r' => self.state = State::SizeLf,
                    b'\t' | b' '..=b'~' | 0x80..=0xff => {}
                    _ => return Err(HttpError::InvalidChunk("invalid chunk extension")),
                },
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(HttpError::InvalidChunk("expected LF after chunk size"));
                    }
                    self.state = self.start_chunk()?;
                }
                State::DataCr => {
                    if b != b'\r' {
                        return Err(HttpError::InvalidChunk("chunk data longer than its size"));
                    }
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(HttpError::InvalidChunk("expected LF after chunk data"));
                    }
                    self.state = State::Size;
                    self.size = 0;
                    self.digits = 0;
                    self.line = 0;
                }
                State::Trailer => {
                    self.trailer.push(b);
                    if self.trailer_complete()? {
                        self.state = State::Done;
                    }
                }
            }
            if matches!(self.state, State::Size | State::SizeSpace | State::Extension) {
                self.line += 1;
                if self.line > self.limits.max_head {
                    return Err(HttpError::InvalidChunk("chunk size line too long"));
                }
            }
            i += 1;
        }
        Ok(i)
    }

    /// Whether the final chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The trailer fields (complete once [`is_done`](Self::is_done)), leaving none behind.
    pub fn take_trailers(&mut self) -> Headers {
        std::mem::take(&mut self.trailers)
    }

    /// After the size's last hex digit: optional blanks, then `;` extensions or CR.
    fn after_size(&mut self, b: u8) -> Result<(), HttpError> {
        self.state = match b {
            b' ' | b'\t' => State::SizeSpace,
            b';' => State::Extension,
            b'\r' => State::SizeLf,
            _ => return Err(HttpError::InvalidChunk("invalid chunk size")),
        };
        Ok(())
    }

    fn start_chunk(&mut self) -> Result<State, HttpError> {
        if self.size == 0 {
            return Ok(State::Trailer);
        }
        let max = self.limits.max_body;
        let total = usize::try_from(self.size)
            .ok()
            .and_then(|s| s.checked_add(self.total))
            .filter(|&t| t <= max)
            .ok_or(HttpError::BodyTooLarge { limit: max })?;
        self.total = total;
        Ok(State::Data(self.size))
    }

    /// Whether the trailer section (in `self.trailer`) has ended; parses it when it has.
    fn trailer_complete(&mut self) -> Result<bool, HttpError> {
        let t = &self.trailer;
        if t.len() > self.limits.max_head {
            return Err(HttpError::HeadTooLarge { limit: self.limits.max_head });
        }
        if t.len() == 2 && t[0] == b'\r' {
            if t[1] != b'\n' {
                return Err(HttpError::InvalidChunk("expected LF after last chunk"));
            }
            self.trailer = Vec::new();
            return Ok(true);
        }
        if !t.ends_with(b"\r\n\r\n") {
            return Ok(false);
        }
        let mut storage = vec![httparse::EMPTY_HEADER; self.limits.max_headers];
        match httparse::parse_headers(t, &mut storage) {
            Ok(httparse::Status::Complete((n, fields))) if n == t.len() => {
                self.trailers = collect(fields)?
            }
            Ok(_) => return Err(HttpError::InvalidChunk("invalid trailer section")),
            Err(e) => return Err(map_err(e, &self.limits)),
        }
        self.trailer = Vec::new();
        Ok(true)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes one chunk (`size-in-hex CRLF data CRLF`). Empty `data` gives empty bytes, since an
/// empty chunk would end the body: use [`encode_last_chunk`] for that.
pub fn encode_chunk(data: &[u8]) -> Bytes {
    if data.is_empty() {
        return Bytes::new();
    }
    let size = format!("{:x}\r\n", data.len());
    let mut out = BytesMut::with_capacity(size.len() + data.len() + 2);
    out.put_slice(size.as_bytes());
    out.put_slice(data);
    out.put_slice(b"\r\n");
    out.freeze()
}

/// Encodes the last chunk, then `trailers` (may be empty) and the final empty line.
pub fn encode_last_chunk(trailers: &Headers) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + super::encode::headers_len(trailers));
    out.put_slice(b"0\r\n");
    put_headers(&mut out, trailers, |_| true);
    out.put_slice(b"\r\n");
    out.freeze()
}
