"""The RQ worker: runs inbound, outbound and default jobs against the configured database."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import uuid

from rq import SimpleWorker

from mailproc.runners import jobs
from workers.settings import QUEUES, load, setup_logging

log = logging.getLogger(__name__)
# Delivery first: one queued delivery job covers all due mail, and a backlog of inbound mail
# must not hold back the acknowledgements of mail already processed.
WORKER_QUEUES = tuple(QUEUES)
PUBSUB_WAIT = 1.0


class MailprocWorker(SimpleWorker):
    """No fork per job: the App (engine pool, templates, KB index) is built once per process.

    Each job still works in its own transactions (`Database.transaction()`), and SIGTERM is a
    warm shutdown: the current job finishes, then the worker exits.
    """

    def subscribe(self) -> None:
        """RQ's own, with the pubsub thread waking every `PUBSUB_WAIT` seconds, not 60.

        The warm shutdown joins that thread without a time limit. When the thread had read
        the confirmation of the shutdown's UNSUBSCRIBE before being told to stop, it waited
        60 s to be subscribed again, and the worker with it: the crash test's SIGTERM met
        this once and SIGKILLed the worker after 60 s."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_WAIT, daemon=True, exception_handler=self._pubsub_exception_handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.worker", description=__doc__)
    parser.add_argument("queues", nargs="*", default=list(WORKER_QUEUES),
                        help="queues in priority order (default: outbound inbound default)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)
    setup_logging()
    settings = load()
    app = jobs.get_app()
    conn = jobs.redis_for(app)
    if conn is None:
        log.error("MAILPROC_REDIS_URL is not set: workers need Redis (or use `mailproc run`)")
        return 2
    queues = [jobs.queue(name, conn) for name in args.queues]
    name = f"mailproc-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
    worker = MailprocWorker(queues, connection=conn, name=name,
                            maintenance_interval=int(settings.worker_maintenance))
    log.info("worker %s on queues %s", name, ", ".join(args.queues))
    # No RQ scheduler child here: a SIGKILLed worker would orphan it. The scheduler process
    # moves retry-scheduled jobs back onto their queues instead.
    worker.work(burst=args.burst, with_scheduler=False,
                logging_level=os.environ.get("MAILPROC_LOG_LEVEL", "info").upper())
    return 0


def leave(code: int) -> None:
    """Exit once the warm shutdown is done: every job's work is committed by then. Seen once
    in many crash-test runs: a worker that had logged its shutdown never exited, held at
    interpreter exit by something it had started (a pubsub or pool thread), until SIGKILL.
    Logs are flushed first; nothing else is left to do."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    leave(main())
