"""The report's figures for each period: volume, responsiveness and SLA, the KB, workload.

Rows are counted and grouped in SQL, every table read once for all the periods (`scope`);
only the groups come back to Python (`case_scan`: the cases' groups with their times), where
times move into the calendar's zone and business time is measured on the business calendar.
Merged cases are left out: their mail lives on in the case they were merged into.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailproc.models import Case, Direction, Event, Mailbox, Message
from mailproc.reports.case_scan import US, CaseGroup, case_groups
from mailproc.reports.grouped import Key, Numbers, grouped
from mailproc.reports.knowledge import knowledge_base
from mailproc.reports.period import BUCKET_SECONDS, Period, local_at, quarter_hour
from mailproc.reports.responsiveness import backlog, escalations, reopen, response_figures
from mailproc.reports.scope import Scope, in_span, period_of, split, tally
from mailproc.reports.snapshot import run_together

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def figures(session: Session, scope: Scope, agent_names: dict[str, str]) -> list[dict]:
    """One dict of figures per period of the scope, in its order. The reads are independent:
    on PostgreSQL they run two at a time, on one snapshot (`run_together`); the longest
    are queued first."""
    def cases(s: Session):
        groups = case_groups(s, scope)
        return groups, response_figures(s, groups, scope)

    (groups, responses), replies, reopened, kb, messages, fired, names = run_together(session, [
        cases, lambda s: relayed(s, scope), lambda s: reopen(s, scope),
        lambda s: knowledge_base(s, scope), lambda s: customer_messages(s, scope),
        lambda s: escalations(s, scope),
        lambda s: dict(s.execute(select(Mailbox.id, Mailbox.name)).all())])
    for r, ages, again, up in zip(responses, backlog(groups, len(scope.periods)), reopened,
                                  fired):
        r.update(backlog=ages, reopen=again, escalations=up)
    return [{"volume": v, "responsiveness": r, "knowledge_base": k, "workload": w}
            for v, r, k, w in zip(volume(scope, groups, messages, names), responses, kb,
                                  workload(groups, replies, agent_names))]


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


def customer_messages(session: Session, scope: Scope) -> list[list[tuple]]:
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


def volume(scope: Scope, groups: list[CaseGroup], messages: list[list[tuple]],
           names: dict[int, str]) -> list[dict]:
    """Per period: new cases and customers' messages by day, week, mailbox, team and priority,
    and when people write (`messages`: `customer_messages`; `names`: mailboxes by id)."""
    out = []
    for i, (period, written) in enumerate(zip(scope.periods, messages)):
        mine = [g for g in groups if g.period == i]
        by_mailbox: Counter = Counter()
        by_team: Counter = Counter()
        by_priority: Counter = Counter()
        for g in mine:
            by_mailbox[names.get(g.mailbox_id, "(none)")] += g.count
            by_team[g.team or "(none)"] += g.count
            by_priority[g.priority] += g.count
        created = np.concatenate([g.created for g in mine] or [np.zeros(0)])
        quarters, counts = tally(created // (BUCKET_SECONDS * US))
        days, weeks, _ = _by_local_time(zip(quarters.tolist(), counts.tolist()), period)
        mdays, mweeks, heat = _by_local_time(written, period)
        out.append({"new_cases": sum(days.values()), "cases_by_day": days,
                    "cases_by_week": weeks, "cases_by_mailbox": _ranked(by_mailbox),
                    "cases_by_team": _ranked(by_team), "cases_by_priority": _ranked(by_priority),
                    "customer_messages": sum(mdays.values()), "messages_by_day": mdays,
                    "messages_by_week": mweeks, "heatmap": heat})
    return out


# ---- workload -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Replies:
    """One period's agents' replies relayed to customers: for cases opened in the span, the
    case ids per agent address (their teams come from the read of the cases); for the
    others, already counted by (agent address, team)."""

    case_ids: dict[str, np.ndarray]
    counted: list[tuple[str, str, int]]


def relayed(session: Session, scope: Scope) -> list[Replies]:
    """Per period: `Replies`. Joining a million replies to a million cases for their team
    costs more than the rest of the report; only the replies to older and merged cases are
    joined here, or all of a team's when the scope has one (a team's cases are fewer)."""
    which = period_of(Event.at, scope)
    replies = [Event.kind == "relayed", *in_span(Event.at, scope)]
    other = [] if scope.team is not None else [or_(
        Case.created_at < scope.since_at, Case.created_at >= scope.until_at,
        Case.merged_into_id.is_not(None))]
    counted = split(session.execute(
        select(which, Event.actor, Case.team, func.count()).join(Case, Case.id == Event.case_id)
        .where(*replies, *other).group_by(which, Event.actor, Case.team)).all(),
        len(scope.periods))
    by_case: list[dict[str, np.ndarray]] = [{} for _ in scope.periods]
    if scope.team is None:
        for (period, actor), _, (ids,) in grouped(
                session, [Key(which), Key(Event.actor, text=True)], [Numbers(Event.case_id)],
                where=[*replies, Event.case_id.is_not(None)]):
            if period is not None:
                by_case[period][actor] = ids
    return [Replies(ids, rows) for ids, rows in zip(by_case, counted)]


def _team_of(groups: list[CaseGroup]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(case ids sorted, their team's index in the list, the teams) of the cases read."""
    teams = sorted({g.team for g in groups})
    ids = np.concatenate([g.ids for g in groups] or [np.zeros(0, dtype=np.int64)])
    codes = np.concatenate([np.full(g.ids.size, teams.index(g.team)) for g in groups]
                           or [np.zeros(0, dtype=np.int64)])
    order = np.argsort(ids, kind="stable")
    return ids[order], codes[order], teams


def workload(groups: list[CaseGroup], replies: list[Replies],
             agent_names: dict[str, str]) -> list[dict]:
    """Per period: cases by team and assignee, replies by agent and team (`relayed`)."""
    ids, codes, teams = _team_of(groups)
    out = []
    for i, replied in enumerate(replies):
        by_team: Counter = Counter()
        by_assignee: Counter = Counter()
        for g in groups:
            if g.period == i:
                by_team[g.team or "(none)"] += g.count
                by_assignee[g.assignee or "(none)"] += g.count
        by_agent: Counter = Counter()
        team_replies: Counter = Counter()
        for actor, team, n in replied.counted:
            by_agent[agent_names.get(actor.lower(), actor)] += n
            team_replies[team or "(none)"] += n
        for actor, case_ids in replied.case_ids.items():
            at = np.clip(np.searchsorted(ids, case_ids), 0, max(ids.size - 1, 0))
            known = ids[at] == case_ids if ids.size else np.zeros(case_ids.size, dtype=bool)
            by_agent[agent_names.get(actor.lower(), actor)] += int(known.sum())
            for code, n in zip(*tally(codes[at[known]])):
                team_replies[teams[code] or "(none)"] += int(n)
        out.append({"cases_by_team": _ranked(by_team), "cases_by_assignee": _ranked(by_assignee),
                    "replies_by_agent": dict(by_agent.most_common()),
                    "replies_by_team": dict(team_replies.most_common())})
    return out
