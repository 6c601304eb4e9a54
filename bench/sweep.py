"""Escalation sweep benchmark: N open cases, 1% due; time to find them, to sweep them, and the plan.

    .venv/bin/python bench/sweep.py                      # 100k SQLite, 100k + 1M PostgreSQL
    .venv/bin/python bench/sweep.py --backend sqlite --cases 100000
    MAILPROC_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test

Run on demand, not in the tests. Each PostgreSQL run gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from mailproc import config  # noqa: E402
from mailproc.app import App  # noqa: E402
from mailproc.clock import FixedClock  # noqa: E402
from mailproc.db import Database  # noqa: E402
from mailproc.escalation.executor import MARK, candidate_ids  # noqa: E402
from mailproc.runners.periodic import sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MAILPROC_BENCH_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
DIRECTORY = {"people": [{"key": "oncall", "name": "On-call engineer", "phone": "+49 170 5550123",
                         "email": "oncall@example.com", "lead_of": ["helpdesk"],
                         "manager_of": ["*"]}],
             "oncall": [{"person": "oncall"}]}
FIND_SQL = ("SELECT id FROM cases WHERE next_escalation_at <= {now} "
            "ORDER BY next_escalation_at LIMIT 1000")
CHANGED_SQL = ("SELECT id FROM cases WHERE status IN ('new', 'open', 'pending') "
               "AND updated_at > {since} LIMIT 1000")


def rows(n: int, due_every: int = 100):
    """(id, ref, status, created, updated, fr_due, res_due, next_esc) per case; 1 in 100 due."""
    naive = NOW.replace(tzinfo=None)
    for i in range(1, n + 1):
        created = naive - timedelta(hours=2 + i % 48)
        if i % due_every == 0:       # due: the first response is overdue and never looked at
            fr_due, next_at = naive - timedelta(minutes=30), naive - timedelta(minutes=30)
        else:                        # planned: the next look is in the future
            fr_due = naive + timedelta(hours=1 + i % 30)
            next_at = fr_due - timedelta(minutes=15)
        yield (i, str(1000 + i), "open", created, created, fr_due, fr_due + timedelta(days=3),
               next_at)


COLUMNS = ("id", "ref", "status", "created_at", "updated_at", "first_response_due_at",
           "resolution_due_at", "next_escalation_at")
CONSTANTS = {"priority": "normal", "subject": "Benchmark case", "normalized_subject": "benchmark case",
             "team": "helpdesk", "assignee": "", "kb_suggestions": "[]", "resolved_by_kb": False}


def fill_postgres(db: Database, n: int) -> None:
    cols = COLUMNS + tuple(CONSTANTS)
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY cases ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows(n):
                copy.write_row(row + tuple(CONSTANTS.values()))
        cur.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), %s)", (n,))
        raw.commit()
        cur.execute("ANALYZE cases")
        raw.commit()
    finally:
        raw.close()


def fill_sqlite(db: Database, n: int) -> None:
    cols = COLUMNS + tuple(CONSTANTS)
    sql = f"INSERT INTO cases ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        batch = []
        for row in rows(n):
            batch.append(tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in row)
                         + tuple(CONSTANTS.values()))
            if len(batch) == 10_000:
                cur.executemany(sql, batch)
                batch.clear()
        cur.executemany(sql, batch)
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
    finally:
        raw.close()


def make_app(db: Database, var: Path) -> App:
    settings = config.load(ROOT / "config" / "mailproc.toml",
                           env={"MAILPROC_SECRET_KEY": "bench-" + "x" * 30})
    settings = replace(settings, database_url=db.url,
                       storage=replace(settings.storage, var_dir=str(var)),
                       directory=MappingProxyType(DIRECTORY))
    return App.create(settings, db=db, clock=FixedClock(NOW))


def explain(db: Database, backend: str) -> list[str]:
    if backend == "postgresql":
        lit = lambda t: f"TIMESTAMP '{t:%Y-%m-%d %H:%M:%S}'"  # noqa: E731
        prefix = "EXPLAIN ANALYZE "
    else:
        lit = lambda t: f"'{t:%Y-%m-%d %H:%M:%S}'"  # noqa: E731
        prefix = "EXPLAIN QUERY PLAN "
    out = []
    with db.engine.connect() as conn:
        for sql in (FIND_SQL.format(now=lit(NOW)),
                    CHANGED_SQL.format(since=lit(NOW - timedelta(minutes=6)))):
            out.append(f"  {sql}")
            for row in conn.execute(text(prefix + sql)):
                out.append("    " + " | ".join(str(c) for c in row))
    return out


def run(backend: str, n: int, profile: str | None = None) -> None:
    schema = None
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "postgresql":
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            db = Database(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        else:
            db = Database(f"sqlite:///{tmp}/bench.sqlite3")
        try:
            db.upgrade()
            t0 = time.perf_counter()
            (fill_postgres if backend == "postgresql" else fill_sqlite)(db, n)
            filled = time.perf_counter() - t0
            app = make_app(db, Path(tmp) / "var")
            with db.transaction() as s:
                from mailproc.models import SweepMark

                s.add(SweepMark(name=MARK, at=NOW - timedelta(minutes=1)))
            finds = []
            for _ in range(4):   # the first includes connecting; report the best warm run
                t0 = time.perf_counter()
                with db.transaction() as s:
                    ids = candidate_ids(s, NOW, NOW - timedelta(minutes=1), limit=1000)
                finds.append(time.perf_counter() - t0)
            find = min(finds[1:])
            plan = explain(db, backend)
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            actions = sweep(app, now=NOW, limit=1000)
            first = time.perf_counter() - t0
            if profiler:
                profiler.disable()
                profiler.dump_stats(f"{profile}.{backend}")
            print(f"{backend:<10} {n:>9,} open cases, {n // 100:,} due: insert {filled:6.1f} s; "
                  f"find 1000 due {find * 1000:7.1f} ms; sweep of 1000 due cases "
                  f"{first:6.2f} s ({len(actions)} steps fired, "
                  f"{first / max(1, len(ids)) * 1000:.1f} ms per case)")
            for line in plan:
                print(line)
        finally:
            db.dispose()
            if schema:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--cases", type=int, action="append",
                        help="open cases (repeatable); default 100k SQLite, 100k and 1M PostgreSQL")
    parser.add_argument("--profile", help="write cProfile stats of the sweep to PATH.<backend>")
    args = parser.parse_args()
    plans = []
    if args.backend in ("sqlite", "all"):
        plans += [("sqlite", n) for n in (args.cases or [100_000])]
    if args.backend in ("postgresql", "all"):
        plans += [("postgresql", n) for n in (args.cases or [100_000, 1_000_000])]
    for backend, n in plans:
        run(backend, n, args.profile)


if __name__ == "__main__":
    main()
