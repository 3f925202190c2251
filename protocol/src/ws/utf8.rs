//! Incremental UTF-8 validation for text messages that arrive in pieces.

/// Tracks how much of a growing buffer is known to be valid UTF-8.
///
/// Fails as soon as a byte sequence can no longer become valid, even mid-message, so a bad
/// fragmented text message is refused without waiting for its end.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Utf8Validator {
    valid_up_to: usize,
}

impl Utf8Validator {
    /// Validates the bytes of `buf` not yet checked. `Err(())` when invalid.
    pub(crate) fn feed(&mut self, buf: &[u8]) -> Result<(), ()> {
        match simdutf8::compat::from_utf8(&buf[self.valid_up_to..]) {
            Ok(_) => {
                self.valid_up_to = buf.len();
                Ok(())
            }
            Err(e) if e.error_len().is_none() => {
                // An incomplete sequence at the end may still be completed by later bytes.
                self.valid_up_to += e.valid_up_to();
                Ok(())
            }
            Err(_) => Err(()),
        }
    }

    /// Whether the whole buffer of length `len` has been validated (no dangling sequence).
    pub(crate) fn is_complete(&self, len: usize) -> bool {
        self.valid_up_to == len
    }

    /// Forgets everything (a new message starts).
    pub(crate) fn reset(&mut self) {
        self.valid_up_to = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sequences_validate_and_bad_bytes_fail_fast() {
        let text = "κόσμε € 𝄞";
        let bytes = text.as_bytes();
        for split in 0..=bytes.len() {
            let mut v = Utf8Validator::default();
            let mut buf = Vec::new();
            buf.extend_from_slice(&bytes[..split]);
            assert!(v.feed(&buf).is_ok());
            buf.extend_from_slice(&bytes[split..]);
            assert!(v.feed(&buf).is_ok());
            assert!(v.is_complete(buf.len()));
        }
        let mut v = Utf8Validator::default();
        assert!(v.feed(&[0xce, 0xba, 0xe1]).is_ok());
        assert!(!v.is_complete(3));
        assert!(v.feed(&[0xce, 0xba, 0xe1, 0x28]).is_err());
        let mut v = Utf8Validator::default();
        assert!(v.feed(&[0xff]).is_err());
    }
}
