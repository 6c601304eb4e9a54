"""Rows grouped in SQL, each group with arrays of its rows' numbers: the shape every large
report read takes.

A report needs some figures per row (response times, which cases were resolved) but never
the rows themselves. On PostgreSQL each group's numbers come back as arrays in the server's
binary format, read by numpy in one call each (`pg_binary`); SQLite, the small embedded
default, returns the rows and they are grouped here, so both give the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mailproc.reports.pg_binary import binary_rows, int_array, int_value, text_value


@dataclass(frozen=True)
class Key:
    column: ColumnElement
    text: bool = False          # else an integer (or NULL)


@dataclass(frozen=True)
class Numbers:
    """An integer per row of the group where `only` holds (all rows without it); NULL
    values come back as `null`."""

    column: ColumnElement
    only: ColumnElement | None = None
    null: int = -1


def grouped(session: Session, keys: list[Key], arrays: list[Numbers], *, where: list,
            source=None) -> list[tuple[tuple, int, list[np.ndarray]]]:
    """(key values, rows in the group, one int64 array per `arrays`) for each group of the
    rows of `source` (a table, join or subquery; else the columns' own) that `where` keeps."""
    if session.get_bind().dialect.name == "postgresql":
        return _in_postgres(session, keys, arrays, where, source)
    return _here(session, keys, arrays, where, source)


def _select(columns, where, source):
    query = select(*columns).where(*where)
    return query.select_from(source) if source is not None else query


def _in_postgres(session, keys, arrays, where, source):
    columns = [k.column for k in keys]
    aggregates = []
    for a in arrays:
        agg = func.array_agg(func.coalesce(a.column, a.null))
        aggregates.append(agg.filter(a.only) if a.only is not None else agg)
    query = _select([*columns, func.count(), *aggregates], where, source).group_by(*columns)
    # Arrays of a million numbers: grouped in a hash table in memory. Unsure of array_agg's
    # size, the planner would rather sort the million rows (on disk at the default
    # work_mem) to group them.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(text("SET LOCAL enable_sort = off"))
    try:
        rows = binary_rows(session, query)
    finally:
        session.execute(text("RESET enable_sort"))
    out = []
    for row in rows:
        values = tuple((text_value if k.text else int_value)(v) for k, v in zip(keys, row))
        out.append((values, int_value(row[len(keys)]),
                    [int_array(v) for v in row[len(keys) + 1:]]))
    return out


def _here(session, keys, arrays, where, source):
    query = _select([*(k.column for k in keys), *(a.column for a in arrays),
                     *(a.only for a in arrays if a.only is not None)], where, source)
    groups: dict[tuple, list] = {}
    for row in session.execute(query):
        groups.setdefault(tuple(row[:len(keys)]), []).append(row[len(keys):])
    out = []
    for key, rows in groups.items():
        lists: list[list[int]] = [[] for _ in arrays]
        for row in rows:
            values, conditions = row[:len(arrays)], iter(row[len(arrays):])
            for i, (a, value) in enumerate(zip(arrays, values)):
                if a.only is None or next(conditions):   # each condition is read once
                    lists[i].append(a.null if value is None else value)
        out.append((key, len(rows), [np.array(v, dtype=np.int64) for v in lists]))
    return out
