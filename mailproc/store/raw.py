"""Raw mail storage: commit fetched bytes with the source checkpoint, once per message."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.clock import Clock
from mailproc.db import Database, advisory_xact_locks, is_postgres
from mailproc.fallback import health
from mailproc.models import Checkpoint as CheckpointRow, Mailbox, RawMessage, RawStatus
from mailproc.source.base import Checkpoint, FetchedMessage

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MSGID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID as written in the header block, cheaply, for dedupe bookkeeping only."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    m = _MSGID.search(head)
    if not m:
        return None
    value = re.sub(rb"\s+", b" ", m.group(1)).strip().decode("utf-8", "replace")
    value = _CONTROL.sub("", value).strip("<>")
    # Bookkeeping only: capped in bytes so no index (PostgreSQL's btree: 2,704 bytes) and no
    # text column (no NUL) can refuse the row and stall the mailbox's batch.
    return value.encode("utf-8")[:400].decode("utf-8", "ignore") or None


def mailbox_name(session: Session, mailbox_id: int | None) -> str:
    """The name of mailbox row `mailbox_id` ('' for none), read once per transaction: a
    mailbox row is never renamed, and a batch of the ordered step asks for each message."""
    if mailbox_id is None:
        return ""
    names = session.info.setdefault("mailbox_names", {})
    if mailbox_id not in names:
        names[mailbox_id] = session.scalar(
            select(Mailbox.name).where(Mailbox.id == mailbox_id)) or ""
    return names[mailbox_id]


@dataclass
class RawStore:
    """The IngestSink of the sources: raw bytes + checkpoint in one transaction."""

    db: Database
    clock: Clock
    blob_dir: Path
    blob_threshold: int = 1_000_000
    kind_by_mailbox: dict[str, str] | None = None

    def mailbox_id(self, session: Session, name: str) -> int:
        row = session.scalar(select(Mailbox).where(Mailbox.name == name))
        if row is None:
            kind = (self.kind_by_mailbox or {}).get(name, "imap")
            row = Mailbox(name=name, kind=kind, created_at=self.clock.now())
            session.add(row)
            session.flush()
        return row.id

    def checkpoint(self, mailbox: str, folder: str) -> Checkpoint | None:
        with self.db.transaction() as session:
            row = session.scalar(
                select(CheckpointRow).join(Mailbox, Mailbox.id == CheckpointRow.mailbox_id)
                .where(Mailbox.name == mailbox, CheckpointRow.folder == folder))
            return Checkpoint(row.uidvalidity, row.last_uid) if row else None

    def store_batch(self, mailbox: str, folder: str, checkpoint: Checkpoint | None,
                    messages: Sequence[FetchedMessage]) -> None:
        with self.db.transaction() as session:
            box_id = self.mailbox_id(session, mailbox)
            stored = self._store(session, box_id, messages)
            if checkpoint is not None:
                self._save_checkpoint(session, box_id, folder, checkpoint)
        if stored:
            log.info("stored %d new raw message(s) from %s/%s", stored, mailbox, folder)

    def store_one(self, mailbox: str, message: FetchedMessage) -> int | None:
        """Store one message outside a source (e.g. `mailproc import`); returns its raw id."""
        with self.db.transaction() as session:
            box_id = self.mailbox_id(session, mailbox)
            self._store(session, box_id, [message])
            return session.scalar(select(RawMessage.id).where(
                RawMessage.mailbox_id == box_id, RawMessage.source_key == message.source_key))

    def record_attempt(self, mailbox: str, transport: str, ok: bool, error: str | None) -> None:
        with self.db.transaction() as session:
            health.record_attempt(session, mailbox, transport, ok=ok, error=error,
                                  now=self.clock.now())

    def _store(self, session: Session, box_id: int, messages: Sequence[FetchedMessage]) -> int:
        keys = [m.source_key for m in messages]
        known = set(session.scalars(select(RawMessage.source_key).where(
            RawMessage.mailbox_id == box_id, RawMessage.source_key.in_(keys))))
        hashes = {m.source_key: hashlib.sha256(m.raw).hexdigest() for m in messages}
        if is_postgres(session.get_bind()):
            # Two pollers storing the same bytes at once (one mail to two mailboxes) must not
            # both see "no first copy": serialise on each digest until commit (sorted: no
            # deadlock). SQLite's BEGIN IMMEDIATE serialises writers already.
            advisory_xact_locks(session, "mailproc:raw-sha256", sorted(set(hashes.values())))
        first_copy = dict(session.execute(
            select(RawMessage.sha256, RawMessage.id).where(
                RawMessage.sha256.in_(set(hashes.values())),
                RawMessage.duplicate_of_id.is_(None))).all())
        now = self.clock.now()
        stored = 0
        unflushed: dict[str, RawMessage] = {}  # first copies in this batch, ids not yet known
        for message in messages:
            if message.source_key in known:
                continue  # already committed: a retry after a crash, or a re-scan
            known.add(message.source_key)
            digest = hashes[message.source_key]
            row = RawMessage(
                mailbox_id=box_id, source_key=message.source_key, sha256=digest,
                size=len(message.raw), header_message_id=header_message_id(message.raw),
                received_at=message.internal_date_at or now, status=RawStatus.PENDING,
            )
            if digest in unflushed:
                # Rare (the same bytes twice in one batch): the first copy needs its id now.
                session.flush()
                first_copy.update((d, r.id) for d, r in unflushed.items())
                unflushed.clear()
            if digest in first_copy:
                # The very same bytes again (UIDVALIDITY reset, copy in two folders): keep the
                # key so it is never fetched again, but process the content only once.
                row.duplicate_of_id = first_copy[digest]
                row.status = RawStatus.PROCESSED
                row.processed_at = now
            elif len(message.raw) > self.blob_threshold:
                row.blob_path = self._write_blob(digest, message.raw)
            else:
                row.data = message.raw
            session.add(row)
            if row.duplicate_of_id is None:
                unflushed[digest] = row
            stored += 1
        # One flush for the batch: the ORM sends the rows as multi-row INSERTs.
        session.flush()
        return stored

    def _write_blob(self, digest: str, raw: bytes) -> str:
        # Written and fsynced before the row commits: a committed row never points at nothing.
        path = self.blob_dir / digest[:2] / f"{digest}.eml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return str(path)

    def _save_checkpoint(self, session: Session, box_id: int, folder: str, cp: Checkpoint) -> None:
        row = session.scalar(select(CheckpointRow).where(
            CheckpointRow.mailbox_id == box_id, CheckpointRow.folder == folder))
        now = self.clock.now()
        if row is None:
            session.add(CheckpointRow(mailbox_id=box_id, folder=folder, uidvalidity=cp.uidvalidity,
                                      last_uid=cp.last_uid, updated_at=now))
        elif (row.uidvalidity, row.last_uid) != (cp.uidvalidity, cp.last_uid):
            if row.uidvalidity == cp.uidvalidity and cp.last_uid < row.last_uid:
                return  # never move a checkpoint backwards within one UIDVALIDITY
            row.uidvalidity, row.last_uid, row.updated_at = cp.uidvalidity, cp.last_uid, now


def load_raw(row: RawMessage) -> bytes:
    """The stored bytes of a raw message, from the database or the blob directory."""
    if row.data is not None:
        return row.data
    if row.blob_path:
        return Path(row.blob_path).read_bytes()
    raise FileNotFoundError(f"raw message {row.id} has neither data nor a blob path")
