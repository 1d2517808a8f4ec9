//! `bitcask`: the command-line interface of the bitcask storage engine. A thin shell over
//! `bitcask-core`: it parses, calls and prints.
//!
//! Exit codes: 0 success; 1 key not found (`get`, `delete`, `ttl`); 2 usage error (bad
//! arguments, an empty or oversized key or value, a write to a read-only open); 3 corruption
//! (found by `check`, or met by any command); 4 the store is locked by another writer;
//! 5 any other error; 6 no store at that path (reads never create one). A closed stdout
//! (`bitcask keys | head`) ends the command quietly with 0; a closed stderr is ignored.

#[macro_use]
mod failure;
mod bench;
mod cmd_cluster;
mod cmd_kv;
mod cmd_maint;
mod cmd_transfer;
mod codec;
mod commands;
mod demo;
mod flags;
mod inspect;
mod jsonl;
mod out;
mod store;
mod zipf;

use std::process::ExitCode;

use clap::Parser;

use flags::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    commands::run(cli)
}
