//! Lists through a real connection: pushes, pops, inserts (also past the point where the
//! positions between two neighbours run out and the list is renumbered), LSET, LREM and
//! LTRIM against a model, across a clean restart and a kill -9 under `--sync always`; the
//! blocking pops wait for a push, time out, answer at once inside MULTI, and a client that
//! leaves while blocked is forgotten.

mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use common::{Raw, Reply, Server};

fn list(c: &mut Raw, key: &str) -> Vec<String> {
    c.cmd(&["LRANGE", key, "0", "-1"]).items().iter().map(Reply::text).collect()
}

/// Runs a mix of list commands on `l`, mirrored on `model`.
fn workload(c: &mut Raw, model: &mut VecDeque<String>) {
    // 30 inserts between the same two neighbours: the gap between their positions runs out
    // after about 20, and the list is renumbered.
    c.cmd(&["RPUSH", "l", "head", "anchor"]);
    model.extend(["head".to_string(), "anchor".to_string()]);
    for i in 0..30 {
        let v = format!("ins{i}");
        c.cmd(&["LINSERT", "l", "BEFORE", "anchor", &v]);
        let at = model.len() - 1;
        model.insert(at, v);
    }
    for i in 0..300 {
        let v = format!("v{i}");
        match i % 10 {
            0..=2 => {
                c.cmd(&["RPUSH", "l", &v]);
                model.push_back(v);
            }
            3 | 4 => {
                c.cmd(&["LPUSH", "l", &v]);
                model.push_front(v);
            }
            5 => {
                // Always before the same pivot: the gap halves until a renumbering.
                let pivot = model.get(model.len() / 2).cloned().unwrap();
                assert!(matches!(c.cmd(&["LINSERT", "l", "BEFORE", &pivot, &v]), Reply::Int(_)));
                let at = model.iter().position(|x| *x == pivot).unwrap();
                model.insert(at, v);
            }
            6 => {
                let popped = c.cmd(&["LPOP", "l"]).text();
                assert_eq!(Some(popped), model.pop_front());
            }
            7 => {
                c.cmd(&["LSET", "l", "-1", &v]);
                *model.back_mut().unwrap() = v;
            }
            8 if i % 50 == 8 => {
                let first = model.front().cloned().unwrap();
                c.cmd(&["LREM", "l", "0", &first]);
                model.retain(|x| *x != first);
            }
            _ => {
                c.cmd(&["LINSERT", "l", "AFTER", &model[0].clone(), &v]);
                model.insert(1, v);
            }
        }
    }
    c.cmd(&["LTRIM", "l", "2", "-3"]);
    let n = model.len();
    *model = model.iter().skip(2).take(n - 4).cloned().collect();
}

#[test]
fn lists_match_a_model_across_restarts_and_a_kill9() {
    let s = Server::start(&["--sync", "always"]);
    let mut c = s.raw();
    let mut model = VecDeque::new();
    workload(&mut c, &mut model);
    let want: Vec<String> = model.iter().cloned().collect();
    assert_eq!(list(&mut c, "l"), want);
    assert_eq!(c.cmd(&["LLEN", "l"]), Reply::Int(want.len() as i64));
    let s = s.restart();
    let mut c = s.raw();
    assert_eq!(list(&mut c, "l"), want, "after a clean restart");
    let (dir, port, args) = (s.dir.clone(), s.port, s.args.clone());
    let _keep = s.kill9();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::restart_killed(&dir, port, &args);
    let mut c = s.raw();
    assert_eq!(list(&mut c, "l"), want, "after kill -9");
    assert_eq!(c.cmd(&["TYPE", "l"]).text(), "list");
}

