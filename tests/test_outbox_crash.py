"""The crash window: a deliverer SIGKILLed after the server's 250 (or before sending) and rerun.

Run as a script, this module is the child deliverer: `python -m tests.test_outbox_crash
<db-url> <tmp-dir> <smtp-port> <now>`; MAILPROC_TEST_CRASH_AT picks where it kills itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from mailproc.config import OutgoingSettings
from mailproc.db import Database
from mailproc.models import Event, OutboundMail, OutboxStatus
from mailproc.outbox.mime import build_message, make_message_id
from mailproc.outbox.table import enqueue
from mailproc.runners.outbound import CRASH_ENV, MIN_LEASE

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SUPPORT = "support@example.com"


def child_main(db_url: str, tmp: str, port: int, now: str) -> None:
    from mailproc.runners.outbound import deliver_due
    from tests.helpers import make_app

    db = Database(db_url)
    app = make_app(db, Path(tmp), now=datetime.fromisoformat(now), outgoing=OutgoingSettings(
        transport="smtp", host="127.0.0.1", port=port, tls="none", timeout_seconds=5.0))
    for r in deliver_due(app, worker=f"child-{os.getpid()}"):
        sys.stdout.write(f"{r.outbox_id} {r.result}\n")


def run_child(db_url: str, tmp: Path, port: int, now: datetime, crash_at: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run([sys.executable, "-m", "tests.test_outbox_crash", db_url, str(tmp),
                           str(port), now.isoformat()], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def setup_rows(tmp_path: Path, n: int) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    db = Database(url)
    db.upgrade()
    mids = []
    with db.transaction() as s:
        for i in range(n):
            key = f"ack:case:{i}"
            mid = make_message_id("example.com", "ack", key)
            raw = build_message(from_addr=SUPPORT, from_name="Support",
                                to=[f"c{i}@customer.example"], subject=f"Case {i}", text="hi",
                                message_id=mid, loop_token=SUPPORT, date_at=NOW)
            enqueue(s, case_id=None, kind="ack", dedupe_key=key, to=[f"c{i}@customer.example"],
                    from_addr=SUPPORT, subject=f"Case {i}", raw=raw, message_id=mid, now=NOW)
            mids.append(mid)
    db.dispose()
    return url, mids


def db_state(url: str) -> tuple[dict[str, OutboxStatus], Counter]:
    db = Database(url)
    with db.transaction() as s:
        status = dict(s.execute(select(OutboundMail.message_id, OutboundMail.status)).all())
        sent_events = Counter(e.data["message_id"] for e in s.scalars(
            select(Event).where(Event.kind == "mail_sent")))
        assert s.scalar(select(func.count()).select_from(OutboundMail)) == len(status)
    db.dispose()
    return status, sent_events


def test_killed_between_250_and_commit_gives_at_most_two_copies_with_one_message_id(
        tmp_path, smtp_sink):
    url, mids = setup_rows(tmp_path, 2)
    died = run_child(url, tmp_path, smtp_sink.port, NOW, crash_at="after_send")
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    [first] = smtp_sink.wait_for(1)
    assert first.message["Message-ID"] == mids[0]
    status, _ = db_state(url)
    assert status == {mids[0]: OutboxStatus.SENDING, mids[1]: OutboxStatus.SENDING}

    # Within the lease nobody touches the rows: the dead worker might still be alive.
    within = run_child(url, tmp_path, smtp_sink.port, NOW + MIN_LEASE - timedelta(seconds=1))
    assert within.returncode == 0 and within.stdout == "", within.stderr[-2000:]
    assert len(smtp_sink.messages) == 1

    rerun = run_child(url, tmp_path, smtp_sink.port, NOW + MIN_LEASE)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert sorted(rerun.stdout.split("\n")[:-1]) == ["1 sent", "2 sent"]
    copies = Counter(m.message["Message-ID"] for m in smtp_sink.wait_for(3))
    assert copies == {mids[0]: 2, mids[1]: 1}
    status, sent_events = db_state(url)
    assert status == {mids[0]: OutboxStatus.SENT, mids[1]: OutboxStatus.SENT}
    assert sent_events == {mids[0]: 1, mids[1]: 1}

    again = run_child(url, tmp_path, smtp_sink.port, NOW + 3 * MIN_LEASE)
    assert again.returncode == 0 and again.stdout == ""
    assert len(smtp_sink.messages) == 3


def test_killed_before_sending_gives_exactly_one_copy(tmp_path, smtp_sink):
    url, [mid] = setup_rows(tmp_path, 1)
    died = run_child(url, tmp_path, smtp_sink.port, NOW, crash_at="before_send")
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    assert smtp_sink.messages == []
    assert db_state(url)[0] == {mid: OutboxStatus.SENDING}
    rerun = run_child(url, tmp_path, smtp_sink.port, NOW + MIN_LEASE)
    assert rerun.returncode == 0 and rerun.stdout == "1 sent\n", rerun.stderr[-2000:]
    assert [m.message["Message-ID"] for m in smtp_sink.wait_for(1)] == [mid]
    status, sent_events = db_state(url)
    assert status == {mid: OutboxStatus.SENT} and sent_events == {mid: 1}


if __name__ == "__main__":
    child_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
