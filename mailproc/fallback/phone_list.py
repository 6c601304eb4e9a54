"""Who to call when mail fails: undeliverable customer mail and cases past a deadline, by urgency."""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.errors import MailprocError
from mailproc.models import Case, CaseStatus, Contact, Event, Message, OutboundMail, OutboxStatus
from mailproc.outbox.table import pending_recipients
from mailproc.people.phones import extract_phones
from mailproc.templating.render import CUSTOMER_KINDS

log = logging.getLogger(__name__)
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
STATUS_RANK = {"to call": 0, "called": 1, "reached by mail": 2}
REACHED_WINDOW = timedelta(days=7)
TELL_CHARS = 400
LIMIT = 2000


@dataclass(frozen=True)
class PhoneEntry:
    case_ref: str
    name: str
    email: str
    phones: tuple[str, ...]
    priority: str
    waiting_since: datetime
    waited: timedelta
    reason: str
    tell: str
    status: str = "to call"       # to call | called | reached by mail
    note: str = ""
    outbox_id: int | None = None
    subject: str = ""

    def as_dict(self) -> dict:
        hours = self.waited.total_seconds() / 3600
        return {"case_ref": self.case_ref, "name": self.name, "email": self.email,
                "phones": list(self.phones), "priority": self.priority,
                "waiting_since": self.waiting_since.isoformat(), "waited_hours": round(hours, 1),
                "waited": describe_wait(self.waited), "reason": self.reason, "tell": self.tell,
                "status": self.status, "note": self.note, "subject": self.subject,
                "outbox_id": self.outbox_id}


