//! Random identifiers: socket IDs (20), AjaxSocket uids (10) and poll tokens (7), from the
//! 62-character alphabet `0-9A-Za-z`.

use crate::rand::Entropy;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of a socket ID.
pub const SOCKET_ID_LEN: usize = 20;
/// Length of an AjaxSocket uid.
pub const AJAX_UID_LEN: usize = 10;
/// Length of an AjaxSocket poll token.
pub const POLL_TOKEN_LEN: usize = 7;

/// A random string of `len` alphabet characters, without modulo bias (bytes ≥ 248 are
/// redrawn; upstream uses `byte mod 62`).
pub fn random_id(entropy: &mut dyn Entropy, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        entropy.fill(&mut buf);
        for &b in &buf {
            if b < 248 && out.len() < len {
                out.push(ALPHABET[usize::from(b % 62)] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SeededEntropy;

    #[test]
    fn ids_have_the_right_shape() {
        let mut e = SeededEntropy::new(7);
        let a = random_id(&mut e, SOCKET_ID_LEN);
        let b = random_id(&mut e, SOCKET_ID_LEN);
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
