//! Caller-supplied randomness.
//!
//! The protocol core never draws randomness on its own: masks, keys and identifiers come from
//! an [`Entropy`] the runtime provides (a CSPRNG there), or a seeded one in tests.

/// A source of random bytes.
pub trait Entropy: Send {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);

    /// Four random bytes (a WebSocket masking key).
    fn mask(&mut self) -> [u8; 4] {
        let mut m = [0u8; 4];
        self.fill(&mut m);
        m
    }
}

/// A deterministic xorshift generator for tests and fuzzing. **Not** cryptographically secure:
/// never use it where the peer must not predict the output.
#[derive(Debug, Clone)]
pub struct SeededEntropy(u64);

impl SeededEntropy {
    /// A generator seeded with `seed` (0 is replaced by a fixed non-zero constant).
    pub fn new(seed: u64) -> Self {
        SeededEntropy(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Randomness from the operating system's CSPRNG (`getrandom`), fetched 64 bytes at a time.
/// For runtimes to hand to the core (feature `os-entropy`).
#[cfg(feature = "os-entropy")]
#[derive(Debug)]
pub struct OsEntropy {
    buf: [u8; 64],
    pos: usize,
}

#[cfg(feature = "os-entropy")]
impl OsEntropy {
    /// A new source (nothing is fetched until first use).
    pub fn new() -> Self {
        OsEntropy { buf: [0; 64], pos: 64 }
    }
}

#[cfg(feature = "os-entropy")]
impl Default for OsEntropy {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "os-entropy")]
impl Entropy for OsEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        for b in dest.iter_mut() {
            if self.pos >= self.buf.len() {
                getrandom::fill(&mut self.buf).expect("the OS random source failed");
                self.pos = 0;
            }
            *b = self.buf[self.pos];
            self.pos += 1;
        }
    }
}
