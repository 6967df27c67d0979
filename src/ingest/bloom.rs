//! A Bloom filter with a stable byte form, for the search summaries D1 keeps
//! per block (docs/storage.md): "may this block hold a span with service X /
//! attribute k=v / trace T?" answered without reading the block. Hashing is
//! FNV-1a 64 with double hashing, fixed here so stored filters stay readable
//! across releases (std's hasher makes no such promise).

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Bits per item for a 1 % false-positive rate, and the hash count that gives it.
const BITS_PER_ITEM: usize = 10;
const HASHES: u8 = 7;
/// A filter of 64 KiB holds ≈ 52,000 items at 1 %; beyond, the rate rises.
const MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bloom {
    bits: Vec<u8>,
    hashes: u8,
}

fn fnv1a(parts: &[&[u8]], seed: u64) -> u64 {
    let mut h = FNV_OFFSET ^ seed;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h = (h ^ 0xff).wrapping_mul(FNV_PRIME);
        }
        for b in *part {
            h = (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
        }
    }
    h
}

impl Bloom {
    /// An empty filter sized for `items` at about 1 % false positives.
    pub fn with_capacity(items: usize) -> Self {
        let bytes = (items.max(1) * BITS_PER_ITEM).div_ceil(8).min(MAX_BYTES);
        Self { bits: vec![0; bytes], hashes: HASHES }
    }

    /// Bit positions of an item made of `parts` (joined with a separator no part can fake).
    fn positions(&self, parts: &[&[u8]]) -> impl Iterator<Item = usize> {
        let bits = (self.bits.len() * 8) as u64;
        let (h1, h2) = (fnv1a(parts, 0), fnv1a(parts, 0x9e37_79b9_7f4a_7c15) | 1);
        (0..u64::from(self.hashes)).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % bits.max(1)) as usize)
    }

    pub fn insert(&mut self, parts: &[&[u8]]) {
        for p in self.positions(parts).collect::<Vec<_>>() {
            if let Some(byte) = self.bits.get_mut(p / 8) {
                *byte |= 1 << (p % 8);
            }
        }
    }

    /// False only if the item was never inserted.
    pub fn may_contain(&self, parts: &[&[u8]]) -> bool {
        self.positions(parts).all(|p| self.bits.get(p / 8).is_some_and(|byte| byte & (1 << (p % 8)) != 0))
    }

    /// Stored form: the hash count, then the bit array.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bits.len() + 1);
        out.push(self.hashes);
        out.extend_from_slice(&self.bits);
        out
    }

    /// Reads a stored filter; `None` when the bytes cannot be one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&hashes, bits) = bytes.split_first()?;
        (!bits.is_empty() && bits.len() <= MAX_BYTES && (1..=16).contains(&hashes))
            .then(|| Self { bits: bits.to_vec(), hashes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_items_are_always_found_and_others_rarely() {
        let mut bloom = Bloom::with_capacity(1_000);
        let item = |i: usize| format!("http.route=/items/{i}");
        for i in 0..1_000 {
            bloom.insert(&[b"a", item(i).as_bytes()]);
        }
        assert!((0..1_000).all(|i| bloom.may_contain(&[b"a", item(i).as_bytes()])));
        let false_positives = (1_000..21_000).filter(|&i| bloom.may_contain(&[b"a", item(i).as_bytes()])).count();
        assert!(false_positives < 20_000 / 50, "{false_positives} of 20,000 (expected ≈ 1 %)");
        assert_eq!(bloom.to_bytes().len(), 1 + 1_250);
    }

    #[test]
    fn parts_are_separated_and_the_stored_form_round_trips() {
        let mut bloom = Bloom::with_capacity(10);
        bloom.insert(&[b"ab", b"c"]);
        assert!(!bloom.may_contain(&[b"a", b"bc"]));
        assert!(!bloom.may_contain(&[b"abc"]));
        let stored = bloom.to_bytes();
        assert_eq!(Bloom::from_bytes(&stored), Some(bloom.clone()));
        // Stable across releases: the same item always sets the same bits.
        assert_eq!(stored, [7, 16, 0, 32, 0, 1, 8, 0, 0, 64, 0, 2, 0, 4]);
        for bad in [&[][..], &[7][..], &[0, 1][..], &[17, 1][..]] {
            assert_eq!(Bloom::from_bytes(bad), None);
        }
        assert!(Bloom::with_capacity(10_000_000).to_bytes().len() <= MAX_BYTES + 1);
    }
}
