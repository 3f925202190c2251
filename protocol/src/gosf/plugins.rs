//! Plugins (spec §7): the [`Plugin`] trait and three real ones, written once for both
//! runtimes: [`Logging`] (every hook to `tracing`), [`RateLimit`] (a per-client token
//! bucket; excess requests get failure [`E_RATE_LIMIT`]) and [`Permission`] (a closure
//! authorising endpoints per client; refused requests get failure [`E_FORBIDDEN`]).
//!
//! A plugin is registered on the runtime's `App` before startup, activated (in registration
//! order) when the server starts and deactivated (in registration order) on shutdown. It
//! gets the runtime's `App`, so it can register hooks, guards, endpoints and app-wide state;
//! plugins written against [`AppHandle`] work on both runtimes.

use super::app::{Client, Hub, Request};
use super::message::Message;
use crate::engine::sio::SioSession;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The failure text of a request refused by [`RateLimit`].
pub const E_RATE_LIMIT: &str = "E_RATE_LIMIT";
/// The failure text of a request refused by [`Permission`].
pub const E_FORBIDDEN: &str = "E_FORBIDDEN";

/// What a plugin gets: the runtime's `App`, which reaches the shared [`Hub`].
pub trait AppHandle {
    /// The runtime's Socket.IO session handle.
    type Handle: SioSession;
    /// The framework hub (hooks, guards, clients, broadcasts, context).
    fn hub(&self) -> &Arc<Hub<Self::Handle>>;
}

/// A plugin (GOSF's `Plugin` interface, with a name). `A` is the runtime's `App`.
pub trait Plugin<A>: Send + Sync {
    /// The plugin's name (for logs).
    fn name(&self) -> &str;
    /// Called once when the server starts, before it accepts connections.
    fn activate(&self, app: &A);
    /// Called once on shutdown. Hooks cannot be unregistered: plugins turn theirs off.
    fn deactivate(&self, app: &A);
}

/// Logs every hook call with `tracing` (target `gosf`, level INFO).
#[derive(Debug, Default)]
pub struct Logging {
    on: Arc<AtomicBool>,
}

impl Logging {
    /// A logging plugin.
    pub fn new() -> Logging {
        Logging::default()
    }
}

fn resp_text(r: Option<&Message>) -> String {
    r.map_or_else(|| "none".to_owned(), Message::to_json)
}

impl<A: AppHandle> Plugin<A> for Logging {
    fn name(&self) -> &str {
        "logging"
    }

    fn activate(&self, app: &A) {
        self.on.store(true, Ordering::SeqCst);
        let hub = app.hub();
        let on = self.on.clone();
        let conn = move |hook: &'static str| {
            let on = on.clone();
            move |c: &Client<A::Handle>, r: &Request| {
                if on.load(Ordering::Relaxed) {
                    tracing::info!(target: "gosf", "{hook} client={} endpoint={}", c.id(), r.endpoint);
                }
            }
        };
        hub.on_connect(conn("connect"));
        hub.on_disconnect(conn("disconnect"));
        hub.on_before_request(conn("before-request"));
        let on = self.on.clone();
        let resp = move |hook: &'static str| {
            let on = on.clone();
            move |c: &Client<A::Handle>, r: &Request, m: Option<&Message>| {
                if on.load(Ordering::Relaxed) {
                    tracing::info!(target: "gosf", "{hook} client={} endpoint={} response={}",
                        c.id(), r.endpoint, resp_text(m));
                }
            }
        };
        hub.on_after_request(resp("after-request"));
        hub.on_before_response(resp("before-response"));
        hub.on_after_response(resp("after-response"));
        let on = self.on.clone();
        let cb = move |hook: &'static str| {
            let on = on.clone();
            move |c: &Client<A::Handle>, endpoint: &str, room: &str, m: &Message| {
                if on.load(Ordering::Relaxed) {
                    tracing::info!(target: "gosf", "{hook} client={} endpoint={endpoint} room={room:?} message={}",
                        c.id(), m.to_json());
                }
            }
        };
        hub.on_before_client_broadcast(cb("before-client-broadcast"));
        hub.on_after_client_broadcast(cb("after-client-broadcast"));
        let on = self.on.clone();
        let b = move |hook: &'static str| {
            let on = on.clone();
            move |endpoint: &str, room: &str, m: &Message| {
                if on.load(Ordering::Relaxed) {
                    tracing::info!(target: "gosf", "{hook} endpoint={endpoint} room={room:?} message={}",
                        m.to_json());
                }
            }
        };
        hub.on_before_broadcast(b("before-broadcast"));
        hub.on_after_broadcast(b("after-broadcast"));
    }

    fn deactivate(&self, _app: &A) {
        self.on.store(false, Ordering::SeqCst);
    }
}

