"""A new case's triage: priority and deadlines, team and assignee, KB suggestions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailproc.cases.lifecycle import change_status
from mailproc.cases.records import record_event
from mailproc.db import core
from mailproc.models import Case, CaseStatus, Message
from mailproc.policy.assign import choose_assignee, route_team
from mailproc.policy.kb import suggest_for_case
from mailproc.policy.priority import decide_priority
from mailproc.sla.deadlines import compute_deadlines
from mailproc.store.raw import mailbox_name

# The assignee of the team's newest other case: round robin goes on from there.
_LAST_ASSIGNEE = (select(Case.assignee).where(Case.team == bindparam("team"), Case.assignee != "",
                                              Case.id != bindparam("case_id"))
                  .order_by(Case.id.desc()).limit(1))


def assign(app, session: Session, case: Case, parsed, now: datetime) -> None:
    directory = app.agents
    text = parsed.new_text or parsed.text
    team, why = route_team(directory, case.team, parsed.from_addr, parsed.subject, text)
    case.team = team
    with session.no_autoflush:      # other cases only: this one's changes can wait
        last = core(session).scalar(_LAST_ASSIGNEE, {"team": team, "case_id": case.id})
    choice = choose_assignee(directory, team, parsed.from_addr, parsed.subject, text, last)
    case.assignee = choice.assignee
    record_event(session, case.id, actor="mailproc", kind="assigned",
                 detail=f"team {team or '(none)'} ({why}); "
                        f"{choice.assignee or 'nobody'} ({choice.reason})", now=now,
                 data={"team": team, "assignee": choice.assignee, "rule": choice.rule})


def suggest_articles(app, session: Session, case: Case, message: Message, now: datetime) -> None:
    text = message.new_text or message.body_text
    case.kb_suggestions = suggest_for_case(app, message.subject, text, "customer")
    if case.kb_suggestions:
        record_event(session, case.id, actor="mailproc", kind="kb_suggested",
                     detail="suggested " + ", ".join(
                         f"{s['id']} ({s['score']:.2f})" for s in case.kb_suggestions), now=now,
                     data={"suggestions": case.kb_suggestions})


def resolve_by_kb(app, session: Session, case: Case, message: Message, now: datetime) -> None:
    case.resolved_by_kb = True
    resolve = app.kb_settings.on_thanks == "resolve"
    record_event(session, case.id, actor=message.from_addr, kind="resolved_by_kb",
                 detail="the customer says a suggested article fixed it"
                        + ("" if resolve else " (flagged for the agent)"),
                 now=now, data={"suggestions": [s["id"] for s in case.kb_suggestions]})
    if resolve:
        change_status(app, session, case, CaseStatus.RESOLVED, actor=message.from_addr,
                      reason="resolved by a KB article", now=now)


def set_priority_and_deadlines(app, session: Session, case: Case, parsed, now: datetime) -> None:
    levels = app.service_levels
    decision = decide_priority(parsed.from_addr, parsed.subject, parsed.new_text or parsed.text,
                               mailbox_name(session, case.mailbox_id), levels.rules,
                               default=case.priority)
    case.priority = decision.priority
    deadlines = compute_deadlines(now, levels.policy(case.priority), levels.calendar)
    case.first_response_due_at = deadlines.first_response_due_at
    case.resolution_due_at = deadlines.resolution_due_at
    record_event(session, case.id, actor="mailproc", kind="priority",
                 detail=f"{case.priority}: {decision.reason}", now=now,
                 data={"rule": decision.rule})
    record_event(session, case.id, actor="mailproc", kind="deadlines",
                 detail=f"first response by {deadlines.first_response_due_at:%Y-%m-%d %H:%M} UTC, "
                        f"resolution by {deadlines.resolution_due_at:%Y-%m-%d %H:%M} UTC", now=now)


