"""The source contract: fetched messages, per-folder checkpoints, the sink a source stores into."""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailproc.errors import SourceAuthError, SourceError
from mailproc.source.backoff import backoff_delay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchedMessage:
    mailbox: str  # configured mailbox name
    folder: str
    source_key: str  # unique within the mailbox: imap_source_key() (IMAP), Maildir unique name
    uidvalidity: int | None
    uid: int | None
    raw: bytes
    internal_date_at: datetime | None  # aware UTC: IMAP INTERNALDATE or file mtime

    def __repr__(self) -> str:  # the raw bytes are mail content: keep them out of logs and tracebacks
        return (
            f"FetchedMessage(mailbox={self.mailbox!r}, folder={self.folder!r}, "
            f"source_key={self.source_key!r}, size={len(self.raw)})"
        )


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


class IngestSink(Protocol):
    def checkpoint(self, mailbox: str, folder: str) -> Checkpoint | None: ...

    def store_batch(
        self,
        mailbox: str,
        folder: str,
        checkpoint: Checkpoint | None,
        messages: Sequence[FetchedMessage],
    ) -> None:
        """Commit raw bytes and the checkpoint in one transaction; idempotent on source_key and hash.

        Only after this returns may the source mark the messages processed on the server.
        """

    def record_attempt(self, mailbox: str, transport: str, ok: bool, error: str | None) -> None: ...


class Source(Protocol):
    name: str

    def poll_once(self, sink: IngestSink) -> int: ...

    def wait_for_mail(self, timeout: float, should_stop: Callable[[], bool] = ...) -> None: ...

    def close(self) -> None: ...


def run_source(
    source: Source,
    sink: IngestSink,
    should_stop: Callable[[], bool],
    *,
    idle_timeout: float = 60.0,
    backoff_base: float = 1.0,
    backoff_cap: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> None:
    """Poll, wait for mail, repeat until should_stop(); back off (capped, jittered) after failures.

    A SourceError never ends the loop: the mailbox may come back, and health bookkeeping already
    saw the failed attempt through the sink. Anything else is a bug and propagates.
    """
    failures = 0
    while not should_stop():
        try:
            count = source.poll_once(sink)
            failures = 0
            if count:
                log.info("source %s stored %d message(s)", source.name, count)
            if should_stop():
                break
            source.wait_for_mail(idle_timeout, should_stop)
        except SourceError as exc:
            failures += 1
            delay = backoff_delay(failures, base=backoff_base, cap=backoff_cap, rand=rand())
            level = logging.ERROR if isinstance(exc, SourceAuthError) else logging.WARNING
            log.log(level, "source %s failed (%s); retry %d in %.1fs", source.name, exc, failures, delay)
            source.close()
            if not should_stop():
                sleep(delay)
    source.close()


def imap_source_key(folder: str, uidvalidity: int, uid: int) -> str:
    """"<folder>/<uidvalidity>:<uid>": a UID means nothing outside its folder, and two folders
    may share a UIDVALIDITY (a mailbox moved to another folder must not find the old folder's
    keys and skip its mail as already stored)."""
    if len(folder) > 200:  # the column holds 500; such a name is still one folder
        folder = "sha1-" + hashlib.sha1(folder.encode()).hexdigest()
    return f"{folder}/{uidvalidity}:{uid}"
