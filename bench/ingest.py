"""Ingest speed end to end: corpus mail appended to a real Dovecot, run through the pipeline.

Prints messages/s from the first IMAP fetch until every raw message is processed, on SQLite
and on PostgreSQL, beside two parse baselines measured on the same bytes in the same run
(mail-parser alone, bare ``email.message_from_bytes``) and our own ``parse_message``.
Needs root (the throwaway Dovecot drops privileges) and, for PostgreSQL, the server that
``make test`` starts (MAILPROC_TEST_POSTGRES_URL).

    .venv/bin/python bench/ingest.py --n 10000 --backend both
    .venv/bin/python bench/ingest.py --n 2000 --backend sqlite --profile var/ingest.prof
"""

from __future__ import annotations

import argparse
import cProfile
import email
import json
import logging
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailparser  # noqa: E402
from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from _corpus import load_corpus, repeated  # noqa: E402
from mailproc import config  # noqa: E402
from mailproc.app import App  # noqa: E402
from mailproc.config import MailboxSettings  # noqa: E402
from mailproc.db import Database  # noqa: E402
from mailproc.errors import ParseError  # noqa: E402
from mailproc.models import Case, OutboundMail, RawMessage, RawStatus  # noqa: E402
from mailproc.parse.message import parse_message  # noqa: E402
from mailproc.runners.embedded import run_round  # noqa: E402
from mailproc.runners.inbound import process_pending  # noqa: E402
from mailproc.source.factory import build_source  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
APPEND_CHUNK = 250  # messages per MULTIAPPEND command: bounded memory on both sides
PASSWORD_ENV = "MAILPROC_BENCH_IMAP_PW"


# -- parse baselines ---------------------------------------------------------------------

def rate(func, raws: Sequence[bytes]) -> float:
    t0 = time.perf_counter()
    for raw in raws:
        func(raw)
    return len(raws) / (time.perf_counter() - t0)


def mailparser_alone(raw: bytes) -> None:
    try:
        parsed = mailparser.parse_from_bytes(raw)
        parsed.subject, parsed.from_, parsed.body  # noqa: B018 - reading is the work measured
    except Exception:  # noqa: BLE001 - a few corpus files break mail-parser; count them anyway
        pass


def stdlib_alone(raw: bytes) -> None:
    email.message_from_bytes(raw)


def ours(raw: bytes) -> None:
    try:
        parse_message(raw)
    except ParseError:
        pass


def baselines(raws: Sequence[bytes]) -> dict[str, float]:
    return {
        "mailparser_alone": round(rate(mailparser_alone, raws), 1),
        "stdlib_alone": round(rate(stdlib_alone, raws), 1),
        "parse_message": round(rate(ours, raws), 1),
    }


# -- databases -----------------------------------------------------------------------------

def make_database(backend: str, workdir: Path, pg_url: str) -> tuple[Database, str | None]:
    if backend == "sqlite":
        return Database(f"sqlite:///{workdir / 'bench.sqlite3'}"), None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return Database(schema_url(pg_url, schema)), schema


def schema_url(pg_url: str, schema: str) -> str:
    """`pg_url` with its connections in `schema`, written in the URL so that a process which
    opens the URL itself (the prepare pool's look-ups) reads the same tables."""
    return make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"}) \
        .render_as_string(hide_password=False)


def open_schema(pg_url: str, schema: str) -> tuple[Database, bool]:
    """A database in PostgreSQL schema `schema`, made when missing, and whether it was there
    already (a bench's --keep reuses its generated history)."""
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM information_schema.schemata WHERE "
                                   "schema_name = :s"), {"s": schema}).first() is not None
        if not exists:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return Database(schema_url(pg_url, schema)), exists


