"""A stored message: its row, its references and attachments, and the ids they use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.classify.rules import NO_CASE_KINDS, Classification
from mailproc.models import Attachment, Blob, Case, Direction, Message, MessageRef, RawMessage
from mailproc.parse.message import ParsedMessage
from mailproc.thread.rules import ThreadMatch


def bare_id(message_id: str) -> str:
    """Message-IDs are stored without angle brackets."""
    return message_id.strip().strip("<>")


def store_message(session: Session, row: RawMessage, msg: ParsedMessage,
                  verdict: Classification, match: ThreadMatch, case: Case | None,
                  now: datetime) -> Message:
    message = Message(
        raw_id=row.id, case_id=case.id if case else None, direction=Direction.IN,
        kind=verdict.kind, kind_reason=verdict.reason, message_id=msg.message_id,
        in_reply_to=list(msg.in_reply_to), references=list(msg.references),
        subject=msg.subject, from_addr=msg.from_addr, from_name=msg.from_name,
        to_addrs=[a for _, a in msg.to], cc_addrs=[a for _, a in msg.cc], date_at=msg.date_at or now,
        body_text=msg.text, new_text=msg.new_text, signature=msg.signature,
        thread_rule=match.rule, thread_reason=match.reason, created_at=now)
    session.add(message)
    session.flush()
    for ref_id in dict.fromkeys([*msg.in_reply_to, *msg.references]):
        session.add(MessageRef(message_pk=message.id, ref_id=bare_id(ref_id)[:998],
                               case_id=message.case_id))
    for att in msg.attachments:
        if session.get(Blob, att.sha256) is None:
            session.add(Blob(sha256=att.sha256, size=att.size, data=att.payload))
            session.flush()
        session.add(Attachment(message_id=message.id, filename=att.filename,
                               content_type=att.content_type, size=att.size, sha256=att.sha256))
    if (case is not None and verdict.kind not in NO_CASE_KINDS and verdict.kind != "agent"
            and match.rule != "copy"):
        # Reopening and the other customer-side status changes: mailproc.cases.customer_turn.
        case.last_customer_message_at = now
    return message


def message_attachments(session: Session, message_id: int | None,
                        ) -> list[tuple[str, str, bytes]]:
    """(filename, content type, bytes) of a stored message's attachments, in order."""
    if message_id is None:
        return []
    rows = session.execute(select(Attachment, Blob.data).join(Blob, Blob.sha256 == Attachment.sha256)
                           .where(Attachment.message_id == message_id)
                           .order_by(Attachment.id)).all()
    return [(a.filename or "attachment", a.content_type, data) for a, data in rows]
