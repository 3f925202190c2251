//! A glue socket over AjaxSocket (HTTP long-polling): an [`AjaxSession`] feeding a
//! [`SocketCore`].
//!
//! Pushes go to the socket as glue messages; the socket's outgoing messages move into the
//! session's poll queue while it has room (the socket's own queue then fills and writers see
//! [`WriteError::Full`](super::WriteError::Full)). When the socket closes, messages already
//! queued are still delivered to the polls for up to [`CLOSE_LINGER`]; then the held poll is
//! answered `c` and the session ends.

use super::ajax::{AjaxError, AjaxSession, PollAnswer, RequestId};
use super::socket_core::{CoreEvent, SocketCore};
use crate::rand::Entropy;
use bytes::Bytes;
use std::time::{Duration, Instant};

/// How long a closed socket keeps delivering its queued messages to polls.
pub const CLOSE_LINGER: Duration = Duration::from_secs(5);

/// A glue socket on an AjaxSocket session.
#[derive(Debug)]
pub struct AjaxSocket {
    session: AjaxSession,
    core: SocketCore,
    linger_until: Option<Instant>,
}

impl AjaxSocket {
    /// Joins a new session and a new socket.
    pub fn new(session: AjaxSession, core: SocketCore) -> Self {
        AjaxSocket { session, core, linger_until: None }
    }

    /// The glue socket.
    pub fn core(&self) -> &SocketCore {
        &self.core
    }

    /// The glue socket, for commands; call [`after_command`](Self::after_command) afterwards.
    pub fn core_mut(&mut self) -> &mut SocketCore {
        &mut self.core
    }

    /// The session.
    pub fn session(&self) -> &AjaxSession {
        &self.session
    }

    /// A push request (`u<uid>&<message>`) with the request's User-Agent.
    pub fn handle_push(
        &mut self,
        now: Instant,
        user_agent: &str,
        message: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<(), AjaxError> {
        self.session.check_push(user_agent)?;
        self.core.handle_message(now, message);
        self.pump(now, entropy);
        Ok(())
    }

    /// A poll request (`o<uid>&<token>`); its answer comes from
    /// [`poll_answer`](Self::poll_answer), now or later.
    pub fn handle_poll(
        &mut self,
        now: Instant,
        request: RequestId,
        user_agent: &str,
        token: &str,
        entropy: &mut dyn Entropy,
    ) -> Result<(), AjaxError> {
        self.session.handle_poll(now, request, user_agent, token, entropy)?;
        self.pump(now, entropy);
        Ok(())
    }

    /// The connection of a held poll went away before its answer.
    pub fn poll_aborted(&mut self, request: RequestId) {
        self.session.poll_aborted(request);
    }

    /// A poll answer carrying `message` could not be written: deliver it again first.
    pub fn requeue_front(&mut self, message: Bytes, entropy: &mut dyn Entropy) {
        self.session.requeue_front(message, entropy);
    }

    /// A deadline passed.
    pub fn handle_timeout(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        self.session.handle_timeout(now);
        self.core.handle_timeout(now);
        self.pump(now, entropy);
    }

    /// Moves what a command (write, close, read) queued into the session.
    pub fn after_command(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        self.pump(now, entropy);
    }

    fn pump(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        while !self.session.is_full() {
            let Some(message) = self.core.poll_transmit() else { break };
            self.session.push_message(message, entropy);
        }
        if self.core.is_terminated() && !self.session.is_closed() {
            let drained = self.core.queued() == 0 && self.session.queued() == 0;
            let deadline = *self.linger_until.get_or_insert(now + CLOSE_LINGER);
            if drained || deadline <= now {
                self.session.close();
                self.core.handle_transport_closed(now);
            }
        }
    }

    /// Whether the session ended and every answer was taken: remove it from the registry.
    pub fn is_finished(&self) -> bool {
        self.session.is_closed()
    }

    /// The next poll answer to write.
    #[must_use]
    pub fn poll_answer(&mut self) -> Option<PollAnswer> {
        self.session.poll_answer()
    }

    /// The next socket event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<CoreEvent> {
        self.core.poll_event()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.session.poll_timeout(), self.core.poll_timeout(), self.linger()]
            .into_iter()
            .flatten()
            .min()
    }

    fn linger(&self) -> Option<Instant> {
        self.linger_until.filter(|_| !self.session.is_closed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glue::inbox::InboxConfig;
    use crate::glue::SocketConfig;
    use crate::rand::SeededEntropy;

    fn pair(now: Instant, e: &mut SeededEntropy) -> (AjaxSocket, String) {
        let (session, body) = AjaxSession::new("uid".into(), "ua", Duration::from_secs(35), 4, e);
        let core =
            SocketCore::new("id".into(), SocketConfig::default(), InboxConfig::default(), now);
        let token = String::from_utf8(body.to_vec()).unwrap().split_once('&').unwrap().1.to_owned();
        (AjaxSocket::new(session, core), token)
    }

    #[test]
    fn init_push_poll_and_close_after_delivery() {
        let mut e = SeededEntropy::new(7);
        let t0 = Instant::now();
        let (mut s, token) = pair(t0, &mut e);
        s.handle_push(t0, "ua", br#"in{"version":"1.9.1"}"#, &mut e).unwrap();
        assert_eq!(s.poll_event(), Some(CoreEvent::Initialized));
        assert_eq!(
            s.handle_push(t0, "other", b"cd1&mx", &mut e),
            Err(AjaxError::UserAgentMismatch)
        );
        s.core_mut().write(t0, "m", "hello").unwrap();
        s.core_mut().close(t0);
        s.after_command(t0, &mut e);
        assert!(!s.is_finished(), "queued messages are delivered first");
        s.handle_poll(t0, 1, "ua", &token, &mut e).unwrap();
        let a = s.poll_answer().unwrap();
        assert!(a.body.ends_with(br#"&in{"socketID":"id"}"#), "{:?}", a.body);
        let token =
            String::from_utf8(a.body.to_vec()).unwrap().split_once('&').unwrap().0.to_owned();
        s.handle_poll(t0, 2, "ua", &token, &mut e).unwrap();
        let a = s.poll_answer().unwrap();
        assert!(a.body.ends_with(b"&cd1&mhello"));
        assert!(s.is_finished());
    }

    #[test]
    fn closed_socket_lingers_then_ends() {
        let mut e = SeededEntropy::new(7);
        let t0 = Instant::now();
        let (mut s, _) = pair(t0, &mut e);
        s.core_mut().write(t0, "m", "never polled").unwrap();
        s.core_mut().close(t0);
        s.after_command(t0, &mut e);
        assert_eq!(s.poll_timeout(), Some(t0 + CLOSE_LINGER));
        s.handle_timeout(t0 + CLOSE_LINGER, &mut e);
        assert!(s.is_finished());
        assert_eq!(s.poll_timeout(), None);
    }
}
