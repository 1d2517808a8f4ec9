//! The rest of the string family (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO, GETSET, SUBSTR, LCS), checked against a real redis-server side by side:
//! the same commands, the same replies, byte for byte. `BITCASK_DIFF_OPS` sets how many
//! random commands the comparison sends (default 4000).

mod common;

use common::{Raw, Reference, Reply, Server};

/// Sends `cmd` to both and asserts the same reply.
fn same(ours: &mut Raw, redis: &mut Raw, cmd: &[&[u8]]) {
    let (a, b) = (redis.cmd_bytes(cmd), ours.cmd_bytes(cmd));
    let shown: Vec<String> = cmd.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    assert_eq!(b, a, "{shown:?}: redis-server said {a:?}, bitcask-server {b:?}");
}

/// Edge cases and every error of the family, one command a line.
const CASES: &str = "
SETBIT b 7 1
SETBIT b 7 2
SETBIT b -1 1
SETBIT b x 1
SETBIT b 4294967296 0
GETBIT b 7
GETBIT b 100
GETBIT b -1
GETBIT nokey 0
BITCOUNT b
BITCOUNT b 0
BITCOUNT b 0 -1 BIT
BITCOUNT b 0 -1 FOO
BITCOUNT b 0 -1 BIT extra
BITCOUNT nokey 0 x
BITCOUNT nokey a b c d
BITCOUNT b x 1
BITCOUNT b -1 -5
BITPOS b 2
BITPOS b x
BITPOS nokey 1
BITPOS nokey 0
BITPOS nokey 0 x
BITPOS b 0 x
BITPOS b 1 0 -1 FOO
SET e ''
BITPOS e 0
BITPOS e 1
BITCOUNT e
BITPOS e 0 0
BITOP FOO d a
BITOP NOT d a b
BITOP AND d nokey1 nokey2
EXISTS d
BITFIELD b GET u64 0
BITFIELD b GET i65 0
BITFIELD b GET I8 0
BITFIELD b GET u0 0
BITFIELD b GET x8 0
BITFIELD b GET u8 -1
BITFIELD b GET u8 #-1
BITFIELD b GET u8 x
BITFIELD b GET u8
BITFIELD b FOO u8 0
BITFIELD b OVERFLOW BAD
BITFIELD b SET u8 0 x
BITFIELD b INCRBY u8 0
BITFIELD_RO b SET u8 0 1
BITFIELD_RO b GET u8 0
BITFIELD_RO nokey GET u8 0
BITFIELD nokey2 OVERFLOW FAIL SET u8 100 999
EXISTS nokey2
STRLEN nokey2
BITFIELD b
BITFIELD b SET i64 0 -9223372036854775808 INCRBY i64 0 -1 OVERFLOW SAT INCRBY i64 0 -1
GETSET gs 1
GETSET gs 2
SET t v EX 100
GETSET t w
TTL t
SUBSTR gs 0 -1
SUBSTR gs x 1
SET l1 ohmytext
SET l2 mynewtext
LCS l1 l2
LCS l1 l2 LEN
LCS l1 l2 IDX
LCS l1 l2 IDX MINMATCHLEN 4
LCS l1 l2 IDX MINMATCHLEN 4 WITHMATCHLEN
LCS l1 l2 IDX LEN
LCS l1 l2 FOO
LCS l1 l2 MINMATCHLEN
LCS l1 l2 MINMATCHLEN x
LCS l1 nokey
LCS nokey nokey IDX
";

#[test]
fn edge_cases_and_errors_answer_as_redis_server() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for line in CASES.lines().filter(|l| !l.is_empty()) {
        let args: Vec<&[u8]> =
            line.split(' ').map(|a| if a == "''" { &b""[..] } else { a.as_bytes() }).collect();
        same(&mut ours, &mut redis, &args);
    }
}

/// xorshift64*: a seeded sequence, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const IDX: [&str; 16] =
    ["0", "1", "2", "3", "7", "8", "9", "15", "16", "63", "100", "-1", "-2", "-8", "-9", "-100"];
const UNIT: [&str; 2] = ["BIT", "BYTE"];
const FIELD: [&str; 13] =
    ["i1", "u1", "i5", "u7", "i8", "u8", "i9", "u15", "i16", "i32", "u33", "u63", "i64"];
