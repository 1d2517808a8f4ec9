//! The command table: subcommands dispatched from it (unknown ones and wrong argument counts
//! answered in Redis's words, HELP made from it), COMMAND INFO listing them, COMMAND
//! GETKEYS resolving them, and one execution path for a command alone or inside EXEC (a
//! failing command's partial reply replaced by its error, the others going on).

mod common;

use common::{Reply, Server};

#[test]
fn subcommands_are_dispatched_with_redis_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for (cmd, want) in [
        (&["CLIENT", "SETNAME"][..], "ERR wrong number of arguments for 'client|setname' command"),
        (&["CLIENT", "Foo"], "ERR unknown subcommand 'Foo'. Try CLIENT HELP."),
        (&["CONFIG", "GET"], "ERR wrong number of arguments for 'config|get' command"),
        (&["CONFIG", "nope", "x"], "ERR unknown subcommand 'nope'. Try CONFIG HELP."),
        (&["MEMORY", "USAGE"], "ERR wrong number of arguments for 'memory|usage' command"),
        (&["MEMORY", "USAGE", "k", "SAMPLES", "x"], "ERR value is not an integer or out of range"),
        (&["CLUSTER", "foo"], "ERR unknown subcommand 'foo'. Try CLUSTER HELP."),
        (&["CLUSTER", "INFO"], "ERR This instance has cluster support disabled"),
        (&["COMMAND", "GETKEYS", "client", "list"], "ERR The command has no key arguments"),
        (&["CLIENT"], "ERR wrong number of arguments for 'client' command"),
    ] {
        assert_eq!(c.cmd(cmd).error_text(), want, "{cmd:?}");
    }
    assert_eq!(c.cmd(&["CLIENT", "setname", "app"]), Reply::ok());
    assert_eq!(c.cmd(&["client", "GETNAME"]), Reply::bulk("app"));
    assert_eq!(c.cmd(&["COMMAND", "GETKEYS", "MEMORY", "USAGE", "k"]).items(), [Reply::bulk("k")]);
}

#[test]
fn help_lists_every_subcommand_of_the_table() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    for (container, subs) in [
        ("CLIENT", &["ID", "GETNAME", "SETNAME <name>", "LIST", "HELP"][..]),
        ("CONFIG", &["GET <pattern> [<pattern> ...]", "SET", "RESETSTAT", "REWRITE", "HELP"]),
        ("CLUSTER", &["SLOTS", "KEYSLOT <key>", "GETKEYSINSLOT <slot> <count>", "HELP"]),
        ("MEMORY", &["USAGE <key> [SAMPLES <count>]", "HELP"]),
        ("COMMAND", &["COUNT", "INFO [<command-name> ...]", "GETKEYS <command> [<arg> ...]"]),
    ] {
        let lines: Vec<String> =
            c.cmd(&[container, "help"]).items().iter().map(Reply::text).collect();
        let head = format!("{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        assert_eq!(lines.first(), Some(&head));
        for sub in subs {
            let at = lines
                .iter()
                .position(|l| l.starts_with(sub))
                .unwrap_or_else(|| panic!("{container} HELP lacks {sub}: {lines:?}"));
            assert!(lines.get(at + 1).is_some_and(|d| d.starts_with("    ")), "{sub} is described");
        }
    }
}

#[test]
fn command_info_lists_subcommands_and_counts_agree() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let info = c.cmd(&["COMMAND", "INFO", "config", "get", "nosuch"]).items();
    let config = info[0].items();
    assert_eq!(config[0], Reply::bulk("config"));
    let subs: Vec<String> = config[9].items().iter().map(|s| s.items()[0].text()).collect();
    assert_eq!(subs, ["config|get", "config|set", "config|resetstat", "config|rewrite"]);
    assert_eq!(config[9].items()[0].items()[1], Reply::Int(-3), "config|get's arity");
    assert_eq!(info[1].items()[0], Reply::bulk("get"));
    assert_eq!(info[2], Reply::NilArray);
    let count = match c.cmd(&["COMMAND", "COUNT"]) {
        Reply::Int(n) => n as usize,
        r => panic!("{r:?}"),
    };
    // COMMAND LIST names subcommands too (`config|get`), as Redis 7; COUNT does not.
    let listed = c.cmd(&["COMMAND", "LIST"]).items();
    assert_eq!(listed.iter().filter(|n| !n.text().contains('|')).count(), count);
    assert!(listed.contains(&Reply::bulk("config|get")));
    assert_eq!(c.cmd(&["COMMAND"]).items().len(), count);
    assert!(count >= 71, "{count} commands");
}

#[test]
fn a_failing_command_replies_its_error_alone_and_exec_goes_on() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "s", "abc"]), Reply::ok());
    // Alone: the error is the whole reply, and nothing was written.
    assert_eq!(c.cmd(&["INCR", "s"]).error_text(), "ERR value is not an integer or out of range");
    assert_eq!(c.cmd(&["GET", "s"]), Reply::bulk("abc"));
    // Inside EXEC: that command's reply is its error; the others run and commit.
    assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
    for cmd in
        [&["INCR", "s"][..], &["SET", "b", "2"], &["GETEX", "b", "EX", "nope"], &["GET", "b"]]
    {
        assert_eq!(c.cmd(cmd), Reply::Simple("QUEUED".into()));
    }
    let replies = c.cmd(&["EXEC"]).items();
    assert_eq!(replies.len(), 4);
    assert_eq!(replies[0].error_text(), "ERR value is not an integer or out of range");
    assert_eq!(replies[1], Reply::ok());
    assert_eq!(replies[2].error_text(), "ERR value is not an integer or out of range");
    assert_eq!(replies[3], Reply::bulk("2"));
    assert_eq!(c.cmd(&["GET", "b"]), Reply::bulk("2"));
}
