"""The escalation plan: pure `next_step()` over a case's facts, its ladder and `now`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailproc.escalation.ladder import Ladder, Step
from mailproc.sla.calendar import BusinessCalendar
from mailproc.sla.deadlines import add_sla_duration, clock_calendar

ACTIVE = ("new", "open")


@dataclass(frozen=True)
class CaseFacts:
    """What the ladder needs to know about one case; built from the row, compared purely."""

    status: str
    created_at: datetime
    first_response_due_at: datetime | None = None
    first_responded_at: datetime | None = None
    resolution_due_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    in_open_incident: bool = False
    escalate_requested: bool = False


@dataclass(frozen=True)
class DueStep:
    step: Step
    breach_key: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class Plan:
    due: tuple[DueStep, ...] = ()
    next_at: datetime | None = None
    upcoming: tuple[DueStep, ...] = field(default=(), compare=False)


def _breaches(facts: CaseFacts, ladder: Ladder, calendar: BusinessCalendar,
              clock: str) -> dict[str, tuple[str, datetime, datetime]]:
    """Active triggers -> (breach key, window start, deadline)."""
    out: dict[str, tuple[str, datetime, datetime]] = {}
    if facts.status not in ACTIVE or facts.in_open_incident:
        return out
    if facts.first_responded_at is None and facts.first_response_due_at is not None:
        out["first_response"] = ("fr", facts.created_at, facts.first_response_due_at)
    if facts.resolution_due_at is not None:
        out["resolution"] = ("res", facts.created_at, facts.resolution_due_at)
    answered = facts.last_agent_reply_at or facts.first_responded_at
    if (answered is not None and facts.last_customer_message_at is not None
            and facts.last_customer_message_at > answered):
        start = facts.last_customer_message_at
        due = add_sla_duration(start, ladder.customer_waiting_after, calendar, clock)
        out["customer_waiting"] = (f"wait:{int(start.timestamp())}", start, due)
    return out


def step_time(step: Step, start: datetime, due: datetime, calendar: BusinessCalendar,
              clock: str) -> datetime:
    """When `step` fires for a window from `start` to `due` (warning: a share of the window)."""
    if step.at_fraction is not None:
        counting = clock_calendar(calendar, clock)
        total = counting.business_time_between(start, due)
        if total <= timedelta(0) or step.at_fraction >= 1:
            return due
        return counting.add_business_time(start, total * step.at_fraction)
    if step.after.is_zero:
        return due
    return add_sla_duration(due, step.after, calendar, clock)


def next_step(facts: CaseFacts, ladder: Ladder, fired: frozenset[tuple[str, str]],
              now: datetime, calendar: BusinessCalendar, clock: str = "business") -> Plan:
    """Pure: the steps due at `now` (in order, none already fired) and when to look next.

    `fired` holds (step name, breach key) pairs. An agent's `#escalate` makes the earliest
    step still to come due at once: the ladder jumps a step, and that step never fires twice.
    """
    breaches = _breaches(facts, ladder, calendar, clock)
    pending: list[DueStep] = []
    for step in ladder.steps:
        if step.trigger not in breaches:
            continue
        key, start, due = breaches[step.trigger]
        if (step.name, key) in fired:
            continue
        at = step_time(step, start, due, calendar, clock)
        reason = step.reason or _reason(step, due, calendar.zone)
        pending.append(DueStep(step, key, at, reason))
    pending.sort(key=lambda d: (d.at, ladder.steps.index(d.step)))
    due_now = [d for d in pending if d.at <= now]
    if facts.escalate_requested and not due_now and pending:
        first = pending[0]
        due_now = [DueStep(first.step, first.breach_key, now,
                           f"escalated by an agent ahead of time ({first.reason})")]
    firing = {(d.step.name, d.breach_key) for d in due_now}
    later = [d for d in pending if (d.step.name, d.breach_key) not in firing]
    return Plan(tuple(due_now), min((d.at for d in later), default=None), tuple(later))


def _reason(step: Step, due: datetime, zone) -> str:
    """In the calendar's time zone, as every deadline the team reads elsewhere."""
    what = {"first_response": "first response", "resolution": "resolution",
            "customer_waiting": "answer to the customer's reply"}[step.trigger]
    at = due.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    if step.is_warning:
        return f"{int(step.at_fraction * 100)}% of the {what} window is used (due {at})"
    if step.after.is_zero:
        return f"{what} overdue since {at}"
    return f"{what} overdue by {step.after} (due {at})"
