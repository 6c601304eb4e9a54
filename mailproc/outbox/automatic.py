"""Automatic mail to customers about their case: the acknowledgement and its kin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.models import Case, Message, OutboundMail
from mailproc.outbox.compose import compose
from mailproc.signing import sign_reply_address
from mailproc.store.messages import bare_id


ANSWERS = frozenset({"ack", "incident"})    # kinds that answer the message they thread to


def thread_ids(message: Message) -> tuple[str | None, list[str]]:
    """In-Reply-To and References for an answer to `message` (ids without brackets)."""
    refs = [bare_id(r) for r in message.references] + [bare_id(message.message_id)]
    return bare_id(message.message_id), list(dict.fromkeys(refs))


def enqueue_templated(app, session: Session, *, case: Case, kind: str, to: list[str],
                      dedupe_key: str, context: dict, reply_to_message: Message | None,
                      now: datetime, reply_to: str | None = None) -> OutboundMail | None:
    """Automatic mail from the support address, threaded to `reply_to_message`, with the
    signed case address as Reply-To so that an answer lands in the case (or `reply_to`).

    RFC 3834: an acknowledgement answers the customer's message (auto-replied); escalations,
    reminders and incident updates are sent because time passed or an agent acted
    (auto-generated), even when they are threaded to the last message."""
    in_reply_to, references = thread_ids(reply_to_message) if reply_to_message else (None, [])
    auto = "auto-replied" if kind in ANSWERS else "auto-generated"
    return compose(app, session, case=case, kind=kind, to=to, dedupe_key=dedupe_key,
                   context=context, in_reply_to=in_reply_to, references=references,
                   reply_to=reply_to or sign_reply_address(app.settings.support.address,
                                                           case.ref, app.secret_key),
                   from_name=app.settings.support.name, auto_submitted=auto, now=now)
