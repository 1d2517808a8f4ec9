//! The `bitcask-server` binary: parses the flags and runs the server. Exit codes: 0 after a
//! clean shutdown, 1 when the store cannot be opened or closed or the port cannot be
//! bound, 2 for bad flags (including a public bind without --requirepass).

use clap::Parser;

fn main() {
    let cfg = bitcask_server::Config::parse();
    if let Err(e) = bitcask_server::run(cfg) {
        eprintln!("bitcask-server: {e}");
        std::process::exit(e.exit_code());
    }
}
