"""The case lifecycle: the one place a case changes status, with its SLA clocks and event."""

from __future__ import annotations

from datetime import datetime

from mailproc.cases.records import record_event
from mailproc.models import Case, CaseStatus
from mailproc.sla.deadlines import resume_deadline


def change_status(app, session, case: Case, status: CaseStatus, *, actor: str, reason: str,
                  now: datetime) -> bool:
    """Apply a status change with its clocks; pending pauses the SLA, leaving it resumes."""
    old = case.status
    if old == status:
        return False
    if old == CaseStatus.PENDING and case.paused_at is not None:
        levels = app.service_levels
        policy = levels.policy(case.priority)
        for attr in ("first_response_due_at", "resolution_due_at"):
            due = getattr(case, attr)
            if due is not None and not (attr == "first_response_due_at"
                                        and case.first_responded_at is not None):
                setattr(case, attr, resume_deadline(due, case.paused_at, now, levels.calendar,
                                                    policy.clock))
        case.paused_at = None
    if status == CaseStatus.PENDING:
        case.paused_at = now
    if status == CaseStatus.RESOLVED:
        case.resolved_at = now
    if status == CaseStatus.CLOSED:
        case.closed_at = now
    if status in (CaseStatus.OPEN, CaseStatus.NEW):
        case.resolved_at = case.closed_at = None
    case.status = status
    case.updated_at = now
    record_event(session, case.id, actor=actor, kind="status",
                 detail=f"{old.value} -> {status.value}: {reason}", now=now,
                 data={"from": old.value, "to": status.value})
    return True
