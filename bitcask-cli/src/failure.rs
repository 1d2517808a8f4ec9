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
            _ => EXIT_OTHER,
        };
        Failure { code, msg: e.to_string() }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure { code: EXIT_OTHER, msg: e.to_string() }
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
