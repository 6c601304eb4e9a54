"""`[retention]`: the sweep forgets stored mail when it is due and not before, on SQLite and
PostgreSQL; what it removed is counted in `mailproc status` (issue 19 item 3)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from mailproc.config import RetentionSettings
from mailproc.models import (
    Attachment, Blob, Case, CaseStatus, Event, Message, OutboundMail, Quarantine, RawMessage,
)
from mailproc.ops.status import status_summary
from mailproc.runners.periodic import sweep
from mailproc.store.retention import apply_retention
from tests.agent_helpers import MONDAY, agent_app, feed, mail
from tests.test_cli import embedded, invoke  # noqa: F401 - the fixture is used by name

RULES = RetentionSettings(raw_mail_days=30, closed_case_days=90, quarantine_days=14)
FILE = b"log line\n" * 100


def history(db, tmp_path):
    app = agent_app(db, tmp_path)
    feed(app, mail(frm="ann@kunde.example", subject="VPN drops", body="VPN drops hourly.",
                   attachments=[("vpn.log", "text/plain", FILE)]),
         mail(frm="bob@kunde.example", subject="Printer jams", body="Printer jams on A3."),
         b"\x00\x00 not a mail at all")
    with app.db.transaction() as s:
        vpn = s.scalar(select(Case).where(Case.subject == "VPN drops"))
        vpn.status, vpn.closed_at = CaseStatus.CLOSED, MONDAY
    return app


def state(db) -> dict:
    with db.transaction() as s:
        def count(model, *where):
            return s.scalar(select(func.count()).select_from(model).where(*where))
        return {
            "raw_bytes": count(RawMessage, RawMessage.data.is_not(None)),
            "quarantine": count(Quarantine),
            "vpn_text": count(Message, Message.body_text.like("%VPN drops hourly%")),
            "printer_text": count(Message, Message.body_text.like("%Printer jams on A3%")),
            "files": count(Attachment) + count(Blob),
            "vpn_outgoing_bytes": count(OutboundMail, OutboundMail.raw.is_not(None),
                                        OutboundMail.case_id.in_(select(Case.id).where(
                                            Case.status == CaseStatus.CLOSED))),
            "cases": count(Case),
        }


def run(db, days: int) -> dict:
    with db.transaction() as s:
        return apply_retention(s, RULES, MONDAY + timedelta(days=days))


def test_each_rule_forgets_when_due_and_not_before(db, tmp_path):
    history(db, tmp_path)
    start = state(db)
    assert start["raw_bytes"] == 3 and start["quarantine"] == 1 and start["files"] == 2
    assert start["vpn_outgoing_bytes"] >= 1 and start["cases"] == 2
    assert run(db, 10) == {"raw_mail": 0, "closed_cases": 0, "quarantined": 0}
    assert state(db) == start
    assert run(db, 15) == {"raw_mail": 0, "closed_cases": 0, "quarantined": 1}
    assert state(db) == {**start, "raw_bytes": 2, "quarantine": 0}
    assert run(db, 31) == {"raw_mail": 2, "closed_cases": 0, "quarantined": 0}
    assert state(db) == {**start, "raw_bytes": 0, "quarantine": 0}     # messages keep text
    assert run(db, 91) == {"raw_mail": 0, "closed_cases": 1, "quarantined": 0}
    assert state(db) == {**start, "raw_bytes": 0, "quarantine": 0, "vpn_text": 0, "files": 0,
                         "vpn_outgoing_bytes": 0}                     # the open case keeps it
    assert run(db, 200) == {"raw_mail": 0, "closed_cases": 0, "quarantined": 0}
    with db.transaction() as s:
        assert status_summary(s)["retention_removed"] == {
            "raw_mail": 2, "closed_cases": 1, "quarantined": 1}
        vpn = s.scalar(select(Case).where(Case.status == CaseStatus.CLOSED))
        assert vpn.subject == "" and vpn.created_at and vpn.first_response_due_at
        assert s.scalar(select(Event.detail).where(Event.case_id == vpn.id,
                                                   Event.kind == "retention_forgotten"))


def test_the_defaults_keep_everything(db, tmp_path):
    app = history(db, tmp_path)
    start = state(db)
    sweep(app, now=MONDAY + timedelta(days=3650))
    assert state(db) == start


def test_the_sweep_applies_the_configured_rules(db, tmp_path):
    app = history(db, tmp_path)
    app.settings = replace(app.settings, retention=RULES)
    sweep(app, now=MONDAY + timedelta(days=100))
    assert state(db)["raw_bytes"] == 0 and state(db)["vpn_text"] == 0
    assert state(db)["printer_text"] == 1


def test_retention_steps_with_mailproc_now_on_the_command_line(embedded, monkeypatch):  # noqa: F811
    embedded.write_text(embedded.read_text().replace("raw_mail_days = 0", "raw_mail_days = 2"))
    assert invoke(embedded, "run", "--once", "--now", "2026-11-23T14:30:00+01:00").exit_code == 0
    stored = json.loads(invoke(embedded, "status", "--json").output)["raw_messages"]
    monkeypatch.setenv("MAILPROC_NOW", "2026-11-24T14:30:00+01:00")      # one day on: nothing
    assert invoke(embedded, "sweep").exit_code == 0
    assert json.loads(invoke(embedded, "status", "--json").output)["retention_removed"] == {
        "raw_mail": 0, "closed_cases": 0, "quarantined": 0}
    monkeypatch.setenv("MAILPROC_NOW", "2026-11-25T15:00:00+01:00")      # two days on: all
    assert invoke(embedded, "sweep").exit_code == 0
    status = json.loads(invoke(embedded, "status", "--json").output)
    assert status["retention_removed"]["raw_mail"] == stored["processed"] > 0
    assert "removed by retention: raw mail" in invoke(embedded, "status").output
    doctor = {c["name"]: c for c in json.loads(invoke(embedded, "doctor", "--json").output)}
    assert doctor["retention"]["warn"] is False
    assert doctor["retention"]["detail"] == ("raw mail 2 days, closed case for ever, "
                                             "quarantine for ever")