const VALUE: [&str; 11] = [
    "0",
    "1",
    "-1",
    "127",
    "128",
    "-129",
    "255",
    "256",
    "2147483648",
    "-9223372036854775808",
    "9223372036854775807",
];

/// A random BITFIELD with one to three operations.
fn random_bitfield(g: &mut Rng, key: String) -> Vec<String> {
    let mut c = vec!["BITFIELD".to_owned(), key];
    for _ in 0..1 + g.below(3) {
        let (f, at) = (g.pick(&FIELD).to_owned(), g.below(70).to_string());
        match g.below(4) {
            0 => c.extend(["GET".into(), f, at]),
            1 => c.extend(["SET".into(), f, format!("#{}", g.below(5)), g.pick(&VALUE).into()]),
            2 => c.extend(["INCRBY".into(), f, at, g.pick(&VALUE).into()]),
            _ => c.extend(["OVERFLOW".into(), g.pick(&["WRAP", "SAT", "FAIL"]).into()]),
        }
    }
    c
}

/// The optional arguments of the range commands and LCS, at random.
fn random_options(g: &mut Rng, c: &mut Vec<String>) {
    if c[0] == "BITCOUNT" && g.below(2) == 0 {
        c.extend([g.pick(&IDX).into(), g.pick(&IDX).into()]);
        if g.below(2) == 0 {
            c.push(g.pick(&UNIT).into());
        }
    }
    if c[0] == "BITPOS" {
        let n = g.below(4);
        c.extend((0..n.min(2)).map(|_| g.pick(&IDX).to_owned()));
        if n == 3 {
            c.extend([g.pick(&IDX).into(), g.pick(&UNIT).into()]);
        }
    }
    if c[0] == "LCS" {
        let opts: &[&[&str]] =
            &[&[], &["LEN"], &["IDX"], &["IDX", "WITHMATCHLEN"], &["IDX", "MINMATCHLEN", "2"]];
        c.extend(opts[g.below(opts.len())].iter().map(|s| s.to_string()));
    }
}

/// One random command of the family.
fn random_command(g: &mut Rng) -> Vec<String> {
    let key = g.pick(&["f1", "f2", "f3", "none"]).to_owned();
    let mut c: Vec<String> = match g.below(11) {
        0 => vec!["SETBIT".into(), key, g.below(80).to_string(), g.below(2).to_string()],
        1 => vec!["GETBIT".into(), key, g.below(90).to_string()],
        2 => vec!["BITCOUNT".into(), key],
        3 => vec!["BITPOS".into(), key, g.below(2).to_string()],
        4 => vec![
            "BITOP".into(),
            g.pick(&["AND", "OR", "XOR"]).into(),
            g.pick(&["f1", "d"]).into(),
            key,
            g.pick(&["f2", "f3"]).into(),
        ],
        5 => vec!["BITOP".into(), "NOT".into(), g.pick(&["f2", "d"]).into(), key],
        6 => vec!["SET".into(), key, g.pick(&["", "\u{7f}\u{1}", "foobar", "ab"]).into()],
        7 => random_bitfield(g, key),
        8 => vec![
            "BITFIELD_RO".into(),
            key,
            "GET".into(),
            g.pick(&FIELD).into(),
            g.below(70).to_string(),
        ],
        9 => vec!["LCS".into(), key, g.pick(&["f1", "f2"]).into()],
        _ => vec!["GET".into(), key],
    };
    random_options(g, &mut c);
    c
}

#[test]
fn random_bit_commands_answer_as_redis_server() {
    let n: usize =
        std::env::var("BITCASK_DIFF_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    for seed in [1u64, 2, 3, 4] {
        let mut g = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        same(&mut ours, &mut redis, &[b"FLUSHALL"]);
        for _ in 0..n / 4 {
            let c = random_command(&mut g);
            let args: Vec<&[u8]> = c.iter().map(|a| a.as_bytes()).collect();
            same(&mut ours, &mut redis, &args);
        }
    }
}

