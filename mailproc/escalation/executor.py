"""The escalation executor: plan each changed or due case, fire each due step once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailproc.actions.notify import agent_reply_address
from mailproc.cases.records import record_event
from mailproc.classify.authenticity import person_reply_ref
from mailproc.db import is_postgres
from mailproc.escalation.plan import CaseFacts, DueStep, next_step
from mailproc.escalation.reminders import remind
from mailproc.escalation.steps import SweepAction, claim_step
from mailproc.models import Case, CaseStatus, Escalation, Event, Incident, OutboundMail, SweepMark
from mailproc.outbox.automatic import enqueue_templated
from mailproc.people.directory import phone_directory, resolve_people
from mailproc.signing import sign_reply_address
from mailproc.templating.context import case_context, history

log = logging.getLogger(__name__)
# Cases changed within this much before the last sweep are planned again: a transaction that
# committed late (its `now` older than the sweep's) is not missed.
REPLAN_SLACK = timedelta(minutes=5)
MARK = "escalation_planned"


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


def facts_for(session: Session, cases: Sequence[Case]
              ) -> dict[int, tuple[CaseFacts, frozenset[tuple[str, str]]]]:
    """Each case's facts and fired (step, breach) pairs, in five statements for all of them."""
    ids = [case.id for case in cases]
    fired: dict[int, set[tuple[str, str]]] = {i: set() for i in ids}
    for case_id, step, breach in session.execute(
            select(Escalation.case_id, Escalation.step, Escalation.breach_key)
            .where(Escalation.case_id.in_(ids))):
        fired[case_id].add((step, breach))
    last_reply = dict(session.execute(
        select(OutboundMail.case_id, func.max(OutboundMail.created_at))
        .where(OutboundMail.case_id.in_(ids), OutboundMail.kind == "relay")
        .group_by(OutboundMail.case_id)).all())
    asked = _last_event(session, ids, "escalation_requested")
    handled = _last_event(session, list(asked), "escalation_jump") if asked else {}
    incidents = {case.incident_id for case in cases if case.incident_id is not None}
    open_incidents = set(session.scalars(select(Incident.id).where(
        Incident.id.in_(incidents), Incident.status == "open"))) if incidents else set()
    out = {}
    for case in cases:
        ask = asked.get(case.id)
        out[case.id] = (CaseFacts(
            status=case.status.value, created_at=case.created_at,
            first_response_due_at=case.first_response_due_at,
            first_responded_at=case.first_responded_at, resolution_due_at=case.resolution_due_at,
            last_customer_message_at=case.last_customer_message_at,
            last_agent_reply_at=last_reply.get(case.id),
            in_open_incident=case.incident_id in open_incidents,
            escalate_requested=bool(ask and handled.get(case.id, 0) < ask)),
            frozenset(fired[case.id]))
    return out


def _last_event(session: Session, case_ids: list[int], kind: str) -> dict[int, int]:
    return dict(session.execute(
        select(Event.case_id, func.max(Event.id))
        .where(Event.case_id.in_(case_ids), Event.kind == kind)
        .group_by(Event.case_id)).all())


def _fire(app, session: Session, case: Case, due: DueStep, now: datetime) -> SweepAction | None:
    row = claim_step(session, case.id, due.step.name, due.breach_key, now)
    if row is None:
        return None
    people = resolve_people(app, due.step.notify, team=case.team, assignee=case.assignee, now=now)
    if not people:
        # A step must reach someone: whoever is on call stands in for a missing team lead.
        people = resolve_people(app, ["oncall"], team=case.team, assignee="", now=now)
    to = [p.email for p in people if p.email]
    number = [s.name for s in app.ladder.steps].index(due.step.name) + 1
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
        rows = _send_step(app, session, case, due, context, people, now)
        row.outbox_id = rows[0].id if rows else None
    log.info("case %s: escalation step %s (%s) to %s", case.ref, due.step.name, due.breach_key,
             to or "nobody")
    return SweepAction(case.ref or "", "escalated", due.step.name, due.breach_key, tuple(to),
                       due.reason)


def _send_step(app, session: Session, case: Case, due: DueStep, context: dict, people,
               now: datetime) -> list:
    """Agents get the mail each with their own signed reply address: a reply answers the
    customer, as from a notification. Leads, managers and vendors each get an address signed
    for them: their reply becomes an internal note on the case, never customer mail. Anyone
    else (a plain address) is told to write to the assignee."""
    key = f"esc:{case.id}:{due.step.name}:{due.breach_key}"

    def send(to: list[str], dedupe_key: str, reply_to: str, **recipient):
        ctx = dict(context, escalation={**context["escalation"], "recipient": {
            "agent": False, "note": False, "reply_to": "", **recipient}})
        return enqueue_templated(app, session, case=case, kind=due.step.template, to=to,
                                 dedupe_key=dedupe_key, context=ctx, reply_to_message=None,
                                 now=now, reply_to=reply_to)

    rows, others = [], []
    for person in people:
        if not person.email:
            continue
        agent = app.agents.by_address(person.email)
        ref = person_reply_ref(case.ref, person.key) if agent is None else None
        if agent is not None:
            rows.append(send([person.email], f"{key}:{agent.key}",
                             agent_reply_address(app, case, agent), agent=True))
        elif ref is not None and app.people.contact(person.key) is not None:
            rows.append(send([person.email], f"{key}:{person.key}",
                             sign_reply_address(app.settings.support.address, ref,
                                                app.secret_key), note=True))
        else:
            others.append(person.email)
    if others:
        assignee = app.agents.find(case.assignee) if case.assignee else None
        rows.append(send(others, key, assignee.email if assignee else app.settings.support.address,
                         reply_to=assignee.name if assignee else ""))
    return [r for r in rows if r is not None]


def sweep_case(app, session: Session, case: Case, now: datetime,
               known: tuple[CaseFacts, frozenset[tuple[str, str]]]) -> list[SweepAction]:
    """Plan one case and fire what is due; `known`: its facts and fired steps (facts_for)."""
    ladder = app.ladder
    levels = app.service_levels
    facts, fired = known
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


def planned_since(session: Session) -> datetime | None:
    """When the last complete sweep planned every changed case (None: never)."""
    mark = session.get(SweepMark, MARK)
    return mark.at if mark else None


def plan_cases(app, session: Session, case_ids: list[int], now: datetime) -> list[SweepAction]:
    """Plan these cases and fire what is due, their facts read together; PostgreSQL skips a
    case another sweep holds locked, and the unique (case, step, breach) row makes a step
    fire once even if two sweeps meet."""
    query = select(Case).where(Case.id.in_(case_ids))
    if is_postgres(app.db.engine):
        query = query.with_for_update(skip_locked=True, of=Case)
    order = {case_id: n for n, case_id in enumerate(case_ids)}
    cases = sorted(session.scalars(query), key=lambda c: order[c.id])
    known = facts_for(session, cases)
    actions: list[SweepAction] = []
    for case in cases:
        actions.extend(sweep_case(app, session, case, now, known[case.id]))
    return actions


def mark_planned(session: Session, now: datetime) -> None:
    """Every case changed before `now` is planned: the next sweep looks at later changes."""
    mark = session.get(SweepMark, MARK)
    if mark is None:
        try:
            with session.begin_nested():
                session.add(SweepMark(name=MARK, at=now))
        except IntegrityError:
            pass  # a concurrent sweep wrote it first: its mark is as good
    elif mark.at < now:
        mark.at = now
