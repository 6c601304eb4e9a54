"""Versioned texts kept in the database (templates and KB articles edited in the web console):
the newest version per name, read live by every process, and the history behind it."""

from __future__ import annotations

import difflib
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mailproc.db import Database
from mailproc.models import KbVersion, TemplateVersion

log = logging.getLogger(__name__)

# How long a process trusts what it last read before it asks the database again: a version
# saved by another process is in force within this time, one saved by this process at once
# (`invalidate_after_commit`). One ask (`SELECT max(id), count(*)`) took 0.01 ms on SQLite
# and 0.4 ms on PostgreSQL over TCP; rendering one mail asks about ten times (every part and
# partial is looked up), so asking every time made a PostgreSQL render 4.7 ms instead of
# 0.35 ms, and asking once a second costs nothing measurable.
POLL_SECONDS = 1.0
# (model, its name column, its text column)
_TABLES = {TemplateVersion: ("name", "source"), KbVersion: ("article_id", "text")}


@dataclass(frozen=True)
class Version:
    """One saved version; `removed` puts the file back in charge (templates) or hides the
    article (KB)."""

    id: int
    name: str
    text: str
    removed: bool
    author: str
    note: str
    created_at: datetime


class LiveVersions:
    """The newest version of every name in one versions table, as this process last read it.

    `snapshot()` is cheap enough for every render: it asks the database at most once per
    `poll_seconds` whether anything was saved (the table's max(id) and row count), and reads
    the newest versions only when that changed. It reads on a connection of its own, outside
    any ORM transaction, so it can be asked while the caller's transaction holds SQLite's
    write lock; after a fork it opens its own connections (the parent's stay the parent's).
    """

    def __init__(self, db: Database, model, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.db = db
        self.table = model.__tablename__
        self.name_column, self.text_column = _TABLES[model]
        self.poll_seconds = poll_seconds
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        # (signature, {name: text or None}, {name: text} in force), replaced in one go
        self._state: tuple[tuple | None, dict[str, str | None], dict[str, str]] = (None, {}, {})
        self._warned = ""

    def snapshot(self) -> tuple[tuple | None, Mapping[str, str | None]]:
        """(signature, {name: text of its newest version, or None when that one is `removed`}).
        The same dict object comes back until something is saved."""
        self._poll()
        return self._state[:2]

    def current(self) -> Mapping[str, str]:
        """{name: text} of the names whose newest version is not `removed`."""
        self._poll()
        return self._state[2]

    def invalidate(self) -> None:
        """Ask the database on the next snapshot (this process just saved a version)."""
        self._checked_at = float("-inf")

    def invalidate_after_commit(self, session: Session) -> None:
        """Invalidate once `session` commits what it is saving."""
        event.listen(session, "after_commit", lambda _s: self.invalidate(), once=True)

    def _poll(self) -> None:
        if time.monotonic() - self._checked_at < self.poll_seconds:
            return
        if self._pid != os.getpid():  # forked: new connections, a new lock
            self.db, self._pid, self._lock = self.db.fresh(), os.getpid(), threading.Lock()
        with self._lock:
            if time.monotonic() - self._checked_at < self.poll_seconds:
                return
            self._read()
            self._checked_at = time.monotonic()

    def _read(self) -> None:
        url = self.db.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
                and not os.path.exists(url.database):
            return  # no database yet: nothing edited (and no empty file made by asking)
        table, name, text = self.table, self.name_column, self.text_column
        dbapi_error = getattr(self.db.engine.dialect, "loaded_dbapi", None)
        errors = (DBAPIError,) + ((dbapi_error.Error,) if dbapi_error is not None else ())
        try:
            # The raw DBAPI connection: no ORM transaction, so no `BEGIN IMMEDIATE` on SQLite.
            conn = self.db.engine.raw_connection()
            try:
                cur = conn.cursor()
                cur.execute(f"SELECT max(id), count(*) FROM {table}")
                signature = tuple(cur.fetchone())
                rows = None
                if signature != self._state[0]:
                    cur.execute(f"SELECT v.{name}, v.{text}, v.removed FROM {table} v JOIN "
                                f"(SELECT max(id) AS id FROM {table} GROUP BY {name}) m "
                                "ON v.id = m.id")
                    rows = cur.fetchall()
                cur.close()
            finally:
                conn.close()
        except errors as exc:
            missing = "no such table" in str(exc) or getattr(exc, "sqlstate", "") == "42P01" \
                or getattr(getattr(exc, "orig", None), "sqlstate", "") == "42P01"
            if not missing and str(exc) != self._warned:
                log.warning("cannot read %s (keeping what was read before): %s", table, exc)
            self._warned = str(exc)
            return
        if rows is not None:
            texts = {n: None if removed else (t or "") for n, t, removed in rows}
            self._state = (signature, texts, {n: t for n, t in texts.items() if t is not None})


# --- history -------------------------------------------------------------------------------


def _columns(model):
    name, text = _TABLES[model]
    return getattr(model, name), getattr(model, text)


def _version(model, row) -> Version:
    name, text = _TABLES[model]
    return Version(row.id, getattr(row, name), getattr(row, text) or "", bool(row.removed),
                   row.author, row.note or "", row.created_at)


def add_version(session: Session, model, name: str, text: str, *, removed: bool, author: str,
                now: datetime, note: str = "") -> Version:
    """A new newest version of `name` (flushed: its id is known)."""
    name_col, text_col = _TABLES[model]
    row = model(**{name_col: name, text_col: "" if removed else text}, removed=removed,
                author=author, note=note, created_at=now)
    session.add(row)
    session.flush()
    return _version(model, row)


def newest(session: Session, model, name: str) -> Version | None:
    name_col, _ = _columns(model)
    row = session.scalar(select(model).where(name_col == name).order_by(model.id.desc()).limit(1))
    return None if row is None else _version(model, row)


def newest_all(session: Session, model) -> dict[str, Version]:
    """The newest version of every name."""
    name_col, _ = _columns(model)
    ids = select(func.max(model.id)).group_by(name_col)
    return {v.name: v for v in (_version(model, r) for r in
                                session.scalars(select(model).where(model.id.in_(ids))))}


def history(session: Session, model, name: str) -> list[Version]:
    """Every version of `name`, newest first."""
    name_col, _ = _columns(model)
    rows = session.scalars(select(model).where(name_col == name).order_by(model.id.desc()))
    return [_version(model, r) for r in rows]


def get_version(session: Session, model, version_id: int) -> Version | None:
    row = session.get(model, version_id)
    return None if row is None else _version(model, row)


def predecessor(session: Session, model, version: Version) -> Version | None:
    """The version of the same name saved just before `version`, or None."""
    name_col, _ = _columns(model)
    row = session.scalar(select(model).where(name_col == version.name, model.id < version.id)
                         .order_by(model.id.desc()).limit(1))
    return None if row is None else _version(model, row)


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """A unified diff of two texts ("" when they are equal)."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label,
                                      lineterm=""))
    return "\n".join(lines) + "\n" if lines else ""
