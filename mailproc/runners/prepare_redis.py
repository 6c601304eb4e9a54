"""Prepare jobs' results in Redis (issue #18): what a `prepare` job on any worker leaves for
its mailbox's drain, and how the drain takes it (runners/prepare.py has the work itself).

Whoever starts on a message claims it for CLAIM seconds, so it is computed once: the drain
waits for a message a job is computing (woken by the job) instead of computing it again, and
a job skips one the drain took. A job that dies frees its claim when it lapses.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select

from mailproc.app import App
from mailproc.models import RawMessage, RawStatus
from mailproc.runners.prepare import MAX_BYTES, Prepared, dumps, loads, prepare_bytes, recipe
from mailproc.store.raw import load_raw

log = logging.getLogger(__name__)

TTL = 3600                # seconds a prepared result waits in Redis for its ordered step
CHUNK = 8                 # raw ids per prepare job
CLAIM = 3                 # seconds a row being prepared is claimed (a job that died frees it)


def redis_key(app: App, raw_id: int, what: str = "prepared") -> str:
    database = hashlib.sha256(app.db.url.encode()).hexdigest()[:12]
    return f"mailproc:{what}:{database}:{raw_id}"


def _claim(app: App, conn, raw_id: int, who: bytes) -> bool:
    """Claim `raw_id` for computing; False when a job or the drain has it. Whoever claims
    computes it, once: a job skips a row the drain computes itself, and the drain waits for
    a row a job is computing instead of computing it again."""
    return bool(conn.set(redis_key(app, raw_id, "preparing"), who, nx=True, ex=CLAIM))


def prepare_rows(app: App, raw_ids: list[int], conn) -> dict:
    """Prepare the pending ones of `raw_ids` and keep each result in Redis for TTL seconds.
    Never raises: a result that is not there is computed by the ordered step."""
    counts = {"prepared": 0, "skipped": 0, "failed": 0}
    try:
        with app.db.transaction() as session:
            rows = list(session.scalars(select(RawMessage).where(
                RawMessage.id.in_(raw_ids), RawMessage.status == RawStatus.PENDING,
                RawMessage.size <= MAX_BYTES)))
        how = recipe(app)
    except Exception:  # noqa: BLE001 - a runner boundary: the ordered step does the work
        log.warning("prepare %s: failed; the ordered step computes inline", raw_ids,
                    exc_info=True)
        return {**counts, "failed": len(raw_ids)}
    counts["skipped"] = len(raw_ids) - len(rows)
    for row in rows:
        claimed = False
        try:
            if not _claim(app, conn, row.id, b"job"):
                counts["skipped"] += 1
                continue
            claimed = True
            prepared = prepare_bytes(load_raw(row), row.received_at, app.clock.now(), how,
                                     app.db)
            if prepared is not None:
                conn.set(redis_key(app, row.id), dumps(prepared), ex=TTL)
                _signal(app, conn, row.id)
                counts["prepared"] += 1
                continue
        except Exception:  # noqa: BLE001 - as above, for one message
            log.warning("prepare raw message %s failed", row.id, exc_info=True)
            counts["failed"] += 1
        if claimed:        # no result is coming: the drain must not wait for one
            _release(app, conn, row.id)
    return counts


def _signal(app: App, conn, raw_id: int) -> None:
    """Wake a drain waiting for this row (fetch): its result is there, or none will come."""
    pipe = conn.pipeline(transaction=False)
    pipe.rpush(redis_key(app, raw_id, "ready"), b"1")
    pipe.expire(redis_key(app, raw_id, "ready"), 2 * CLAIM)
    pipe.execute()


def _release(app: App, conn, raw_id: int) -> None:
    try:
        conn.delete(redis_key(app, raw_id, "preparing"))
        _signal(app, conn, raw_id)
    except Exception:  # noqa: BLE001 - the claim then lapses after CLAIM seconds
        log.warning("could not release the claim on raw message %s", raw_id, exc_info=True)


def fetch(app: App, conn, raw_id: int) -> Prepared | None:
    """Take the prepared result of `raw_id` out of Redis. While a job is computing it, wait
    for its word (a claim lasts CLAIM seconds: a job that died frees the row). None when nobody
    is computing it (the drain claims it and computes it inline) or Redis does not answer."""
    if conn is None:
        return None
    key = redis_key(app, raw_id)
    try:
        while True:
            pipe = conn.pipeline(transaction=False)
            pipe.get(key)
            pipe.delete(key)
            blob, _ = pipe.execute()
            if blob is not None or _claim(app, conn, raw_id, b"drain"):
                return loads(blob)
            # A job has it: wait for its word (or for its claim to lapse), then look again.
            conn.blpop([redis_key(app, raw_id, "ready")], timeout=CLAIM)
    except Exception:  # noqa: BLE001 - Redis trouble only costs the inline computation
        log.warning("prepared result of raw message %s unavailable", raw_id, exc_info=True)
        return None
