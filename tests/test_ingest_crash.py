"""Kill the ingest at any point (before commit, between commit and flag, at random) against a
real Dovecot: the next run ends with every message stored exactly once and marked."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailproc.db import Database
from mailproc.models import Case, RawMessage, RawStatus
from tests.helpers import ROOT

N = 120


def write_config(tmp_path: Path, account, batch_size: int) -> Path:
    path = tmp_path / "config" / "mailproc.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f"""
[storage]
var_dir = "{tmp_path / 'var'}"
[[mailboxes]]
name = "support"
type = "imap"
host = "{account.host}"
port = {account.port}
user = "{account.user}"
security = "plain"
password_env = "TEST_IMAP_PASSWORD"
batch_size = {batch_size}
use_idle = false
""")
    return path


def child_env(cfg: Path, db_url: str, account) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROC_")}
    env.update(MAILPROC_CONFIG=str(cfg), MAILPROC_DATABASE_URL=db_url,
               MAILPROC_SECRET_KEY="crash-test-key-0123456789abcdef",
               TEST_IMAP_PASSWORD=account.password, PYTHONPATH=str(ROOT))
    return env


def fill(account, n: int = N) -> set[str]:
    ids = set()
    for i in range(n):
        mid = f"crash-{i}-{random.random()}@test.example"
        ids.add(mid)
        account.append((f"From: user{i % 17}@customer.example\r\nTo: support@example.com\r\n"
                        f"Subject: request number {i}\r\nMessage-ID: <{mid}>\r\n"
                        f"Date: Mon, 23 Nov 2026 09:{i % 60:02d}:00 +0100\r\n\r\n"
                        f"Please help with problem {i}.\r\n").encode())
    return ids


def run_cli(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mailproc.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def assert_exactly_once(db_url: str, ids: set[str], account) -> None:
    database = Database(db_url)
    try:
        with database.transaction() as s:
            stored = s.scalars(select(RawMessage.header_message_id)).all()
            assert sorted(stored) == sorted(ids), "every message stored exactly once"
            assert s.scalar(select(func.count()).select_from(RawMessage).where(
                RawMessage.status != RawStatus.PROCESSED)) == 0
            assert s.scalar(select(func.count()).select_from(Case)) == len(ids)
    finally:
        database.dispose()
    flags = account.flags()
    assert len(flags) == len(ids)
    assert all("$MailprocProcessed" in f for f in flags.values()), "every message marked"
    assert not any("\\Seen" in f for f in flags.values()), "BODY.PEEK never sets \\Seen"


@pytest.mark.parametrize("mode", ["before_commit", "after_commit"])
def test_sigkill_at_a_chosen_point_then_rerun(mode, imap_account, tmp_path):
    ids = fill(imap_account)
    cfg = write_config(tmp_path, imap_account, batch_size=25)
    db_url = f"sqlite:///{tmp_path / 'var' / 'mail.sqlite3'}"
    env = child_env(cfg, db_url, imap_account)
    child = subprocess.run([sys.executable, "-m", "tests.ingest_child", mode, "2"], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    database = Database(db_url)
    with database.transaction() as s:
        after_kill = s.scalar(select(func.count()).select_from(RawMessage))
    database.dispose()
    assert after_kill == (25 if mode == "before_commit" else 50)
    done = run_cli(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert_exactly_once(db_url, ids, imap_account)


def test_sigkill_at_random_times_mid_batch(imap_account, pg_schema_url, tmp_path):
    ids = fill(imap_account, 200)
    cfg = write_config(tmp_path, imap_account, batch_size=10)
    db_url, _schema = pg_schema_url
    env = child_env(cfg, db_url, imap_account)
    assert run_cli(env, "db", "upgrade").returncode == 0
    rng = random.Random(4711)
    kills = 0
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-m", "mailproc.cli.main", "run", "--once"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 2.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
    assert kills >= 1, "the child finished before any kill: make the test bigger"
    done = run_cli(env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert_exactly_once(db_url, ids, imap_account)
