"""Arrival order per mailbox across many workers: one drainer per mailbox, locks that die with it.

Why a mailbox lock and not a per-case lock: the case of a message is only known after it is
parsed and threaded, and a reply must never be threaded before the message that opens its case.
So the one drainer holding a mailbox's lock processes that mailbox's pending rows strictly in id
(= arrival) order; other jobs for the same mailbox see the lock taken and leave, because the
holder re-checks for pending rows after releasing. The lock is a PostgreSQL session advisory lock
(or an flock next to a SQLite file): the operating system or the server frees it the moment its
process dies, so a SIGKILLed drainer blocks nobody.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from mailproc.errors import MailprocError
from mailproc.models import RawMessage, RawStatus

log = logging.getLogger(__name__)
BATCH = 200
LOCK_SPACE = ":mailproc.inbound"


class MailboxLock:
    """A non-blocking exclusive lock on one mailbox's processing order."""

    def __init__(self, db, mailbox_id: int | None) -> None:
        self.db = db
        self.mailbox_id = mailbox_id or 0
        self._conn = None
        self._fh = None

    def try_acquire(self) -> bool:
        if self.db.engine.dialect.name == "postgresql":
            conn = self.db.engine.connect()
            # Schemas share one advisory-lock space per database; key by schema too.
            got = conn.execute(text(
                "SELECT pg_try_advisory_lock(hashtext(current_schema() || :space), :box)"),
                {"space": LOCK_SPACE, "box": self.mailbox_id}).scalar()
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            return bool(got)
        path = _lock_path(self.db.url, self.mailbox_id)
        fh = open(path, "a+b")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text(
                    "SELECT pg_advisory_unlock(hashtext(current_schema() || :space), :box)"),
                    {"space": LOCK_SPACE, "box": self.mailbox_id})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def is_free(self) -> bool:
        """Nobody is draining this mailbox right now (a probe: take and give back)."""
        if self.try_acquire():
            self.release()
            return True
        return False


def _lock_path(url: str, mailbox_id: int) -> Path:
    database = make_url(url).database or ""
    base = Path(database) if database and database != ":memory:" else Path(
        os.environ.get("TMPDIR", "/tmp")) / "mailproc"
    base.parent.mkdir(parents=True, exist_ok=True)
    return base.with_name(f"{base.name}.inbound-{mailbox_id}.lock")


@dataclass
class DrainReport:
    mailbox_id: int | None
    drained: bool = False          # False: another live drainer holds the mailbox
    outcomes: list = field(default_factory=list)


def _pending_filter(mailbox_id: int | None):
    box = RawMessage.mailbox_id.is_(None) if mailbox_id is None else \
        RawMessage.mailbox_id == mailbox_id
    return box, RawMessage.status == RawStatus.PENDING


def pending_ids(db, mailbox_id: int | None, limit: int = BATCH) -> list[int]:
    with db.transaction() as session:
        return list(session.scalars(select(RawMessage.id).where(*_pending_filter(mailbox_id))
                                    .order_by(RawMessage.id).limit(limit)))


def drain_mailbox(db, mailbox_id: int | None,
                  process: Callable[[list[int]], list]) -> DrainReport:
    """Process every pending row of one mailbox in id order, unless a live drainer already is.

    `process(raw_ids)` returns the Outcomes (runners.inbound) of the rows it took, in order,
    stopping after one whose outcome is "retry": that stops the drain, because later rows may
    thread to it; the caller raises so the job is retried later.
    """
    report = DrainReport(mailbox_id)
    if not pending_ids(db, mailbox_id, limit=1):
        return report
    while True:
        lock = MailboxLock(db, mailbox_id)
        if not lock.try_acquire():
            # The holder re-checks for pending rows after it lets go, so ours is covered.
            return report
        report.drained = True
        try:
            while ids := pending_ids(db, mailbox_id):
                outcomes = process(ids)
                report.outcomes += outcomes
                last = outcomes[-1]
                if getattr(last, "result", "") == "retry":
                    raise MailprocError(
                        f"raw message {last.raw_id} failed and will be retried before the rest "
                        f"of mailbox {mailbox_id}: {getattr(last, 'reason', '')}")
        finally:
            lock.release()
        # A row committed while we held the lock but after our last query would otherwise wait
        # for the next sweep: its own job saw our lock and left.
        if not pending_ids(db, mailbox_id, limit=1):
            return report
