//! MULTI/EXEC/DISCARD/WATCH, and the atomicity of read-modify-write commands under
//! concurrent clients.

mod common;

use common::{Reference, Reply, Server};

#[test]
fn multi_exec_queues_and_runs_in_order() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "a", "1"]), Reply::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["INCR", "a"]), Reply::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["GET", "a"]), Reply::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["SET", "b", "x"]), Reply::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["INCR", "b"]), Reply::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["MULTI"]).error_text(), "ERR MULTI calls can not be nested");
    let r = c.cmd(&["EXEC"]).items();
    assert_eq!(r[..4], [Reply::ok(), Reply::Int(2), Reply::bulk("2"), Reply::ok()]);
    assert_eq!(
        r[4].error_text(),
        "ERR value is not an integer or out of range",
        "a runtime error does not stop the others"
    );
    assert_eq!(c.cmd(&["GET", "b"]), Reply::bulk("x"));
    assert_eq!(c.cmd(&["EXEC"]).error_text(), "ERR EXEC without MULTI");
    assert_eq!(c.cmd(&["DISCARD"]).error_text(), "ERR DISCARD without MULTI");
}

#[test]
fn a_queueing_error_aborts_exec_and_discard_drops_everything() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    assert!(c.cmd(&["NOSUCH"]).error_text().starts_with("ERR unknown command"));
    assert_eq!(
        c.cmd(&["EXEC"]).error_text(),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(c.cmd(&["GET", "a"]), Reply::Nil);
    c.cmd(&["MULTI"]);
    c.cmd(&["GET"]);
    assert_eq!(
        c.cmd(&["EXEC"]).error_text(),
        "EXECABORT Transaction discarded because of previous errors."
    );
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd(&["DISCARD"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Reply::Nil);
}

#[test]
fn watch_aborts_exec_when_another_client_wrote() {
    let s = Server::start(&[]);
    let (mut c, mut other) = (s.raw(), s.raw());
    c.cmd(&["SET", "balance", "10"]);
    assert_eq!(c.cmd(&["WATCH", "balance"]), Reply::ok());
    other.cmd(&["INCRBY", "balance", "5"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "balance", "0"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::NilArray);
    assert_eq!(c.cmd(&["GET", "balance"]), Reply::bulk("15"));
    // Untouched: it runs.
    c.cmd(&["WATCH", "balance"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "balance", "0"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![Reply::ok()]));
    c.cmd(&["MULTI"]);
    assert_eq!(c.cmd(&["WATCH", "x"]).error_text(), "ERR WATCH inside MULTI is not allowed");
    c.cmd(&["DISCARD"]);
    c.cmd(&["WATCH", "balance"]);
    other.cmd(&["SET", "balance", "1"]);
    c.cmd(&["UNWATCH"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["GET", "balance"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![Reply::bulk("1")]));
}

#[test]
fn a_transaction_across_shards_is_refused_whole_and_hash_tags_keep_it_in_one() {
    let s = Server::start(&["--shards", "4"]);
    let mut c = s.raw();
    // Two keys in different shards (slots 15495 and 866 on a 4-shard store).
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "hello", "1"]);
    let e = c.cmd(&["EXEC"]).error_text().to_string();
    assert!(e.starts_with("ERR the batch spans shards") && e.contains("hash tag"), "{e}");
    assert_eq!(c.cmd(&["EXISTS", "a", "hello"]), Reply::Int(0), "nothing was written");
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "{user:1}.name", "ann"]);
    c.cmd(&["INCR", "{user:1}.visits"]);
    assert_eq!(c.cmd(&["EXEC"]), Reply::Array(vec![Reply::ok(), Reply::Int(1)]));
}

#[test]
fn concurrent_read_modify_writes_lose_no_update() {
    let s = Server::start(&["--shards", "2"]);
    let port = s.port;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = common::Raw::connect(port);
                for i in 0..250 {
                    assert!(matches!(c.cmd(&["INCR", "counter"]), Reply::Int(_)));
                    c.cmd(&["APPEND", "log", "x"]);
                    c.cmd(&["SETNX", &format!("once:{}", i % 10), &t.to_string()]);
                    // A transaction that moves one unit between two keys of one slot.
                    c.cmd(&["MULTI"]);
                    c.cmd(&["DECR", "{acct}.a"]);
                    c.cmd(&["INCR", "{acct}.b"]);
                    c.cmd(&["EXEC"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "counter"]), Reply::bulk("2000"));
    assert_eq!(c.cmd(&["STRLEN", "log"]), Reply::Int(2000));
    assert_eq!(c.cmd(&["GET", "{acct}.a"]), Reply::bulk("-2000"));
    assert_eq!(c.cmd(&["GET", "{acct}.b"]), Reply::bulk("2000"));
}

#[test]
fn a_refused_exec_unwatch_inside_multi_and_nesting_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let script: &[&[&str]] = &[
        // EXEC with arguments ends the transaction, saying why.
        &["MULTI"],
        &["SET", "a", "1"],
        &["EXEC", "foo"],
        &["EXEC"],
        &["GET", "a"],
        // UNWATCH is queued and answers inside EXEC's reply.
        &["WATCH", "a"],
        &["MULTI"],
        &["UNWATCH"],
        &["SET", "x", "1"],
        &["EXEC"],
        // DISCARD with arguments is refused and the transaction goes on (and aborts).
        &["MULTI"],
        &["DISCARD", "foo"],
        &["SET", "y", "1"],
        &["EXEC"],
        &["MULTI"],
        &["MULTI"],
        &["EXEC"],
        // SAVE and SHUTDOWN are refused inside MULTI.
        &["MULTI"],
        &["SET", "z", "1"],
        &["SAVE"],
        &["SHUTDOWN"],
        &["EXEC"],
        &["GET", "z"],
    ];
    for cmd in script {
        let (a, b) = (redis.cmd(cmd), ours.cmd(cmd));
        assert_eq!(b, a, "{cmd:?}");
    }
}
