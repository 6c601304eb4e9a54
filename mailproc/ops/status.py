"""What `mailproc status` counts: mail, cases, outbox, health, fallback."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailproc.models import (
    Case, Event, Health, Incident, Mailbox, Outage, OutboundMail, Quarantine, RawMessage,
)
from mailproc.ops.export import iso


def _counts(session: Session, column) -> dict[str, int]:
    return {getattr(k, "value", k): n
            for k, n in session.execute(select(column, func.count()).group_by(column))}


def status_summary(session: Session) -> dict:
    mailboxes = []
    for box in session.scalars(select(Mailbox).order_by(Mailbox.name)):
        last = session.scalar(select(func.max(RawMessage.received_at))
                              .where(RawMessage.mailbox_id == box.id))
        mailboxes.append({"name": box.name, "kind": box.kind, "last_message_at": iso(last)})
    health = [{"target": h.target, "transport": h.transport, "state": h.state,
               "since": iso(h.since_at), "last_attempt_at": iso(h.last_attempt_at),
               "failures": h.consecutive_failures, "last_error": h.last_error}
              for h in session.scalars(select(Health).order_by(Health.target, Health.transport))]
    failing = session.execute(
        select(OutboundMail.id, OutboundMail.kind, OutboundMail.status, OutboundMail.last_error)
        .where(OutboundMail.last_error.is_not(None), OutboundMail.status != "sent")
        .order_by(OutboundMail.id.desc()).limit(20)).all()
    recent = session.execute(select(Event.at, Event.kind, Event.detail)
                             .where(Event.kind.in_(["quarantined", "template_error",
                                                    "delivery_failed", "security"]))
                             .order_by(Event.id.desc()).limit(10)).all()
    forgotten = {"raw_mail": 0, "closed_cases": 0, "quarantined": 0}
    for data in session.scalars(select(Event.data).where(Event.kind == "retention")):
        for key in forgotten:
            forgotten[key] += int((data or {}).get(key, 0))
    return {
        "raw_messages": _counts(session, RawMessage.status),
        "cases": _counts(session, Case.status),
        "outbox": _counts(session, OutboundMail.status),
        "quarantined": session.scalar(select(func.count()).select_from(Quarantine)),
        "retention_removed": forgotten,
        "mailboxes": mailboxes,
        "health": health,
        "outbox_problems": [{"id": i, "kind": k, "status": getattr(s, "value", s), "error": e}
                            for i, k, s, e in failing],
        "recent_problems": [{"at": iso(a), "kind": k, "detail": d} for a, k, d in recent],
        **fallback_summary(session),
    }


def fallback_summary(session: Session) -> dict:
    """Open outages (alerted or not) and open incidents, for `mailproc status`."""
    outages = session.scalars(select(Outage).where(Outage.ended_at.is_(None))
                              .order_by(Outage.id)).all()
    incidents = session.execute(
        select(Incident.id, Incident.title, func.count(Case.id))
        .outerjoin(Case, Case.incident_id == Incident.id).where(Incident.status == "open")
        .group_by(Incident.id, Incident.title).order_by(Incident.id)).all()
    return {"outages": [{"key": o.key, "since": iso(o.started_at), "detail": o.detail,
                         "alerted_at": iso(o.alerted_at), "alert_error": o.last_error}
                        for o in outages],
            "incidents": [{"id": f"INC-{i}", "title": t, "cases": n} for i, t, n in incidents]}
