//! The dispatcher: runs the subcommand the flags name and turns its result into the exit
//! code (a closed stdout is success).

use std::process::ExitCode;

use crate::failure::{usage, CmdResult, CLOSED_OUTPUT};
use crate::flags::{Cli, Command};
use crate::{bench, cmd_cluster, cmd_kv, cmd_maint, cmd_transfer, demo, inspect};

/// Runs the command and prints its failure, if any, to stderr.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) if f.code == CLOSED_OUTPUT => ExitCode::SUCCESS,
        Err(f) => {
            note!("bitcask: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

fn dispatch(cli: &Cli) -> CmdResult {
    let g = &cli.settings().map_err(usage)?;
    match &cli.command {
        Command::Put { key, value, ttl, .. } => cmd_kv::put(g, key, value.as_deref(), *ttl),
        Command::Get { key, .. } => cmd_kv::get(g, key),
        Command::Ttl { key, .. } => cmd_kv::ttl(g, key),
        Command::Delete { key, .. } => cmd_kv::delete(g, key),
        Command::Keys { prefix, limit, .. } => cmd_kv::keys(g, prefix.as_deref(), *limit),
        Command::Scan { prefix, limit, json, .. } => {
            cmd_kv::scan(g, prefix.as_deref(), *limit, *json)
        }
        Command::Stats { json, .. } => cmd_maint::stats(g, *json),
        Command::Merge { .. } => cmd_maint::merge(g),
        Command::Check { .. } => cmd_maint::check(g),
        Command::Repair { yes, backup, .. } => cmd_maint::repair(g, *yes, backup.clone()),
        Command::Export { file, .. } => cmd_transfer::export(g, file.as_deref()),
        Command::Backup { dest, .. } => cmd_transfer::backup(g, dest),
        Command::Import { file, .. } => cmd_transfer::import(g, file.as_deref()),
        Command::Inspect { file, limit, .. } => inspect::inspect(g, file, *limit),
        Command::Bench(args) => bench::run(g, args),
        Command::Demo => demo::run(),
        Command::DemoWriter { dir } => demo::writer(dir),
        Command::Cluster(c) => cmd_cluster::run(c),
    }
}
