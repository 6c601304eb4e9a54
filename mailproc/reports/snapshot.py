"""A report's queries on two PostgreSQL connections at once, all on one snapshot.

The figures are a handful of independent scans, each a fraction of a second at a million
cases: one connection runs them one after another on one core. Here the caller's
transaction exports its snapshot (`pg_export_snapshot`), and each worker connection opens a
read-only REPEATABLE READ transaction on that very snapshot, as `pg_dump --jobs` does: every
query sees the same data, as if one transaction had run them all. Elsewhere (SQLite) the
jobs run one after another in the caller's session.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

T = TypeVar("T")
WORKERS = 2
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


def run_together(session: Session, jobs: list[Callable[[Session], T]]) -> list[T]:
    """Each job's result, in order; a job's exception is raised here."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or len(jobs) < 2:
        return [job(session) for job in jobs]
    snapshot = session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    engine = getattr(bind, "engine", bind)

    def run(job: Callable[[Session], T]) -> T:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                conn.execute(text("SET TRANSACTION READ ONLY"))
                # a report groups a million rows at a time: in memory, not in batches on disk
                conn.execute(text("SET LOCAL work_mem = '256MB'"))
                with Session(bind=conn) as worker:
                    return job(worker)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run, jobs))
