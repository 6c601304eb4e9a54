"""Small builders shared by tests: an App on a test database with a fixed clock."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from mailproc import config
from mailproc.app import App
from mailproc.clock import FixedClock
from mailproc.source.base import FetchedMessage

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
DEMO = ROOT / "examples" / "demo-mailbox"
# Monday 23 November 2026, 09:00 Berlin.
KB_CACHE = Path(tempfile.gettempdir()) / f"mailproc-test-kb-cache-{os.getuid()}"
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def make_app(db, tmp_path: Path, *, now: datetime = MONDAY, env: dict | None = None,
             **sections) -> App:
    settings = config.load(ROOT / "config" / "mailproc.toml",
                           env={"MAILPROC_SECRET_KEY": "test-key-" + "x" * 24, **(env or {})})
    # Article embeddings are keyed by content: one cache serves every test of a run.
    kb = {**settings.kb, "cache_dir": str(KB_CACHE)}
    settings = replace(settings, storage=replace(settings.storage, var_dir=str(tmp_path / "var")),
                       database_url=db.url, **{"kb": kb, **sections})
    return App.create(settings, db=db, clock=FixedClock(now))


def ingest(app: App, raws: list[bytes], mailbox: str = "demo") -> list[int]:
    store = app.raw_store()
    ids = []
    for i, raw in enumerate(raws):
        ids.append(store.store_one(mailbox, FetchedMessage(mailbox, "INBOX", f"test:{i}:{len(raw)}",
                                                           None, None, raw, None)))
    return ids


def demo_raws() -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted(DEMO.glob("*.eml"))}


def wait(predicate, what: str, timeout: float = 45.0):
    """Poll `predicate` until it gives something true (returned), or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
