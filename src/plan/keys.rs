//! Hash maps for the planner's own bookkeeping: which network holds an
//! address, which endpoint took a port.
//!
//! Their keys are a few machine words (addresses, ports, indexes) or short
//! names, all taken from the spec and host snapshot the caller hands in, so
//! SipHash's defence against chosen collisions buys nothing here while it
//! costs more than the rest of a lookup. This hasher folds the key a word at
//! a time and mixes the result fully at the end (the MurmurHash3 finalizer),
//! so keys that differ only in their high bits, like neighbouring addresses
//! read little-endian, still land in different buckets.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by small plan data; see the module docs for why not SipHash.
pub(crate) type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;
/// A set of small plan data; see the module docs for why not SipHash.
pub(crate) type KeySet<K> = HashSet<K, BuildHasherDefault<KeyHasher>>;

/// Word-at-a-time hasher with a full final mix.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl KeyHasher {
    /// An odd constant with well-spread bits (from FxHash), so multiplying by
    /// it is a bijection that carries low bits upwards.
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Zero padding is unambiguous: `Hash` for slices and strings
            // already adds a length or a terminator.
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        // usize is at most 64 bits on every target Rust supports.
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // MurmurHash3's fmix64: every input bit affects every output bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        h
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    /// Neighbouring addresses differ only in the high bytes of their
    /// little-endian words; they must still spread over the low bits that
    /// pick a bucket.
    #[test]
    fn neighbouring_addresses_spread_over_buckets() {
        let build = BuildHasherDefault::<KeyHasher>::default();
        let mut buckets = HashSet::new();
        for i in 0..1024u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + i));
            buckets.insert(build.hash_one((ip, 0u32)) & 1023);
        }
        // 1,024 random draws into 1,024 buckets fill about 63% of them.
        assert!(buckets.len() > 550, "only {} buckets used", buckets.len());
    }
}
