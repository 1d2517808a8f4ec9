//! Failures and exit codes: the layer below every subcommand.

use std::io;

use bitcask_core::Error;

/// `get` or `delete` of a key that is not there.
pub const EXIT_NOT_FOUND: u8 = 1;
/// Bad arguments or input.
pub const EXIT_USAGE: u8 = 2;
/// Damaged data, found by `check` or met by any command.
pub const EXIT_CORRUPTION: u8 = 3;
/// Another writer holds the store.
pub const EXIT_LOCKED: u8 = 4;
/// Anything else.
pub const EXIT_OTHER: u8 = 5;
/// A read of a store that does not exist (reads never create one).
pub const EXIT_NO_STORE: u8 = 6;

/// A failure: the message to print (with context) and the exit code.
pub struct Failure {
    pub code: u8,
    pub msg: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = match e {
            Error::Corruption { .. } | Error::UnsupportedVersion { .. } => EXIT_CORRUPTION,
            Error::Locked { .. } => EXIT_LOCKED,
            Error::NotFound { .. } => EXIT_NO_STORE,
            // What the user asked for cannot be done as asked: a usage error.
            Error::EmptyKey
            | Error::KeyTooLarge { .. }
            | Error::ValueTooLarge { .. }
            | Error::BatchTooLarge { .. }
            | Error::ReadOnly
            | Error::InvalidOptions(_)
            | Error::Layout { .. }
            | Error::AlreadyExists { .. } => EXIT_USAGE,
            _ => EXIT_OTHER,
        };
        Failure { code, msg: e.to_string() }
    }
}

impl From<bitcask_cluster::ClusterError> for Failure {
    fn from(e: bitcask_cluster::ClusterError) -> Failure {
        match e {
            bitcask_cluster::ClusterError::Store(e) => Failure::from(e),
            bitcask_cluster::ClusterError::Read { .. } => {
                Failure { code: EXIT_OTHER, msg: e.to_string() }
            }
            // The move cannot be done as asked.
            _ => Failure { code: EXIT_USAGE, msg: format!("cluster: {e}") },
        }
    }
}

/// The code of a failure that is not one: the reader of the output went away (`head`,
/// a closed pipe). The command ends quietly with success.
pub const CLOSED_OUTPUT: u8 = 0;

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        let code = if e.kind() == io::ErrorKind::BrokenPipe { CLOSED_OUTPUT } else { EXIT_OTHER };
        Failure { code, msg: e.to_string() }
    }
}

/// A usage error (exit code 2).
pub fn usage(msg: impl Into<String>) -> Failure {
    Failure { code: EXIT_USAGE, msg: msg.into() }
}

/// Prefixes an engine error with what the command was doing.
pub fn context(what: String) -> impl FnOnce(Error) -> Failure {
    move |e| {
        let mut f = Failure::from(e);
        f.msg = format!("{what}: {}", f.msg);
        f
    }
}

/// A command's exit code, or its failure.
pub type CmdResult = Result<u8, Failure>;

/// `eprintln!` that ignores a closed or broken stderr instead of panicking.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::failure::note(format_args!($($arg)*))
    };
}

/// Prints a message to stderr; a closed or broken stderr is ignored (never a panic).
pub fn note(msg: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(io::stderr(), "{msg}");
}
