"""Throughput of RQ workers (1 and 2, or --workers N...) against inline `mailproc run --once` on the same mailbox.

Each mode gets a fresh database (PostgreSQL schema, or SQLite with --sqlite), a fresh Redis DB
and a Maildir holding the same generated mail (new cases and replies). Timed end to end from
process start until every message is processed and every acknowledgement delivered (file
transport), so process start-up is included in every figure. Beside it, the rate from the first
to the last message processed (their processed_at): start-up, the poller's fetch and the
delivery of the last acknowledgements left out, as an outside measure leaves start-up out.

    .venv/bin/python bench/workers.py [--messages 600] [--kb off|lexical|semantic] [--sqlite]
        [--workers 1 2 4] [--no-inline]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from mailproc.db import Database  # noqa: E402
from mailproc.models import OutboundMail, OutboxStatus, RawMessage, RawStatus  # noqa: E402
from tests.test_workers_crash import generate_mail  # noqa: E402

PG = os.environ.get("MAILPROC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("MAILPROC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def make_maildir(path: Path, mails) -> None:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for i, m in enumerate(mails):
        (path / "new" / f"{1700000000 + i}.bench{i:05d}.host").write_bytes(m.raw)


def write_config(tmp: Path, maildir: Path, kb: str) -> Path:
    text_ = (ROOT / "config" / "mailproc.toml").read_text()
    text_ = text_.replace('var_dir = "var"', f'var_dir = "{tmp / "var"}"', 1)
    text_ = text_.replace('path = "var/maildir"', f'path = "{maildir}"', 1)
    text_ = text_.replace('seed_from = "examples/demo-mailbox"\n', "", 1)
    text_ = text_.replace('dir = "kb"', f'dir = "{ROOT / "kb"}"', 1)
    if kb == "off":
        text_ = text_.replace("\n[kb]\n", "\n[kb]\nenabled = false\n", 1)
    elif kb == "lexical":
        text_ = text_.replace("semantic = true", "semantic = false", 1)
    cfg = tmp / "config" / "mailproc.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text_)
    return cfg


class Backend:
    def __init__(self, sqlite: bool, tmp: Path) -> None:
        self.sqlite, self.tmp, self.schemas = sqlite, tmp, []

    def fresh(self, name: str) -> str:
        if self.sqlite:
            url = f"sqlite:///{self.tmp / name / 'bench.sqlite3'}"
        else:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with create_engine(PG, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            self.schemas.append(schema)
            url = f"{PG}?options=-csearch_path%3D{schema}"
        Database(url).upgrade()
        return url

    def cleanup(self) -> None:
        if self.schemas:
            with create_engine(PG, isolation_level="AUTOCOMMIT").connect() as conn:
                for schema in self.schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def finished(db: Database, n: int) -> bool:
    with db.transaction() as session:
        done = session.scalar(select(func.count()).select_from(RawMessage).where(
            RawMessage.status != RawStatus.PENDING))
        unsent = session.scalar(select(func.count()).select_from(OutboundMail).where(
            OutboundMail.status != OutboxStatus.SENT))
    return done >= n and unsent == 0


def processing_window(db: Database) -> float:
    """Seconds from the first message processed to the last."""
    with db.transaction() as session:
        first, last = session.execute(select(func.min(RawMessage.processed_at),
                                             func.max(RawMessage.processed_at))).one()
    return (last - first).total_seconds()


def run_mode(mode: str, workers: int, mails, backend: Backend, kb: str, tmp: Path,
             prepare_processes: int | None = None) -> tuple[float, float]:
    """(seconds end to end, seconds from the first message processed to the last)."""
    import redis

    home = tmp / mode
    maildir = home / "maildir"
    make_maildir(maildir, mails)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROC_")}
    env.update({"MAILPROC_CONFIG": str(write_config(home, maildir, kb)),
                "MAILPROC_DATABASE_URL": backend.fresh(mode), "MAILPROC_SECRET_KEY": "b" * 32,
                "MAILPROC_LOG_LEVEL": "warning", "PYTHONPATH": str(ROOT),
                "MAILPROC_POLLER_IDLE": "1", "MAILPROC_SCHEDULER_TICK": "0.5",
                "MAILPROC_DELIVER_EVERY": "1"})
    if prepare_processes is not None:
        env["MAILPROC_PREPARE_PROCESSES"] = str(prepare_processes)
    db = Database(env["MAILPROC_DATABASE_URL"])
    started = time.perf_counter()
    if mode == "inline":
        # One round processes everything and delivers up to 100 rows; repeat until done,
        # the way the embedded loop would.
        for _ in range(len(mails) // 50 + 5):
            subprocess.run([sys.executable, "-m", "mailproc.cli.main", "run", "--once"],
                           cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
            if finished(db, len(mails)):
                return time.perf_counter() - started, processing_window(db)
        raise SystemExit("inline: work left after every round")
    redis.Redis.from_url(REDIS).flushdb()
    env["MAILPROC_REDIS_URL"] = REDIS
    modules = ["workers.poller", "workers.scheduler"] + ["workers.worker"] * workers
    procs = [subprocess.Popen([sys.executable, "-m", m], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for m in modules]
    try:
        while not finished(db, len(mails)):
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"{mode}: a process died early")
            time.sleep(0.1)
        return time.perf_counter() - started, processing_window(db)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--kb", choices=["off", "lexical", "semantic"], default="lexical")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2],
                        help="worker counts to time (default: 1 2); with 2 cores, 4 workers "
                             "only share the same two")
    parser.add_argument("--no-inline", action="store_true", help="skip `mailproc run --once`")
    parser.add_argument("--prepare-processes", type=int, default=None,
                        help="MAILPROC_PREPARE_PROCESSES for `mailproc run` (default: its own)")
    args = parser.parse_args()
    mails = generate_mail(args.messages, seed=5)
    tmp = Path(tempfile.mkdtemp(prefix="mailproc-bench-"))
    backend = Backend(args.sqlite, tmp)
    try:
        results, steady = {}, {}
        modes = [] if args.no_inline else [("inline (mailproc run --once)", "inline", 0)]
        modes += [(f"{n} worker{'s' if n > 1 else ''}", f"w{n}", n) for n in args.workers]
        for label, mode, workers in modes:
            took, window = run_mode(mode, workers, mails, backend, args.kb, tmp,
                                    args.prepare_processes)
            results[mode] = args.messages / took
            steady[mode] = (args.messages - 1) / window if window > 0 else float("nan")
            print(f"{label:30s} {args.messages} messages in {took:6.1f}s = "
                  f"{results[mode]:6.1f} msg/s; first to last processed {window:5.1f}s = "
                  f"{steady[mode]:6.1f} msg/s", flush=True)
        for name, rates in (("end to end", results), ("first to last processed", steady)):
            base = rates.get("w1")
            for mode, rate in rates.items():
                if mode != "inline" and "inline" in rates:
                    print(f"{name}: ratio {mode} / inline = {rate / rates['inline']:.2f}")
                if mode not in ("inline", "w1") and base:
                    print(f"{name}: ratio {mode} / w1 = {rate / base:.2f}")
        print(f"(database: {'SQLite' if args.sqlite else 'PostgreSQL'}, KB: {args.kb}, "
              f"cores: {os.cpu_count()})")
    finally:
        backend.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
