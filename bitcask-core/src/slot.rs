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

#[cfg(test)]
mod tests {
    use super::*;

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
