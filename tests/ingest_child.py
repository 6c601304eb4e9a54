"""A child process for crash tests: ingest from IMAP and die with SIGKILL at a chosen point.

Usage: python -m tests.ingest_child MODE BATCH
MODE is "before_commit" (killed inside store_batch before anything is written) or
"after_commit" (killed after the batch and checkpoint are committed, before the server
marks them). BATCH is which batch (1-based) dies. Configuration comes from the
environment like the real command (MAILPROC_CONFIG, MAILPROC_DATABASE_URL, ...).
"""

from __future__ import annotations

import os
import signal
import sys

from mailproc import config
from mailproc.app import App
from mailproc.source.factory import build_source


class DyingSink:
    def __init__(self, real, mode: str, batch: int) -> None:
        self.real, self.mode, self.batch, self.seen = real, mode, batch, 0

    def checkpoint(self, mailbox, folder):
        return self.real.checkpoint(mailbox, folder)

    def record_attempt(self, *args):
        return self.real.record_attempt(*args)

    def store_batch(self, mailbox, folder, checkpoint, messages):
        self.seen += 1
        if self.seen == self.batch and self.mode == "before_commit":
            os.kill(os.getpid(), signal.SIGKILL)
        self.real.store_batch(mailbox, folder, checkpoint, messages)
        if self.seen == self.batch and self.mode == "after_commit":
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    mode, batch = sys.argv[1], int(sys.argv[2])
    app = App.create(config.load())
    app.db.upgrade()
    (box,) = app.settings.mailboxes
    source = build_source(app, box)
    source.poll_once(DyingSink(app.raw_store(), mode, batch))
    sys.exit(3)  # never reached when the kill fires


if __name__ == "__main__":
    main()
