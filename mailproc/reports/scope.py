"""What one run of the figures looks at: the periods side by side, counted in one pass.

A report sets a period beside the one before it. Every query reads the span that covers
both and labels each row with its period (`period_of`), so each table is scanned once for
both, not once per period: at a million cases the scans are what costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import case as sql_case
from sqlalchemy import join
from sqlalchemy.sql.elements import ColumnElement

from mailproc.models import Case, Event
from mailproc.reports.period import Period
from mailproc.sla.calendar import BusinessCalendar


@dataclass(frozen=True)
class Scope:
    periods: tuple[Period, ...]
    calendar: BusinessCalendar
    dialect: str
    team: str | None = None

    @property
    def since_at(self) -> datetime:
        return min(p.since_at for p in self.periods)

    @property
    def until_at(self) -> datetime:
        return max(p.until_at for p in self.periods)


def period_of(column, scope: Scope) -> ColumnElement:
    """SQL: the index in `scope.periods` of the period a timestamp falls in (NULL: none)."""
    return sql_case(*[((column >= p.since_at) & (column < p.until_at), i)
                      for i, p in enumerate(scope.periods)], else_=None)


def in_span(column, scope: Scope) -> list:
    """WHERE: the timestamp is in the span of the periods, the case (joined) in the team."""
    where = [column >= scope.since_at, column < scope.until_at]
    if scope.team is not None:
        where.append(Case.team == scope.team)
    return where


def event_rows(scope: Scope) -> tuple:
    """(source, WHERE) for the cases' events in the span: the events table, or, when the
    scope has a team, the events joined to their cases and kept to the team's."""
    where = [Event.case_id.is_not(None), Event.at >= scope.since_at, Event.at < scope.until_at]
    if scope.team is None:
        return Event.__table__, where
    return join(Event, Case, Case.id == Event.case_id), [*where, Case.team == scope.team]


def events_of(query, scope: Scope):
    """`query` over events, kept to `event_rows`."""
    source, where = event_rows(scope)
    return query.select_from(source).where(*where)


def split(rows, count: int) -> list[list[tuple]]:
    """Rows whose first column is a period index, as one list per period without it."""
    out: list[list[tuple]] = [[] for _ in range(count)]
    for row in rows:
        if row[0] is not None:
            out[row[0]].append(tuple(row[1:]))
    return out


def quantile(values, q: float) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont); the two
    ranks are found by partitioning, not sorting."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return None
    pos = (data.size - 1) * q
    low = int(pos)
    high = min(low + 1, data.size - 1)
    ranked = np.partition(data, [low, high])
    return float(ranked[low] + (ranked[high] - ranked[low]) * (pos - low))


def tally(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values, sorted; how often each occurs): by sorting, which is several
    times faster on a million ids than np.unique's hash table."""
    ordered = np.sort(values)
    if not ordered.size:
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, ordered.size))


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