/// A token bucket: `capacity` tokens, refilled continuously at `capacity` per `interval`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// Takes one token at `now` if there is one (a new bucket is full).
    pub fn take(&mut self, capacity: u32, interval: Duration, now: Instant) -> bool {
        let cap = f64::from(capacity);
        let tokens = match self.last {
            None => cap,
            Some(last) => {
                let elapsed = now.saturating_duration_since(last).as_secs_f64();
                let rate = cap / interval.as_secs_f64().max(f64::MIN_POSITIVE);
                (self.tokens + elapsed * rate).min(cap)
            }
        };
        self.last = Some(now);
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            true
        } else {
            self.tokens = tokens;
            false
        }
    }
}

impl Default for TokenBucket {
    fn default() -> Self {
        TokenBucket { tokens: 0.0, last: None }
    }
}

/// Per-client rate limit (GOSF's roadmap "throttle"): each client may make `capacity`
/// requests per `interval` (a token bucket refilled continuously, kept in the client's
/// session storage); an excess request gets failure [`E_RATE_LIMIT`] without reaching its
/// controller. Time is the runtime's, passed to the guard.
#[derive(Debug)]
pub struct RateLimit {
    capacity: u32,
    interval: Duration,
    on: Arc<AtomicBool>,
}

impl RateLimit {
    /// `capacity` requests per `interval` per client.
    pub fn new(capacity: u32, interval: Duration) -> RateLimit {
        RateLimit { capacity, interval, on: Arc::new(AtomicBool::new(false)) }
    }
}

impl<A: AppHandle> Plugin<A> for RateLimit {
    fn name(&self) -> &str {
        "rate-limit"
    }

    fn activate(&self, app: &A) {
        self.on.store(true, Ordering::SeqCst);
        let (on, capacity, interval) = (self.on.clone(), self.capacity, self.interval);
        app.hub().guard(move |client, _request, now| {
            let allowed = !on.load(Ordering::Relaxed)
                || client.with_session(|b: &mut TokenBucket| b.take(capacity, interval, now));
            (!allowed).then(|| Message::fail().text(E_RATE_LIMIT))
        });
    }

    fn deactivate(&self, _app: &A) {
        self.on.store(false, Ordering::SeqCst);
    }
}

type Authorise<H> = Arc<dyn Fn(&Client<H>, &str) -> bool + Send + Sync>;

/// Authorises endpoints per client: `allow(client, endpoint)` decides; a refused request
/// gets failure [`E_FORBIDDEN`] without reaching its controller.
pub struct Permission<H> {
    allow: Authorise<H>,
    on: Arc<AtomicBool>,
}

impl<H> fmt::Debug for Permission<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permission").finish_non_exhaustive()
    }
}

impl<H: SioSession> Permission<H> {
    /// A permission plugin with the decision `allow`.
    pub fn new(allow: impl Fn(&Client<H>, &str) -> bool + Send + Sync + 'static) -> Permission<H> {
        Permission { allow: Arc::new(allow), on: Arc::new(AtomicBool::new(false)) }
    }
}

impl<A: AppHandle> Plugin<A> for Permission<A::Handle> {
    fn name(&self) -> &str {
        "permission"
    }

    fn activate(&self, app: &A) {
        self.on.store(true, Ordering::SeqCst);
        let (on, allow) = (self.on.clone(), self.allow.clone());
        app.hub().guard(move |client, request, _now| {
            let allowed = !on.load(Ordering::Relaxed) || allow(client, &request.endpoint);
            (!allowed).then(|| Message::fail().text(E_FORBIDDEN))
        });
    }

    fn deactivate(&self, _app: &A) {
        self.on.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;
    use std::time::{Duration, Instant};

    #[test]
    fn token_bucket_allows_capacity_then_refills() {
        let t0 = Instant::now();
        let interval = Duration::from_secs(10);
        let mut b = TokenBucket::default();
        for i in 0..3 {
            assert!(b.take(3, interval, t0), "request {i} within capacity");
        }
        assert!(!b.take(3, interval, t0), "4th refused");
        assert!(!b.take(3, interval, t0 + Duration::from_secs(1)), "1/3 token after 1 s");
        assert!(b.take(3, interval, t0 + Duration::from_millis(3400)), "one token after 3.33 s");
        assert!(!b.take(3, interval, t0 + Duration::from_millis(3400)));
        // A long pause refills to capacity, not beyond.
        let later = t0 + Duration::from_secs(1000);
        for _ in 0..3 {
            assert!(b.take(3, interval, later));
        }
        assert!(!b.take(3, interval, later));
    }
}
