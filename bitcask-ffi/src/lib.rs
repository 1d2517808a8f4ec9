//! C ABI for bitcask (filled by the FFI issue).
