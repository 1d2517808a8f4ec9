//! Atomic write batches.

/// One operation of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BatchOp {
    /// `expiry`: 0 for none; else ms relative to the write, or since the Unix epoch when
    /// `absolute`.
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        expiry: u64,
        absolute: bool,
    },
    Delete {
        key: Vec<u8>,
    },
}

impl BatchOp {
    pub(crate) fn key(&self) -> &[u8] {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key } => key,
        }
    }
}

/// A group of puts and deletes applied all or none by [`Bitcask::write`](crate::Bitcask::write),
/// also across a crash: the batch is written as one checksummed frame, and readers never see
/// part of it.
///
/// Operations apply in order; a later operation on the same key wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub(crate) ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Adds a put.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.ops.push(BatchOp::Put {
            key: key.to_vec(),
            value: value.to_vec(),
            expiry: 0,
            absolute: false,
        });
        self
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
        self.ops.push(BatchOp::Put {
            key: key.to_vec(),
            value: value.to_vec(),
            expiry: ms,
            absolute: false,
        });
        self
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
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1));
        self.ops.push(BatchOp::Put {
            key: key.to_vec(),
            value: value.to_vec(),
            expiry: ms,
            absolute: true,
        });
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.ops.push(BatchOp::Delete { key: key.to_vec() });
        self
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
    }
}
