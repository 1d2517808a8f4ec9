//! C ABI of the bitcask storage engine.
//!
//! Every exported function runs inside a panic boundary (a panic becomes `BC_PANIC`), checks
//! every pointer (`BC_NULL_POINTER`), writes out-parameters only on success, and records a
//! message for [`bc_last_error`] on failure. The header `include/bitcask.h` is generated from
//! these modules by cbindgen; the C contract is in the repository README ("C API").
//!
//! One module per C object: [`bc_db`] (`db`), [`bc_batch`] (`batch`), [`bc_iter`] (`iter`),
//! [`bc_options`] (`options`), `bc_check` (`tools`); `status` holds the status codes, the last error and the panic
//! boundary, `memory` the buffers that cross the boundary, `macros` the argument checks.
//! This file only re-exports.
#![allow(non_camel_case_types)]
#![deny(missing_docs)]

// Declared in the order cbindgen writes the header in.
#[macro_use]
mod macros;
mod batch;
mod db;
mod iter;
mod memory;
mod options;
mod status;
mod tools;

pub use batch::*;
pub use db::*;
pub use iter::*;
pub use options::*;
pub use status::*;
pub use tools::*;
