"""Waiting on the customer: a reminder after N business days pending, resolved after M."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.cases.lifecycle import change_status
from mailproc.cases.records import record_event
from mailproc.escalation.ladder import Reminders
from mailproc.escalation.steps import SweepAction, claim_step
from mailproc.models import Case, CaseStatus
from mailproc.outbox.automatic import enqueue_templated
from mailproc.sla.calendar import BusinessCalendar
from mailproc.sla.deadlines import add_sla_duration
from mailproc.templating.context import case_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReminderPlan:
    due: tuple[str, ...]          # "reminder" and/or "auto_resolve", in order
    breach_key: str
    next_at: datetime | None


def reminder_plan(status: str, paused_at: datetime | None, settings: Reminders,
                  fired: frozenset[tuple[str, str]], now: datetime,
                  calendar: BusinessCalendar) -> ReminderPlan:
    """Pure: what is due for a case pending on the customer since `paused_at`.

    The breach key is the pause itself: a customer reply ends the pause, and a later
    pending spell earns its own reminder.
    """
    if status != "pending" or paused_at is None or not settings.enabled:
        return ReminderPlan((), "", None)
    key = f"pending:{int(paused_at.timestamp())}"
    times = {"reminder": add_sla_duration(paused_at, settings.remind_after, calendar, "business"),
             "auto_resolve": add_sla_duration(paused_at, settings.resolve_after, calendar,
                                              "business")}
    open_steps = [name for name in ("reminder", "auto_resolve") if (name, key) not in fired]
    due = tuple(n for n in open_steps if times[n] <= now)
    if "auto_resolve" in due:
        return ReminderPlan(due, key, None)
    later = [times[n] for n in open_steps if n not in due]
    return ReminderPlan(due, key, min(later, default=None))


def remind(app, session: Session, case: Case, fired: frozenset[tuple[str, str]],
           now: datetime) -> tuple[list, datetime | None]:
    """Fire due reminder steps for one case (in the sweep's transaction); returns the actions
    and when the case needs looking at again."""
    settings = app.ladder.reminders
    plan = reminder_plan(case.status.value, case.paused_at, settings, fired, now,
                         app.service_levels.calendar)
    actions = []
    for name in plan.due:
        if claim_step(session, case.id, name, plan.breach_key, now) is None:
            continue
        to = _customer(case)
        if name == "reminder":
            _mail(app, session, case, "reminder", to, plan.breach_key, now)
            record_event(session, case.id, actor="mailproc", kind="reminder",
                         detail=f"no answer from the customer since "
                                f"{case.paused_at:%Y-%m-%d %H:%M} UTC; reminder to "
                                f"{', '.join(to) or 'nobody'}", now=now,
                         data={"breach": plan.breach_key})
        else:
            change_status(app, session, case, CaseStatus.RESOLVED, actor="mailproc",
                          reason=f"no answer from the customer after "
                                 f"{settings.resolve_after} business time", now=now)
            _mail(app, session, case, "auto_resolved", to, plan.breach_key, now)
            record_event(session, case.id, actor="mailproc", kind="auto_resolved",
                         detail=f"resolved: the customer did not answer since "
                                f"{case.paused_at or now:%Y-%m-%d %H:%M} UTC", now=now,
                         data={"breach": plan.breach_key})
        log.info("case %s: %s (%s)", case.ref, name, plan.breach_key)
        actions.append(SweepAction(case.ref or "", name, name, plan.breach_key, tuple(to)))
    return actions, plan.next_at


def _customer(case: Case) -> list[str]:
    return [case.customer.email] if case.customer and case.customer.email else []


def _mail(app, session: Session, case: Case, kind: str, to: list[str], key: str,
          now: datetime) -> None:
    if not to:
        return
    last = case.messages[-1] if case.messages else None
    enqueue_templated(app, session, case=case, kind=kind, to=to,
                      dedupe_key=f"{kind}:{case.id}:{key}", context=case_context(app, session, case),
                      reply_to_message=last, now=now)
