use thiserror::Error;

/// The peer sent HTTP this side refuses; each variant says which status to answer.
///
/// After any of these the connection is unusable: a server answers with [`status`](Self::status)
/// (see [`Response::error`](super::Response::error)) and closes; a client closes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The request or response head is larger than [`Limits::max_head`](super::Limits).
    #[error("HTTP head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// More header lines than [`Limits::max_headers`](super::Limits).
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The head could not be parsed.
    #[error("malformed HTTP head: {0}")]
    Malformed(&'static str),
    /// The body is larger than the configured cap.
    #[error("HTTP body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// `Content-Length` is not a decimal number, or several values disagree.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// A `Transfer-Encoding` this side does not implement. Servers refuse every transfer coding
    /// on requests (bodies must carry `Content-Length`); clients accept only `chunked`.
    #[error("unsupported Transfer-Encoding")]
    UnsupportedTransferEncoding,
    /// A chunked body is malformed.
    #[error("malformed chunked body: {0}")]
    InvalidChunk(&'static str),
    /// The peer closed the connection in the middle of a message.
    #[error("connection closed in the middle of a message")]
    UnexpectedEof,
    /// A percent-escape is invalid, or the decoded bytes are not UTF-8.
    #[error("invalid percent-encoding")]
    InvalidPercentEncoding,
}

impl HttpError {
    /// The HTTP status a server answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::HeadTooLarge { .. } | HttpError::TooManyHeaders { .. } => 431,
            HttpError::BodyTooLarge { .. } => 413,
            HttpError::UnsupportedTransferEncoding => 501,
            HttpError::Malformed(_)
            | HttpError::InvalidContentLength
            | HttpError::InvalidChunk(_)
            | HttpError::UnexpectedEof
            | HttpError::InvalidPercentEncoding => 400,
        }
    }
}
