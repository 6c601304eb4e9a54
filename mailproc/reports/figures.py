"""The report's figures for one period: volume, responsiveness and SLA, the KB, workload.

Rows are counted and grouped in SQL; only the groups (and, for response times, one row per
answered case) come back to Python, where times move into the calendar's zone and business
time is measured on the business calendar. Merged cases are left out: their mail lives on in
the case they were merged into.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailproc.models import Case, CaseStatus, Direction, Escalation, Event, Mailbox, Message
from mailproc.reports.period import Period, local_at, quarter_hour
from mailproc.sla.calendar import BusinessCalendar

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BACKLOG_AGES = (("under 1 day", timedelta(days=1)), ("1-3 days", timedelta(days=3)),
                ("3-7 days", timedelta(days=7)), ("1-2 weeks", timedelta(days=14)),
                ("over 2 weeks", None))
ACTIVE = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING)


@dataclass(frozen=True)
class Scope:
    """What one run of the figures looks at."""

    period: Period
    calendar: BusinessCalendar
    dialect: str
    team: str | None = None


def case_filter(scope: Scope) -> list:
    p = scope.period
    where = [Case.created_at >= p.since_at, Case.created_at < p.until_at,
             Case.merged_into_id.is_(None)]
    if scope.team is not None:
        where.append(Case.team == scope.team)
    return where


def in_period(column, scope: Scope) -> list:
    where = [column >= scope.period.since_at, column < scope.period.until_at]
    if scope.team is not None:
        where.append(Case.team == scope.team)
    return where


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# ---- volume ---------------------------------------------------------------------------------

def _by_local_time(rows, scope: Scope) -> tuple[dict, dict, list[list[int]]]:
    """(count per local date, per ISO week, 7 x 24 hour-of-week grid) from quarter-hour groups."""
    tz = scope.period.tz
    days = {d.isoformat(): 0 for d in scope.period.dates()}
    weeks: dict[str, int] = {}
    for d in scope.period.dates():
        weeks.setdefault(f"{d.isocalendar().year}-W{d.isocalendar().week:02d}", 0)
    grid = [[0] * 24 for _ in range(7)]
    for bucket, count in rows:
        at = local_at(int(bucket), tz)
        day = at.date()
        if day.isoformat() not in days:
            continue
        days[day.isoformat()] += count
        weeks[f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"] += count
        grid[at.weekday()][at.hour] += count
    return days, weeks, grid


def volume(session: Session, scope: Scope) -> dict:
    bucket = quarter_hour(Case.created_at, scope.dialect)
    rows = session.execute(select(bucket, func.count()).where(*case_filter(scope))
                           .group_by(bucket)).all()
    days, weeks, _ = _by_local_time(rows, scope)
    names = dict(session.execute(select(Mailbox.id, Mailbox.name)).all())

    def by(column) -> dict[str, int]:
        got = session.execute(select(column, func.count()).where(*case_filter(scope))
                              .group_by(column)).all()
        return {str(key if key is not None else ""): n for key, n in sorted(
            got, key=lambda kv: (-kv[1], str(kv[0])))}

    by_mailbox = {names.get(int(k), k) if k else "(none)": n
                  for k, n in by(Case.mailbox_id).items()}
    mbucket = quarter_hour(Message.created_at, scope.dialect)
    mrows = session.execute(
        select(mbucket, func.count()).join(Case, Case.id == Message.case_id)
        .where(Message.direction == Direction.IN, Message.kind == "human",
               Case.merged_into_id.is_(None), *in_period(Message.created_at, scope))
        .group_by(mbucket)).all()
    mdays, mweeks, heat = _by_local_time(mrows, scope)
    return {"new_cases": sum(days.values()), "cases_by_day": days, "cases_by_week": weeks,
            "cases_by_mailbox": by_mailbox,
            "cases_by_team": {k or "(none)": n for k, n in by(Case.team).items()},
            "cases_by_priority": by(Case.priority),
            "customer_messages": sum(mdays.values()), "messages_by_day": mdays,
            "messages_by_week": mweeks, "heatmap": heat}


# ---- responsiveness and SLA -----------------------------------------------------------------

def _times(rows: list[tuple[timedelta, timedelta]]) -> dict:
    cal = [hours(c) for c, _ in rows]
    biz = [hours(b) for _, b in rows]
    return {"answered": len(rows),
            "median_business_hours": _round(quantile(biz, 0.5)),
            "p90_business_hours": _round(quantile(biz, 0.9)),
            "median_calendar_hours": _round(quantile(cal, 0.5)),
            "p90_calendar_hours": _round(quantile(cal, 0.9))}


def _attainment(outcomes: list[str]) -> dict:
    count = Counter(outcomes)
    decided = count["met"] + count["breached"]
    return {"met": count["met"], "breached": count["breached"], "open": count["open"],
            "attainment": round(count["met"] / decided, 4) if decided else None}


def sla_outcome(done_at: datetime | None, due_at: datetime | None, until_at: datetime) -> str:
    """met or breached; open when nothing was done and the deadline is after the period's end."""
    if due_at is None:
        return "none"
    if done_at is not None:
        return "met" if done_at <= due_at else "breached"
    return "breached" if due_at < until_at else "open"


