"""CPU time per hostile message through the whole pipeline, beside the stdlib parsing the same
bytes (`email.message_from_bytes` with the default policy, headers read, bodies decoded).
SQLite in a temp dir. "store" is the source's part (hash, write the raw bytes); "process" is
parsing, threading, the case, the acknowledgement and the agents' notification.

    python bench/hostile.py
"""

from __future__ import annotations

import email
import sys
import tempfile
import time
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailproc.db import Database  # noqa: E402
from mailproc.runners.inbound import process_pending  # noqa: E402
from tests.agent_helpers import agent_app, store  # noqa: E402
from tests.hostile import HOSTILE  # noqa: E402


def stdlib(raw: bytes) -> None:
    msg = email.message_from_bytes(raw, policy=policy.default)
    for name in ("From", "To", "Cc", "Subject"):
        str(msg.get(name, ""))
    for part in msg.walk():
        part.get_payload(decode=True)


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'hostile.sqlite3'}")
    db.upgrade()
    app = agent_app(db, tmp)
    print(f"{'message':24s} {'size':>12s} {'stdlib parse':>12s} {'store':>8s} "
          f"{'process':>8s}  result")
    for name, make in HOSTILE.items():
        raw = make()
        t0 = time.process_time()
        stdlib(raw)
        base = time.process_time() - t0
        t0 = time.process_time()
        store(app, raw)
        stored = time.process_time() - t0
        t0 = time.process_time()
        (outcome,) = process_pending(app)
        ours = time.process_time() - t0
        print(f"{name:24s} {len(raw):>12,d} {base:>11.3f}s {stored:>7.3f}s {ours:>7.3f}s  "
              f"{outcome.result}")
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
