"""A customer's mail on an existing case: reopen, a new linked case after close, "any update?"."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from mailproc.cases.lifecycle import change_status
from mailproc.cases.records import add_participants, open_case, record_event
from mailproc.config import parse_timedelta
from mailproc.models import Case, CaseStatus, Message, MessageRef, Participant

log = logging.getLogger(__name__)

_NUDGE = re.compile(
    r"\b(?:any (?:update|news|progress)s?|status update|what(?:'s| is) the status|"
    r"is there (?:any|an) update|still waiting|just (?:checking|following) (?:in|up)|"
    r"following up|gibt es (?:schon )?(?:neuigkeiten|etwas neues)|wie ist der (?:stand|status)|"
    r"(?:schon )?was neues|bump)\b", re.IGNORECASE)
# A long mail that happens to say "any update" carries new information: it is a reply.
NUDGE_MAX_CHARS = 280


@dataclass(frozen=True)
class CustomerTurn:
    case: Case
    is_new_case: bool
    reason: str        # notify reason: new_case | customer_reply | reopened | nudge


def is_nudge(text: str) -> bool:
    """A short "any update?" with nothing new in it."""
    text = (text or "").strip()
    return 0 < len(text) <= NUDGE_MAX_CHARS and bool(_NUDGE.search(text))


def closed_too_long(case: Case, window, now: datetime) -> bool:
    return (case.status == CaseStatus.CLOSED and case.closed_at is not None
            and now - case.closed_at > window)


def on_customer_message(app, session, case: Case, message: Message, now: datetime) -> CustomerTurn:
    """Apply a customer's mail to the case it was threaded into; may open a linked case."""
    window = parse_timedelta(app.settings.threading.reopen_closed_within)
    if closed_too_long(case, window, now):
        return CustomerTurn(_linked_case(app, session, case, message, now), True, "new_case")
    # Stored mail set it already (store.messages), but not agent mail found forged, which is
    # the customer's turn too. Compared first: the same value again made the case dirty for
    # nothing, a flush of its own per message.
    if case.last_customer_message_at != now:
        case.last_customer_message_at = now
    text = message.new_text or message.body_text
    if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        change_status(app, session, case, CaseStatus.OPEN, actor=message.from_addr,
                      reason="customer replied", now=now)
        return CustomerTurn(case, False, "reopened")
    if case.status == CaseStatus.PENDING:
        change_status(app, session, case, CaseStatus.OPEN, actor=message.from_addr,
                      reason="customer replied", now=now)
        return CustomerTurn(case, False, "customer_reply")
    if is_nudge(text):
        count = session.scalar(select(func.count()).select_from(Message).where(
            Message.case_id == case.id, Message.from_addr == message.from_addr))
        # Nothing is bumped (priority, deadlines stay): the nudge is recorded and shown.
        record_event(session, case.id, actor=message.from_addr, kind="customer_nudge",
                     detail=f"the customer asks for an update ({_waiting(case, now)}); "
                            f"priority and deadlines unchanged", now=now,
                     data={"message_id": message.message_id, "messages_from_customer": count})
        return CustomerTurn(case, False, "nudge")
    return CustomerTurn(case, False, "customer_reply")


def _waiting(case: Case, now: datetime) -> str:
    hours = (now - case.created_at).total_seconds() / 3600
    if case.first_responded_at is None:
        return f"no answer yet, case open {hours:.0f} h"
    return f"last answered {case.first_responded_at:%Y-%m-%d %H:%M} UTC"


def _linked_case(app, session, old: Case, message: Message, now: datetime) -> Case:
    """A reply long after a case was closed is a new problem: a new case, linked to the old."""
    new = open_case(session, subject=old.subject, normalized_subject=old.normalized_subject,
                    customer=old.customer, mailbox_id=old.mailbox_id, priority=old.priority,
                    team=old.team, ref_base=app.settings.support.ref_base, now=now,
                    linked_case_id=old.id)
    if message.subject:
        new.subject = message.subject
    session.flush()
    message.case_id = new.id
    session.execute(update(MessageRef).where(MessageRef.message_pk == message.id)
                    .values(case_id=new.id))
    people = session.scalars(select(Participant).where(Participant.case_id == old.id)
                             .order_by(Participant.id)).all()
    add_participants(session, new, [(p.contact.name, p.contact.email) for p in people],
                     role="customer", now=now)
    record_event(session, new.id, actor=message.from_addr, kind="case_opened",
                 detail=f"opened by {message.message_id}: reply to #{old.ref}, closed "
                        f"{old.closed_at:%Y-%m-%d}", now=now,
                 data={"rule": "closed_case", "linked_case_id": old.id})
    record_event(session, old.id, actor=message.from_addr, kind="linked",
                 detail=f"a reply after close opened #{new.ref}", now=now,
                 data={"case": new.ref})
    log.info("reply %s to closed case %s opened linked case %s", message.message_id, old.ref,
             new.ref)
    return new
