//! Connection and server commands: AUTH and NOAUTH, HELLO and RESP3, SELECT, CLIENT,
//! COMMAND, CONFIG GET, INFO, the exact texts of unknown commands and arity errors.

mod common;

use common::{Reply, Server};

#[test]
fn a_password_gates_every_command_but_auth_and_hello() {
    let s = Server::start(&["--requirepass", "s3cret"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "k"]).error_text(), "NOAUTH Authentication required.");
    assert_eq!(c.cmd(&["SHUTDOWN"]).error_text(), "NOAUTH Authentication required.");
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]).error_text(),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        c.cmd(&["AUTH", "bob", "s3cret"]).error_text(),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::ok());
    let mut d = s.raw();
    let hello = d.cmd(&["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "app"]);
    assert!(matches!(hello, Reply::Map(_)), "{hello:?}");
    assert_eq!(d.cmd(&["GET", "k"]), Reply::bulk("v"));
    assert_eq!(d.cmd(&["CLIENT", "GETNAME"]), Reply::bulk("app"));
    // The redis crate authenticates from the URL.
    use redis::Commands;
    let mut con = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", s.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let v: String = con.get("k").unwrap();
    assert_eq!(v, "v");
}

#[test]
fn auth_without_a_password_configured_says_so() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["AUTH", "x"]).error_text(),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
}

#[test]
fn hello_3_switches_to_resp3_replies() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let Reply::Map(m) = c.cmd(&["HELLO", "3"]) else { panic!("HELLO 3 replies a map") };
    let get = |k: &str| m.iter().find(|(a, _)| a.text() == k).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("proto"), Reply::Int(3));
    assert_eq!(get("version"), Reply::bulk("7.0.0"));
    assert_eq!(c.cmd(&["GET", "nope"]), Reply::Nil);
    assert!(matches!(c.cmd(&["CONFIG", "GET", "maxclients"]), Reply::Map(_)));
    assert!(matches!(c.cmd(&["INFO", "server"]), Reply::Verbatim(_)));
    assert_eq!(c.cmd(&["HELLO", "4"]).error_text(), "NOPROTO unsupported protocol version");
    let Reply::Array(v) = c.cmd(&["HELLO", "2"]) else { panic!("HELLO 2 replies an array") };
    assert_eq!(v.len(), 14);
    c.send(b"*2\r\n$3\r\nGET\r\n$4\r\nnope\r\n");
    assert_eq!(c.read(), Reply::Nil);
}

#[test]
fn select_names_and_client_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["SELECT", "16"]).error_text(), "ERR DB index is out of range");
    assert_eq!(c.cmd(&["SELECT", "-1"]).error_text(), "ERR DB index is out of range");
    assert_eq!(c.cmd(&["SELECT", "x"]).error_text(), "ERR value is not an integer or out of range");
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Reply::Nil);
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "worker-1"]), Reply::ok());
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Reply::bulk("worker-1"));
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME", "a b"]).error_text(),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]), Reply::ok());
    assert!(matches!(c.cmd(&["CLIENT", "ID"]), Reply::Int(n) if n > 0));
    let list = c.cmd(&["CLIENT", "LIST"]).text();
    assert!(list.contains("name=worker-1"), "{list}");
    assert_eq!(
        c.cmd(&["CLIENT", "FOO"]).error_text(),
        "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    );
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME"]).error_text(),
        "ERR wrong number of arguments for 'client|setname' command"
    );
}

#[test]
fn unknown_commands_and_arity_errors_use_redis_texts_and_names_any_case() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["FOOBAR", "a", "b"]).error_text(),
        "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' "
    );
    assert_eq!(c.cmd(&["GET"]).error_text(), "ERR wrong number of arguments for 'get' command");
    assert_eq!(
        c.cmd(&["get", "a", "b"]).error_text(),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(c.cmd(&["sEt", "k", "v"]), Reply::ok());
    assert_eq!(c.cmd(&["GeT", "k"]), Reply::bulk("v"));
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(c.cmd(&["PING", "hi"]), Reply::bulk("hi"));
    assert_eq!(c.cmd(&["ECHO", "x y"]), Reply::bulk("x y"));
    assert_eq!(c.cmd(&["QUIT"]), Reply::ok());
    assert!(c.is_closed());
}

#[test]
fn command_config_and_info_give_what_tools_read() {
    let s = Server::start(&["--maxclients", "77", "--sync", "always"]);
    let mut c = s.raw();
    let Reply::Int(n) = c.cmd(&["COMMAND", "COUNT"]) else { panic!() };
    assert!(n > 60, "{n}");
    let info = c.cmd(&["COMMAND", "INFO", "get", "nosuch"]).items();
    let get = info[0].items();
    assert_eq!(get[0], Reply::bulk("get"));
    assert_eq!(get[1], Reply::Int(2));
    assert_eq!(get[3..6], [Reply::Int(1), Reply::Int(1), Reply::Int(1)]);
    assert_eq!(info[1], Reply::NilArray);
    let docs = c.cmd(&["COMMAND", "DOCS", "set"]).items();
    assert_eq!(docs[0], Reply::bulk("set"));
    let keys = c.cmd(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]).items();
    assert_eq!(keys, [Reply::bulk("a"), Reply::bulk("b")]);
    let cfg = c.cmd(&["CONFIG", "GET", "save", "appendonly", "maxclients"]).items();
    let pairs: Vec<String> = cfg.iter().map(Reply::text).collect();
    // Pairs in any order, as Redis gives them.
    let mut pairs: Vec<(String, String)> =
        pairs.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    pairs.sort();
    let want = [("appendonly", "yes"), ("maxclients", "77"), ("save", "")];
    assert_eq!(pairs, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
    let cfg: Vec<String> =
        c.cmd(&["CONFIG", "GET", "appendf*"]).items().iter().map(Reply::text).collect();
    assert_eq!(cfg, ["appendfsync", "always"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "1", "EX", "100"]);
    let info = c.cmd(&["INFO"]).text();
    for want in [
        "# Server",
        "redis_version:7.0.0",
        "# Clients",
        "connected_clients:1",
        "# Persistence",
        "# Stats",
        "total_commands_processed:",
        "db0:keys=2,expires=1,avg_ttl=0",
        "# Bitcask",
        "shards:1",
    ] {
        assert!(info.contains(want), "{want} in {info}");
    }
    let only = c.cmd(&["INFO", "clients"]).text();
    assert!(only.contains("maxclients:77") && !only.contains("# Server"), "{only}");
    let stats = c.cmd(&["BITCASK.STATS"]);
    assert!(matches!(stats, Reply::Array(ref v) if v.len() == 18), "{stats:?}");
    assert!(matches!(c.cmd(&["TIME"]), Reply::Array(ref v) if v.len() == 2));
    assert!(matches!(c.cmd(&["LASTSAVE"]), Reply::Int(_)));
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok());
    assert_eq!(c.cmd(&["BGSAVE"]), Reply::Simple("Background saving started".into()));
    let merged = c.cmd(&["BITCASK.MERGE"]);
    assert!(matches!(merged, Reply::Array(ref v) if v.len() == 6), "{merged:?}");
    assert_eq!(
        c.cmd(&["BGREWRITEAOF"]),
        Reply::Simple("Background append only file rewriting started".into())
    );
    assert_eq!(c.cmd(&["GET", "a"]), Reply::bulk("1"));
}
