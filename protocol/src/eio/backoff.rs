//! Reconnection delays with exponential growth and jitter, as socket.io-client 2.x computes
//! them (spec §0, §3.8): 1 s doubling up to 5 s, randomised by ±50 %.
//!
//! For attempt `n` (counting from 0): `ms = min × factorⁿ`; with jitter, one random number
//! `r` in `[0, 1)` gives `deviation = floor(r × jitter × ms)`, and `ms` becomes
//! `ms − deviation` when `floor(r × 10)` is even, else `ms + deviation`; the result is capped
//! at `max`. Randomness comes from the caller's [`Entropy`].

use crate::Entropy;
use std::time::Duration;

/// Exponential backoff state (socket.io-client's `reconnectionDelay`,
/// `reconnectionDelayMax`, `randomizationFactor`).
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The first delay before jitter. Default 1000 ms.
    pub min: Duration,
    /// The largest delay returned. Default 5000 ms.
    pub max: Duration,
    /// Growth per attempt. Default 2.
    pub factor: u32,
    /// Randomisation factor, clamped to `[0, 1]`; 0 disables jitter. Default 0.5.
    pub jitter: f64,
    attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(1000), Duration::from_millis(5000), 2, 0.5)
    }
}

impl Backoff {
    /// A backoff with these parameters and no attempt made yet.
    pub fn new(min: Duration, max: Duration, factor: u32, jitter: f64) -> Self {
        Backoff { min, max, factor, jitter, attempts: 0 }
    }

    /// The delay before the next attempt; counts the attempt.
    pub fn duration(&mut self, entropy: &mut dyn Entropy) -> Duration {
        let min = self.min.as_millis() as f64;
        let max = self.max.as_millis() as f64;
        let mut ms = min * f64::from(self.factor).powi(self.attempts.min(i32::MAX as u32) as i32);
        self.attempts = self.attempts.saturating_add(1);
        let jitter = if self.jitter.is_nan() { 0.0 } else { self.jitter.clamp(0.0, 1.0) };
        if jitter > 0.0 {
            let r = unit(entropy);
            let deviation = (r * jitter * ms).floor();
            // `ms` may be infinite after many attempts; the cap below takes care of it.
            ms = if ((r * 10.0).floor() as u64) & 1 == 0 { ms - deviation } else { ms + deviation };
        }
        let ms = if ms.is_nan() { max } else { ms.min(max).max(0.0) };
        Duration::from_millis(ms as u64)
    }

    /// Starts over from `min` (after a successful connection).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// Attempts counted since the start or the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// A uniform number in `[0, 1)` from 53 random bits.
fn unit(entropy: &mut dyn Entropy) -> f64 {
    let mut b = [0u8; 8];
    entropy.fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SeededEntropy;

    /// Entropy that always yields the same 53-bit fraction.
    struct Fixed(f64);
    impl Entropy for Fixed {
        fn fill(&mut self, dest: &mut [u8]) {
            let v = ((self.0 * (1u64 << 53) as f64) as u64) << 11;
            dest.copy_from_slice(&v.to_le_bytes()[..dest.len()]);
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn without_jitter_doubles_up_to_max() {
        let mut b = Backoff::new(ms(1000), ms(5000), 2, 0.0);
        let mut e = SeededEntropy::new(1);
        let got: Vec<_> = (0..6).map(|_| b.duration(&mut e)).collect();
        assert_eq!(got, [ms(1000), ms(2000), ms(4000), ms(5000), ms(5000), ms(5000)]);
        assert_eq!(b.attempts(), 6);
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.duration(&mut e), ms(1000));
    }

    #[test]
    fn jitter_direction_follows_the_tenths_digit() {
        // r = 0.25: floor(2.5) = 2 even -> minus floor(0.25 * 0.5 * 1000) = 125.
        let mut b = Backoff::default();
        assert_eq!(b.duration(&mut Fixed(0.25)), ms(875));
        // r = 0.35: floor(3.5) = 3 odd -> plus floor(0.35 * 0.5 * 2000) = 350.
        assert_eq!(b.duration(&mut Fixed(0.35)), ms(2350));
        // attempt 2: 4000 + floor(0.35 * 0.5 * 4000) = 4700.
        assert_eq!(b.duration(&mut Fixed(0.35)), ms(4700));
        // attempt 3: 8000 - 0 (r = 0) = 8000, capped.
        assert_eq!(b.duration(&mut Fixed(0.0)), ms(5000));
    }

    #[test]
    fn seeded_delays_stay_in_bounds_forever() {
        let mut e = SeededEntropy::new(42);
        let mut b = Backoff::default();
        for attempt in 0..2000u32 {
            let d = b.duration(&mut e);
            let base = 1000f64 * 2f64.powi(attempt.min(64) as i32);
            let lo = (base * 0.5).min(5000.0) as u64;
            assert!(d >= ms(lo.min(5000)) && d <= ms(5000), "attempt {attempt}: {d:?}");
        }
        assert_eq!(b.attempts(), 2000);
        // The first delay is always within 500..=1500 ms.
        for seed in 1..200 {
            let mut b = Backoff::default();
            let d = b.duration(&mut SeededEntropy::new(seed));
            assert!(d >= ms(500) && d <= ms(1500), "{d:?}");
        }
    }

    #[test]
    fn odd_parameters_do_not_panic() {
        let mut e = SeededEntropy::new(7);
        let mut b = Backoff::new(ms(0), ms(0), 0, f64::NAN);
        assert_eq!(b.duration(&mut e), ms(0));
        let mut b = Backoff::new(Duration::MAX, Duration::MAX, u32::MAX, 7.0);
        for _ in 0..10 {
            let _ = b.duration(&mut e);
        }
    }
}
