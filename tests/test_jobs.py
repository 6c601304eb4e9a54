"""RQ jobs on real Redis: same results as inline, ordered drains, locks, requeue, status, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from mailproc.db import Database
from mailproc.errors import MailprocError
from mailproc.models import Message, OutboundMail, OutboxStatus, RawMessage, RawStatus
from mailproc.runners import inbound as pipeline, jobs
from mailproc.runners.drain import MailboxLock, drain_mailbox
from tests.helpers import demo_raws, ingest, make_app
from tests.test_workers_crash import generate_mail
from workers.worker import MailprocWorker

ROOT = Path(__file__).resolve().parents[1]


# Importable job functions for the worker subprocess and the failed-job registry.
def slow_job(path: str, seconds: float) -> str:
    Path(path, "started").touch()
    time.sleep(seconds)
    Path(path, "finished").touch()
    return "done"


def failing_job() -> None:
    raise RuntimeError("this job always fails")


@pytest.fixture
def conn(redis_url):
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture(autouse=True)
def _forget_app():
    yield
    jobs.set_app(None)


def run_worker(conn) -> None:
    SimpleWorker([jobs.queue(n, conn) for n in jobs.QUEUES], connection=conn).work(
        burst=True, logging_level="WARNING")


def placement(db) -> tuple[dict, list]:
    """message-id -> (thread rule, the message-ids sharing its case) and outbox kinds."""
    with db.transaction() as session:
        rows = session.execute(select(Message.message_id, Message.case_id, Message.thread_rule)).all()
        kinds = sorted(session.scalars(select(OutboundMail.kind)))
    by_case: dict = {}
    for mid, case_id, _ in rows:
        by_case.setdefault(case_id, set()).add(mid)
    return {mid: (rule, frozenset(by_case[case_id]) if case_id else None)
            for mid, case_id, rule in rows}, kinds


def test_jobs_on_redis_give_the_same_cases_as_inline_processing(db_url_factory, tmp_path,
                                                                 conn, redis_url):
    raws = list(demo_raws().values())
    inline = make_app(db_url_factory(), tmp_path / "inline")
    ingest(inline, raws)
    pipeline.process_pending(inline)

    queued = make_app(db_url_factory(), tmp_path / "queued", redis_url=redis_url)
    jobs.set_app(queued)
    ids = ingest(queued, raws)
    jobs.enqueue_raw(queued, max(ids))
    assert jobs.queue_status(queued)["inbound"] == 1
    run_worker(conn)

    with queued.db.transaction() as session:
        statuses = Counter(session.scalars(select(RawMessage.status)))
        sent = Counter(session.scalars(select(OutboundMail.status)))
    assert statuses == {RawStatus.PROCESSED: len(raws)}
    assert placement(queued.db) == placement(inline.db)
    # The worker also delivered what processing queued (file transport in the example config).
    assert sent and set(sent) == {OutboxStatus.SENT}
    assert jobs.queue_status(queued) == {"inbound": 0, "outbound": 0, "default": 0,
                                         "started": 0, "scheduled": 0, "failed": 0}


def test_concurrent_jobs_process_each_message_once_in_arrival_order(db, tmp_path):
    app = make_app(db, tmp_path, kb={"enabled": False})  # KB suggestions are not the point here
    mails = generate_mail(60, seed=3)
    ids = ingest(app, [m.raw for m in mails])
    jobs.set_app(app)
    results, errors = [], []

    def job(raw_id):
        try:
            results.append(jobs.process_raw(raw_id))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(raw_id,)) for raw_id in (ids[5], ids[-1],
                                                                            ids[30], ids[-1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert any(r["result"] == "drained" for r in results)
    with db.transaction() as session:
        rows = session.execute(select(Message.raw_id, Message.message_id, Message.case_id)
                               .order_by(Message.id)).all()
    raw_order = [raw_id for raw_id, _, _ in rows]
    assert raw_order == sorted(ids)                 # once each, in arrival order
    case_of = {mid: case_id for _, mid, case_id in rows}
    assert all(case_of[m.message_id] == case_of[m.parent] for m in mails if m.parent)
    assert len({case_of[m.message_id] for m in mails if not m.parent}) == \
        sum(1 for m in mails if not m.parent)


def test_a_message_to_retry_stops_the_drain_and_frees_the_mailbox(db, tmp_path):
    app = make_app(db, tmp_path)
    ids = ingest(app, list(demo_raws().values())[:4])
    with db.transaction() as session:
        box = session.get(RawMessage, ids[0]).mailbox_id
    seen = []

    def process(raw_ids):
        done = []
        for raw_id in raw_ids:
            seen.append(raw_id)
            if raw_id == ids[1]:
                return done + [pipeline.Outcome(raw_id, "retry", reason="database hiccup")]
            done.append(pipeline.process_raw(app, raw_id))
        return done

    with pytest.raises(MailprocError, match="retried"):
        drain_mailbox(db, box, process)
    assert seen == ids[:2]                      # the later rows wait for the one that failed
    lock = MailboxLock(db, box)
    assert lock.try_acquire()
    lock.release()


def test_mailbox_lock_is_exclusive_per_mailbox(db):
    a, b, other = MailboxLock(db, 1), MailboxLock(db, 1), MailboxLock(db, 2)
    assert a.try_acquire()
    try:
        assert not b.try_acquire()
        assert not b.is_free()
        assert other.try_acquire()
        other.release()
    finally:
        a.release()
    assert b.is_free()


LOCK_HOLDER = """
import sys, time
from mailproc.db import Database
from mailproc.runners.drain import MailboxLock
lock = MailboxLock(Database(sys.argv[1]), 7)
assert lock.try_acquire()
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_sigkilled_drainer_frees_its_mailbox_at_once(backend, tmp_path, request):
    if backend == "postgresql":
        url, _ = request.getfixturevalue("pg_schema_url")
    else:
        url = f"sqlite:///{tmp_path / 'lock.sqlite3'}"
    db = Database(url)
    child = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, url], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        assert not MailboxLock(db, 7).is_free()
        child.send_signal(signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 5
        while not MailboxLock(db, 7).is_free():
            assert time.monotonic() < deadline, "the dead holder's lock was never released"
            time.sleep(0.05)
    finally:
        if child.poll() is None:
            child.kill()
        db.dispose()


def test_requeue_rebuilds_lost_queues_from_the_database(db, tmp_path, conn, redis_url):
    app = make_app(db, tmp_path, redis_url=redis_url)
    jobs.set_app(app)
    raws = list(demo_raws().values())
    ingest(app, raws)
    first = jobs.requeue(app)
    assert (first.raw_pending, first.raw_requeued) == (len(raws), len(raws))
    assert jobs.queue_status(app)["inbound"] == 1
    assert jobs.requeue(app).raw_requeued == 0          # the queued job covers the mailbox
    conn.flushdb()                                      # Redis lost its data
    assert jobs.requeue(app).raw_requeued == len(raws)

    # Process without delivering, as if the delivery job had been lost too.
    conn.flushdb()
    pipeline.process_pending(app)
    report = jobs.requeue(app)
    assert report.raw_pending == 0 and report.outbox_due > 0 and report.outbox_requeued
    assert jobs.requeue(app).outbox_requeued is False  # one queued delivery job is enough
    run_worker(conn)
    with db.transaction() as session:
        left = session.scalar(select(func.count()).select_from(OutboundMail).where(
            OutboundMail.status != OutboxStatus.SENT))
    assert left == 0
    assert jobs.requeue(app) == jobs.RequeueReport(0, 0, 0, False)


def test_failed_jobs_show_in_status_and_can_be_put_back(db, tmp_path, conn, redis_url):
    app = make_app(db, tmp_path, redis_url=redis_url)
    jobs.queue(jobs.DEFAULT, conn).enqueue(failing_job)
    run_worker(conn)
    status = jobs.queue_status(app)
    assert status["failed"] == 1 and status["default"] == 0
    assert "this job always fails" in jobs.failed_jobs(app)[0]["error"]
    assert jobs.requeue_failed(app) == 1
    status = jobs.queue_status(app)
    assert status["failed"] == 0 and status["default"] == 1


def test_jobs_are_enqueued_with_retries(db, tmp_path, conn, redis_url):
    app = make_app(db, tmp_path, redis_url=redis_url)
    jobs.enqueue_raw(app, 1)
    job = jobs.queue(jobs.INBOUND, conn).jobs[0]
    assert job.retries_left == len(jobs.RETRY_INTERVALS)
    assert job.id.startswith("raw-1-")
    assert jobs.held_raw_ids(conn) == {1}


def test_requeue_command(tmp_path, conn, redis_url, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    db = Database(url)
    db.upgrade()
    app = make_app(db, tmp_path)
    ingest(app, list(demo_raws().values())[:3])
    from mailproc.cli.main import cli

    env = {"MAILPROC_DATABASE_URL": url, "MAILPROC_REDIS_URL": redis_url,
           "MAILPROC_SECRET_KEY": "k" * 32}
    result = CliRunner().invoke(cli, ["--config", str(ROOT / "config" / "mailproc.toml"),
                                      "requeue", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert '"raw_requeued": 3' in result.output
    assert Queue(jobs.INBOUND, connection=conn).count == 1
    result = CliRunner().invoke(cli, ["requeue"], env={**env, "MAILPROC_REDIS_URL": ""})
    assert result.exit_code != 0 and "MAILPROC_REDIS_URL" in result.output


def test_worker_sigterm_finishes_the_current_job_then_exits(tmp_path, conn, redis_url):
    job = jobs.queue(jobs.DEFAULT, conn).enqueue("tests.test_jobs.slow_job", str(tmp_path), 2.0)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MAILPROC_")},
           "MAILPROC_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT),
           "MAILPROC_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}",
           "MAILPROC_CONFIG": str(ROOT / "config" / "mailproc.toml"),
           "MAILPROC_SECRET_KEY": "k" * 32, "MAILPROC_LOG_LEVEL": "warning"}
    worker = subprocess.Popen([sys.executable, "-m", "workers.worker", "default"], cwd=ROOT,
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "started").exists():
            assert time.monotonic() < deadline and worker.poll() is None, worker.stderr.read()
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert (tmp_path / "finished").exists()
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == "done"


def test_worker_leaves_its_channel_at_once_when_its_thread_is_between_reads(conn):
    """The warm shutdown unsubscribes, then joins the pubsub thread. A thread that has already
    read the UNSUBSCRIBE's confirmation waits to be subscribed again: 60 s with RQ's own wait,
    which held a SIGTERMed worker past the crash test's limit."""
    worker = MailprocWorker([jobs.queue(jobs.DEFAULT, conn)], connection=conn)
    worker.subscribe()
    time.sleep(0.3)
    worker.pubsub.unsubscribe()     # the thread reads the confirmation ...
    time.sleep(0.5)                 # ... and waits to be subscribed again
    started = time.monotonic()
    worker.unsubscribe()
    assert time.monotonic() - started < 5
    assert not worker.pubsub_thread.is_alive()


def flaky_job(path: str) -> str:
    marker = Path(path, "failed-once")
    if not marker.exists():
        marker.touch()
        raise RuntimeError("transient trouble")
    return "ok"


def test_scheduler_queues_periodic_jobs_and_brings_retries_back(db, tmp_path, conn, redis_url):
    from rq import Retry

    from workers.scheduler import run_scheduler
    from workers.settings import ProcessSettings

    app = make_app(db, tmp_path, redis_url=redis_url)
    jobs.set_app(app)
    ingest(app, list(demo_raws().values())[:2])
    flaky = jobs.queue(jobs.DEFAULT, conn).enqueue(flaky_job, str(tmp_path),
                                                   retry=Retry(max=2, interval=1))
    run_worker(conn)
    assert flaky.get_status(refresh=True) == "scheduled"       # failed once, waiting to retry
    stop = threading.Event()
    settings = ProcessSettings(scheduler_lease_ttl=3, scheduler_tick=0.2, deliver_every=60,
                               sweep_every=60, probe_every=60, requeue_every=60)
    thread = threading.Thread(target=run_scheduler, args=(app, conn, settings, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while jobs.queue(jobs.DEFAULT, conn).count < 3:     # sweep, probe, and the retry
            assert time.monotonic() < deadline, jobs.queue_status(app)
            time.sleep(0.1)
        # A second scheduler is a standby while the first holds the lease.
        from mailproc.runners.lease import Lease
        assert Lease(conn, "scheduler", 3).acquire() is False
    finally:
        stop.set()
        thread.join()
    assert jobs.queue_status(app)["inbound"] == 1                # requeue found the stored mail
    run_worker(conn)
    assert flaky.get_status(refresh=True) == "finished" and flaky.return_value() == "ok"
    with db.transaction() as session:
        assert set(session.scalars(select(RawMessage.status))) == {RawStatus.PROCESSED}


def test_jobs_queued_before_the_new_tree_still_find_their_function():
    """RQ imports a job's function by the path it was queued with (`mailproc.jobs.*` in 0.1)."""
    from rq.utils import import_attribute

    for name in ("process_raw", "deliver", "sweep", "probe"):
        assert import_attribute(f"mailproc.jobs.{name}") is getattr(jobs, name)
