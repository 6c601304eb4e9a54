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


def events_of(query, scope: Scope):
    """`query` over events, kept to the cases' events in the span, and to the team's (the
    case joined) when the scope has one."""
    query = query.where(Event.case_id.is_not(None), Event.at >= scope.since_at,
                        Event.at < scope.until_at)
    if scope.team is not None:
        query = query.join(Case, Case.id == Event.case_id).where(Case.team == scope.team)
    return query


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


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
