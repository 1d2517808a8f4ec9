//! Atomic write batches.

/// One operation of a [`WriteBatch`]: where its key and value lie in the batch's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchOp {
    key: (usize, usize),
    /// `None` for a delete.
    value: Option<(usize, usize)>,
    /// 0 for none; else ms relative to the write, or since the Unix epoch when `absolute`.
    pub expiry: u64,
    pub absolute: bool,
}

/// An operation as the write path reads it.
pub(crate) struct OpRef<'a> {
    pub key: &'a [u8],
    pub value: Option<&'a [u8]>,
    pub expiry: u64,
    pub absolute: bool,
}

/// A group of puts and deletes applied all or none by [`Bitcask::write`](crate::Bitcask::write),
/// also across a crash: the batch is written as one checksummed frame, and readers never see
/// part of it.
///
/// Operations apply in order; a later operation on the same key wins.
///
/// Keys and values are copied into one buffer the batch owns (no allocation per operation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
    bytes: Vec<u8>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Adds a put.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.push(key, Some(value), 0, false)
    }

    /// Adds a put that expires `ttl` after the batch is written.
    pub fn put_with_ttl(
        &mut self,
        key: &[u8],
        value: &[u8],
        ttl: std::time::Duration,
    ) -> &mut Self {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        // Stored relative until write() turns it into an absolute time.
        self.push(key, Some(value), ms, false)
    }

    /// Adds a put that expires at the moment `at` (to the millisecond; a moment already past
    /// makes the put a delete of the key). Restoring an export uses it, so expiry times come
    /// back exactly.
    pub fn put_expiring_at(
        &mut self,
        key: &[u8],
        value: &[u8],
        at: std::time::SystemTime,
    ) -> &mut Self {
        self.push(key, Some(value), crate::util::epoch_ms(at), true)
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.push(key, None, 0, false)
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Removes every operation.
    pub fn clear(&mut self) {
        self.ops.clear();
        self.bytes.clear();
    }

    fn push(&mut self, key: &[u8], value: Option<&[u8]>, expiry: u64, absolute: bool) -> &mut Self {
        let mut put = |b: &[u8]| {
            self.bytes.extend_from_slice(b);
            (self.bytes.len() - b.len(), b.len())
        };
        let key = put(key);
        let value = value.map(put);
        self.ops.push(BatchOp { key, value, expiry, absolute });
        self
    }

    /// The operations, in order.
    pub(crate) fn ops(&self) -> impl Iterator<Item = OpRef<'_>> {
        let at = |(start, len): (usize, usize)| &self.bytes[start..start + len];
        self.ops.iter().map(move |op| OpRef {
            key: at(op.key),
            value: op.value.map(at),
            expiry: op.expiry,
            absolute: op.absolute,
        })
    }
}
