//! The numbers the format is bound by: its version, the header's length, and the largest
//! and smallest things it holds. Every other module reads them from here.

/// The format version this build writes. It reads this version and every older one.
///
/// Version 2 added sync points (`Entry::SyncPoint`) to
/// datafiles; a version 1 file has none, and is otherwise read the same way.
pub const FORMAT_VERSION: u16 = 2;

/// Length of a file header (`FileHeader`) on disk.
pub const FILE_HEADER_LEN: usize = 20;

/// Longest key the format can hold, in bytes (64 KiB).
pub const MAX_KEY_LEN: usize = 64 * 1024;
/// Longest value the format can hold, in bytes (256 MiB).
pub const MAX_VALUE_LEN: usize = 256 * 1024 * 1024;
/// Longest batch body (the records inside one batch frame), in bytes (4 GiB - 1).
pub const MAX_BATCH_BODY_LEN: u64 = u32::MAX as u64;
/// Shortest possible record: checksum, flags, two one-byte lengths and a one-byte key.
pub const MIN_RECORD_LEN: usize = 8;
