"""One read of the cases for every case figure of every period.

Each case opened in the span gets, in SQL, its period, its first-response and resolution
outcome at that period's end (MET, BREACHED, OPEN or NONE: the SLA rule lives here, once)
and for a breach how late it was. Cases are grouped by period, mailbox, team, priority,
assignee and the two outcomes; each group carries its cases' opening and first-response
times and its breaches' ids and lateness as arrays. Volume, workload, response times, SLA
attainment and the worst breaches are all read from these groups.

On PostgreSQL the groups come back in the server's binary format (`pg_binary`); SQLite, the
small embedded default, returns a row per case, grouped here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from sqlalchemy import BigInteger, and_, case, cast, func, literal, or_, select, text
from sqlalchemy.orm import Session

from mailproc.models import Case
from mailproc.reports.pg_binary import binary_rows, int_array, int_value, text_value
from mailproc.reports.scope import Scope

US = 1_000_000
NONE, MET, BREACHED, OPEN = 0, 1, 2, 3     # SLA outcomes
KEYS = ("period", "mailbox_id", "team", "priority", "assignee", "fr", "res")
BACKLOG_AGES = (("under 1 day", timedelta(days=1)), ("1-3 days", timedelta(days=3)),
                ("3-7 days", timedelta(days=7)), ("1-2 weeks", timedelta(days=14)),
                ("over 2 weeks", None))


@dataclass
class CaseGroup:
    """Cases of one period alike in mailbox, team, priority, assignee, both outcomes and
    their age in each period's backlog.

    Times are epoch microseconds; `responded` is NaN where there was no first response by
    the period's end. The breach arrays hold only the group's breached cases."""

    period: int | None        # None: opened before the span, counted only in the backlog
    mailbox_id: int | None
    team: str
    priority: str
    assignee: str
    fr: int
    res: int
    ages: tuple[int | None, ...]    # per period: its BACKLOG_AGES index if waiting at its end
    count: int
    created: np.ndarray
    responded: np.ndarray
    fr_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fr_late: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    res_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    res_late: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def epoch_us(column, dialect: str):
    """SQL: a timestamp as microseconds since the epoch (NULL stays NULL). PostgreSQL's
    date_part is a double, exact to the microsecond for any date of ours; SQLite keeps
    "YYYY-MM-DD HH:MM:SS.ffffff": whole seconds, then the microseconds."""
    if dialect == "postgresql":
        return cast(func.round(func.date_part("epoch", column) * US), BigInteger)
    return (cast(func.strftime("%s", column), BigInteger) * US
            + cast(func.coalesce(func.substr(column, 21, 6), "0"), BigInteger))


def _between_us(a, b, dialect: str):
    """SQL: microseconds from b to a."""
    if dialect == "postgresql":
        return cast(func.round(func.date_part("epoch", a - b) * US), BigInteger)
    return epoch_us(a, dialect) - epoch_us(b, dialect)


def _earlier(a, b):
    """SQL: the earlier of two instants, either of which may be NULL (least() differs)."""
    return case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)


def _every_case(scope: Scope) -> list:
    """WHERE: every case opened before the span ends: those opened in it for every figure,
    the older ones for the backlog. Merged cases live on in the case they went into."""
    where = [Case.created_at < scope.until_at, Case.merged_into_id.is_(None)]
    if scope.team is not None:
        where.append(Case.team == scope.team)
    return where


def _backlog_age(period):
    """SQL: the case's BACKLOG_AGES index if it waits at the period's end (opened before,
    neither resolved nor closed by then), else NULL."""
    until = period.until_at
    waiting = and_(Case.created_at < until,
                   or_(Case.resolved_at.is_(None), Case.resolved_at >= until),
                   or_(Case.closed_at.is_(None), Case.closed_at >= until))
    age = case(*[(Case.created_at > until - upper, n)
                 for n, (_, upper) in enumerate(BACKLOG_AGES) if upper is not None],
               else_=len(BACKLOG_AGES) - 1)
    return case((waiting, age), else_=None)


def outcomes_query(scope: Scope):
    """Per case: its keys, times, outcomes and lateness, as SQL (two nested selects, the
    outer naming what the next one compares). OFFSET 0 keeps PostgreSQL from folding the
    inner into the outer, which would compute each named value again wherever it is used.
    Instants are compared as stored; only the ones that come back become numbers."""
    inside = [(Case.created_at >= p.since_at) & (Case.created_at < p.until_at)
              for p in scope.periods]
    until = case(*[(c, literal(p.until_at, Case.created_at.type))
                   for c, p in zip(inside, scope.periods)])
    resolved = _earlier(Case.resolved_at, Case.closed_at)
    at_end = select(
        Case.id, Case.mailbox_id, func.coalesce(Case.team, "").label("team"), Case.priority,
        func.coalesce(Case.assignee, "").label("assignee"), Case.created_at,
        Case.first_response_due_at.label("fr_due"), Case.resolution_due_at.label("res_due"),
        case(*[(c, i) for i, c in enumerate(inside)]).label("period"),
        until.label("until"),
        case((Case.first_responded_at < until, Case.first_responded_at)).label("responded"),
        case((resolved < until, resolved)).label("done"),
        case((Case.paused_at < until, Case.paused_at), else_=until).label("stop"),
        *(_backlog_age(p).label(f"age{i}") for i, p in enumerate(scope.periods)),
    ).where(*_every_case(scope)).offset(0).subquery("at_end")
    c = at_end.c
    first = _earlier(c.responded, c.done)

    def outcome(done, due):
        # done in time, done late; not done: breached if the deadline passed while the clock
        # ran (to the period's end, or until the case waited on the customer), else open
        return case((due.is_(None), NONE), (done.is_not(None) & (done <= due), MET),
                    (done.is_not(None), BREACHED), (due < c.stop, BREACHED), else_=OPEN)

    def late(done, due):
        return case((outcome(done, due) == BREACHED,
                     _between_us(func.coalesce(done, c.until), due, scope.dialect)))

    return select(
        c.period, c.mailbox_id, c.team, c.priority, c.assignee,
        outcome(first, c.fr_due).label("fr"), outcome(c.done, c.res_due).label("res"),
        *(c[f"age{i}"] for i in range(len(scope.periods))), c.id, epoch_us(c.created_at, scope.dialect).label("created"),
        epoch_us(c.responded, scope.dialect).label("responded"),
        late(first, c.fr_due).label("fr_late"),
        late(c.done, c.res_due).label("res_late")).offset(0).subquery("outcomes")


def case_groups(session: Session, scope: Scope) -> list[CaseGroup]:
    rows = outcomes_query(scope)
    if scope.dialect == "postgresql":
        return _grouped_in_postgres(session, rows, len(scope.periods))
    return _grouped_here(session.execute(select(rows)).all(), len(scope.periods))


def _grouped_in_postgres(session: Session, rows, periods: int) -> list[CaseGroup]:
    # A million cases' times in arrays: grouped in a hash table in memory. The planner,
    # unsure of array_agg's size, would sort a million rows (on disk, at the default
    # work_mem) to group them.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(text("SET LOCAL enable_sort = off"))
    keys = [rows.c[k] for k in KEYS] + [rows.c[f"age{i}"] for i in range(periods)]
    counted = rows.c.period.is_not(None)
    fr_breach, res_breach = rows.c.fr == BREACHED, rows.c.res == BREACHED
    query = select(*keys, func.count(), func.array_agg(rows.c.created).filter(counted),
                   func.array_agg(func.coalesce(rows.c.responded, -1)).filter(counted),
                   func.array_agg(rows.c.id).filter(fr_breach),
                   func.array_agg(rows.c.fr_late).filter(fr_breach),
                   func.array_agg(rows.c.id).filter(res_breach),
                   func.array_agg(rows.c.res_late).filter(res_breach)).group_by(*keys)
    rows_ = binary_rows(session, query)
    session.execute(text("RESET enable_sort"))
    groups = []
    for row in rows_:
        period, box, team, priority, assignee, fr, res = row[:7]
        ages = tuple(int_value(a) for a in row[7:7 + periods])
        count, *arrays = row[7 + periods:]
        arrays = [int_array(a) for a in arrays]
        responded = arrays[1].astype(np.float64)
        responded[arrays[1] < 0] = np.nan
        groups.append(CaseGroup(
            int_value(period), int_value(box), text_value(team), text_value(priority),
            text_value(assignee), int_value(fr), int_value(res), ages, int_value(count),
            arrays[0].astype(np.float64), responded, *arrays[2:]))
    return groups


def _grouped_here(rows, periods: int) -> list[CaseGroup]:
    by_key: dict[tuple, list] = {}
    for row in rows:
        by_key.setdefault(tuple(row[:7 + periods]), []).append(row[7 + periods:])
    groups = []
    for key, members in by_key.items():
        ids, created, responded, fr_late, res_late = (np.array(c, dtype=object)
                                                      for c in zip(*members))
        counted = key[0] is not None
        fr, res = key[5] == BREACHED, key[6] == BREACHED
        none = np.zeros(0, dtype=np.int64)
        groups.append(CaseGroup(
            *key[:7], tuple(key[7:]), len(members),
            created.astype(np.float64) if counted else none.astype(np.float64),
            np.array([np.nan if r is None else r for r in responded] if counted else [],
                     dtype=np.float64),
            ids.astype(np.int64) if fr else none, fr_late.astype(np.int64) if fr else none,
            ids.astype(np.int64) if res else none, res_late.astype(np.int64) if res else none))
    return groups
