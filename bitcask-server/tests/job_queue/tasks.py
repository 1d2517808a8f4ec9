"""The Celery app and tasks of the job-queue end-to-end test: the server is both the broker
(lists, a hash and a sorted set of unacknowledged messages, pub/sub) and the result
backend."""
import os

import redis
from celery import Celery

PORT = int(os.environ["BITCASK_PORT"])
URL = f"redis://127.0.0.1:{PORT}/0"

app = Celery("tasks", broker=URL, backend=URL)
app.conf.update(
    task_acks_late=True,
    broker_transport_options={"visibility_timeout": 3600},
    result_expires=600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


def store():
    return redis.Redis(port=PORT)


@app.task
def add(a, b):
    return a + b


@app.task(bind=True, max_retries=3)
def flaky(self, name):
    """Fails on its first two runs (retried a second later), then succeeds: each run
    counts itself in the store."""
    n = store().incr(f"runs:{name}")
    if n < 3:
        raise self.retry(exc=RuntimeError(f"run {n} fails"), countdown=1)
    return n


@app.task
def always_fails():
    raise ValueError("this task always fails")


@app.task
def record(tag):
    store().rpush("order", tag)
    return tag


@app.task
def total(values):
    return sum(values)
