//! The Redis Cluster key slot: CRC16-XMODEM of the key (or of its `{hash tag}`) modulo
//! 16384. Keys that share a hash tag share a slot, so they land in one shard.

/// The number of key slots.
pub const SLOTS: u16 = 16384;

/// The CRC of each byte value, for a byte at a time.
const TABLE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            bit += 1;
        }
        t[i] = crc;
        i += 1;
    }
    t
};

/// CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection), as Redis Cluster uses.
pub fn crc16_xmodem(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ TABLE.get(usize::from((crc >> 8) as u8 ^ b)).copied().unwrap_or(0)
    })
}

/// The part of `key` that is hashed: the bytes between the first `{` and the first `}`
/// after it, when there are some; otherwise the whole key (`{}` hashes the whole key).
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        let rest = key.get(open + 1..).unwrap_or_default();
        if let Some(close) = rest.iter().position(|&b| b == b'}') {
            if close > 0 {
                return rest.get(..close).unwrap_or(key);
            }
        }
    }
    key
}

/// The Redis Cluster slot of `key`, in `0..16384`.
///
/// ```
/// use bitcask_core::sharded::key_slot;
/// assert_eq!(key_slot(b"foo"), 12182);                      // as `CLUSTER KEYSLOT foo`
/// assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"{user1000}.followers"));
/// ```
pub fn key_slot(key: &[u8]) -> u16 {
    crc16_xmodem(hash_tag(key)) % SLOTS
}

/// The shard of a store of `shards` shards that holds `slot`: shards hold equal runs of
/// consecutive slots (`shards` is a power of two up to 1024, so each holds
/// `16384 / shards`).
pub fn shard_of_slot(shards: u32, slot: u16) -> usize {
    usize::from(slot % SLOTS) * shards.max(1) as usize / usize::from(SLOTS)
}

/// The slots of shard `i` of a store of `shards` shards.
///
/// ```
/// use bitcask_core::sharded::{shard_of_slot, slots_of_shard};
/// assert_eq!(slots_of_shard(16, 5), 5120..6144);
/// assert_eq!(shard_of_slot(16, 6143), 5);
/// ```
pub fn slots_of_shard(shards: u32, i: usize) -> std::ops::Range<u16> {
    let per = usize::from(SLOTS) / shards.max(1) as usize;
    (i * per) as u16..((i + 1) * per).min(usize::from(SLOTS)) as u16
}

/// The shards of a store of `shards` shards that hold exactly the slots `first..=last`, or
/// `None` when the range does not start and end at shard boundaries.
pub fn shards_of_slots(shards: u32, (first, last): (u16, u16)) -> Option<std::ops::Range<usize>> {
    let (a, b) = (shard_of_slot(shards, first), shard_of_slot(shards, last));
    let whole = first <= last
        && last < SLOTS
        && slots_of_shard(shards, a).start == first
        && slots_of_shard(shards, b).end == last + 1;
    whole.then_some(a..b + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_hold_equal_runs_of_slots() {
        for n in [1u32, 2, 16, 1024] {
            let mut next = 0u32;
            for i in 0..n as usize {
                let r = slots_of_shard(n, i);
                assert_eq!(u32::from(r.start), next);
                assert!(r.clone().all(|s| shard_of_slot(n, s) == i));
                next = u32::from(r.end);
            }
            assert_eq!(next, u32::from(SLOTS));
        }
        assert_eq!(shards_of_slots(16, (0, 1023)), Some(0..1));
        assert_eq!(shards_of_slots(16, (5120, 10239)), Some(5..10));
        assert_eq!(shards_of_slots(16, (0, 5460)), None);
        assert_eq!(shards_of_slots(16, (1, 1023)), None);
        assert_eq!(shards_of_slots(1, (0, 16383)), Some(0..1));
        assert_eq!(shards_of_slots(16, (9, 2)), None);
    }

    #[test]
    fn crc16_matches_the_reference_check_value() {
        // The CRC-16/XMODEM check value of "123456789".
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
    }

    #[test]
    fn slots_match_redis_cluster() {
        // Values from `CLUSTER KEYSLOT` on Redis 7.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"hello"), 866);
        assert_eq!(key_slot(b"somekey"), 11058);
    }

    #[test]
    fn hash_tags_follow_the_cluster_rules() {
        assert_eq!(hash_tag(b"{user}.a"), b"user");
        assert_eq!(hash_tag(b"a{user}b{x}"), b"user");
        assert_eq!(hash_tag(b"{}user"), b"{}user");
        assert_eq!(hash_tag(b"{user"), b"{user");
        assert_eq!(hash_tag(b"}{user}"), b"user");
        assert_eq!(hash_tag(b"{{a}}"), b"{a");
        assert_eq!(key_slot(b"{}"), crc16_xmodem(b"{}") % SLOTS);
    }
}
