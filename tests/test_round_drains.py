"""`run --once` drains everything there is: every pending message, every due mail, and the mail
the sweep itself queued, in one round (issue 15, item 3 and item 10's "deliver after the sweep")."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from mailproc.models import OutboundMail, OutboxStatus
from mailproc.runners.embedded import run_forever, run_round
from mailproc.runners.outbound import deliver_due
from mailproc.source.base import FetchedMessage
from mailproc.source.imap import ImapSource
from tests.agent_helpers import mail
from tests.test_escalation import ESCALATION, esc_app
from tests.test_imap_source import settings_for

NO_INCIDENTS = {**ESCALATION, "incidents": {"enabled": False}}   # 130 look-alike requests


def store(app, raws) -> None:
    s = app.raw_store()
    for i, raw in enumerate(raws):
        s.store_one("demo", FetchedMessage("demo", "INBOX", f"drain:{i}", None, None, raw, None))


def by_status(app, kind: str) -> dict[str, int]:
    with app.db.transaction() as s:
        return {status.value: n for status, n in s.execute(
            select(OutboundMail.status, func.count()).where(OutboundMail.kind == kind)
            .group_by(OutboundMail.status))}


def test_one_round_acknowledges_every_new_case_not_just_a_batch(db, tmp_path):
    app = esc_app(db, tmp_path, escalation=NO_INCIDENTS)
    store(app, [mail(frm=f"customer{i}@kunde{i}.example", subject=f"Request number {i}",
                     body=f"Please look at item {i}.") for i in range(130)])
    report = run_round(app, [])
    assert sum(o.result == "processed" for o in report.outcomes) == 130
    assert by_status(app, "ack") == {"sent": 130}
    assert deliver_due(app) == []          # nothing was left due


def test_mail_the_sweep_queues_leaves_in_the_same_round(db, tmp_path):
    app = esc_app(db, tmp_path)
    store(app, [mail(frm="ann@kunde.example", subject="Printer offline", body="It is offline.")])
    run_round(app, [])
    app.clock.advance(timedelta(days=2))    # every first-response step is due now
    report = run_round(app, [])
    assert report.swept, "the sweep fired escalation steps"
    with app.db.transaction() as s:
        waiting = s.scalar(select(func.count()).select_from(OutboundMail).where(
            OutboundMail.status == OutboxStatus.PENDING))
    assert waiting == 0


class CountingSource:
    """A source that hands over planned batches and records when the loop waits for mail."""

    name = "demo"

    def __init__(self, batches):
        self.batches, self.calls = list(batches), []

    def poll_once(self, sink) -> int:
        raws = self.batches.pop(0) if self.batches else []
        for raw in raws:
            sink.store_one(self.name, FetchedMessage(self.name, "INBOX", f"c:{id(raw)}", None,
                                                     None, raw, None))
        self.calls.append(("poll", len(raws)))
        return len(raws)

    def wait_for_mail(self, timeout, should_stop) -> None:
        self.calls.append(("wait", 0))


def test_the_long_running_loop_looks_again_at_once_after_a_round_that_found_mail(db, tmp_path):
    app = esc_app(db, tmp_path)
    source = CountingSource([[mail(frm="a@kunde.example", subject="One", body="x")],
                             [mail(frm="b@kunde.example", subject="Two", body="y")]])
    rounds = []
    run_forever(app, [source], idle_timeout=0.1, on_round=rounds.append,
                should_stop=lambda: len(rounds) >= 3)
    # no wait between rounds that found mail; the first empty round waits for new mail
    assert source.calls == [("poll", 1), ("poll", 1), ("poll", 0), ("wait", 0)]


def test_the_long_running_loop_survives_a_dropped_idle(db, tmp_path, imap_account):
    """A server that drops the waiting IDLE connection (a restart, an idle limit) is a
    health note and a reconnect, not the end of `mailproc run`."""
    app = esc_app(db, tmp_path)
    source = ImapSource(replace(settings_for(imap_account), name="demo"))
    imap_account.append(mail(frm="a@kunde.example", subject="Before the drop", body="x"))
    rounds, kicked = [], threading.Event()

    def stop() -> bool:
        return sum(o.result == "processed" for r in rounds for o in r.outcomes) >= 2 or \
            len(rounds) > 50

    def drop_then_mail():
        while not any(r.outcomes for r in rounds):
            time.sleep(0.05)
        time.sleep(0.3)                     # the loop is in IDLE now
        imap_account.kick()
        kicked.set()
        imap_account.append(mail(frm="b@kunde.example", subject="After the drop", body="y"))
    helper = threading.Thread(target=drop_then_mail, daemon=True)
    helper.start()
    try:
        run_forever(app, [source], idle_timeout=1.0, on_round=rounds.append, should_stop=stop)
    finally:
        source.close()
    assert kicked.is_set()
    assert sum(o.result == "processed" for r in rounds for o in r.outcomes) == 2
