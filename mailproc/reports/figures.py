"""The report's figures for one period: volume, responsiveness and SLA, the KB, workload.

Rows are counted and grouped in SQL; only the groups (and, for response times, one row per
answered case) come back to Python, where times move into the calendar's zone and business
time is measured on the business calendar. Merged cases are left out: their mail lives on in
the case they were merged into.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import BigInteger, bindparam, case, cast, column, func, or_, select, text
from sqlalchemy.orm import Session

from mailproc.models import Case, Direction, Escalation, Event, Mailbox, Message
from mailproc.reports.clock import US, BusinessClock
from mailproc.reports.period import Period, local_at, quarter_hour
from mailproc.sla.calendar import BusinessCalendar

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BACKLOG_AGES = (("under 1 day", timedelta(days=1)), ("1-3 days", timedelta(days=3)),
                ("3-7 days", timedelta(days=7)), ("1-2 weeks", timedelta(days=14)),
                ("over 2 weeks", None))
NONE, MET, BREACHED, OPEN = 0, 1, 2, 3     # SLA outcomes
MAX_BREACHES = 200                          # the worst are listed; the SLA table counts all


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
    # One scan: every (quarter hour, mailbox, team, priority) group, summed up here.
    rows = session.execute(select(bucket, Case.mailbox_id, Case.team, Case.priority, func.count())
                           .where(*case_filter(scope))
                           .group_by(bucket, Case.mailbox_id, Case.team, Case.priority)).all()
    names = dict(session.execute(select(Mailbox.id, Mailbox.name)).all())
    per_bucket: Counter = Counter()
    by_mailbox: Counter = Counter()
    by_team: Counter = Counter()
    by_priority: Counter = Counter()
    for quarter, box, team, priority, n in rows:
        per_bucket[quarter] += n
        by_mailbox[names.get(box, "(none)")] += n
        by_team[team or "(none)"] += n
        by_priority[priority] += n
    days, weeks, _ = _by_local_time(per_bucket.items(), scope)
    mbucket = quarter_hour(Message.created_at, scope.dialect)
    mrows = session.execute(
        select(mbucket, func.count()).join(Case, Case.id == Message.case_id)
        .where(Message.direction == Direction.IN, Message.kind == "human",
               Case.merged_into_id.is_(None), *in_period(Message.created_at, scope))
        .group_by(mbucket)).all()
    mdays, mweeks, heat = _by_local_time(mrows, scope)

    def ranked(counter: Counter) -> dict[str, int]:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

    return {"new_cases": sum(days.values()), "cases_by_day": days, "cases_by_week": weeks,
            "cases_by_mailbox": ranked(by_mailbox), "cases_by_team": ranked(by_team),
            "cases_by_priority": ranked(by_priority),
            "customer_messages": sum(mdays.values()), "messages_by_day": mdays,
            "messages_by_week": mweeks, "heatmap": heat}


# ---- responsiveness and SLA -----------------------------------------------------------------

def epoch_us(column, dialect: str):
    """SQL: a timestamp column as microseconds since the epoch (NULL stays NULL); exact, and
    cheap to bring back in bulk, unlike a datetime per row."""
    if dialect == "postgresql":
        value = cast(func.extract("epoch", column) * US, BigInteger)
    else:   # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff": whole seconds, then the microseconds
        value = (cast(func.strftime("%s", column), BigInteger) * US
                 + cast(func.coalesce(func.substr(column, 21, 6), "0"), BigInteger))
    return func.coalesce(value, -1)     # -1: NULL, so a column converts to numpy in one go


def _times(calendar_h: np.ndarray, business_h: np.ndarray) -> dict:
    def q(values, share):
        return _round(quantile(values.tolist(), share)) if values.size else None
    return {"answered": int(calendar_h.size),
            "median_business_hours": q(business_h, 0.5), "p90_business_hours": q(business_h, 0.9),
            "median_calendar_hours": q(calendar_h, 0.5), "p90_calendar_hours": q(calendar_h, 0.9)}


def _attainment(outcome: np.ndarray) -> dict:
    met, breached, open_ = (int((outcome == k).sum()) for k in (MET, BREACHED, OPEN))
    return {"met": met, "breached": breached, "open": open_,
            "attainment": round(met / (met + breached), 4) if met + breached else None}


def sla_outcomes(done: np.ndarray, due: np.ndarray, until: float,
                 paused: np.ndarray | None = None) -> np.ndarray:
    """Per case: MET or BREACHED when done (NaN: not done by the period's end); when not done,
    BREACHED if the deadline passed while the clock ran, else OPEN. The clock stops at the
    period's end, or earlier where the case waits on the customer (`paused`): its deadline
    moves on when the customer answers. NONE without a deadline."""
    out = np.full(done.shape, NONE)
    has_due, is_done = ~np.isnan(due), ~np.isnan(done)
    out[has_due & is_done] = np.where(done[has_due & is_done] <= due[has_due & is_done],
                                      MET, BREACHED)
    stop = np.full(done.shape, until)
    if paused is not None:
        stop = np.where(paused < until, paused, until)     # NaN compares False: until
    waiting = has_due & ~is_done
    out[waiting] = np.where(due[waiting] < stop[waiting], BREACHED, OPEN)
    return out


def responsiveness(session: Session, scope: Scope) -> dict:
    d = scope.dialect
    rows = session.execute(select(
        Case.ref, Case.team, Case.priority, epoch_us(Case.created_at, d),
        epoch_us(Case.first_responded_at, d), epoch_us(Case.first_response_due_at, d),
        epoch_us(Case.resolved_at, d), epoch_us(Case.resolution_due_at, d),
        epoch_us(Case.closed_at, d), epoch_us(Case.paused_at, d))
        .where(*case_filter(scope)).order_by(Case.id)).all()
    until = scope.period.until_at.timestamp() * US
    cols = list(zip(*rows)) if rows else [()] * 10
    refs, teams, prios = (np.array(c, dtype=object) for c in cols[:3])
    teams[teams == ""] = "(none)"
    created, responded, fr_due, resolved, res_due, closed, paused = (
        np.array(c, dtype=np.float64) for c in cols[3:])
    for column_ in (created, responded, fr_due, resolved, res_due, closed, paused):
        column_[column_ < 0] = np.nan
    responded = np.where(responded < until, responded, np.nan)
    # Closed without passing through resolved (`#status closed`) is done too.
    resolved = np.fmin(resolved, closed)
    resolved = np.where(resolved < until, resolved, np.nan)
    clock = BusinessClock.covering(scope.calendar, created, fr_due, res_due,
                                   np.array([until]))
    answered = ~np.isnan(responded)
    calendar_h = (responded - created) / US / 3600
    business_h = clock.between(created, responded) / US / 3600
    # A case resolved before anyone answered (the KB's suggestion fixed it) kept its
    # first-response promise too: the customer needed nothing more.
    first = np.fmin(responded, resolved)
    fr_out = sla_outcomes(first, fr_due, until, paused)
    res_out = sla_outcomes(resolved, res_due, until, paused)
    groups = {"all": np.ones(len(rows), dtype=bool)}
    groups.update({f"priority:{p}": prios == p for p in sorted(set(prios))})
    by_team = {f"team:{t}": teams == t for t in sorted(set(teams))}
    times = {k: _times(calendar_h[m & answered], business_h[m & answered])
             for k, m in sorted({**groups, **by_team}.items()) if (m & answered).any()}
    breaches = []
    for target, outcome, done, due in (("first response", fr_out, first, fr_due),
                                       ("resolution", res_out, resolved, res_due)):
        idx = np.flatnonzero(outcome == BREACHED)
        end = np.where(np.isnan(done[idx]), until, done[idx])
        late = (end - due[idx]) / US / 3600
        worst = np.argsort(-late, kind="stable")[:MAX_BREACHES]    # the list people read
        idx, end, late = idx[worst], end[worst], late[worst]
        late_biz = clock.between(due[idx], end) / US / 3600
        for i, h, bh in zip(idx, late, late_biz):
            breaches.append({"ref": refs[i], "team": teams[i], "priority": prios[i],
                             "target": target, "due_at": datetime.fromtimestamp(
                                 due[i] / US, timezone.utc).isoformat(),
                             "late_hours": _round(float(h)),
                             "late_business_hours": _round(float(bh))})
    breaches.sort(key=lambda b: (-b["late_hours"], b["ref"]))
    breaches = breaches[:MAX_BREACHES]
    return {"first_response_times": times,
            "sla_first_response": {k: _attainment(fr_out[m]) for k, m in groups.items()
                                   if (m & (fr_out != NONE)).any()},
            "sla_resolution": {k: _attainment(res_out[m]) for k, m in groups.items()
                               if (m & (res_out != NONE)).any()},
            "breaches": breaches,
            "backlog": backlog(session, scope),
            "reopen": reopen(session, scope),
            "escalations": escalations(session, scope)}


def backlog(session: Session, scope: Scope) -> dict:
    """Cases waiting at the period's end (not resolved, closed or merged by then), by age."""
    until = scope.period.until_at
    bucket = case(*[(Case.created_at > until - upper, n)
                    for n, (_, upper) in enumerate(BACKLOG_AGES) if upper is not None],
                  else_=len(BACKLOG_AGES) - 1)
    where = [Case.created_at < until, Case.merged_into_id.is_(None),
             or_(Case.resolved_at.is_(None), Case.resolved_at >= until),
             or_(Case.closed_at.is_(None), Case.closed_at >= until)]
    if scope.team is not None:
        where.append(Case.team == scope.team)
    counts = dict(session.execute(select(bucket, func.count()).where(*where)
                                  .group_by(bucket)).all())
    return {label: counts.get(n, 0) for n, (label, _) in enumerate(BACKLOG_AGES)}


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

_SUGGESTED = {
    # One row per article a `kb_suggested` event named: JSON arrays unnest differently.
    "postgresql": "SELECT s->>'id' AS article FROM events e JOIN cases c ON c.id = e.case_id "
                  "CROSS JOIN json_array_elements(e.data->'suggestions') AS s "
                  "WHERE e.kind = 'kb_suggested' AND e.at >= :since AND e.at < :until {team}",
    "sqlite": "SELECT json_extract(s.value, '$.id') AS article FROM events e "
              "JOIN cases c ON c.id = e.case_id, json_each(e.data, '$.suggestions') AS s "
              "WHERE e.kind = 'kb_suggested' AND e.at >= :since AND e.at < :until {team}",
}


def _per_article(session: Session, scope: Scope, kind: str, article) -> Counter:
    """Events of `kind` in the period, counted by the article that `article` names."""
    rows = select(article.label("article")).join(Case, Case.id == Event.case_id) \
        .where(Event.kind == kind, *in_period(Event.at, scope)).subquery()
    return Counter(dict(session.execute(select(rows.c.article, func.count())
                                        .group_by(rows.c.article)).all()))


def knowledge_base(session: Session, scope: Scope) -> dict:
    p = scope.period
    params = {"since": p.since_at, "until": p.until_at}
    sql = text(_SUGGESTED["postgresql" if scope.dialect == "postgresql" else "sqlite"].format(
        team="AND c.team = :team" if scope.team is not None else "")).bindparams(
        bindparam("since", type_=Event.__table__.c.at.type),
        bindparam("until", type_=Event.__table__.c.at.type))
    if scope.team is not None:
        params["team"] = scope.team
    sub = sql.columns(column("article")).subquery()
    suggested = Counter(dict(session.execute(
        select(sub.c.article, func.count()).group_by(sub.c.article), params).all()))
    cases = session.scalar(select(func.count(func.distinct(Event.case_id)))
                           .join(Case, Case.id == Event.case_id)
                           .where(Event.kind == "kb_suggested", *in_period(Event.at, scope)))
    # the top suggestion gets the credit for a "thanks, that fixed it"
    resolved = _per_article(session, scope, "resolved_by_kb",
                            Event.data[("suggestions", 0)].as_string())
    sent = _per_article(session, scope, "kb_sent", Event.data["article"].as_string())
    ids = {a for a in (*suggested, *resolved, *sent) if a}
    articles = {a: {"suggested": suggested[a], "resolved": resolved[a],
                    "sent_by_agents": sent[a]} for a in ids}
    return {"cases_with_suggestions": cases or 0, "suggestions": sum(suggested.values()),
            "resolved_by_suggestion": sum(resolved.values()),
            "articles": dict(sorted(articles.items(),
                                    key=lambda kv: (-sum(kv[1].values()), kv[0])))}


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
