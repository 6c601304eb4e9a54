"""`mailproc export`: every case with its messages, and the quarantine, as plain dicts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailproc.models import (
    Case, Contact, Event, Mailbox, Message, OutboundMail, Participant, Quarantine, RawMessage,
)


def iso(value):
    return value.isoformat() if value else None


def export_cases(session: Session) -> dict:
    """Every case with its messages (both directions) and the quarantined mail with reasons."""
    cases = session.scalars(select(Case).options(selectinload(Case.messages))
                            .order_by(Case.id)).all()
    outbox_by_case: dict[int, list[OutboundMail]] = {}
    for row in session.scalars(select(OutboundMail).order_by(OutboundMail.id)):
        outbox_by_case.setdefault(row.case_id, []).append(row)
    people: dict[int, list[str]] = {}
    for case_id, email in session.execute(
            select(Participant.case_id, Contact.email)
            .join(Contact, Contact.id == Participant.contact_id).order_by(Participant.id)):
        people.setdefault(case_id, []).append(email)
    events: dict[int, list[Event]] = {}
    for event in session.scalars(select(Event).where(Event.case_id.is_not(None))
                                 .order_by(Event.id)):
        events.setdefault(event.case_id, []).append(event)
    out = []
    for case in cases:
        messages = [{
            "message_id": m.message_id, "direction": m.direction.value, "kind": m.kind,
            "from": m.from_addr, "to": m.to_addrs, "cc": m.cc_addrs, "date": iso(m.date_at),
            "subject": m.subject, "rule": m.thread_rule, "rule_reason": m.thread_reason,
            "new_text": m.new_text, "internal": m.internal,
        } for m in case.messages]
        messages += [{
            "message_id": o.message_id, "direction": "out", "kind": o.kind, "from": o.from_addr,
            "to": o.to_addrs, "cc": [], "date": iso(o.sent_at or o.created_at),
            "subject": o.subject, "rule": "outbox", "status": o.status.value,
            "attempts": o.attempts, "last_error": o.last_error,
        } for o in outbox_by_case.get(case.id, [])]
        out.append({
            "ref": case.ref, "status": case.status.value, "priority": case.priority,
            "subject": case.subject, "customer": case.customer.email if case.customer else None,
            "participants": people.get(case.id, []), "team": case.team,
            "assignee": case.assignee, "created_at": iso(case.created_at),
            "deadlines": {"first_response_due_at": iso(case.first_response_due_at),
                          "resolution_due_at": iso(case.resolution_due_at)},
            "first_responded_at": iso(case.first_responded_at),
            "linked_case": _ref(session, case.linked_case_id),
            "kb_suggestions": case.kb_suggestions, "messages": messages,
            "events": [{"at": iso(e.at), "actor": e.actor, "kind": e.kind, "detail": e.detail}
                       for e in events.get(case.id, [])],
        })
    return {"cases": out, "quarantine": export_quarantine(session),
            "unthreaded": export_unthreaded(session)}


def _ref(session: Session, case_id: int | None) -> str | None:
    return session.scalar(select(Case.ref).where(Case.id == case_id)) if case_id else None


def export_quarantine(session: Session) -> list[dict]:
    rows = session.execute(
        select(Quarantine, RawMessage, Mailbox.name)
        .join(RawMessage, RawMessage.id == Quarantine.raw_id)
        .outerjoin(Mailbox, Mailbox.id == RawMessage.mailbox_id).order_by(Quarantine.id)).all()
    return [{"raw_id": raw.id, "mailbox": box, "source_key": raw.source_key,
             "message_id": raw.header_message_id, "sha256": raw.sha256, "size": raw.size,
             "reason": q.reason, "at": iso(q.at)} for q, raw, box in rows]


def export_unthreaded(session: Session) -> list[dict]:
    rows = session.scalars(select(Message).where(Message.case_id.is_(None))
                           .order_by(Message.id)).all()
    return [{"message_id": m.message_id, "kind": m.kind, "kind_reason": m.kind_reason,
             "from": m.from_addr, "date": iso(m.date_at), "subject": m.subject} for m in rows]