#[test]
fn a_long_lcs_answers_as_redis_server_and_a_huge_one_is_refused() {
    let (s, r) = (Server::start(&[]), Reference::start());
    let (mut ours, mut redis) = (s.raw(), r.raw());
    // 1,500 × 1,500 bytes: a table of 2.25M cells, built off the network thread.
    let mut g = Rng(7);
    let a: String = (0..1500).map(|_| char::from(b'a' + g.below(4) as u8)).collect();
    let b: String = (0..1500).map(|_| char::from(b'a' + g.below(4) as u8)).collect();
    same(&mut ours, &mut redis, &[b"SET", b"a", a.as_bytes()]);
    same(&mut ours, &mut redis, &[b"SET", b"b", b.as_bytes()]);
    same(&mut ours, &mut redis, &[b"LCS", b"a", b"b"]);
    same(&mut ours, &mut redis, &[b"LCS", b"a", b"b", b"IDX", b"MINMATCHLEN", b"5"]);
    // 20,000 × 20,000 bytes: 1.6 GB of table, past proto-max-bulk-len.
    let big = "x".repeat(20_000);
    same(&mut ours, &mut redis, &[b"SET", b"big", big.as_bytes()]);
    same(&mut ours, &mut redis, &[b"LCS", b"big", b"big"]);
}

#[test]
fn setbit_and_bitfield_write_only_what_changes() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let dirty = |c: &mut Raw| -> i64 {
        let info = c.cmd(&["INFO", "persistence"]).text();
        let line = info.lines().find(|l| l.starts_with("rdb_changes_since_last_save:")).unwrap();
        line.split(':').nth(1).unwrap().trim().parse().unwrap()
    };
    let d0 = dirty(&mut c);
    c.cmd(&["SETBIT", "k", "0", "0"]);
    c.cmd(&["BITFIELD", "f", "SET", "i5", "0", "0"]);
    assert_eq!(dirty(&mut c), d0 + 2, "creating a key is a write");
    c.cmd(&["SETBIT", "k", "0", "0"]);
    c.cmd(&["BITFIELD", "f", "SET", "i5", "0", "0"]);
    c.cmd(&["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i5", "0", "100"]);
    assert_eq!(dirty(&mut c), d0 + 2, "nothing changed: nothing written");
    assert_eq!(c.cmd(&["SETBIT", "k", "0", "1"]), Reply::Int(0));
    assert_eq!(dirty(&mut c), d0 + 3);
}

#[test]
fn the_family_through_the_redis_crate() {
    use redis::RedisResult;
    let s = Server::start(&[]);
    let mut con = s.client();
    let set: i64 = redis::cmd("SETBIT").arg("bits").arg(10).arg(1).query(&mut con).unwrap();
    assert_eq!(set, 0);
    let n: i64 = redis::cmd("BITCOUNT").arg("bits").query(&mut con).unwrap();
    assert_eq!(n, 1);
    let pos: i64 = redis::cmd("BITPOS").arg("bits").arg(1).query(&mut con).unwrap();
    assert_eq!(pos, 10);
    let fields: Vec<Option<i64>> = redis::cmd("BITFIELD")
        .arg("counter")
        .arg(&[
            "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "3", "INCRBY", "u2", "0", "1", "GET", "u2",
            "0",
        ])
        .query(&mut con)
        .unwrap();
    assert_eq!(fields, [Some(3), None, Some(3)]);
    let old: Option<String> = redis::cmd("GETSET").arg("g").arg("new").query(&mut con).unwrap();
    assert_eq!(old, None);
    let sub: String = redis::cmd("SUBSTR").arg("g").arg(1).arg(-1).query(&mut con).unwrap();
    assert_eq!(sub, "ew");
    let _: () =
        redis::cmd("MSET").arg(&["a", "ohmytext", "b", "mynewtext"]).query(&mut con).unwrap();
    let lcs: String = redis::cmd("LCS").arg("a").arg("b").query(&mut con).unwrap();
    assert_eq!(lcs, "mytext");
    let err: RedisResult<i64> =
        redis::cmd("BITOP").arg("NOT").arg("d").arg("a").arg("b").query(&mut con);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("BITOP NOT must be called with a single source key."));
    let err: RedisResult<i64> = redis::cmd("SETBIT").arg("bits").arg(1).arg(2).query(&mut con);
    assert!(err.unwrap_err().to_string().contains("bit is not an integer or out of range"));
}

#[test]
fn a_setbit_past_the_stores_value_limit_is_refused_and_writes_nothing() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    // 2^31 bits: a 256 MiB string and one byte more.
    assert_eq!(
        c.cmd(&["SETBIT", "k", "2147483648", "1"]).error_text(),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    assert_eq!(c.cmd(&["EXISTS", "k"]), Reply::Int(0));
}
