"""The Procfile's processes (2 pollers, 2 workers, scheduler) process a mailbox like `mailproc run`."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from mailproc.db import Database
from mailproc.models import OutboundMail, OutboxStatus, RawMessage, RawStatus
from tests.test_jobs import placement

ROOT = Path(__file__).resolve().parents[1]
DEMO_COUNT = len(list((ROOT / "examples" / "demo-mailbox").glob("*.eml")))


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def test_procfile_names_the_processes_and_each_has_help():
    entries = procfile()
    assert set(entries) == {"poller", "worker", "scheduler", "web"}
    web = shlex.split(entries.pop("web"))
    assert web[:2] == ["mailproc", "web"] and "--port" in web
    out = subprocess.run([sys.executable, "-m", "mailproc.cli.main", "web", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--forwarded-allow-ips" in out.stdout
    for name, command in entries.items():
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", f"workers.{name}"]
        out = subprocess.run([sys.executable, "-m", f"workers.{name}", "--help"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "usage:" in out.stdout


def write_config(tmp: Path) -> Path:
    text = (ROOT / "config" / "mailproc.toml").read_text()
    for old, new in [('var_dir = "var"', f'var_dir = "{tmp / "var"}"'),
                     ('path = "var/maildir"', f'path = "{tmp / "var" / "maildir"}"'),
                     ('seed_from = "examples/demo-mailbox"',
                      f'seed_from = "{ROOT / "examples" / "demo-mailbox"}"'),
                     ('dir = "kb"', f'dir = "{ROOT / "kb"}"'),
                     # The sentence model would dominate every process's start; lexical KB only.
                     ("semantic = true", "semantic = false")]:
        assert old in text, old
        text = text.replace(old, new, 1)
    cfg = tmp / "config" / "mailproc.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    return cfg


def env_for(tmp: Path, redis_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROC_")}
    env.update({"MAILPROC_CONFIG": str(write_config(tmp)),
                "MAILPROC_DATABASE_URL": f"sqlite:///{tmp / 'mailproc.sqlite3'}",
                "MAILPROC_SECRET_KEY": "procfile-" + "k" * 24,
                "MAILPROC_NOW": "2026-11-23T09:00:00+01:00",
                "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(ROOT), "MAILPROC_LOG_LEVEL": "info",
                "MAILPROC_POLLER_LEASE_TTL": "3", "MAILPROC_POLLER_IDLE": "1",
                "MAILPROC_SCHEDULER_TICK": "0.5", "MAILPROC_DELIVER_EVERY": "1"})
    if redis_url:
        env["MAILPROC_REDIS_URL"] = redis_url
    return env


def test_procfile_processes_the_mailbox_like_mailproc_run(tmp_path, redis_url):
    inline_dir, fleet_dir = tmp_path / "inline", tmp_path / "fleet"
    inline_dir.mkdir()
    fleet_dir.mkdir()
    done = subprocess.run([sys.executable, "-m", "mailproc.cli.main", "run", "--once"],
                          cwd=ROOT, env=env_for(inline_dir, None), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    env = env_for(fleet_dir, redis_url)
    # A Procfile runner runs each line through a shell; scale: 2 pollers, 2 workers.
    Database(env["MAILPROC_DATABASE_URL"]).upgrade()
    procs = {}
    for name, command in procfile().items():
        if name == "web":
            continue        # the console processes no mail (tests/test_web_*.py serve it)
        for i in range(2 if name in ("poller", "worker") else 1):
            log = open(fleet_dir / f"{name}.{i}.log", "wb")
            procs[f"{name}.{i}"] = subprocess.Popen(["sh", "-c", f"exec {command}"], cwd=ROOT,
                                                    env=env, stdout=log, stderr=subprocess.STDOUT)
    db = Database(env["MAILPROC_DATABASE_URL"])
    try:
        deadline = time.monotonic() + 120
        while True:
            with db.transaction() as session:
                processed = session.scalar(select(func.count()).select_from(RawMessage).where(
                    RawMessage.status != RawStatus.PENDING))
                unsent = session.scalar(select(func.count()).select_from(OutboundMail).where(
                    OutboundMail.status != OutboxStatus.SENT))
                queued = session.scalar(select(func.count()).select_from(OutboundMail))
            if processed >= DEMO_COUNT and queued and not unsent:
                break
            assert time.monotonic() < deadline, (processed, queued, unsent)
            assert all(p.poll() is None for p in procs.values()), {
                n: (fleet_dir / f"{n}.log").read_text()[-1500:] for n, p in procs.items()
                if p.poll() is not None}
            time.sleep(0.3)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = {n: p.wait(timeout=60) for n, p in procs.items()}
    assert codes == {n: 0 for n in procs}, codes
    logs = {n: (fleet_dir / f"{n}.log").read_text() for n in procs}
    assert sum("active poller" in logs[f"poller.{i}"] for i in range(2)) >= 1
    assert any("standby" in logs[f"poller.{i}"] for i in range(2))   # the hot standby waited

    inline_db = Database(f"sqlite:///{inline_dir / 'mailproc.sqlite3'}")
    assert placement(db) == placement(inline_db)
    fleet_files = sorted(p.name for p in (fleet_dir / "var" / "outbox").glob("*.eml"))
    inline_files = sorted(p.name for p in (inline_dir / "var" / "outbox").glob("*.eml"))
    assert fleet_files == inline_files and fleet_files
