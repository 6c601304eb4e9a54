"""The transport contract, and the file transport: one .eml per outgoing mail (embedded default)."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Protocol

from mailproc.errors import DeliveryError, TransientDeliveryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """What a transport needs of one outbox row."""

    outbox_id: int
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes = field(repr=False)
    message_id: str


@dataclass(frozen=True)
class SendOutcome:
    """The server's verdict on one message: accepted by some or all recipients, or an error.

    `refused` are recipients refused for good (5xx at RCPT) while others accepted;
    `deferred` were refused temporarily (4xx) while others accepted.
    """

    accepted: tuple[str, ...] = ()
    refused: Mapping[str, str] = field(default_factory=dict)
    deferred: Mapping[str, str] = field(default_factory=dict)
    error: DeliveryError | None = None
    # False when the transport never reached a server for this item (it gave up on the batch).
    attempted: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None


Before = Callable[[Outgoing], bool]
After = Callable[[Outgoing, SendOutcome], None]


class Transport(Protocol):
    name: str
    target: str

    def deliver(self, items: Iterable[Outgoing], *, before: Before, after: After) -> None:
        """Send each item; `before(item)` False skips it; `after` is called right after each
        verdict, before the next item is sent, so the caller can commit it at once."""


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def file_name(message_id: str) -> str:
    """A file name from a Message-ID: the same id always gives the same name."""
    name = _UNSAFE.sub("_", message_id.strip().strip("<>"))[:200].lstrip(".") or "message"
    return f"{name}.eml"


class FileTransport:
    """Writes each message to `<dir>/<message-id>.eml` (tmp + rename, so a reader never sees
    half a file); delivering the same row again overwrites the same file."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.target = f"file:{self.directory}"

    def write(self, item: Outgoing) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / file_name(item.message_id)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(item.raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def deliver(self, items: Iterable[Outgoing], *, before: Before, after: After) -> None:
        for item in items:
            if not before(item):
                continue
            try:
                path = self.write(item)
            except OSError as exc:
                after(item, SendOutcome(error=TransientDeliveryError(
                    f"cannot write to {self.directory}: {exc.strerror or exc}")))
                continue
            log.info("outbox %s written to %s", item.outbox_id, path)
            after(item, SendOutcome(accepted=item.recipients))