def drop_schema(pg_url: str, schema: str) -> None:
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def make_app(db: Database, workdir: Path, dovecot, user: str, password: str, batch: int) -> App:
    """The real configuration, with a private var dir, this database and one IMAP box."""
    import os

    os.environ[PASSWORD_ENV] = password
    settings = config.load(ROOT / "config" / "mailproc.toml",
                           env={"MAILPROC_SECRET_KEY": "bench-key-" + "x" * 24})
    box = MailboxSettings(name="support", type="imap", host=dovecot.host, port=dovecot.port,
                          user=user, security="plain", password_env=PASSWORD_ENV,
                          use_idle=False, batch_size=batch)
    settings = replace(settings, storage=replace(settings.storage, var_dir=str(workdir / "var")),
                       database_url=db.url, mailboxes=(box,))
    return App.create(settings, db=db)


# -- the run -------------------------------------------------------------------------------

def append_all(dovecot, user: str, raws: Sequence[bytes]) -> float:
    client = dovecot.client(user, timeout=120)
    t0 = time.perf_counter()
    try:
        for i in range(0, len(raws), APPEND_CHUNK):
            client.multiappend("INBOX", raws[i:i + APPEND_CHUNK])
    finally:
        client.logout()
    return time.perf_counter() - t0


def warm_up(app: App) -> float:
    """What a running process has done before mail arrives: KB index and model loaded."""
    t0 = time.perf_counter()
    kb = app.knowledge_base
    if kb is not None:
        kb.suggest("warm up", "my printer does not print", "customer")
    return time.perf_counter() - t0


