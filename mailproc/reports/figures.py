"""The report's figures for each period: volume, responsiveness and SLA, the KB, workload.

Rows are counted and grouped in SQL, every table read once for all the periods (`scope`);
only the groups come back to Python (`case_scan`: the cases' groups with their times), where
times move into the calendar's zone and business time is measured on the business calendar. Merged cases are left out: their mail lives on in the case they were
merged into.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailproc.models import Case, Direction, Event, Mailbox, Message
from mailproc.reports.case_scan import US, CaseGroup, case_groups
from mailproc.reports.knowledge import knowledge_base
from mailproc.reports.period import BUCKET_SECONDS, Period, local_at, quarter_hour
from mailproc.reports.responsiveness import backlog, escalations, reopen, response_figures
from mailproc.reports.scope import Scope, in_span, period_of, split

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def figures(session: Session, scope: Scope, agent_names: dict[str, str]) -> list[dict]:
    """One dict of figures per period of the scope, in its order."""
    groups = case_groups(session, scope)
    responses = response_figures(session, groups, scope)
    for r, ages, again, fired in zip(responses, backlog(groups, len(scope.periods)),
                                     reopen(session, scope), escalations(session, scope)):
        r.update(backlog=ages, reopen=again, escalations=fired)
    return [{"volume": v, "responsiveness": r, "knowledge_base": k, "workload": w}
            for v, r, k, w in zip(volume(session, scope, groups), responses,
                                  knowledge_base(session, scope),
                                  workload(session, scope, groups, agent_names))]


# ---- volume ---------------------------------------------------------------------------------

def _week(day) -> str:
    return f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"


def _by_local_time(counts, period: Period) -> tuple[dict, dict, list[list[int]]]:
    """(count per local date, per ISO week, 7 x 24 hour-of-week grid) from quarter-hour groups."""
    tz = period.tz
    days = {d.isoformat(): 0 for d in period.dates()}
    weeks = {_week(d): 0 for d in period.dates()}
    grid = [[0] * 24 for _ in range(7)]
    for bucket, count in counts:
        at = local_at(int(bucket), tz)
        day = at.date()
        if day.isoformat() not in days:
            continue
        days[day.isoformat()] += count
        weeks[_week(day)] += count
        grid[at.weekday()][at.hour] += count
    return days, weeks, grid


def _ranked(counter: Counter) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _customer_messages(session: Session, scope: Scope) -> list[list[tuple]]:
    """Per period, customers' messages by UTC quarter hour. A merged case's mail counts in
    the case it went into; mail without a case is left out."""
    bucket = quarter_hour(Message.created_at, scope.dialect)
    which = period_of(Message.created_at, scope)
    if scope.team is None:       # the few merged cases, not the many others, are looked up
        of_cases = Message.case_id.not_in(select(Case.id).where(Case.merged_into_id.is_not(None)))
    else:
        of_cases = Message.case_id.in_(select(Case.id).where(
            Case.team == scope.team, Case.merged_into_id.is_(None)))
    query = select(which, bucket, func.count()).where(
        Message.direction == Direction.IN, Message.kind == "human", Message.case_id.is_not(None),
        Message.created_at >= scope.since_at, Message.created_at < scope.until_at,
        of_cases).group_by(which, bucket)
    return split(session.execute(query).all(), len(scope.periods))


def volume(session: Session, scope: Scope, groups: list[CaseGroup]) -> list[dict]:
    names = dict(session.execute(select(Mailbox.id, Mailbox.name)).all())
    out = []
    for i, (period, messages) in enumerate(zip(scope.periods,
                                               _customer_messages(session, scope))):
        mine = [g for g in groups if g.period == i]
        by_mailbox: Counter = Counter()
        by_team: Counter = Counter()
        by_priority: Counter = Counter()
        for g in mine:
            by_mailbox[names.get(g.mailbox_id, "(none)")] += g.count
            by_team[g.team or "(none)"] += g.count
            by_priority[g.priority] += g.count
        created = np.concatenate([g.created for g in mine] or [np.zeros(0)])
        quarters, counts = np.unique(created // (BUCKET_SECONDS * US), return_counts=True)
        days, weeks, _ = _by_local_time(zip(quarters.tolist(), counts.tolist()), period)
        mdays, mweeks, heat = _by_local_time(messages, period)
        out.append({"new_cases": sum(days.values()), "cases_by_day": days,
                    "cases_by_week": weeks, "cases_by_mailbox": _ranked(by_mailbox),
                    "cases_by_team": _ranked(by_team), "cases_by_priority": _ranked(by_priority),
                    "customer_messages": sum(mdays.values()), "messages_by_day": mdays,
                    "messages_by_week": mweeks, "heatmap": heat})
    return out


# ---- workload -------------------------------------------------------------------------------

def workload(session: Session, scope: Scope, groups: list[CaseGroup],
             agent_names: dict[str, str]) -> list[dict]:
    which = period_of(Event.at, scope)
    query = select(which, Event.actor, Case.team, func.count()) \
        .join(Case, Case.id == Event.case_id) \
        .where(Event.kind == "relayed", *in_span(Event.at, scope)) \
        .group_by(which, Event.actor, Case.team)
    relayed = split(session.execute(query).all(), len(scope.periods))
    out = []
    for i, replied in enumerate(relayed):
        by_team: Counter = Counter()
        by_assignee: Counter = Counter()
        for g in groups:
            if g.period == i:
                by_team[g.team or "(none)"] += g.count
                by_assignee[g.assignee or "(none)"] += g.count
        replies: Counter = Counter()
        team_replies: Counter = Counter()
        for actor, team, n in replied:
            replies[agent_names.get(actor.lower(), actor)] += n
            team_replies[team or "(none)"] += n
        out.append({"cases_by_team": _ranked(by_team), "cases_by_assignee": _ranked(by_assignee),
                    "replies_by_agent": dict(replies.most_common()),
                    "replies_by_team": dict(team_replies.most_common())})
    return out
