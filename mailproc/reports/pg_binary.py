"""A query's result in PostgreSQL's binary format, its arrays read by numpy in one call.

A report brings back a million timestamps grouped into arrays; as Python objects they would
cost seconds, as the server's own bytes they are one `frombuffer` per array.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

_ELEMENT = {20: ">i8", 23: ">i4", 21: ">i2"}      # int8, int4, int2 by type oid


def binary_rows(session: Session, query: Select) -> list[tuple[bytes | None, ...]]:
    """Each row of `query` as the raw binary value of each field (None for NULL). The query
    runs on the session's connection, so in its transaction."""
    compiled = query.compile(dialect=session.get_bind().dialect,
                             compile_kwargs={"render_postcompile": True})
    params = {k: _naive_utc(v) for k, v in compiled.params.items()}
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(str(compiled), params, binary=True)
        result = cursor.pgresult
        return [tuple(result.get_value(r, c) for c in range(result.nfields))
                for r in range(result.ntuples)]


def _naive_utc(value):
    """Timestamps are stored as naive UTC (models.UTCDateTime); bind them the same way."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def int_value(data: bytes | None) -> int | None:
    return None if data is None else int.from_bytes(data, "big", signed=True)


def text_value(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8")


def int_array(data: bytes | None) -> np.ndarray:
    """A one-dimensional int2/int4/int8 array without NULLs as int64 (NULL: empty)."""
    if data is None:
        return np.zeros(0, dtype=np.int64)
    ndim, has_null, oid = (int.from_bytes(data[i:i + 4], "big") for i in (0, 4, 8))
    if ndim == 0:
        return np.zeros(0, dtype=np.int64)
    if ndim != 1 or has_null or oid not in _ELEMENT:
        raise ValueError(f"expected a flat integer array without NULLs (type {oid})")
    count = int.from_bytes(data[12:16], "big")
    items = np.frombuffer(data, dtype=[("len", ">i4"), ("value", _ELEMENT[oid])], offset=20,
                          count=count)
    if (items["len"] != np.dtype(_ELEMENT[oid]).itemsize).any():
        raise ValueError("unexpected element length in a binary array")
    return items["value"].astype(np.int64)
