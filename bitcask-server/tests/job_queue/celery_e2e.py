"""Celery (from PyPI) end to end against the server: a real worker process consumes tasks,
retries a failing one with a countdown, runs one scheduled for later (ETA), a chain and a
chord, and records a failure; results come back through the result backend. Prints "ok"
and what ran."""
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from celery import chain, chord

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import tasks  # noqa: E402

worker = subprocess.Popen(
    [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool=solo",
     "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
    cwd=here,
    stdout=sys.stderr,
)
try:
    sums = [tasks.add.delay(i, i * 2) for i in range(20)]
    flaky = tasks.flaky.delay("f")
    doomed = tasks.always_fails.delay()
    eta = datetime.now(timezone.utc) + timedelta(seconds=2)
    later = tasks.record.apply_async(("scheduled",), eta=eta)
    chained = chain(tasks.add.s(1, 2), tasks.add.s(10), tasks.add.s(100)).delay()
    chorded = chord([tasks.add.s(i, i) for i in range(5)])(tasks.total.s())

    assert [r.get(timeout=60) for r in sums] == [3 * i for i in range(20)]
    assert flaky.get(timeout=60) == 3
    assert int(tasks.store().get("runs:f")) == 3
    try:
        doomed.get(timeout=60)
        raise AssertionError("the failing task succeeded")
    except ValueError as e:
        assert "always fails" in str(e)
    assert doomed.state == "FAILURE"
    assert later.get(timeout=60) == "scheduled"
    assert datetime.now(timezone.utc) >= eta, "the scheduled task ran before its time"
    assert chained.get(timeout=60) == 113
    assert chorded.get(timeout=60) == 20
    # Nothing is left in the queue or unacknowledged.
    deadline = time.time() + 10
    r = tasks.store()
    while time.time() < deadline and (r.llen("celery") or r.hlen("unacked")):
        time.sleep(0.2)
    assert r.llen("celery") == 0, r.llen("celery")
    assert r.hlen("unacked") == 0 and r.zcard("unacked_index") == 0
    print("ok", len(sums) + 10)
finally:
    worker.terminate()
    worker.wait(timeout=30)
