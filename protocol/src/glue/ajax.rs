//! The AjaxSocket (HTTP long-polling) session of one uid, server side.
//!
//! Requests are `POST <base>ajax` with the body `i` (init), `u<uid>&<message>` (push) or
//! `o<uid>&<token>` (poll). One glue message per push and per poll answer; answers are
//! `<uid>&<token>` (init), empty (push), `<token>&<message>`, `t` (timeout) or `c` (closed).
//!
//! Differences from upstream, invisible to glue.js: the poll token rotates only when a
//! message is delivered, so a `t` answer leaves the client's token valid (upstream rotates on
//! acceptance and breaks the session after every poll timeout); a message taken by a poll
//! whose answer could not be written can be put back at the head of the queue, and the token
//! the client still holds becomes valid again ([`AjaxSession::requeue_front`]); a newer poll with the current token replaces a held one
//! (answered `t`) instead of being refused.

use super::ids::{random_id, POLL_TOKEN_LEN};
use crate::rand::Entropy;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Upstream's poll hold time before answering `t`.
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(35);

/// A parsed AjaxSocket request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AjaxRequest<'a> {
    /// `i…`: create a session.
    Init,
    /// `u<uid>&<message>`: one glue message from the client.
    Push {
        /// Session uid.
        uid: &'a str,
        /// The glue message (non-empty).
        message: &'a [u8],
    },
    /// `o<uid>&<token>`: wait for one message.
    Poll {
        /// Session uid.
        uid: &'a str,
        /// The token the client holds.
        token: &'a str,
    },
}

/// Why an AjaxSocket request is refused: always `400 Bad Request` (as upstream; glue.js
/// treats any body without `&` as an error and reconnects).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AjaxError {
    /// Empty head (empty body, or body starting with `&`).
    #[error("empty request head")]
    EmptyHead,
    /// The key is not `i`, `u` or `o`.
    #[error("unknown request key")]
    UnknownKey,
    /// The uid is not (or no longer) registered.
    #[error("unknown uid")]
    UnknownUid,
    /// The User-Agent differs from the init request's.
    #[error("user agent mismatch")]
    UserAgentMismatch,
    /// A push without data.
    #[error("push without data")]
    EmptyPush,
    /// The uid or token is not UTF-8.
    #[error("request is not UTF-8")]
    NotUtf8,
    /// A poll with a token that is not the current one.
    #[error("invalid poll token")]
    InvalidToken,
}

impl AjaxError {
    /// The HTTP status to answer (always 400).
    pub fn status(&self) -> u16 {
        400
    }
}

impl<'a> AjaxRequest<'a> {
    /// Parses a request body (split at the first `&`).
    pub fn parse(body: &'a [u8]) -> Result<AjaxRequest<'a>, AjaxError> {
        let (head, data) = match body.iter().position(|&b| b == b'&') {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, &body[body.len()..]),
        };
        let (&key, value) = head.split_first().ok_or(AjaxError::EmptyHead)?;
        let text = |b: &'a [u8]| std::str::from_utf8(b).map_err(|_| AjaxError::NotUtf8);
        match key {
            b'i' => Ok(AjaxRequest::Init),
            b'u' if data.is_empty() => Err(AjaxError::EmptyPush),
            b'u' => Ok(AjaxRequest::Push { uid: text(value)?, message: data }),
            b'o' => Ok(AjaxRequest::Poll { uid: text(value)?, token: text(data)? }),
            _ => Err(AjaxError::UnknownKey),
        }
    }
}

/// Identifies a held poll request for the runtime (e.g. its connection number).
pub type RequestId = u64;

/// An answer the runtime must send for a held or new poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollAnswer {
    /// Which request.
    pub request: RequestId,
    /// The 200 response body.
    pub body: Bytes,
    /// The glue message carried, if any (give it back with
    /// [`AjaxSession::requeue_front`] if the answer cannot be written).
    pub message: Option<Bytes>,
}

