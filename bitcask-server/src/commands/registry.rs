//! The one table of commands, gathered from the families (each declares its commands
//! beside its handlers). Adding a family is its file and one entry here.

use super::spec::Table;
use super::{
    bits, blocking, client, cluster, command, connection, databases, dump, functions, hashes, keys,
    latency, lcs, lists, memory, pubsub, scripting, server, sets, sort, strings, transaction,
    zranges, zsetops, zsets,
};

/// Every command.
pub static TABLE: Table = Table::new(&[
    connection::COMMANDS,
    client::COMMANDS,
    databases::COMMANDS,
    strings::COMMANDS,
    bits::COMMANDS,
    lcs::COMMANDS,
    keys::COMMANDS,
    hashes::COMMANDS,
    sets::COMMANDS,
    lists::COMMANDS,
    zsets::COMMANDS,
    zranges::COMMANDS,
    zsetops::COMMANDS,
    blocking::COMMANDS,
    sort::COMMANDS,
    memory::COMMANDS,
    dump::COMMANDS,
    transaction::COMMANDS,
    pubsub::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
    server::COMMANDS,
    latency::COMMANDS,
    command::COMMANDS,
    cluster::COMMANDS,
]);
