"""The scheduler: one active copy (Redis lease) queues periodic jobs and repairs lost queues."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

from rq.scheduler import RQScheduler

from mailproc.runners import jobs
from mailproc.runners.lease import Lease
from workers.settings import ProcessSettings, load, setup_logging

log = logging.getLogger(__name__)


def run_scheduler(app, connection, settings: ProcessSettings, stop: threading.Event,
                  *, clock=time.monotonic) -> None:
    lease = Lease(connection, "scheduler", settings.scheduler_lease_ttl)
    periods = {"deliver": settings.deliver_every, "sweep": settings.sweep_every,
               "probe": settings.probe_every, "requeue": settings.requeue_every}
    last: dict[str, float] = {}
    retries = RQScheduler(list(jobs.QUEUES), connection=connection)
    try:
        while not stop.is_set():
            try:
                if lease.acquire():
                    _promote_retries(retries)
                    now = clock()
                    for duty, period in periods.items():
                        if now - last.get(duty, float("-inf")) >= period:
                            last[duty] = now
                            _run(app, connection, duty)
                else:
                    last.clear()  # a standby that takes over starts with a full round
            except Exception:  # noqa: BLE001 - the process boundary: log, carry on next tick
                log.exception("scheduler tick failed")
            stop.wait(min(settings.scheduler_tick, settings.scheduler_lease_ttl / 3))
    finally:
        retries.release_locks()
        lease.release()


def _promote_retries(retries: RQScheduler) -> None:
    """Jobs waiting for a retry interval go back on their queue when it has passed."""
    retries.acquire_locks()
    retries.enqueue_scheduled_jobs()


def _run(app, connection, duty: str) -> None:
    if duty == "deliver":
        jobs.enqueue_delivery(app, connection=connection)
    elif duty in ("sweep", "probe"):
        jobs.enqueue_periodic(app, duty, connection=connection)
    elif duty == "requeue":
        _cleanup_registries(connection)
        report = jobs.requeue(app, connection=connection)
        if report.raw_requeued or report.outbox_requeued:
            log.warning("requeue: %s", report)


def _cleanup_registries(connection) -> None:
    """Move jobs of dead workers out of `started` (RQ retries or fails them)."""
    from rq.registry import StartedJobRegistry

    for name in jobs.QUEUES:
        StartedJobRegistry(queue=jobs.queue(name, connection)).cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.scheduler", description=__doc__)
    parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    setup_logging()
    app = jobs.get_app()
    connection = jobs.redis_for(app)
    if connection is None:
        log.error("MAILPROC_REDIS_URL is not set: the scheduler needs Redis")
        return 2
    log.info("scheduler started")
    run_scheduler(app, connection, load(), stop)
    log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
