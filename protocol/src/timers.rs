//! The timer table every state machine keeps: deadlines as data, never tasks.

use std::ops::{Index, IndexMut};
use std::time::Instant;

/// `N` optional deadlines, indexed by a machine's timer enum (`Timer::X as usize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers<const N: usize>([Option<Instant>; N]);

impl<const N: usize> Timers<N> {
    /// No deadline set.
    pub const fn new() -> Self {
        Timers([None; N])
    }

    /// Clears every deadline.
    pub fn clear_all(&mut self) {
        self.0 = [None; N];
    }

    /// If timer `i` is due at `now`, clears it and returns true.
    pub fn expired(&mut self, i: usize, now: Instant) -> bool {
        match self.0[i] {
            Some(t) if t <= now => {
                self.0[i] = None;
                true
            }
            _ => false,
        }
    }

    /// The earliest deadline (what `poll_timeout` returns).
    pub fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}

impl<const N: usize> Default for Timers<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Index<usize> for Timers<N> {
    type Output = Option<Instant>;
    fn index(&self, i: usize) -> &Option<Instant> {
        &self.0[i]
    }
}

impl<const N: usize> IndexMut<usize> for Timers<N> {
    fn index_mut(&mut self, i: usize) -> &mut Option<Instant> {
        &mut self.0[i]
    }
}
