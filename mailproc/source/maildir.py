"""Maildir source, the embedded default: store every message, then move it into `.Processed/`.

Processed mail is moved by one atomic rename into the Maildir++ subfolder `.Processed/cur/`,
keeping its unique name and info flags. So everything still in `new/` or `cur/` is unprocessed,
a poll never rescans old mail, and a mail client (or Dovecot) sees a "Processed" folder.
A crash between store and rename leaves the file in place: it is stored again (the sink
dedupes on the unique name) and then moved.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mailproc.errors import SourceError
from mailproc.source.base import FetchedMessage, IngestSink

log = logging.getLogger(__name__)

TRANSPORT = "maildir"
FOLDER = "INBOX"
PROCESSED = ".Processed"
_WATCH_INTERVAL = 0.2


def unique_name(filename: str) -> str:
    """The Maildir unique name: the file name without its `:2,<flags>` info ("!" on some systems)."""
    for sep in (":", "!"):
        head, found, info = filename.rpartition(sep)
        if found and info.startswith("2,"):
            return head
    return filename


def _processed_name(filename: str) -> str:
    """A file from new/ has no info yet; cur/ requires one ("2," with no flags)."""
    return filename if unique_name(filename) != filename else f"{filename}:2,"


class MaildirSource:
    def __init__(self, name: str, path: Path | str, batch_size: int = 200) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = name
        self.path = Path(path)
        self.batch_size = batch_size
        self.processed_path = self.path / PROCESSED
        self._skipped: set[str] = set()  # unreadable last round: do not let them wake wait_for_mail

    def ensure(self) -> None:
        """Create the Maildir and its `.Processed` folder (new/cur/tmp each) if missing."""
        for root in (self.path, self.processed_path):
            for sub in ("new", "cur", "tmp"):
                (root / sub).mkdir(parents=True, exist_ok=True)
        # Dovecot's Maildir++ layout recognises a folder by this marker file
        (self.processed_path / "maildirfolder").touch(exist_ok=True)

    # -- Source protocol -------------------------------------------------------------------
    def poll_once(self, sink: IngestSink) -> int:
        try:
            self.ensure()
            pending = self._pending()
        except OSError as exc:
            error = f"Maildir {self.path} of mailbox {self.name!r} is not usable: {exc}"
            sink.record_attempt(self.name, TRANSPORT, False, error)
            raise SourceError(error) from exc
        stored = 0
        skipped: set[str] = set()
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            messages, files = self._read(batch, skipped)
            if not messages:
                continue
            sink.store_batch(self.name, FOLDER, None, messages)
            self._mark(files)
            stored += len(messages)
        self._skipped = skipped
        sink.record_attempt(self.name, TRANSPORT, True, None)
        return stored

    def wait_for_mail(self, timeout: float, should_stop: Callable[[], bool] = lambda: False,
                      ) -> None:
        """Return once `new/` changes (or holds mail we did not skip), after `timeout`, or
        soon after `should_stop()` turns true."""
        new = self.path / "new"
        deadline = time.monotonic() + timeout
        try:
            with os.scandir(new) as it:
                waiting = [
                    e.name for e in it
                    if not e.name.startswith(".") and e.name not in self._skipped and e.is_file(follow_symlinks=False)
                ]
            if waiting:
                return
            seen = new.stat().st_mtime_ns
        except OSError:   # no new/ (yet): wait, but not past a stop
            while (remaining := deadline - time.monotonic()) > 0 and not should_stop():
                time.sleep(min(_WATCH_INTERVAL, remaining))
            return
        while (remaining := deadline - time.monotonic()) > 0 and not should_stop():
            time.sleep(min(_WATCH_INTERVAL, remaining))
            try:
                if new.stat().st_mtime_ns != seen:
                    return
            except OSError:
                return

    def close(self) -> None:
        """Nothing is held open between polls."""

    # -- internals -------------------------------------------------------------------------
    def _pending(self) -> list[Path]:
        """Files in new/ and cur/, oldest first; tmp/ is mail still being delivered."""
        entries = []
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as it:
                for entry in it:
                    if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                        continue
                    try:
                        entries.append((entry.stat().st_mtime_ns, entry.name, Path(entry.path)))
                    except FileNotFoundError:
                        continue  # taken by someone else meanwhile
        entries.sort()
        return [path for _, _, path in entries]

    def _read(self, paths: Sequence[Path], skipped: set[str]) -> tuple[list[FetchedMessage], list[Path]]:
        messages, files = [], []
        seen_keys: set[str] = set()
        for path in paths:
            key = unique_name(path.name)
            if key in seen_keys:
                continue  # same message in new/ and cur/ (a client mid-rename): one copy is enough
            try:
                raw = path.read_bytes()
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue  # moved away since the listing: not ours to handle now
            except OSError as exc:
                log.warning("Maildir %s: skipping %s this round: %s", self.name, path.name, exc)
                skipped.add(path.name)
                continue
            seen_keys.add(key)
            messages.append(
                FetchedMessage(
                    mailbox=self.name,
                    folder=FOLDER,
                    source_key=key,
                    uidvalidity=None,
                    uid=None,
                    raw=raw,
                    internal_date_at=datetime.fromtimestamp(mtime, UTC),
                )
            )
            files.append(path)
        return messages, files

    def _mark(self, files: Sequence[Path]) -> None:
        target = self.processed_path / "cur"
        for path in files:
            try:
                os.rename(path, target / _processed_name(path.name))
            except FileNotFoundError:
                log.info("Maildir %s: %s vanished before it was marked", self.name, path.name)
            except OSError as exc:
                # stored already; it is stored again (deduped) and re-marked next round
                log.warning("Maildir %s: could not mark %s processed: %s", self.name, path.name, exc)
