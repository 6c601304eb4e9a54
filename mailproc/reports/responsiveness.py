"""Responsiveness per period: first-response times, SLA attainment and breaches, backlog by
age, reopen rate, escalations fired.

Response times, SLA attainment and breaches come from the groups of the one read of the
cases (`case_scan`), response times measured in business time on the calendar; the rest is
counted in SQL, each table read once for all the periods.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from mailproc.models import Case, Escalation, Event
from mailproc.reports.case_scan import (
    BACKLOG_AGES, BREACHED, MET, NONE, OPEN, US, CaseGroup,
)
from mailproc.reports.clock import BusinessClock
from mailproc.reports.grouped import Key, Numbers, grouped
from mailproc.reports.scope import Scope, event_rows, period_of, quantile, rounded, split, tally

MAX_BREACHES = 200                          # the worst are listed; the SLA table counts all


def _times(calendar_h: np.ndarray, business_h: np.ndarray) -> dict:
    def q(values, share):
        return rounded(quantile(values, share)) if values.size else None
    return {"answered": int(calendar_h.size),
            "median_business_hours": q(business_h, 0.5), "p90_business_hours": q(business_h, 0.9),
            "median_calendar_hours": q(calendar_h, 0.5), "p90_calendar_hours": q(calendar_h, 0.9)}


def _attainment(groups: list[CaseGroup], target: str) -> dict:
    counts = Counter()
    for g in groups:
        counts[getattr(g, target)] += g.count
    met, breached, open_ = counts[MET], counts[BREACHED], counts[OPEN]
    return {"met": met, "breached": breached, "open": open_,
            "attainment": round(met / (met + breached), 4) if met + breached else None}


def response_figures(session: Session, groups: list[CaseGroup], scope: Scope) -> list[dict]:
    """Per period: first-response times by group, SLA attainment by group, the worst breaches."""
    # cases open, are answered and fall due inside the span
    clock = BusinessClock.covering(scope.calendar, np.array(
        [scope.since_at.timestamp() * US, scope.until_at.timestamp() * US]))
    out = []
    for i, p in enumerate(scope.periods):
        mine = [g for g in groups if g.period == i]
        named = {"all": mine}
        for priority in sorted({g.priority for g in mine}):
            named[f"priority:{priority}"] = [g for g in mine if g.priority == priority]
        by_team = {f"team:{t or '(none)'}": [g for g in mine if g.team == t]
                   for t in sorted({g.team for g in mine}, key=lambda t: t or "(none)")}
        out.append({"first_response_times": _response_times(mine, {**named, **by_team}, clock),
                    "sla_first_response": {k: _attainment(m, "fr") for k, m in named.items()
                                           if any(g.fr != NONE for g in m)},
                    "sla_resolution": {k: _attainment(m, "res") for k, m in named.items()
                                       if any(g.res != NONE for g in m)},
                    "breaches": _breaches(session, mine, clock, p.until_at)})
    return out


def _response_times(groups: list[CaseGroup], named: dict[str, list[CaseGroup]],
                    clock: BusinessClock) -> dict:
    """Median and 90th percentile of the first response, calendar and business hours, for
    each named set of groups: each case measured once, then picked by its group."""
    created = np.concatenate([g.created for g in groups] or [np.zeros(0)])
    responded = np.concatenate([g.responded for g in groups] or [np.zeros(0)])
    group = np.concatenate([np.full(g.created.size, n) for n, g in enumerate(groups)]
                           or [np.zeros(0, dtype=np.int64)])
    answered = ~np.isnan(responded)
    created, responded, group = created[answered], responded[answered], group[answered]
    calendar_h = (responded - created) / US / 3600
    business_h = clock.between(created, responded) / US / 3600
    index = {id(g): n for n, g in enumerate(groups)}
    times = {}
    for key, members in sorted(named.items()):
        chosen = np.isin(group, [index[id(g)] for g in members])
        if chosen.any():
            times[key] = _times(calendar_h[chosen], business_h[chosen])
    return times


def _breaches(session: Session, groups: list[CaseGroup], clock: BusinessClock,
              until: datetime) -> list[dict]:
    """The worst MAX_BREACHES of each target, by how late (ties: the older case first)."""
    listed = []
    for target, due_column, ids, late in (
            ("first response", Case.first_response_due_at, "fr_ids", "fr_late"),
            ("resolution", Case.resolution_due_at, "res_ids", "res_late")):
        all_ids = np.concatenate([getattr(g, ids) for g in groups] or [np.zeros(0, np.int64)])
        all_late = np.concatenate([getattr(g, late) for g in groups] or [np.zeros(0, np.int64)])
        if all_late.size > MAX_BREACHES:     # the candidates: as late as the 200th, or later
            cut = np.partition(all_late, all_late.size - MAX_BREACHES)[-MAX_BREACHES]
            all_ids, all_late = all_ids[all_late >= cut], all_late[all_late >= cut]
        worst = np.lexsort((all_ids, -all_late))[:MAX_BREACHES]
        if not worst.size:
            continue
        lateness = dict(zip(all_ids[worst].tolist(), all_late[worst].tolist()))
        rows = session.execute(select(Case.id, Case.ref, Case.team, Case.priority, due_column)
                               .where(Case.id.in_(lateness))).all()
        due = np.array([r[4].timestamp() * US for r in rows])
        end = due + np.array([lateness[r[0]] for r in rows], dtype=np.float64)
        for (case_id, ref, team, priority, due_at), biz in zip(rows, clock.between(due, end)):
            listed.append({"ref": ref, "team": team or "(none)", "priority": priority,
                           "target": target, "due_at": due_at.isoformat(),
                           "late_hours": rounded(lateness[case_id] / US / 3600),
                           "late_business_hours": rounded(float(biz) / US / 3600)})
    listed.sort(key=lambda b: (-b["late_hours"], b["ref"]))
    return listed[:MAX_BREACHES]


def backlog(groups: list[CaseGroup], periods: int) -> list[dict]:
    """Per period: cases waiting at its end (not resolved, closed or merged by then), by age."""
    counts = [Counter() for _ in range(periods)]
    for g in groups:
        for i, age in enumerate(g.ages):
            if age is not None:
                counts[i][age] += g.count
    return [{label: c[n] for n, (label, _) in enumerate(BACKLOG_AGES)} for c in counts]


def reopen(session: Session, scope: Scope) -> list[dict]:
    """Per period: cases resolved in it, and how many of those a customer reopened in it.
    The status changes' cases come back as arrays, so that cases are counted once by numpy,
    not grouped one by one in SQL."""
    new, old = Event.data["to"].as_string(), Event.data["from"].as_string()
    source, where = event_rows(scope)
    groups = {key[0]: ids for key, _, ids in grouped(
        session, [Key(period_of(Event.at, scope))],
        [Numbers(Event.case_id, new == "resolved"),
         Numbers(Event.case_id, and_(old.in_(("resolved", "closed")), new.in_(("open", "new"))))],
        where=[Event.kind == "status", *where], source=source)}
    out = []
    for i in range(len(scope.periods)):
        resolved_ids, reopened_ids = groups.get(i, (np.zeros(0), np.zeros(0)))
        resolved = tally(resolved_ids)[0]
        reopened = np.intersect1d(resolved, tally(reopened_ids)[0], assume_unique=True).size
        out.append({"resolved": int(resolved.size), "reopened": int(reopened),
                    "rate": round(reopened / resolved.size, 4) if resolved.size else None})
    return out


def escalations(session: Session, scope: Scope) -> list[dict[str, int]]:
    which = period_of(Escalation.fired_at, scope)
    query = select(which, Escalation.step, func.count()) \
        .where(Escalation.fired_at >= scope.since_at, Escalation.fired_at < scope.until_at) \
        .group_by(which, Escalation.step)
    if scope.team is not None:
        query = query.join(Case, Case.id == Escalation.case_id).where(Case.team == scope.team)
    return [dict(sorted(rows)) for rows in split(session.execute(query).all(),
                                                 len(scope.periods))]

