//! Sorted sets through a real connection: members, scores and order survive a clean
//! restart, a kill -9 under `--sync always` and merges; a score changed (its key changes
//! with it) never comes back at its old score; deleting one writes O(1) bytes; a blocked
//! BZPOPMIN is woken by a ZADD.

mod common;

use common::{disk_bytes, text_pairs, Raw, Reply, Server};

/// ZRANGE 0 -1 WITHSCORES, as (member, score) texts.
fn all(c: &mut Raw, key: &str) -> Vec<(String, String)> {
    text_pairs(c.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"]))
}

/// The model's order: by score, then member.
fn ordered(model: &std::collections::HashMap<String, f64>) -> Vec<(String, String)> {
    let mut v: Vec<(&String, &f64)> = model.iter().collect();
    v.sort_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(b.0)));
    v.into_iter().map(|(m, s)| (m.clone(), format!("{s}"))).collect()
}

#[test]
fn scores_and_order_survive_restarts_kill9_and_merges() {
    let s = Server::start(&["--sync", "always"]);
    let mut c = s.raw();
    let mut model = std::collections::HashMap::new();
    for i in 0..300 {
        let (m, score) = (format!("m{i}"), (i * 37 % 101) as f64);
        c.cmd(&["ZADD", "z", &score.to_string(), &m]);
        model.insert(m, score);
    }
    // Changed scores move members (their records are rewritten under new keys) and removed
    // ones go.
    for i in (0..300).step_by(4) {
        let m = format!("m{i}");
        let now = c.cmd(&["ZINCRBY", "z", "1000", &m]).text();
        *model.get_mut(&m).unwrap() += 1000.0;
        assert_eq!(now, format!("{}", model[&m]));
    }
    for i in (1..300).step_by(5) {
        assert_eq!(c.cmd(&["ZREM", "z", &format!("m{i}")]), Reply::Int(1));
        model.remove(&format!("m{i}"));
    }
    let want = ordered(&model);
    assert_eq!(all(&mut c, "z"), want);
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(all(&mut c, "z"), want, "after a clean restart");
    c.cmd(&["BITCASK.MERGE"]);
    let (dir, port, args) = (s.dir.clone(), s.port, s.args.clone());
    let _keep = s.kill9();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::restart_killed(&dir, port, &args);
    let mut c = s.raw();
    assert_eq!(all(&mut c, "z"), want, "after a merge and kill -9");
    assert_eq!(c.cmd(&["ZSCORE", "z", "m0"]), Reply::bulk("1000"));
    assert_eq!(c.cmd(&["ZRANK", "z", &want[0].0]), Reply::Int(0));
    assert_eq!(c.cmd(&["ZCARD", "z"]), Reply::Int(want.len() as i64));
}

#[test]
fn deleting_a_sorted_set_writes_o1_bytes_and_a_recreated_one_starts_empty() {
    let s = Server::start(&["--sync", "always"]);
    let mut c = s.raw();
    for i in 0..2000 {
        c.cmd(&["ZADD", "big", &i.to_string(), &format!("member-{i}")]);
    }
    let before = disk_bytes(&s.dir);
    assert_eq!(c.cmd(&["DEL", "big"]), Reply::Int(1));
    let grew = disk_bytes(&s.dir) - before;
    assert!(grew < 100, "DEL of 2,000 members appended {grew} bytes");
    assert_eq!(c.cmd(&["ZADD", "big", "5", "new"]), Reply::Int(1));
    c.cmd(&["BITCASK.MERGE"]);
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(all(&mut c, "big"), [("new".to_string(), "5".to_string())]);
}

#[test]
fn a_blocked_bzpopmin_is_woken_by_zadd() {
    let s = Server::start(&[]);
    let mut waiter = s.raw();
    let mut c = s.raw();
    waiter.send(&Raw::frame(&[b"BZPOPMIN", b"q", b"5"]));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(c.cmd(&["ZADD", "q", "2", "b", "1", "a"]), Reply::Int(2));
    let got: Vec<String> = waiter.read().items().iter().map(Reply::text).collect();
    assert_eq!(got, ["q", "a", "1"]);
    assert_eq!(all(&mut c, "q"), [("b".to_string(), "2".to_string())]);
}
