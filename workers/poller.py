"""The poller: one per mailbox, holding a Redis lease; fetches, stores, and enqueues processing.

Run two copies (on two machines) for a hot standby: the second waits for the lease and takes
over within its TTL when the first dies. Whoever takes over first queues every pending row of
the mailbox, so mail stored by a holder that died before enqueueing is not left behind.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import select

from mailproc.models import RawMessage, RawStatus
from mailproc.runners import jobs
from mailproc.runners.lease import Lease, LeaseKeeper
from mailproc.source.base import run_source
from mailproc.source.factory import build_source
from workers.settings import ProcessSettings, load, setup_logging

log = logging.getLogger(__name__)


@dataclass
class EnqueueingSink:
    """The raw store, plus: after each committed batch, queue the mailbox's new pending rows."""

    app: object
    store: object
    connection: object
    mailbox_id: int
    last_enqueued: int = 0

    def checkpoint(self, mailbox, folder):
        return self.store.checkpoint(mailbox, folder)

    def store_batch(self, mailbox, folder, checkpoint, messages: Sequence) -> None:
        self.store.store_batch(mailbox, folder, checkpoint, messages)
        self.enqueue_new()

    def record_attempt(self, mailbox, transport, ok, error) -> None:
        self.store.record_attempt(mailbox, transport, ok, error)

    def enqueue_new(self) -> int:
        """One drain job per batch: the mailbox's drainer takes all pending rows in order
        anyway; before it, `prepare` jobs that parse and embed the new rows on any worker."""
        with self.app.db.transaction() as session:
            new = list(session.scalars(select(RawMessage.id).where(
                RawMessage.mailbox_id == self.mailbox_id, RawMessage.status == RawStatus.PENDING,
                RawMessage.id > self.last_enqueued).order_by(RawMessage.id)))
        if not new:
            return 0
        newest = new[-1]
        jobs.enqueue_prepare(self.app, new, connection=self.connection)
        jobs.enqueue_raw(self.app, newest, connection=self.connection)
        self.last_enqueued = newest
        log.info("queued processing of mailbox %s up to raw message %d", self.mailbox_id, newest)
        return newest


def poll_mailbox(app, box, connection, settings: ProcessSettings, stop: threading.Event) -> None:
    """Stand by for the mailbox's lease; while holding it, poll and enqueue until stopped."""
    lease = Lease(connection, f"poller:{box.name}", settings.poller_lease_ttl)
    keeper = LeaseKeeper(lease)
    standby_logged = False
    while not stop.is_set():
        try:
            if not lease.acquire():
                if not standby_logged:
                    log.info("mailbox %s: standby (lease held by %s)", box.name, lease.holder())
                    standby_logged = True
                stop.wait(min(1.0, settings.poller_lease_ttl / 3))
                continue
            standby_logged = False
            keeper.start()
            try:
                _hold(app, box, connection, settings, stop, keeper)
            finally:
                keeper.stop()
                lease.release()
        except Exception:  # noqa: BLE001 - the process boundary: log, wait, try again
            log.exception("mailbox %s: poller round failed", box.name)
            stop.wait(settings.poller_lease_ttl / 3)


def _hold(app, box, connection, settings, stop, keeper) -> None:
    store = app.raw_store()
    with app.db.transaction() as session:
        mailbox_id = store.mailbox_id(session, box.name)
    sink = EnqueueingSink(app, store, connection, mailbox_id)
    log.info("mailbox %s: active poller", box.name)
    sink.enqueue_new()  # rows a dead predecessor stored but never queued
    source = build_source(app, box)
    try:
        run_source(source, sink, lambda: stop.is_set() or keeper.lost.is_set(),
                   idle_timeout=settings.poller_idle, sleep=stop.wait)
    finally:
        source.close()
    if keeper.lost.is_set():
        log.warning("mailbox %s: lease lost; back to standby", box.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.poller", description=__doc__)
    parser.add_argument("mailboxes", nargs="*",
                        help="mailbox names to poll (default: every configured mailbox)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    setup_logging()
    settings = load()
    app = jobs.get_app()
    connection = jobs.redis_for(app)
    if connection is None:
        log.error("MAILPROC_REDIS_URL is not set: the poller needs Redis (or use `mailproc run`)")
        return 2
    boxes = [b for b in app.settings.mailboxes if not args.mailboxes or b.name in args.mailboxes]
    unknown = set(args.mailboxes) - {b.name for b in boxes}
    if unknown or not boxes:
        log.error("no such mailbox: %s", ", ".join(sorted(unknown)) or "(none configured)")
        return 2
    threads = [threading.Thread(target=poll_mailbox, args=(app, box, connection, settings, stop),
                                name=f"poller-{box.name}") for box in boxes]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=0.5)
    log.info("poller stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
