//! Gathering a machine's output for vectored writes.

use crate::Machine;
use bytes::{Buf, Bytes};
use std::io::IoSlice;

/// How many chunks one vectored write carries at most.
pub const OUTBOX_SLOTS: usize = 4;

/// A few chunks of a machine's output waiting to be written, so a runtime can write a frame
/// header and its (shared, uncopied) payload with one `writev`, and resume after a partial
/// write. Holds no heap memory of its own.
#[derive(Debug, Default)]
pub struct Outbox {
    slots: [Option<Bytes>; OUTBOX_SLOTS],
    len: usize,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pulls output from `machine` until the outbox is full or the machine has none.
    pub fn fill<M: Machine + ?Sized>(&mut self, machine: &mut M) {
        while self.len < OUTBOX_SLOTS {
            match machine.poll_transmit() {
                Some(b) if b.is_empty() => {}
                Some(b) => {
                    self.slots[self.len] = Some(b);
                    self.len += 1;
                }
                None => break,
            }
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes waiting.
    pub fn len_bytes(&self) -> usize {
        self.slots[..self.len].iter().flatten().map(Bytes::len).sum()
    }

    /// The waiting chunks as I/O slices, in order.
    pub fn io_slices(&self) -> [IoSlice<'_>; OUTBOX_SLOTS] {
        let mut out = [IoSlice::new(&[]); OUTBOX_SLOTS];
        for (slot, chunk) in out.iter_mut().zip(self.slots[..self.len].iter().flatten()) {
            *slot = IoSlice::new(chunk);
        }
        out
    }

    /// Number of chunks waiting (the used prefix of [`io_slices`](Self::io_slices)).
    pub fn chunks(&self) -> usize {
        self.len
    }

    /// Drops the first `n` bytes (they were written).
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 && self.len > 0 {
            let first = self.slots[0].as_mut().expect("slot in use");
            if n < first.len() {
                first.advance(n);
                return;
            }
            n -= first.len();
            self.slots.rotate_left(1);
            self.slots[OUTBOX_SLOTS - 1] = None;
            self.len -= 1;
        }
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.slots = Default::default();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    struct Chunks(Vec<Bytes>);
    impl Machine for Chunks {
        type Event = ();
        fn handle_data(&mut self, _: Instant, _: &[u8]) {}
        fn handle_eof(&mut self, _: Instant) {}
        fn handle_timeout(&mut self, _: Instant) {}
        fn poll_transmit(&mut self) -> Option<Bytes> {
            (!self.0.is_empty()).then(|| self.0.remove(0))
        }
        fn poll_event(&mut self) -> Option<()> {
            None
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
        fn is_terminated(&self) -> bool {
            false
        }
    }

    #[test]
    fn partial_writes_resume_in_order() {
        let chunks: Vec<Bytes> = ["ab", "", "cde", "f", "ghij", "k"]
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect();
        let mut m = Chunks(chunks);
        let mut out = Outbox::new();
        let mut written = Vec::new();
        for step in [1usize, 3, 2, 1, 5, 100] {
            out.fill(&mut m);
            let slices = out.io_slices();
            let mut left = step;
            for s in &slices[..out.chunks()] {
                let n = left.min(s.len());
                written.extend_from_slice(&s[..n]);
                left -= n;
            }
            out.advance(step - left);
        }
        assert_eq!(written, b"abcdefghijk");
        assert!(out.is_empty());
    }
}
