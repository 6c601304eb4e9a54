"""A stored message: its row, its references and attachments, and the ids they use."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from mailproc.classify.rules import NO_CASE_KINDS, Classification
from mailproc.errors import MailprocError
from mailproc.models import (
    Attachment, Blob, Case, Direction, Message, MessagePrint, MessageRef, RawMessage,
)
from mailproc.parse.message import Attachment as ParsedAttachment, ParsedMessage
from mailproc.thread.prints import fingerprints
from mailproc.thread.rules import ThreadMatch


_INSERT_MESSAGE = insert(Message.__table__)
_INSERT_PRINTS = insert(MessagePrint.__table__)
_INSERT_REFS = insert(MessageRef.__table__)
_INSERT_ATTACHMENTS = insert(Attachment.__table__)
_HELD_BLOBS = select(Blob.sha256).where(Blob.sha256.in_(bindparam("hashes", expanding=True)))
_INSERT_BLOB = {postgres: (pg_insert if postgres else sqlite_insert)(Blob)
                .on_conflict_do_nothing(index_elements=["sha256"]) for postgres in (False, True)}


def bare_id(message_id: str) -> str:
    """Message-IDs are stored without angle brackets."""
    return message_id.strip().strip("<>")


def store_message(session: Session, row: RawMessage, msg: ParsedMessage,
                  verdict: Classification, match: ThreadMatch, case: Case | None,
                  now: datetime, *, prints: tuple[int, ...] | None = None) -> Message:
    """The message's row and its references, fingerprints and files. `prints`: the
    fingerprints of msg.new_text when they were computed ahead.

    The row is written by a Core insert and the Message returned is made persistent from
    the same values (every column given: nothing left to load), so the message costs no
    unit of work of its own; the case's changes go with the next flush."""
    if (case is not None and verdict.kind not in NO_CASE_KINDS and verdict.kind != "agent"
            and match.rule != "copy"):
        # Reopening and the other customer-side status changes: mailproc.cases.customer_turn.
        case.last_customer_message_at = now
    values = dict(
        raw_id=row.id, case_id=case.id if case else None, direction=Direction.IN,
        kind=verdict.kind, kind_reason=verdict.reason, message_id=msg.message_id,
        in_reply_to=list(msg.in_reply_to), references=list(msg.references),
        subject=msg.subject, from_addr=msg.from_addr, from_name=msg.from_name,
        to_addrs=[a for _, a in msg.to], cc_addrs=[a for _, a in msg.cc], date_at=msg.date_at or now,
        body_text=msg.text, new_text=msg.new_text, signature=msg.signature,
        thread_rule=match.rule, thread_reason=match.reason, internal=False, created_at=now)
    inserted = session.connection().execute(_INSERT_MESSAGE, values)
    message = Message(id=inserted.inserted_primary_key[0], **values)
    make_transient_to_detached(message)     # as if loaded: persistent once added, no INSERT
    if not msg.attachments:                 # known: no SELECT when a template lists them
        set_committed_value(message, "attachments", [])
    session.add(message)
    if verdict.kind not in ("human", "agent"):
        prints = ()
    elif prints is None:
        prints = fingerprints(msg.new_text)
    if prints:
        session.connection().execute(_INSERT_PRINTS, [{"message_pk": message.id, "print": p}
                                                      for p in prints])
    refs = [{"message_pk": message.id, "ref_id": bare_id(ref_id)[:998],
             "case_id": message.case_id}
            for ref_id in dict.fromkeys([*msg.in_reply_to, *msg.references])]
    if refs:     # Core, one executemany, no autoflush: nothing reads them back here
        session.connection().execute(_INSERT_REFS, refs)
    if msg.attachments:
        _store_files(session, message.id, msg.attachments)
    return message


def _store_files(session: Session, message_pk: int, files: Sequence[ParsedAttachment]) -> None:
    """The attachment rows and the bytes not yet held (a blob per content hash): one read and
    two Core inserts however many files, instead of a look-up and a flush per file."""
    conn = session.connection()
    held = set(conn.execute(_HELD_BLOBS, {"hashes": list({f.sha256 for f in files})}).scalars())
    new = {f.sha256: f for f in files if f.sha256 not in held}
    if new:     # another process may store the same bytes in the meantime: theirs stand
        conn.execute(_INSERT_BLOB[conn.dialect.name == "postgresql"],
                     [{"sha256": f.sha256, "size": f.size, "data": f.payload}
                      for f in new.values()])
    conn.execute(_INSERT_ATTACHMENTS, [
        {"message_id": message_pk, "filename": f.filename, "content_type": f.content_type,
         "size": f.size, "sha256": f.sha256} for f in files])


def fingerprint_unprinted(session: Session, limit: int = 500) -> int:
    """Give up to `limit` stored messages that have none their fingerprints (mail stored
    before 0.3 had none; `mailproc db backfill-prints`); returns how many were done."""
    printed = select(MessagePrint.id).where(MessagePrint.message_pk == Message.id).exists()
    rows = session.execute(select(Message.id, Message.new_text).where(
        Message.kind.in_(("human", "agent")), Message.direction == Direction.IN,
        Message.new_text != "", ~printed).order_by(Message.id).limit(limit)).all()
    values = [{"message_pk": pk, "print": p} for pk, text in rows for p in fingerprints(text)]
    if values:
        session.execute(insert(MessagePrint), values)
    return len(rows)


def forwardable(sizes: Sequence[int], budget: int | None) -> list[bool]:
    """Which attachments, in order, go along in a mail of at most `budget` bytes of them: each
    that still fits, so one huge file does not keep the small ones back. None: all of them."""
    if budget is None:
        return [True] * len(sizes)
    left, out = budget, []
    for size in sizes:
        out.append(size <= left)
        left -= size if size <= left else 0
    return out


def message_attachments(session: Session, message_id: int | None, *,
                        budget: int | None = None) -> list[tuple[str, str, bytes]]:
    """(filename, content type, bytes) of a stored message's attachments, in order; with a
    `budget`, only those `forwardable` within it (the others' bytes are not even read)."""
    if message_id is None:
        return []
    rows = session.scalars(select(Attachment).where(Attachment.message_id == message_id)
                           .order_by(Attachment.id)).all()
    wanted = [a for a, ok in zip(rows, forwardable([a.size for a in rows], budget)) if ok]
    blobs = dict(session.execute(select(Blob.sha256, Blob.data).where(
        Blob.sha256.in_({a.sha256 for a in wanted}))).all()) if wanted else {}
    return [(a.filename or "attachment", a.content_type, blobs[a.sha256]) for a in wanted]


def case_attachments(session: Session, ref: str) -> list[dict]:
    """Every file the mail of case `ref` carried, oldest message first: who sent it, when,
    its name, type, size and bytes. MailprocError when there is no such case."""
    case = session.scalar(select(Case).where(Case.ref == ref.strip().lstrip("#")))
    if case is None:
        raise MailprocError(f"no case with reference #{ref.strip().lstrip('#')}")
    rows = session.execute(
        select(Attachment, Message.from_addr, Message.date_at, Blob.data)
        .join(Message, Message.id == Attachment.message_id)
        .join(Blob, Blob.sha256 == Attachment.sha256)
        .where(Message.case_id == case.id).order_by(Message.date_at, Attachment.id)).all()
    return [{"case": case.ref, "message_id": a.message_id, "from": sender, "date": sent,
             "filename": a.filename or "attachment", "content_type": a.content_type,
             "size": a.size, "sha256": a.sha256, "data": data}
            for a, sender, sent, data in rows]
