//! Sorted sets and SORT side by side with a real redis-server: the same commands, edge cases
//! and errors, in RESP2 and RESP3, get the same replies from both.

mod common;

use common::{Raw, Reference, Server};

/// Runs every command on both servers and compares each reply.
fn same(ours: &mut Raw, redis: &mut Raw, script: &[&[&str]]) {
    for cmd in script {
        let (a, b) = (ours.cmd(cmd), redis.cmd(cmd));
        assert_eq!(a, b, "{cmd:?}: ours {a:?}, redis-server {b:?}");
    }
}

const SETUP: &[&[&str]] = &[
    &["ZADD", "z", "1", "a", "2", "b", "2", "c", "3.5", "d", "-inf", "e", "inf", "f"],
    &["ZADD", "lex", "0", "alpha", "0", "bravo", "0", "charlie", "0", "delta", "0", "echo"],
    &["SADD", "s", "b", "c", "x"],
    &["RPUSH", "l", "3", "10", "1", "2.5", "-4"],
    &["SET", "w_3", "30"],
    &["SET", "w_10", "5"],
    &["SET", "w_1", "100"],
    &["HSET", "h_3", "name", "three"],
    &["HSET", "h_10", "name", "ten"],
    &["SET", "str", "v"],
];

const ZSETS: &[&[&str]] = &[
    &["ZADD", "z", "XX", "CH", "GT", "0", "a", "9", "b", "1", "new"],
    &["ZADD", "z", "NX", "XX", "1", "a"],
    &["ZADD", "z", "GT", "LT", "1", "a"],
    &["ZADD", "z", "INCR", "1", "a", "2", "b"],
    &["ZADD", "z", "1", "a", "2"],
    &["ZADD", "z", "nan", "a"],
    &["ZADD", "z", "INCR", "LT", "5", "a"],
    &["ZINCRBY", "z", "-inf", "f"],
    &["ZINCRBY", "z", "1", "f"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "1", "2", "WITHSCORES"],
    &["ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV", "WITHSCORES"],
    &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
    &["ZRANGE", "lex", "[bravo", "(delta", "BYLEX"],
    &["ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2"],
    &["ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"],
    &["ZRANGEBYLEX", "lex", "bravo", "+"],
    &["ZREVRANGE", "z", "0", "2", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "-inf", "2", "LIMIT", "-1", "3"],
    &["ZREVRANGEBYSCORE", "z", "3.5", "-inf", "WITHSCORES", "LIMIT", "1", "-1"],
    &["ZRANGEBYSCORE", "z", "x", "2"],
    &["ZCOUNT", "z", "(2", "inf"],
    &["ZLEXCOUNT", "lex", "(alpha", "[echo"],
    &["ZRANK", "z", "c"],
    &["ZREVRANK", "z", "c"],
    &["ZRANK", "z", "nope"],
    &["ZSCORE", "z", "e"],
    &["ZMSCORE", "z", "a", "nope", "d"],
    &["ZMSCORE", "none", "a"],
    &["ZUNIONSTORE", "u", "2", "z", "s", "WEIGHTS", "2", "3", "AGGREGATE", "MAX"],
    &["ZRANGE", "u", "0", "-1", "WITHSCORES"],
    &["ZINTER", "2", "z", "s", "WITHSCORES"],
    &["ZINTER", "2", "z", "s", "AGGREGATE", "MIN", "WITHSCORES"],
    &["ZDIFF", "2", "z", "s", "WITHSCORES"],
    &["ZDIFFSTORE", "d", "2", "s", "z"],
    &["ZINTERCARD", "2", "z", "s", "LIMIT", "1"],
    &["ZUNION", "2", "z", "str"],
    &["ZUNION", "0", "z"],
    &["ZINTERSTORE", "empty", "2", "z", "none"],
    &["EXISTS", "empty"],
    &["ZRANGESTORE", "rs", "z", "1", "3"],
    &["ZRANGE", "rs", "0", "-1", "WITHSCORES"],
    &["ZRANGESTORE", "rs", "z", "0", "-1", "WITHSCORES"],
    &["ZREMRANGEBYSCORE", "rs", "-inf", "(2"],
    &["ZREMRANGEBYRANK", "rs", "-1", "-1"],
    &["ZREMRANGEBYLEX", "lex", "[alpha", "(charlie"],
    &["ZPOPMIN", "z"],
    &["ZPOPMAX", "z", "2"],
    &["ZPOPMIN", "z", "-1"],
    &["ZMPOP", "2", "none", "z", "MAX", "COUNT", "2"],
    &["ZMPOP", "1", "none", "MIN"],
    &["BZPOPMIN", "none", "z", "0.1"],
    &["ZRANDMEMBER", "none", "3"],
    &["ZRANDMEMBER", "z", "0"],
    &["ZADD", "str", "1", "a"],
    &["ZRANGE", "str", "0", "-1"],
    &["ZCARD", "z"],
    &["TYPE", "z"],
    &["OBJECT", "ENCODING", "z"],
];

const SORTS: &[&[&str]] = &[
    &["SORT", "l"],
    &["SORT", "l", "DESC", "LIMIT", "1", "2"],
    &["SORT", "l", "ALPHA"],
    &["SORT", "l", "BY", "w_*"],
    &["SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->name", "GET", "w_*"],
    &["SORT", "l", "BY", "nosort", "LIMIT", "1", "10"],
    &["SORT", "s", "ALPHA", "DESC"],
    &["SORT", "s"],
    &["SORT", "lex", "BY", "nosort"],
    &["SORT", "l", "LIMIT", "10", "5"],
    &["SORT", "l", "STORE", "sorted"],
    &["LRANGE", "sorted", "0", "-1"],
    &["SORT", "none", "STORE", "sorted"],
    &["EXISTS", "sorted"],
    &["SORT_RO", "l", "STORE", "x"],
    &["SORT", "l", "LIMIT", "x", "1"],
    &["SORT", "l", "BY"],
    &["SORT", "str"],
    &["SORT", "h_3"],
];

#[test]
fn sorted_sets_and_sort_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    same(&mut ours, &mut redis, SETUP);
    same(&mut ours, &mut redis, ZSETS);
    same(&mut ours, &mut redis, SORTS);
}

#[test]
fn sorted_sets_reply_in_resp3_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    ours.cmd(&["HELLO", "3"]);
    redis.cmd(&["HELLO", "3"]);
    same(&mut ours, &mut redis, SETUP);
    same(&mut ours, &mut redis, ZSETS);
}