def responsiveness(session: Session, scope: Scope) -> dict:
    until = scope.period.until_at
    rows = session.execute(select(
        Case.ref, Case.team, Case.priority, Case.created_at, Case.first_responded_at,
        Case.first_response_due_at, Case.resolved_at, Case.resolution_due_at)
        .where(*case_filter(scope)).order_by(Case.id)).all()
    answered: dict[str, list] = defaultdict(list)
    fr: dict[str, list] = defaultdict(list)
    res: dict[str, list] = defaultdict(list)
    breaches = []
    for ref, team, prio, created, responded, fr_due, resolved, res_due in rows:
        if responded is not None and responded < until:
            pair = (responded - created, scope.calendar.business_time_between(created, responded))
            for key in ("all", f"priority:{prio}", f"team:{team or '(none)'}"):
                answered[key].append(pair)
        # A case resolved before anyone answered (the KB's suggestion fixed it) kept its
        # first-response promise too: the customer needed nothing more.
        first = min((t for t in (responded, resolved) if t is not None), default=None)
        for target, done, due, bucket in (("first response", first, fr_due, fr),
                                          ("resolution", resolved, res_due, res)):
            done = done if done is not None and done < until else None
            outcome = sla_outcome(done, due, until)
            if outcome == "none":
                continue
            for key in ("all", f"priority:{prio}"):
                bucket[key].append(outcome)
            if outcome == "breached":
                end = done or until
                breaches.append({"ref": ref, "team": team or "(none)", "priority": prio,
                                 "target": target, "due_at": due.isoformat(),
                                 "late_hours": _round(hours(end - due)),
                                 "late_business_hours": _round(hours(
                                     scope.calendar.business_time_between(due, end)))})
    breaches.sort(key=lambda b: (-b["late_hours"], b["ref"]))
    return {"first_response_times": {k: _times(v) for k, v in sorted(answered.items())},
            "sla_first_response": {k: _attainment(v) for k, v in sorted(fr.items())},
            "sla_resolution": {k: _attainment(v) for k, v in sorted(res.items())},
            "breaches": breaches,
            "backlog": backlog(session, scope),
            "reopen": reopen(session, scope),
            "escalations": escalations(session, scope)}


def backlog(session: Session, scope: Scope) -> dict:
    """Cases waiting at the period's end (not resolved, closed or merged by then), by age."""
    until = scope.period.until_at
    where = [Case.created_at < until, Case.merged_into_id.is_(None),
             or_(Case.status.in_(ACTIVE), Case.resolved_at >= until, Case.closed_at >= until),
             or_(Case.resolved_at.is_(None), Case.resolved_at >= until),
             or_(Case.closed_at.is_(None), Case.closed_at >= until)]
    if scope.team is not None:
        where.append(Case.team == scope.team)
    out = {label: 0 for label, _ in BACKLOG_AGES}
    lower = None
    for label, upper in BACKLOG_AGES:
        cond = [*where]
        if upper is not None:
            cond.append(Case.created_at > until - upper)
        if lower is not None:
            cond.append(Case.created_at <= until - lower)
        out[label] = session.scalar(select(func.count()).select_from(Case).where(*cond))
        lower = upper
    return out


