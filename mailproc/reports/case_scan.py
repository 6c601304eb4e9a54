"""One read of the cases for every case figure of every period.

Each case opened in the span gets, in SQL, its period, its first-response and resolution
outcome at that period's end (MET, BREACHED, OPEN or NONE: the SLA rule lives here, once)
and for a breach how late it was. Cases are grouped by period, mailbox, team, priority,
assignee and the two outcomes; each group carries its cases' opening and first-response
times and its breaches' ids and lateness as arrays. Volume, workload, response times, SLA
attainment and the worst breaches are all read from these groups.

The groups and their arrays come from `grouped`: in PostgreSQL's binary format there, as
rows grouped in Python on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlalchemy import BigInteger, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from mailproc.models import Case
from mailproc.reports.grouped import Key, Numbers, grouped
from mailproc.reports.scope import Scope

US = 1_000_000
NONE, MET, BREACHED, OPEN = 0, 1, 2, 3     # SLA outcomes
BACKLOG_AGES = (("under 1 day", timedelta(days=1)), ("1-3 days", timedelta(days=3)),
                ("3-7 days", timedelta(days=7)), ("1-2 weeks", timedelta(days=14)),
                ("over 2 weeks", None))


@dataclass
class CaseGroup:
    """Cases of one period alike in mailbox, team, priority, assignee, both outcomes and
    their age in each period's backlog.

    Times are epoch microseconds; `responded` is NaN where there was no first response by
    the period's end; `ids` are the cases'. The breach arrays hold only the group's breached
    cases."""

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
    ids: np.ndarray
    fr_ids: np.ndarray
    fr_late: np.ndarray
    res_ids: np.ndarray
    res_late: np.ndarray


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
        *(c[f"age{i}"] for i in range(len(scope.periods))), c.id,
        epoch_us(c.created_at, scope.dialect).label("created"),
        epoch_us(c.responded, scope.dialect).label("responded"),
        late(first, c.fr_due).label("fr_late"),
        late(c.done, c.res_due).label("res_late")).offset(0).subquery("outcomes")


def case_groups(session: Session, scope: Scope) -> list[CaseGroup]:
    table = outcomes_query(scope)
    rows = table.c
    ages = [Key(rows[f"age{i}"]) for i in range(len(scope.periods))]
    keys = [Key(rows.period), Key(rows.mailbox_id), Key(rows.team, text=True),
            Key(rows.priority, text=True), Key(rows.assignee, text=True), Key(rows.fr),
            Key(rows.res), *ages]
    counted, fr, res = rows.period.is_not(None), rows.fr == BREACHED, rows.res == BREACHED
    arrays = [Numbers(rows.created, counted), Numbers(rows.responded, counted),
              Numbers(rows.id, counted), Numbers(rows.id, fr), Numbers(rows.fr_late, fr),
              Numbers(rows.id, res), Numbers(rows.res_late, res)]
    out = []
    for key, count, (created, responded, *numbers) in grouped(session, keys, arrays, where=[],
                                                              source=table):
        answered = responded.astype(np.float64)
        answered[responded < 0] = np.nan
        out.append(CaseGroup(*key[:7], tuple(key[7:]), count, created.astype(np.float64),
                             answered, *numbers))
    return out
