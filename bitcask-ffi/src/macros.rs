//! The argument-checking macros every export uses.

/// Returns `BC_NULL_POINTER` (with a message naming it) from the calling function if any
/// of the pointers is NULL.
macro_rules! check_null {
    ($($p:ident),+) => {
        $(if $p.is_null() { return $crate::status::null(stringify!($p)); })+
    };
}

/// The `Ok` value, or returns the status from the calling function.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(s) => return s,
        }
    };
}
