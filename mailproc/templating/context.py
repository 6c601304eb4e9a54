"""The variables templates see, built from a case; documented in templates/README.md."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.cases.records import write_events
from mailproc.models import Case, Event, Message
from mailproc.sla.wording import describe_deadline, describe_hours


def _words(app, due_at: datetime | None, start_at: datetime, priority: str, which: str) -> tuple:
    if due_at is None:
        return "", ""
    levels = app.service_levels
    policy = levels.policy(priority)
    words = describe_deadline(due_at, start_at, getattr(policy, which), levels.calendar,
                              policy.clock, locale=app.settings.support.language)
    return words.absolute, words.relative


def case_context(app, session: Session, case: Case, message: Message | None = None) -> dict:
    s = app.settings.support
    levels = app.service_levels
    fr_at, fr_words = _words(app, case.first_response_due_at, case.created_at, case.priority,
                             "first_response")
    res_at, res_words = _words(app, case.resolution_due_at, case.created_at, case.priority,
                               "resolution")
    local = case.created_at.astimezone(levels.calendar.zone)
    customer = case.customer
    return {
        "language": s.language,
        "case": {"ref": case.ref, "subject": case.subject or "(no subject)",
                 "status": case.status.value, "priority": case.priority, "team": case.team,
                 "assignee": case.assignee, "answered": case.first_responded_at is not None,
                 "created_at_local": local.strftime("%Y-%m-%d %H:%M %Z"),
                 "url": s.case_url.format(ref=case.ref) if s.case_url else ""},
        "customer": {"name": customer.name if customer else "",
                     "email": customer.email if customer else ""},
        "support": {"name": s.name, "address": s.address, "fallback_phone": s.fallback_phone,
                    "hours": describe_hours(levels.calendar, s.language), "urgent_hint": s.urgent_hint},
        "sla": {"first_response_at": fr_at, "first_response_words": fr_words,
                "resolution_at": res_at, "resolution_words": res_words},
        "message": _message_context(message),
        "kb_suggestions": list(case.kb_suggestions or []),
    }


def _message_context(message: Message | None) -> dict:
    if message is None:
        return {"subject": "", "new_text": "", "from_name": "", "from_addr": "", "attachments": []}
    return {"subject": message.subject, "new_text": message.new_text or message.body_text,
            "from_name": message.from_name, "from_addr": message.from_addr,
            "attachments": [{"filename": a.filename, "size": a.size} for a in message.attachments]}


def history(session: Session, case: Case, limit: int = 20) -> list[dict]:
    write_events(session)
    rows = session.scalars(select(Event).where(Event.case_id == case.id)
                           .order_by(Event.id.desc()).limit(limit)).all()
    return [{"at": e.at.strftime("%Y-%m-%d %H:%M UTC"), "actor": e.actor, "kind": e.kind,
             "detail": e.detail} for e in reversed(rows)]