def reopen(session: Session, scope: Scope) -> dict:
    """Cases resolved in the period, and how many of those a customer reopened in it."""
    moved = select(Event.case_id, Event.data["from"].as_string(), Event.data["to"].as_string()) \
        .join(Case, Case.id == Event.case_id).where(Event.kind == "status",
                                                     *in_period(Event.at, scope))
    resolved, reopened = set(), set()
    for case_id, old, new in session.execute(moved):
        if new == "resolved":
            resolved.add(case_id)
        elif old in ("resolved", "closed") and new in ("open", "new"):
            reopened.add(case_id)
    return {"resolved": len(resolved), "reopened": len(reopened & resolved),
            "rate": round(len(reopened & resolved) / len(resolved), 4) if resolved else None}


def escalations(session: Session, scope: Scope) -> dict[str, int]:
    rows = session.execute(select(Escalation.step, func.count())
                           .join(Case, Case.id == Escalation.case_id)
                           .where(*in_period(Escalation.fired_at, scope))
                           .group_by(Escalation.step).order_by(Escalation.step)).all()
    return dict(rows)


# ---- knowledge base and workload ------------------------------------------------------------

def _events(session: Session, scope: Scope, kind: str):
    return session.execute(select(Event.case_id, Event.actor, Event.data)
                           .join(Case, Case.id == Event.case_id)
                           .where(Event.kind == kind, *in_period(Event.at, scope))).all()


def knowledge_base(session: Session, scope: Scope) -> dict:
    per: dict[str, Counter] = defaultdict(Counter)
    suggested_cases = set()
    for case_id, _, data in _events(session, scope, "kb_suggested"):
        suggested_cases.add(case_id)
        for s in (data or {}).get("suggestions", []):
            per[s["id"]]["suggested"] += 1
    resolved = 0
    for _, _, data in _events(session, scope, "resolved_by_kb"):
        resolved += 1
        ids = (data or {}).get("suggestions") or []
        if ids:  # the top suggestion gets the credit
            per[ids[0]]["resolved"] += 1
    for _, _, data in _events(session, scope, "kb_sent"):
        if (data or {}).get("article"):
            per[data["article"]]["sent_by_agents"] += 1
    articles = {aid: {"suggested": c["suggested"], "resolved": c["resolved"],
                      "sent_by_agents": c["sent_by_agents"]}
                for aid, c in sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))}
    return {"cases_with_suggestions": len(suggested_cases),
            "suggestions": sum(c["suggested"] for c in per.values()),
            "resolved_by_suggestion": resolved, "articles": articles}


def workload(session: Session, scope: Scope, agent_names: dict[str, str]) -> dict:
    def count(column) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).where(*case_filter(scope))
                               .group_by(column)).all()
        return {k or "(none)": n for k, n in sorted(rows, key=lambda kv: (-kv[1], kv[0] or ""))}

    replies: Counter = Counter()
    team_replies: Counter = Counter()
    rows = session.execute(select(Event.actor, Case.team, func.count())
                           .join(Case, Case.id == Event.case_id)
                           .where(Event.kind == "relayed", *in_period(Event.at, scope))
                           .group_by(Event.actor, Case.team)).all()
    for actor, team, n in rows:
        replies[agent_names.get(actor.lower(), actor)] += n
        team_replies[team or "(none)"] += n
    return {"cases_by_team": count(Case.team), "cases_by_assignee": count(Case.assignee),
            "replies_by_agent": dict(replies.most_common()),
            "replies_by_team": dict(team_replies.most_common())}


def figures(session: Session, scope: Scope, agent_names: dict[str, str]) -> dict:
    return {"volume": volume(session, scope), "responsiveness": responsiveness(session, scope),
            "knowledge_base": knowledge_base(session, scope),
            "workload": workload(session, scope, agent_names)}
