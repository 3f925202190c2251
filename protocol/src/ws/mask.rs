//! Payload masking (RFC 6455 §5.3), word-at-a-time and without `unsafe`.

/// XORs `buf` with the 4-byte `mask`, starting at `offset` bytes into the mask's cycle.
///
/// Masking and unmasking are the same operation; `offset` lets a payload be processed in
/// pieces (pass the number of payload bytes already processed).
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut m = mask;
    m.rotate_left(offset % 4);
    let wide = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut chunks = buf.chunks_exact_mut(32);
    for chunk in &mut chunks {
        for lane in chunk.chunks_exact_mut(8) {
            let v = u64::from_ne_bytes(lane.try_into().expect("8-byte lane")) ^ wide;
            lane.copy_from_slice(&v.to_ne_bytes());
        }
    }
    let rest = chunks.into_remainder();
    let mut lanes = rest.chunks_exact_mut(8);
    for lane in &mut lanes {
        let v = u64::from_ne_bytes(lane.try_into().expect("8-byte lane")) ^ wide;
        lane.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in lanes.into_remainder().iter_mut().enumerate() {
        *b ^= m[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], mask: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= mask[(i + offset) % 4];
        }
    }

    #[test]
    fn matches_bytewise_for_all_lengths_and_offsets() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..100 {
            for offset in 0..4 {
                let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut a = data.clone();
                let mut b = data.clone();
                apply_mask(&mut a, mask, offset);
                naive(&mut b, mask, offset);
                assert_eq!(a, b, "len {len} offset {offset}");
            }
        }
    }
}
