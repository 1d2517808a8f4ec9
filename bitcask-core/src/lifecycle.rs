//! A store's lifecycle: open, poisoned (a write, sync or merge failed: writes are refused
//! until reopen, naming the first failure), closing (background threads told to stop) and
//! closed. Every operation asks it first.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::util::lock;

/// The first failure that poisoned the store, and the OS error behind it.
type Cause = (String, Option<Arc<io::Error>>);

/// Where a store is in its life.
pub(crate) struct Lifecycle {
    read_only: bool,
    poisoned: AtomicBool,
    cause: Mutex<Option<Cause>>,
    closed: AtomicBool,
    stopping: Mutex<bool>,
    stop_cv: Condvar,
}

impl Lifecycle {
    /// An open store's.
    pub(crate) fn new(read_only: bool) -> Lifecycle {
        Lifecycle {
            read_only,
            poisoned: AtomicBool::new(false),
            cause: Mutex::new(None),
            closed: AtomicBool::new(false),
            stopping: Mutex::new(false),
            stop_cv: Condvar::new(),
        }
    }

    /// Whether the store was opened read-only.
    pub(crate) fn read_only(&self) -> bool {
        self.read_only
    }

    /// [`Error::Closed`] once closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Whether writes may go on: open, not read-only, not poisoned.
    pub(crate) fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        self.check_not_poisoned()
    }

    /// [`Error::Poisoned`] once a write or sync has failed.
    pub(crate) fn check_not_poisoned(&self) -> Result<()> {
        if self.is_poisoned() {
            let (cause, source) = lock(&self.cause).clone().unwrap_or_default();
            return Err(Error::Poisoned { cause, source });
        }
        Ok(())
    }

    /// Whether a write or sync has failed.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Acquire)
    }

    /// Records a failed write or sync (the first one is the cause named from now on).
    pub(crate) fn poison(&self, e: &Error) {
        let mut cause = lock(&self.cause);
        if cause.is_none() {
            *cause = Some((e.to_string(), e.os_source()));
        }
        self.poisoned.store(true, Release);
    }

    /// Marks the store closed; false if it was already.
    pub(crate) fn begin_close(&self) -> bool {
        !self.closed.swap(true, AcqRel)
    }

    /// Sleeps up to `d`; false once the store is closing.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let stopping = lock(&self.stopping);
        if *stopping {
            return false;
        }
        let (stopping, _) =
            self.stop_cv.wait_timeout(stopping, d).unwrap_or_else(|e| e.into_inner());
        !*stopping
    }

    /// Tells every sleeper the store is closing.
    pub(crate) fn stop(&self) {
        *lock(&self.stopping) = true;
        self.stop_cv.notify_all();
    }
}