def describe_wait(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def mail_text(raw: bytes | None, limit: int = TELL_CHARS) -> str:
    """The plain text of a rendered mail, whitespace folded, shortened on a word boundary."""
    if not raw:
        return ""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
    try:
        text = part.get_content() if part is not None else ""
    except (LookupError, KeyError):
        text = part.get_payload(decode=True).decode("utf-8", "replace") if part else ""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def _phones(session: Session, contact: Contact | None, case_id: int, region: str) -> tuple:
    if contact is not None and contact.phones:
        return tuple(contact.phones)
    # Older cases, or numbers written in the body: look at what the customer sent.
    rows = session.execute(select(Message.signature, Message.body_text).where(
        Message.case_id == case_id, Message.direction == "in")
        .order_by(Message.id.desc()).limit(5)).all()
    for signature, body in rows:
        found = extract_phones(signature or "", region) or extract_phones((body or "")[-600:], region)
        if found:
            return tuple(found)
    return ()


def _calls(session: Session, case_ids: list[int]) -> dict[int, tuple[datetime, str]]:
    if not case_ids:
        return {}
    rows = session.execute(select(Event.case_id, Event.at, Event.detail).where(
        Event.case_id.in_(case_ids), Event.kind == "phone_call").order_by(Event.id)).all()
    return {cid: (at, detail) for cid, at, detail in rows}


def build_phone_list(app, session: Session, now: datetime) -> list[PhoneEntry]:
    """Every customer whose mail could not go out, or who waits past a deadline; most urgent
    first. Rows delivered late are kept (for a week) as "reached by mail"."""
    region = app.settings.support.phone_region
    undelivered = session.scalars(select(OutboundMail).where(
        # Mail meant for customers: agent and escalation mail is not read to a customer.
        OutboundMail.kind.in_(tuple(sorted(CUSTOMER_KINDS))), OutboundMail.case_id.is_not(None),
        ((OutboundMail.status == OutboxStatus.PENDING) & (OutboundMail.attempts > 0))
        | OutboundMail.status.in_((OutboxStatus.FAILED, OutboxStatus.HELD))
        | ((OutboundMail.status == OutboxStatus.SENDING) & (OutboundMail.attempts > 0))
        | ((OutboundMail.status == OutboxStatus.SENT) & (OutboundMail.attempts > 1)
           & (OutboundMail.sent_at >= now - REACHED_WINDOW)))
        .order_by(OutboundMail.id).limit(LIMIT)).all()
    overdue = session.scalars(select(Case).where(
        Case.first_response_due_at < now, Case.first_responded_at.is_(None),
        Case.status.in_((CaseStatus.NEW, CaseStatus.OPEN)))
        .order_by(Case.first_response_due_at).limit(LIMIT)).all()
    cases = {c.id: c for c in overdue}
    missing = {r.case_id for r in undelivered} - set(cases)
    if missing:
        cases.update({c.id: c for c in session.scalars(select(Case).where(Case.id.in_(missing)))})
    calls = _calls(session, list(cases))
    by_case: dict[int, PhoneEntry] = {}
    for row in undelivered:
        case = cases[row.case_id]
        if row.status == OutboxStatus.SENT:
            status, reason = "reached by mail", (f"{row.kind} delivered late, "
                                                 f"{row.sent_at:%Y-%m-%d %H:%M} UTC")
        else:
            status = "to call"
            reason = f"{row.kind} not delivered ({row.status.value}, {row.attempts} attempts): " \
                     f"{(row.last_error or 'waiting for the mail server')[:160]}"
        owed = pending_recipients(row) if row.status != OutboxStatus.SENT else row.to_addrs
        entry = _entry(session, case, (owed or [row.recipient])[0], region, now,
                       since=row.created_at, reason=reason, tell=mail_text(row.raw),
                       status=status, outbox_id=row.id, calls=calls)
        old = by_case.get(case.id)
        # One line per case: the mail still to be told wins over one that arrived late.
        if old is None or STATUS_RANK[entry.status] <= STATUS_RANK[old.status]:
            by_case[case.id] = entry
    for case in overdue:
        if case.id in by_case and by_case[case.id].status != "reached by mail":
            continue
        due = case.first_response_due_at
        tell = (f"We have your request #{case.ref} \"{case.subject}\"; nobody has answered yet "
                f"(we promised by {due:%Y-%m-%d %H:%M} UTC). Sorry for the wait: an agent is "
                f"on it.")
        by_case[case.id] = _entry(session, case, case.customer.email if case.customer else "",
                                  region, now, since=case.created_at,
                                  reason=f"first response overdue since {due:%Y-%m-%d %H:%M} UTC",
                                  tell=tell, status="to call", outbox_id=None, calls=calls)
    return sorted(by_case.values(), key=lambda e: (STATUS_RANK[e.status],
                                                   PRIORITY_RANK.get(e.priority, 9), -e.waited))


def _entry(session, case: Case, address: str, region: str, now: datetime, *, since, reason,
           tell, status, outbox_id, calls) -> PhoneEntry:
    contact = session.scalar(select(Contact).where(Contact.email == address.lower())) \
        if address else None
    contact = contact or case.customer
    call = calls.get(case.id)
    note = ""
    if call is not None and call[0] >= since and status == "to call":
        status, note = "called", call[1]
    name = (contact.name if contact and contact.name else address.split("@")[0]) or "(unknown)"
    return PhoneEntry(case_ref=case.ref or "", name=name, email=address,
                      phones=_phones(session, contact, case.id, region), priority=case.priority,
                      waiting_since=since, waited=max(now - since, timedelta(0)), reason=reason,
                      tell=tell, status=status, note=note, outbox_id=outbox_id,
                      subject=case.subject)


def record_call(app, case_ref: str, *, note: str, actor: str, now: datetime) -> Case:
    """`mailproc phone-list done REF`: the customer was called; the entry shows as called."""
    with app.db.transaction() as session:
        case = session.scalar(select(Case).where(Case.ref == case_ref.lstrip("#")))
        if case is None:
            raise MailprocError(f"no case with reference #{case_ref.lstrip('#')}")
        record_event(session, case.id, actor=actor, kind="phone_call",
                     detail=note or "customer called", now=now, data={"note": note})
        log.info("case %s: phone call recorded by %s", case.ref, actor)
        return case
