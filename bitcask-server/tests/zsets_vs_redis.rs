//! Sorted sets and SORT side by side with a real redis-server: the same commands, edge cases
//! and errors, in RESP2 and RESP3, and long random sequences of sorted-set commands
//! (`BITCASK_DIFF_OPS`, `BITCASK_DIFF_SEED` to scale and vary them), get the same replies
//! from both.

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

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &["z1", "z2", "z3", "s1"];
const MEMBERS: &[&str] = &["a", "b", "c", "d", "e", "f", "g", "h"];
const SCORES: &[&str] = &["0", "1", "-1", "1.5", "-0.25", "3", "10", "inf", "-inf", "2e3"];
const BOUNDS: &[&str] = &["-inf", "+inf", "0", "(0", "1", "(1.5", "3", "(10", "-1"];
const LEX: &[&str] = &["-", "+", "[b", "(b", "[d", "(e", "[a", "(h"];

/// One random sorted-set command (or SADD to the plain set the set operations mix in).
fn random_command(r: &mut Rng) -> Vec<String> {
    let key = r.pick(KEYS).to_string();
    let m = r.pick(MEMBERS).to_string();
    let s = r.pick(SCORES).to_string();
    let (b1, b2) = (r.pick(BOUNDS).to_string(), r.pick(BOUNDS).to_string());
    let (i1, i2) = ((r.next() % 9) as i64 - 4, (r.next() % 9) as i64 - 4);
    let flags = ["", "NX", "XX", "GT", "LT", "CH", "XX CH", "GT CH", "INCR", "LT INCR"];
    let words = |v: &str| v.split_whitespace().map(String::from).collect::<Vec<_>>();
    let mut c: Vec<String> = match r.next() % 22 {
        0..=3 => {
            let mut c = vec!["ZADD".into(), key];
            c.extend(words(r.pick(&flags)));
            c.extend([s, m]);
            c
        }
        4 => vec!["ZINCRBY".into(), key, s, m],
        5 => vec!["ZREM".into(), key, m, r.pick(MEMBERS).into()],
        6 => vec![r.pick(&["ZPOPMIN", "ZPOPMAX"]).into(), key, (r.next() % 3).to_string()],
        7 => words(&format!(
            "ZRANGE {key} {i1} {i2} {}",
            r.pick(&["", "WITHSCORES", "REV WITHSCORES"])
        )),
        8 => {
            let opts = ["", "WITHSCORES", "LIMIT 1 2", "REV", "REV LIMIT 0 1 WITHSCORES"];
            let mut c = vec!["ZRANGE".into(), key, b1, b2, "BYSCORE".into()];
            c.extend(words(r.pick(&opts)));
            c
        }
        9 => vec!["ZCOUNT".into(), key, b1, b2],
        10 => vec![r.pick(&["ZRANK", "ZREVRANK"]).into(), key, m],
        11 => vec!["ZSCORE".into(), key, m],
        12 => vec!["ZMSCORE".into(), key, m, r.pick(MEMBERS).into()],
        13 => vec!["ZREMRANGEBYSCORE".into(), key, b1, b2],
        14 => vec!["ZREMRANGEBYRANK".into(), key, i1.to_string(), i2.to_string()],
        15 => {
            let op = r.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
            let (src1, src2) = (r.pick(KEYS), r.pick(KEYS));
            let mut c = words(&format!("{op} {key} 2 {src1} {src2}"));
            if op != "ZDIFFSTORE" {
                c.extend(words(r.pick(&[
                    "",
                    "WEIGHTS 2 0.5",
                    "AGGREGATE MIN",
                    "AGGREGATE MAX WEIGHTS -1 3",
                ])));
            }
            c
        }
        16 => vec!["ZRANGESTORE".into(), key, r.pick(KEYS).into(), i1.to_string(), i2.to_string()],
        17 => vec!["ZCARD".into(), key],
        18 => words(&format!("ZMPOP 2 {key} {} {} COUNT 2", r.pick(KEYS), r.pick(&["MIN", "MAX"]))),
        19 => vec!["ZINTERCARD".into(), "2".into(), key, r.pick(KEYS).into()],
        20 => vec!["SADD".into(), "s1".into(), m],
        _ => {
            // Lex ranges on a set whose scores are all equal (what they are meant for).
            let (l1, l2) = (r.pick(LEX).to_string(), r.pick(LEX).to_string());
            match r.next() % 3 {
                0 => vec!["ZADD".into(), "lex".into(), "0".into(), m],
                1 => vec!["ZRANGEBYLEX".into(), "lex".into(), l1, l2],
                _ => vec!["ZLEXCOUNT".into(), "lex".into(), l1, l2],
            }
        }
    };
    c.retain(|a| !a.is_empty());
    c
}

#[test]
fn random_sorted_set_commands_answer_as_redis_server() {
    let n: usize =
        std::env::var("BITCASK_DIFF_OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    let seed = std::env::var("BITCASK_DIFF_SEED").ok().and_then(|v| v.parse().ok());
    let mut rng = Rng(seed.unwrap_or(0x9e37_79b9_7f4a_7c15) | 1);
    for i in 0..n {
        let cmd = random_command(&mut rng);
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let (a, b) = (ours.cmd(&args), redis.cmd(&args));
        assert_eq!(a, b, "command {i} {args:?}: ours {a:?}, redis-server {b:?}");
    }
    // And the final state, key by key.
    for k in ["z1", "z2", "z3", "lex"] {
        let all = ["ZRANGE", k, "0", "-1", "WITHSCORES"];
        assert_eq!(ours.cmd(&all), redis.cmd(&all), "{k}");
    }
}