#[test]
fn a_blocked_pop_is_served_by_a_later_push() {
    let s = Server::start(&[]);
    let (mut waiter, mut pusher) = (s.raw(), s.raw());
    waiter.send(&Raw::frame(&[b"BLPOP", b"q1", b"q2", b"0"]));
    std::thread::sleep(Duration::from_millis(150));
    assert!(pusher.cmd(&["INFO", "clients"]).text().contains("blocked_clients:1"));
    assert_eq!(pusher.cmd(&["RPUSH", "q2", "job"]), Reply::Int(1));
    assert_eq!(waiter.read().items(), [Reply::bulk("q2"), Reply::bulk("job")]);
    assert_eq!(pusher.cmd(&["EXISTS", "q2"]), Reply::Int(0));
    // BLMOVE moves what arrives.
    waiter.send(&Raw::frame(&[b"BLMOVE", b"src", b"dst", b"RIGHT", b"LEFT", b"5"]));
    std::thread::sleep(Duration::from_millis(50));
    pusher.cmd(&["LPUSH", "src", "a"]);
    assert_eq!(waiter.read(), Reply::bulk("a"));
    assert_eq!(list(&mut pusher, "dst"), ["a"]);
}

#[test]
fn blocked_pops_time_out_and_never_block_inside_multi() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let t = Instant::now();
    assert_eq!(c.cmd(&["BRPOP", "none", "0.3"]), Reply::NilArray);
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(2), "{waited:?}");
    c.cmd(&["MULTI"]);
    c.cmd(&["BLPOP", "none", "0"]);
    assert_eq!(c.cmd(&["EXEC"]).items(), [Reply::NilArray]);
    let e = c.cmd(&["BLPOP", "none", "-1"]);
    assert_eq!(e.error_text(), "ERR timeout is negative");
    // A client that leaves while blocked is forgotten.
    let mut gone = s.raw();
    gone.send(&Raw::frame(&[b"BLPOP", b"none", b"0"]));
    std::thread::sleep(Duration::from_millis(150));
    drop(gone);
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.cmd(&["INFO", "clients"]).text().contains("blocked_clients:0"));
}

#[test]
fn blocked_clients_are_served_first_come_first_served() {
    let s = Server::start(&[]);
    let mut pusher = s.raw();
    // Five clients block on the same list, in order; one push of five values serves them in
    // that order, the first blocked taking the head.
    let mut waiters: Vec<Raw> = Vec::new();
    for _ in 0..5 {
        let mut w = s.raw();
        w.send(&Raw::frame(&[b"BLPOP", b"jobs", b"5"]));
        std::thread::sleep(Duration::from_millis(60));
        waiters.push(w);
    }
    assert_eq!(pusher.cmd(&["RPUSH", "jobs", "j0", "j1", "j2", "j3", "j4"]), Reply::Int(5));
    for (i, w) in waiters.iter_mut().enumerate() {
        assert_eq!(w.read().items(), [Reply::bulk("jobs"), Reply::bulk(&format!("j{i}"))]);
    }
    // One push at a time: still in blocking order.
    for w in &mut waiters {
        w.send(&Raw::frame(&[b"BRPOP", b"one", b"5"]));
        std::thread::sleep(Duration::from_millis(60));
    }
    for (i, w) in waiters.iter_mut().enumerate() {
        pusher.cmd(&["LPUSH", "one", &format!("v{i}")]);
        assert_eq!(w.read().items(), [Reply::bulk("one"), Reply::bulk(&format!("v{i}"))]);
    }
}

#[test]
fn client_unblock_ends_a_blocked_pop_with_a_timeout_or_an_error() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut w = s.raw();
    let id = match w.cmd(&["CLIENT", "ID"]) {
        Reply::Int(id) => id.to_string(),
        r => panic!("{r:?}"),
    };
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id]), Reply::Int(0), "not blocked yet");
    w.send(&Raw::frame(&[b"BLPOP", b"none", b"0"]));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"]), Reply::Int(1));
    assert_eq!(w.read(), Reply::NilArray);
    w.send(&Raw::frame(&[b"BZPOPMIN", b"none", b"0"]));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), Reply::Int(1));
    assert_eq!(w.read(), Reply::err("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
    let e = c.cmd(&["CLIENT", "UNBLOCK", &id, "LATER"]);
    assert_eq!(e.error_text(), "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    assert_eq!(w.cmd(&["PING"]), Reply::Simple("PONG".into()), "the client goes on");
    assert!(c.cmd(&["INFO", "clients"]).text().contains("blocked_clients:0"));
}