/// The state of one AjaxSocket session.
#[derive(Debug)]
pub struct AjaxSession {
    uid: String,
    token: String,
    /// The token before the last delivery, until a poll shows the client has the new one.
    prev_token: Option<String>,
    user_agent: String,
    poll_timeout: Duration,
    held: Option<(RequestId, Instant)>,
    queue: VecDeque<Bytes>,
    max_queued: usize,
    answers: VecDeque<PollAnswer>,
    closed: bool,
}

impl AjaxSession {
    /// A new session for `uid`, remembering the init request's User-Agent. Returns the session
    /// and the init answer body `<uid>&<token>`.
    pub fn new(
        uid: String,
        user_agent: &str,
        poll_timeout: Duration,
        max_queued: usize,
        entropy: &mut dyn Entropy,
    ) -> (AjaxSession, Bytes) {
        let token = random_id(entropy, POLL_TOKEN_LEN);
        let body = Bytes::from(format!("{uid}&{token}"));
        let session = AjaxSession {
            uid,
            token,
            prev_token: None,
            user_agent: user_agent.to_owned(),
            poll_timeout,
            held: None,
            queue: VecDeque::new(),
            max_queued,
            answers: VecDeque::new(),
            closed: false,
        };
        (session, body)
    }

    /// The uid.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Messages waiting for a poll.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether the queue is at its cap (stop taking messages from the socket).
    pub fn is_full(&self) -> bool {
        self.queue.len() >= self.max_queued
    }

    /// Checks a push's User-Agent; on success the message goes to the glue socket.
    pub fn check_push(&self, user_agent: &str) -> Result<(), AjaxError> {
        if self.closed {
            return Err(AjaxError::UnknownUid);
        }
        if user_agent != self.user_agent {
            return Err(AjaxError::UserAgentMismatch);
        }
        Ok(())
    }

    /// A poll request. Valid polls are answered at once when a message waits, else held until
    /// a message, the poll timeout, or close (see [`poll_answer`](Self::poll_answer)).
    pub fn handle_poll(
        &mut self,
        now: Instant,
        request: RequestId,
        user_agent: &str,
        token: &str,
        entropy: &mut dyn Entropy,
    ) -> Result<(), AjaxError> {
        if self.closed {
            return Err(AjaxError::UnknownUid);
        }
        if user_agent != self.user_agent {
            return Err(AjaxError::UserAgentMismatch);
        }
        if token != self.token {
            return Err(AjaxError::InvalidToken);
        }
        self.prev_token = None;
        // A newer poll with the current token means the client gave up on the held one.
        if let Some((old, _)) = self.held.take() {
            self.answers.push_back(PollAnswer {
                request: old,
                body: Bytes::from_static(b"t"),
                message: None,
            });
        }
        self.held = Some((request, now + self.poll_timeout));
        self.deliver(entropy);
        Ok(())
    }

    /// A glue message for the client (from the socket's `poll_transmit`).
    pub fn push_message(&mut self, message: Bytes, entropy: &mut dyn Entropy) {
        if self.closed {
            return;
        }
        self.queue.push_back(message);
        self.deliver(entropy);
    }

    /// Puts back a message whose poll answer could not be written (it goes out first). The
    /// client never saw the new token of that answer, so the one it holds is valid again.
    pub fn requeue_front(&mut self, message: Bytes, entropy: &mut dyn Entropy) {
        if self.closed {
            return;
        }
        if let Some(t) = self.prev_token.take() {
            self.token = t;
        }
        self.queue.push_front(message);
        self.deliver(entropy);
    }

    /// The held poll's connection went away without an answer.
    pub fn poll_aborted(&mut self, request: RequestId) {
        if self.held.is_some_and(|(r, _)| r == request) {
            self.held = None;
        }
    }

