"""RQ job entry points (process a raw message, deliver, sweep, probe); inline without Redis.

Jobs take ids, never objects, and are idempotent: the database is the source of truth, a job
that runs twice finds its work done, and `requeue()` rebuilds lost queue entries from the
database. Queues: `inbound` (stored raw messages), `outbound` (outbox delivery), `default`
(sweeps and probes).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select

from mailproc import config
from mailproc.app import App
from mailproc.fallback.probe import probe_all
from mailproc.models import OutboundMail, OutboxStatus, RawMessage, RawStatus
from mailproc.outbox.compose import render_held
from mailproc.runners import inbound, prepare_redis
from mailproc.runners.drain import MailboxLock, drain_mailbox
from mailproc.runners.outbound import deliver_due
from mailproc.runners.periodic import sweep as periodic_sweep

log = logging.getLogger(__name__)

INBOUND, OUTBOUND, DEFAULT = "inbound", "outbound", "default"
QUEUES = (INBOUND, OUTBOUND, DEFAULT)
# Transient trouble (database restart, SMTP outage) is retried by RQ; the pipeline itself
# quarantines a message that keeps failing, so a retry never loops forever.
RETRY_INTERVALS = (5, 30, 120, 600)
JOB_TIMEOUT = 600

_app = None


def set_app(app) -> None:
    """Use this App for jobs in this process (workers, tests, benchmarks)."""
    global _app
    _app = app


def get_app():
    """The process-wide App, built once from MAILPROC_CONFIG and the environment."""
    global _app
    if _app is None:
        _app = App.create(config.load())
    return _app


def redis_for(app):
    import redis

    if not app.settings.redis_url:
        return None
    return redis.Redis.from_url(app.settings.redis_url, socket_timeout=30,
                                socket_connect_timeout=10, health_check_interval=30)


def queue(name: str, connection):
    from rq import Queue

    return Queue(name, connection=connection, default_timeout=JOB_TIMEOUT)


def _retry():
    from rq import Retry

    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


# -- the jobs ---------------------------------------------------------------------------------

def process_raw(raw_id: int) -> dict:
    """Process raw message `raw_id` and everything pending before and after it in its mailbox.

    One job per stored batch is enough: the mailbox's drainer takes every pending row in
    arrival order, so the id only says which mailbox and which mail caused the job.
    """
    app = get_app()
    with app.db.transaction() as session:
        row = session.get(RawMessage, raw_id)
        if row is None:
            return {"raw_id": raw_id, "result": "gone"}
        mailbox_id = row.mailbox_id
    conn = redis_for(app)    # prepared results (prepare jobs) wait there; optional
    report = drain_mailbox(app.db, mailbox_id, lambda ids: inbound.process_many(
        app, ids, lambda rid, counted=(): prepare_redis.fetch(app, conn, rid)))
    counts = Counter(o.result for o in report.outcomes)
    if counts.get("processed"):
        # New outbox rows are likely (acknowledgements); do not wait for the scheduler's tick.
        enqueue_delivery(app)
    return {"raw_id": raw_id, "result": "drained" if report.drained else "covered",
            "mailbox_id": mailbox_id, **counts}


def prepare(raw_ids: list[int]) -> dict:
    """Parse and embed these raw messages ahead of their mailbox's drain, without its lock;
    the results wait in Redis (runners/prepare_redis.py). Never fails: the drain computes inline
    whatever is missing."""
    app = get_app()
    app.prepare()
    return prepare_redis.prepare_rows(app, raw_ids, redis_for(app))


def deliver(limit: int = 100) -> dict:
    """Deliver due outbox rows; the claim lease keeps concurrent deliverers off each other."""
    app = get_app()
    lease = os.environ.get("MAILPROC_OUTBOX_LEASE_SECONDS")
    results = deliver_due(app, limit=limit, worker=f"rq:{os.getpid()}",
                          lease=timedelta(seconds=float(lease)) if lease else None)
    counts = Counter(r.result for r in results)
    if len(results) >= limit:
        enqueue_delivery(app)  # more may be due: keep draining in another job
    return dict(counts)


def sweep() -> dict:
    """Periodic housekeeping: escalation sweep and mail-health alerts, held templated mail."""
    app = get_app()
    return {"escalation": len(periodic_sweep(app) or []),
            "rendered_held": render_held(app, app.clock.now())}


def probe() -> dict:
    """Mail-health probe: log in to each mailbox and greet the SMTP server, record the result."""
    return probe_all(get_app())


# -- enqueueing -------------------------------------------------------------------------------

def enqueue_raw(app, raw_id: int, *, connection=None) -> None:
    """Queue `process_raw` for the newest row of a stored batch; inline when no Redis."""
    conn = connection or redis_for(app)
    if conn is None:
        set_app(app)
        process_raw(raw_id)
        return
    # The id names the row, so `requeue` can tell which mailboxes a queue already covers.
    queue(INBOUND, conn).enqueue(process_raw, raw_id,
                                 job_id=f"raw-{raw_id}-{uuid.uuid4().hex[:8]}", retry=_retry(),
                                 result_ttl=300, failure_ttl=7 * 86400)


def enqueue_prepare(app, raw_ids: list[int], *, connection=None) -> int:
    """Queue `prepare` jobs on the default queue for new raw rows, a few ids each; nothing
    without Redis (the embedded loop has its own pool). Returns the number of jobs."""
    conn = connection or redis_for(app)
    if conn is None or not raw_ids:
        return 0
    q = queue(DEFAULT, conn)
    chunks = [raw_ids[i:i + prepare_redis.CHUNK] for i in range(0, len(raw_ids), prepare_redis.CHUNK)]
    for chunk in chunks:
        # No retry: a lost or failed prepare only costs the drain its own computation.
        q.enqueue(prepare, chunk, job_id=f"prepare-{chunk[0]}-{uuid.uuid4().hex[:8]}",
                  result_ttl=60, failure_ttl=3600, job_timeout=300)
    return len(chunks)


def enqueue_delivery(app, *, connection=None) -> bool:
    """One queued delivery job is enough: it claims everything due when it starts."""
    conn = connection or redis_for(app)
    if conn is None:
        set_app(app)
        deliver()
        return True
    q = queue(OUTBOUND, conn)
    if any(j.startswith("deliver-") for j in q.get_job_ids()):
        return False
    q.enqueue(deliver, job_id=f"deliver-{uuid.uuid4().hex[:8]}", retry=_retry(),
              result_ttl=60, failure_ttl=7 * 86400)
    return True


def enqueue_periodic(app, name: str, *, connection=None) -> bool:
    """Queue `sweep` or `probe` on the default queue unless one is already waiting."""
    func = {"sweep": sweep, "probe": probe}[name]
    conn = connection or redis_for(app)
    if conn is None:
        set_app(app)
        func()
        return True
    q = queue(DEFAULT, conn)
    if any(j.startswith(f"{name}-") for j in q.get_job_ids()):
        return False
    q.enqueue(func, job_id=f"{name}-{uuid.uuid4().hex[:8]}", result_ttl=300,
              failure_ttl=7 * 86400)
    return True


# -- what the database says is pending but no queue holds ------------------------------------

@dataclass(frozen=True)
class RequeueReport:
    raw_pending: int        # pending raw rows in the database
    raw_requeued: int       # rows given a new job (their mailbox had no queued job, no drainer)
    outbox_due: int         # due outbox rows
    outbox_requeued: bool   # a delivery job was queued for them


def requeue(app, *, connection=None) -> RequeueReport:
    """Re-enqueue work the database says is pending but no queue holds (e.g. Redis lost data).

    A mailbox counts as held when a queued (or retry-scheduled) inbound job names one of its
    rows, or when a live drainer holds its lock: any drainer processes all its pending rows.
    Otherwise one job for its newest pending row is enough to drain the whole mailbox.
    """
    conn = connection or redis_for(app)
    now = app.clock.now()
    with app.db.transaction() as session:
        pending = session.execute(
            select(RawMessage.mailbox_id, RawMessage.id).where(
                RawMessage.status == RawStatus.PENDING).order_by(RawMessage.id)).all()
        due = session.scalar(select(func.count()).select_from(OutboundMail).where(or_(
            (OutboundMail.status == OutboxStatus.PENDING) & (OutboundMail.next_attempt_at <= now),
            (OutboundMail.status == OutboxStatus.SENDING) & (OutboundMail.lease_until <= now))))
    by_box: dict[int | None, list[int]] = {}
    for box, raw_id in pending:
        by_box.setdefault(box, []).append(raw_id)
    held = held_mailboxes(app, conn) if conn is not None else set()
    requeued = 0
    for box, ids in by_box.items():
        if box in held or not MailboxLock(app.db, box).is_free():
            continue
        enqueue_raw(app, ids[-1], connection=conn)
        requeued += len(ids)
        log.warning("requeue: mailbox %s had %d pending raw message(s) no queue held",
                    box, len(ids))
    queued_delivery = bool(due) and enqueue_delivery(app, connection=conn)
    return RequeueReport(len(pending), requeued, due or 0, queued_delivery)


def held_mailboxes(app, conn) -> set[int | None]:
    """Mailboxes with an inbound job that is queued or scheduled for a retry."""
    ids = held_raw_ids(conn)
    if not ids:
        return set()
    with app.db.transaction() as session:
        return set(session.scalars(select(RawMessage.mailbox_id).where(RawMessage.id.in_(ids))
                                   .distinct()))


def held_raw_ids(conn) -> set[int]:
    """Raw ids named by inbound jobs that are queued or scheduled for a retry."""
    from rq.registry import DeferredJobRegistry, ScheduledJobRegistry

    q = queue(INBOUND, conn)
    ids = list(q.get_job_ids())
    ids += ScheduledJobRegistry(queue=q).get_job_ids()
    ids += DeferredJobRegistry(queue=q).get_job_ids()
    held = set()
    for job_id in ids:
        parts = job_id.split("-")
        if len(parts) == 3 and parts[0] == "raw" and parts[1].isdigit():
            held.add(int(parts[1]))
    return held


# -- status -----------------------------------------------------------------------------------

def queue_status(app) -> dict:
    """Jobs waiting per queue, plus started, scheduled (retries) and failed across queues."""
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    conn = redis_for(app)
    if conn is None:
        return {}
    out: dict = {}
    started = scheduled = failed = 0
    for name in QUEUES:
        q = queue(name, conn)
        out[name] = q.count
        started += StartedJobRegistry(queue=q).count
        scheduled += ScheduledJobRegistry(queue=q).count
        failed += FailedJobRegistry(queue=q).count
    out.update(started=started, scheduled=scheduled, failed=failed)
    return out


def failed_jobs(app, limit: int = 20) -> list[dict]:
    """The newest failed jobs with their last error line, for `status` and `requeue`."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    conn = redis_for(app)
    rows = []
    for name in QUEUES:
        registry = FailedJobRegistry(queue=queue(name, conn))
        for job_id in registry.get_job_ids()[-limit:]:
            job = Job.fetch(job_id, connection=conn) if Job.exists(job_id, conn) else None
            exc = (job.latest_result().exc_string if job and job.latest_result() else "") or ""
            rows.append({"queue": name, "id": job_id,
                         "error": exc.strip().splitlines()[-1] if exc.strip() else ""})
    return rows[-limit:]


def requeue_failed(app, *, connection=None) -> int:
    """Put every failed job back on its queue (after fixing what made it fail)."""
    from rq.registry import FailedJobRegistry

    conn = connection or redis_for(app)
    count = 0
    for name in QUEUES:
        registry = FailedJobRegistry(queue=queue(name, conn))
        for job_id in registry.get_job_ids():
            registry.requeue(job_id)
            count += 1
    return count
