"""Forgetting stored mail: the words of messages, their raw bytes (rows or blob files) and
attachments nobody else has. Used by a privacy erase and by retention."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mailproc.models import Attachment, Blob, Message, MessagePrint, Quarantine, RawMessage

ERASED = "[erased]"


def forget_messages(session: Session, messages, *, addresses: bool = True) -> int:
    """Blank each message's words (subject, text, signature, name) and, with `addresses`,
    its sender and recipients; delete its attachments and the files nobody else has.
    Returns the attachments deleted."""
    ids = [m.id for m in messages]
    for m in messages:
        m.subject = m.body_text = m.new_text = m.signature = m.from_name = ""
        m.thread_reason = m.kind_reason = ""
        if addresses:
            m.from_addr, m.to_addrs, m.cc_addrs = ERASED, [], []
    if ids:        # fingerprints of their words: an index entry of theirs too
        session.execute(delete(MessagePrint).where(MessagePrint.message_pk.in_(ids)))
    attachments = list(session.scalars(select(Attachment).where(
        Attachment.message_id.in_(ids)))) if ids else []
    hashes = {a.sha256 for a in attachments}
    for a in attachments:
        session.delete(a)
    session.flush()
    for sha in hashes:
        if session.scalar(select(Attachment.id).where(Attachment.sha256 == sha).limit(1)) is None:
            session.execute(delete(Blob).where(Blob.sha256 == sha))
    return len(attachments)


def delete_raw(session: Session, raws) -> None:
    """Delete raw mail rows with their blob files, quarantine entries and links."""
    raw_ids = [r.id for r in raws]
    if not raw_ids:
        return
    session.execute(delete(Quarantine).where(Quarantine.raw_id.in_(raw_ids)))
    session.execute(update(Message).where(Message.raw_id.in_(raw_ids)).values(raw_id=None))
    session.execute(update(RawMessage).where(RawMessage.duplicate_of_id.in_(raw_ids))
                    .values(duplicate_of_id=None))
    for row in raws:
        if row.blob_path:
            Path(row.blob_path).unlink(missing_ok=True)
        session.delete(row)
    session.flush()


def drop_raw_bytes(row: RawMessage) -> None:
    """Keep a raw row (its key keeps the mail from being fetched again) without its bytes."""
    if row.blob_path:
        Path(row.blob_path).unlink(missing_ok=True)
    row.data, row.blob_path = None, None