    fn deliver(&mut self, entropy: &mut dyn Entropy) {
        if self.held.is_none() || self.queue.is_empty() {
            return;
        }
        let (request, _) = self.held.take().expect("held poll");
        let message = self.queue.pop_front().expect("queued message");
        let token = random_id(entropy, POLL_TOKEN_LEN);
        self.prev_token = Some(std::mem::replace(&mut self.token, token));
        let mut body = BytesMut::with_capacity(self.token.len() + 1 + message.len());
        body.put_slice(self.token.as_bytes());
        body.put_u8(b'&');
        body.put_slice(&message);
        self.answers.push_back(PollAnswer { request, body: body.freeze(), message: Some(message) });
    }

    /// The session's socket closed: a held poll is answered `c`; later requests get 400.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.queue.clear();
        if let Some((request, _)) = self.held.take() {
            self.answers.push_back(PollAnswer {
                request,
                body: Bytes::from_static(b"c"),
                message: None,
            });
        }
    }

    /// Whether the session is closed (remove it from the registry).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// A deadline passed: a held poll past its timeout is answered `t` (token unchanged).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((request, deadline)) = self.held {
            if deadline <= now {
                self.held = None;
                self.answers.push_back(PollAnswer {
                    request,
                    body: Bytes::from_static(b"t"),
                    message: None,
                });
            }
        }
    }

    /// The next poll answer to send.
    #[must_use]
    pub fn poll_answer(&mut self) -> Option<PollAnswer> {
        self.answers.pop_front()
    }

    /// When the held poll times out.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.held.map(|(_, d)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SeededEntropy;

    #[test]
    fn request_grammar() {
        assert_eq!(AjaxRequest::parse(b"i"), Ok(AjaxRequest::Init));
        assert_eq!(AjaxRequest::parse(b"ixyz&foo"), Ok(AjaxRequest::Init));
        assert_eq!(
            AjaxRequest::parse(b"uE2AXqsWtJN&cd1&mhello&x"),
            Ok(AjaxRequest::Push { uid: "E2AXqsWtJN", message: b"cd1&mhello&x" })
        );
        assert_eq!(
            AjaxRequest::parse(b"oE2AXqsWtJN&tok"),
            Ok(AjaxRequest::Poll { uid: "E2AXqsWtJN", token: "tok" })
        );
        assert_eq!(AjaxRequest::parse(b""), Err(AjaxError::EmptyHead));
        assert_eq!(AjaxRequest::parse(b"&x"), Err(AjaxError::EmptyHead));
        assert_eq!(AjaxRequest::parse(b"zabc"), Err(AjaxError::UnknownKey));
        assert_eq!(AjaxRequest::parse(b"uabc&"), Err(AjaxError::EmptyPush));
        assert_eq!(AjaxRequest::parse(b"uabc"), Err(AjaxError::EmptyPush));
    }

    #[test]
    fn poll_cycle_with_timeout_keeps_the_token() {
        let mut rng = SeededEntropy::new(3);
        let t0 = Instant::now();
        let (mut s, init) =
            AjaxSession::new("uid0000000".into(), "UA", DEFAULT_POLL_TIMEOUT, 16, &mut rng);
        let init = String::from_utf8(init.to_vec()).unwrap();
        let (_, token) = init.split_once('&').unwrap();
        let token = token.to_owned();
        assert_eq!(
            s.handle_poll(t0, 1, "other", &token, &mut rng),
            Err(AjaxError::UserAgentMismatch)
        );
        assert_eq!(s.handle_poll(t0, 1, "UA", "wrong", &mut rng), Err(AjaxError::InvalidToken));
        s.handle_poll(t0, 1, "UA", &token, &mut rng).unwrap();
        assert_eq!(s.poll_timeout(), Some(t0 + DEFAULT_POLL_TIMEOUT));
        s.handle_timeout(t0 + DEFAULT_POLL_TIMEOUT);
        assert_eq!(s.poll_answer().unwrap().body, Bytes::from_static(b"t"));
        // the same token stays valid after `t` (upstream defect fixed)
        s.handle_poll(t0 + DEFAULT_POLL_TIMEOUT, 2, "UA", &token, &mut rng).unwrap();
        s.push_message(Bytes::from_static(b"cd1&mwelcome"), &mut rng);
        let a = s.poll_answer().unwrap();
        assert_eq!(a.request, 2);
        let body = String::from_utf8(a.body.to_vec()).unwrap();
        let (new_token, msg) = body.split_once('&').unwrap();
        assert_eq!(msg, "cd1&mwelcome");
        assert_ne!(new_token, token);
        // the old token is now stale
        assert_eq!(s.handle_poll(t0, 3, "UA", &token, &mut rng), Err(AjaxError::InvalidToken));
        // queued messages wait for the next poll, one per answer, in order
        s.push_message(Bytes::from_static(b"a"), &mut rng);
        s.push_message(Bytes::from_static(b"b"), &mut rng);
        s.handle_poll(t0, 4, "UA", new_token, &mut rng).unwrap();
        let a = s.poll_answer().unwrap();
        assert!(a.body.ends_with(b"&a"));
        // an answer that could not be written is requeued first, and the client's token (the
        // one it polled with) is valid again, not the one it never received
        let t = String::from_utf8(a.body.to_vec()).unwrap().split_once('&').unwrap().0.to_owned();
        s.requeue_front(a.message.unwrap(), &mut rng);
        assert_eq!(s.handle_poll(t0, 5, "UA", &t, &mut rng), Err(AjaxError::InvalidToken));
        s.handle_poll(t0, 5, "UA", new_token, &mut rng).unwrap();
        let a = s.poll_answer().unwrap();
        assert!(a.body.ends_with(b"&a"));
        // once the client polls with the new token, the old one is gone for good
        let t = String::from_utf8(a.body.to_vec()).unwrap().split_once('&').unwrap().0.to_owned();
        s.handle_poll(t0, 6, "UA", &t, &mut rng).unwrap();
        let b = s.poll_answer().unwrap();
        assert!(b.body.ends_with(b"&b"));
        let t2 = String::from_utf8(b.body.to_vec()).unwrap().split_once('&').unwrap().0.to_owned();
        s.handle_poll(t0, 7, "UA", &t2, &mut rng).unwrap();
        s.requeue_front(Bytes::from_static(b"z"), &mut rng);
        assert_eq!(s.poll_answer().unwrap().request, 7);
        assert_eq!(s.handle_poll(t0, 8, "UA", &t, &mut rng), Err(AjaxError::InvalidToken));
    }

    #[test]
    fn close_answers_held_poll_with_c() {
        let mut rng = SeededEntropy::new(4);
        let t0 = Instant::now();
        let (mut s, init) = AjaxSession::new("u".into(), "UA", DEFAULT_POLL_TIMEOUT, 16, &mut rng);
        let token = String::from_utf8(init.to_vec()).unwrap().split_once('&').unwrap().1.to_owned();
        s.handle_poll(t0, 9, "UA", &token, &mut rng).unwrap();
        s.close();
        assert_eq!(
            s.poll_answer(),
            Some(PollAnswer { request: 9, body: Bytes::from_static(b"c"), message: None })
        );
        assert_eq!(s.handle_poll(t0, 10, "UA", &token, &mut rng), Err(AjaxError::UnknownUid));
        assert_eq!(s.check_push("UA"), Err(AjaxError::UnknownUid));
    }

    #[test]
    fn a_newer_poll_replaces_a_held_one() {
        let mut rng = SeededEntropy::new(5);
        let t0 = Instant::now();
        let (mut s, init) = AjaxSession::new("u".into(), "UA", DEFAULT_POLL_TIMEOUT, 16, &mut rng);
        let token = String::from_utf8(init.to_vec()).unwrap().split_once('&').unwrap().1.to_owned();
        s.handle_poll(t0, 1, "UA", &token, &mut rng).unwrap();
        s.handle_poll(t0, 2, "UA", &token, &mut rng).unwrap();
        assert_eq!(
            s.poll_answer().unwrap(),
            PollAnswer { request: 1, body: Bytes::from_static(b"t"), message: None }
        );
        s.push_message(Bytes::from_static(b"x"), &mut rng);
        assert_eq!(s.poll_answer().unwrap().request, 2);
    }
}
