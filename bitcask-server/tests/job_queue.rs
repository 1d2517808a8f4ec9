//! A real job queue end to end: a Celery worker (Celery and its Redis transport, kombu, from
//! PyPI) takes tasks from the server and keeps their results in it. The broker's queues are
//! lists popped with BRPOP, its unacknowledged messages a hash with a sorted-set index, its
//! result notifications pub/sub; tasks are retried with a countdown, scheduled for later,
//! chained, gathered in a chord, and failed.

mod common;

use std::process::Command;

use common::{Reply, Server};

#[test]
fn a_celery_worker_runs_retries_schedules_and_fails_tasks_through_the_server() {
    let s = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/job_queue/celery_e2e.py");
    let o = Command::new("python3")
        .arg(script)
        .env("BITCASK_PORT", s.port.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(
        !err.contains("No module named 'celery'"),
        "Celery is not installed: run the tests with `make test`"
    );
    assert!(o.status.success(), "the job-queue script failed:\n{out}\n{err}");
    assert_eq!(out.trim(), "ok 30");
    // The broker really went through lists, sorted sets and pub/sub.
    let stats = s.raw().cmd(&["INFO", "commandstats"]).text();
    for cmd in ["brpop", "lpush", "zadd", "zrem", "hset", "subscribe", "publish"] {
        assert!(stats.contains(&format!("cmdstat_{cmd}:")), "{cmd} was not used:\n{stats}");
    }
    assert_eq!(s.raw().cmd(&["LLEN", "celery"]), Reply::Int(0));
}