def pipeline_run(app: App, n: int, profile: Path | None, cycle: int) -> dict:
    """`cycle`: the corpus's length (the messages repeat with fresh ids every `cycle`)."""
    source = build_source(app, app.settings.mailboxes[0])
    stamps: list[float] = []
    raw_ids: list[int] = []
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        fetched = source.poll_once(app.raw_store())
        t_fetched, cpu0 = time.perf_counter(), time.process_time()
        process_pending(app, progress=lambda o: (stamps.append(time.perf_counter()),
                                                 raw_ids.append(o.raw_id)))
        t_processed, cpu1 = time.perf_counter(), time.process_time()
        # A round with no source: what run_round does after processing (deliver, sweep).
        run_round(app, [])
        t_end = time.perf_counter()
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile))
    finally:
        source.close()
    with app.db.transaction() as session:
        counts = dict(session.execute(
            select(RawMessage.status, func.count()).group_by(RawMessage.status)).all())
        cases = session.scalar(select(func.count()).select_from(Case))
        outbox = session.scalar(select(func.count()).select_from(OutboundMail))
    if counts.get(RawStatus.PENDING) or sum(counts.values()) != n:
        raise SystemExit(f"pipeline did not finish: {counts} of {n} ({fetched} fetched)")
    processed = len(stamps)

    def chunk_rate(i: int, j: int) -> float:
        start = t_fetched if i == 0 else stamps[i - 1]
        return round((j - i) / (stamps[j - 1] - start), 1)

    k = min(1000, processed // 2) or 1

    def same_slice(rep: int) -> float | None:
        """msg/s over the first k corpus messages of repetition `rep` (the raw rows are in
        append order; copies set aside on store are not in the pipeline's count)."""
        first = min(raw_ids)
        at = [i for i, raw in enumerate(raw_ids) if rep * cycle <= raw - first < rep * cycle + k]
        if len(at) < k // 2:
            return None
        start = t_fetched if at[0] == 0 else stamps[at[0] - 1]
        return round(len(at) / (stamps[at[-1]] - start), 1)

    last_rep = (n - k) // cycle
    return {
        "messages": n,
        "processed_by_pipeline": processed,
        "deduplicated_on_store": n - processed,
        "cases": cases,
        "outbox_rows": outbox,
        "statuses": {str(getattr(s, "value", s)): c for s, c in counts.items()},
        "fetch_store_s": round(t_fetched - t0, 2),
        "process_s": round(t_processed - t_fetched, 2),
        # Our own CPU time: steadier than wall time when other work shares the cores.
        "process_cpu_ms_per_msg": round((cpu1 - cpu0) * 1000 / max(processed, 1), 2),
        "deliver_sweep_s": round(t_end - t_processed, 2),
        "end_to_end_msg_s": round(n / (t_processed - t0), 1),
        "end_to_end_with_delivery_msg_s": round(n / (t_end - t0), 1),
        f"first_{k}_msg_s": chunk_rate(0, k),
        f"last_{k}_msg_s": chunk_rate(processed - k, processed),
        # The same corpus messages at the start and in the last repetition: growth alone.
        f"first_{k}_of_corpus_msg_s": same_slice(0),
        f"same_{k}_in_repetition_{last_rep + 1}_msg_s": same_slice(last_rep),
    }


def run_backend(backend: str, raws: Sequence[bytes], dovecot, args, workroot: Path) -> dict:
    workdir = workroot / backend
    workdir.mkdir(parents=True)
    user, password = f"bench{backend}", uuid.uuid4().hex
    dovecot.add_user(user, password)
    append_s = append_all(dovecot, user, raws)
    db, schema = make_database(backend, workdir, args.pg_url)
    try:
        db.upgrade()
        app = make_app(db, workdir, dovecot, user, password, args.batch_size)
        warm = warm_up(app)
        profile = Path(f"{args.profile}.{backend}") if args.profile else None
        result = pipeline_run(app, len(raws), profile, args.corpus_size)
    finally:
        db.dispose()
        if schema:
            drop_schema(args.pg_url, schema)
    return {"append_s": round(append_s, 2), "warm_up_s": round(warm, 2), **result}


def main(argv: Sequence[str] | None = None) -> int:
    import os
    import shutil
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--batch-size", type=int, default=200, help="IMAP fetch batch (the config default)")
    ap.add_argument("--pg-url", default=os.environ.get("MAILPROC_TEST_POSTGRES_URL", POSTGRES_URL))
    ap.add_argument("--profile", help="write cProfile stats of the pipeline run to PATH.<backend>")
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument("--distinct-copies", action="store_true",
                    help="tag each repetition's subjects so no copy joins another copy's cases")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # The pipeline logs one INFO line per message; a bench measures work, not log volume.
    logging.getLogger("mailproc").setLevel(logging.WARNING)
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # "content not handled", per part

    from tests.servers import DovecotServer, free_port, make_dovecot_dir

    corpus = load_corpus()
    raws = repeated(corpus, args.n, distinct_subjects=args.distinct_copies)
    args.corpus_size = len(corpus)
    report: dict = {"n": args.n, "corpus_messages": len(corpus), "distinct_copies": args.distinct_copies,
                    "mbytes": round(sum(map(len, raws)) / 1e6, 1),
                    # The KB's NumPy encoder: BLAS threads fight on a small, busy machine.
                    "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default")}
    if not args.skip_baselines:
        report["parse_baselines_msg_s"] = baselines(raws)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    dovecot_dir, work = make_dovecot_dir(), Path(tempfile.mkdtemp(prefix="mailproc-bench-"))
    dovecot = DovecotServer(dovecot_dir, free_port())
    dovecot.start()
    try:
        for backend in backends:
            report[backend] = run_backend(backend, raws, dovecot, args, work)
            # Partial results survive a later failure (or a killed run).
            print(f"{backend}: {json.dumps(report[backend])}", file=sys.stderr, flush=True)
    finally:
        dovecot.stop()
        shutil.rmtree(dovecot_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        show(report)
    return 0


def show(report: dict) -> None:
    print(f"{report['n']} messages ({report['mbytes']} MB) from {report['corpus_messages']} corpus messages"
          f" (OPENBLAS_NUM_THREADS={report['openblas_threads']})")
    base = report.get("parse_baselines_msg_s")
    if base:
        print(f"  mail-parser alone    {base['mailparser_alone']:8.1f} msg/s")
        print(f"  stdlib email alone   {base['stdlib_alone']:8.1f} msg/s")
        print(f"  parse_message        {base['parse_message']:8.1f} msg/s")
    for backend in ("sqlite", "postgresql"):
        r = report.get(backend)
        if not r:
            continue
        print(f"{backend}:")
        for key, value in r.items():
            print(f"  {key:32} {value}")
        if base:
            half = base["mailparser_alone"] / 2
            verdict = "meets" if r["end_to_end_msg_s"] >= half else "misses"
            print(f"  target >= {half:.0f} msg/s (half mail-parser alone): {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
