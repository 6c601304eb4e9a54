"""Stale-case escalation: the pure `next_step()` and the sweep that fires each step once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailproc.cases import record_event
from mailproc.db import is_postgres
from mailproc.ladder import Ladder, Step, ladder_for
from mailproc.models import (
    Case, CaseStatus, Escalation, Event, Incident, OutboundMail, SweepMark,
)
from mailproc.sla.calendar import BusinessCalendar
from mailproc.sla.deadlines import add_sla_duration, clock_calendar

log = logging.getLogger(__name__)
ACTIVE = ("new", "open")
# Cases changed within this much before the last sweep are planned again: a transaction that
# committed late (its `now` older than the sweep's) is not missed.
REPLAN_SLACK = timedelta(minutes=5)
MARK = "escalation_planned"


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
        reason = step.reason or _reason(step, due)
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


def _reason(step: Step, due: datetime) -> str:
    what = {"first_response": "first response", "resolution": "resolution",
            "customer_waiting": "answer to the customer's reply"}[step.trigger]
    if step.is_warning:
        return f"{int(step.at_fraction * 100)}% of the {what} window is used (due {due:%Y-%m-%d %H:%M} UTC)"
    if step.after.is_zero:
        return f"{what} overdue since {due:%Y-%m-%d %H:%M} UTC"
    return f"{what} overdue by {step.after} (due {due:%Y-%m-%d %H:%M} UTC)"


# ---- the executor -------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepAction:
    case_ref: str
    action: str         # escalated | reminder | auto_resolved
    step: str
    breach_key: str
    to: tuple[str, ...] = ()
    detail: str = ""


def candidate_ids(session: Session, now: datetime, since: datetime | None,
                  limit: int) -> list[int]:
    """Cases to look at, found through indexes only: due by next_escalation_at, or changed
    since the last sweep (new cases, replies, status changes) and so in need of a plan."""
    due = list(session.scalars(
        select(Case.id).where(Case.next_escalation_at <= now)
        .order_by(Case.next_escalation_at).limit(limit)))
    changed_q = select(Case.id).where(Case.status.in_([CaseStatus.NEW, CaseStatus.OPEN,
                                                       CaseStatus.PENDING]))
    if since is not None:
        changed_q = changed_q.where(Case.updated_at > since - REPLAN_SLACK)
    changed = list(session.scalars(changed_q.limit(limit)))
    return list(dict.fromkeys(due + changed))


def facts_for(session: Session, case: Case) -> tuple[CaseFacts, frozenset[tuple[str, str]]]:
    fired = frozenset(session.execute(select(Escalation.step, Escalation.breach_key)
                                      .where(Escalation.case_id == case.id)).all())
    last_reply = session.scalar(select(func.max(OutboundMail.created_at)).where(
        OutboundMail.case_id == case.id, OutboundMail.kind == "relay"))
    asked = session.scalar(select(func.max(Event.id)).where(
        Event.case_id == case.id, Event.kind == "escalation_requested"))
    handled = session.scalar(select(func.max(Event.id)).where(
        Event.case_id == case.id, Event.kind == "escalation_jump")) if asked else None
    in_incident = False
    if case.incident_id is not None:
        in_incident = session.scalar(select(Incident.status).where(
            Incident.id == case.incident_id)) == "open"
    facts = CaseFacts(
        status=case.status.value, created_at=case.created_at,
        first_response_due_at=case.first_response_due_at,
        first_responded_at=case.first_responded_at, resolution_due_at=case.resolution_due_at,
        last_customer_message_at=case.last_customer_message_at, last_agent_reply_at=last_reply,
        in_open_incident=in_incident, escalate_requested=bool(asked and (handled or 0) < asked))
    return facts, fired


def claim_step(session: Session, case_id: int, step: str, breach_key: str,
               now: datetime) -> Escalation | None:
    """Insert the (case, step, breach) row; None when another sweep (or an earlier run) has it."""
    if session.scalar(select(Escalation.id).where(
            Escalation.case_id == case_id, Escalation.step == step,
            Escalation.breach_key == breach_key)) is not None:
        return None
    row = Escalation(case_id=case_id, step=step, breach_key=breach_key, fired_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def _fire(app, session: Session, case: Case, due: DueStep, now: datetime) -> SweepAction | None:
    from mailproc.acknowledge import enqueue_templated
    from mailproc.directory import phone_directory, resolve_people
    from mailproc.template_context import case_context, history

    row = claim_step(session, case.id, due.step.name, due.breach_key, now)
    if row is None:
        return None
    people = resolve_people(app, due.step.notify, team=case.team, assignee=case.assignee, now=now)
    if not people:
        # A step must reach someone: whoever is on call stands in for a missing team lead.
        people = resolve_people(app, ["oncall"], team=case.team, assignee="", now=now)
    to = [p.email for p in people if p.email]
    number = [s.name for s in ladder_for(app).steps].index(due.step.name) + 1
    phones = ", ".join(f"{p.name} {p.phone}" for p in people if p.phone)
    record_event(session, case.id, actor="mailproc", kind="escalated",
                 detail=f"step {number} {due.step.name}: {due.reason}; to "
                        f"{', '.join(p.name for p in people) or 'nobody'}"
                        + (f" ({phones})" if phones else ""), now=now,
                 data={"step": due.step.name, "breach": due.breach_key, "to": to})
    if to:
        first = case.messages[0] if case.messages else None
        context = case_context(app, session, case, first)
        context["history"] = history(session, case)
        context["escalation"] = {"step": number, "name": due.step.name, "reason": due.reason,
                                 "people": [p.as_dict() for p in people]}
        context["directory"] = phone_directory(app, now)
        out = enqueue_templated(app, session, case=case, kind=due.step.template, to=to,
                                dedupe_key=f"esc:{case.id}:{due.step.name}:{due.breach_key}",
                                context=context, reply_to_message=None, now=now)
        row.outbox_id = out.id if out is not None else None
    log.info("case %s: escalation step %s (%s) to %s", case.ref, due.step.name, due.breach_key,
             to or "nobody")
    return SweepAction(case.ref or "", "escalated", due.step.name, due.breach_key, tuple(to),
                       due.reason)


def sweep_case(app, session: Session, case: Case, now: datetime) -> list[SweepAction]:
    from mailproc.reminders import remind

    ladder = ladder_for(app)
    levels = app.service_levels
    facts, fired = facts_for(session, case)
    plan = next_step(facts, ladder, fired, now, levels.calendar, levels.policy(case.priority).clock)
    actions = []
    for due in plan.due:
        action = _fire(app, session, case, due, now)
        if action is not None:
            actions.append(action)
    if facts.escalate_requested:
        record_event(session, case.id, actor="mailproc", kind="escalation_jump",
                     detail=("#escalate: fired " + ", ".join(a.step for a in actions))
                     if actions else "#escalate: no step left to fire", now=now)
    reminder_actions, reminder_next = remind(app, session, case, fired, now)
    actions.extend(reminder_actions)
    nexts = [t for t in (plan.next_at, reminder_next) if t is not None]
    case.next_escalation_at = min(nexts) if nexts else None
    return actions


def sweep(app, *, now: datetime | None = None, limit: int = 1000) -> list[SweepAction]:
    """One sweep: plan changed cases, fire what is due, then check mail health for alerts.

    Each case is one transaction; PostgreSQL skips a case another sweep holds locked, and the
    unique (case, step, breach) row makes a step fire once even if two sweeps meet.
    """
    now = now or app.clock.now()
    with app.db.transaction() as session:
        mark = session.get(SweepMark, MARK)
        ids = candidate_ids(session, now, mark.at if mark else None, limit)
    actions: list[SweepAction] = []
    for case_id in ids:
        with app.db.transaction() as session:
            query = select(Case).where(Case.id == case_id)
            if is_postgres(app.db.engine):
                query = query.with_for_update(skip_locked=True, of=Case)
            case = session.scalar(query)
            if case is not None:
                actions.extend(sweep_case(app, session, case, now))
    with app.db.transaction() as session:
        mark = session.get(SweepMark, MARK)
        if mark is None:
            try:
                with session.begin_nested():
                    session.add(SweepMark(name=MARK, at=now))
            except IntegrityError:
                pass  # a concurrent sweep wrote it first: its mark is as good
        elif mark.at < now:
            mark.at = now
    _after_sweep(app, now)
    if actions:
        log.info("sweep at %s: %d actions on %d cases", now, len(actions), len(ids))
    return actions


def _after_sweep(app, now: datetime) -> None:
    from mailproc.alerts import check_alerts

    check_alerts(app, now)
