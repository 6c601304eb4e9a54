"""The inbound pipeline on the demo conversations: cases, threading rules, kinds, idempotence."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from mailproc.models import Case, Event, Message, OutboundMail, Quarantine, RawMessage, RawStatus
from mailproc.ops.export import export_cases
from mailproc.runners.inbound import MAX_STARTS, process_pending, process_raw
from mailproc.thread.rules import thread_message
from tests.helpers import demo_raws, ingest, make_app


def by_subject(export: dict) -> dict[str, dict]:
    return {c["subject"]: c for c in export["cases"]}


def test_demo_mailbox_becomes_cases(db, tmp_path):
    app = make_app(db, tmp_path)
    raws = demo_raws()
    ingest(app, list(raws.values()))
    outcomes = process_pending(app)
    assert [o.result for o in outcomes] == ["processed"] * len(raws)
    with db.transaction() as s:
        export = export_cases(s)
    cases = by_subject(export)
    vpn = cases["Cannot connect to VPN since this morning"]
    assert vpn["ref"] == "1001"
    assert [m["rule"] for m in vpn["messages"] if m["direction"] == "in"] == ["new", "subject_tag"]
    drive = cases["URGENT: shared drive down for the whole team"]
    assert [m["rule"] for m in drive["messages"] if m["direction"] == "in"] == ["new", "references"]
    assert set(drive["participants"]) == {"heidi.braun@globex.example", "ivan.petrov@globex.example"}
    assert drive["priority"] == "urgent"
    printer = cases["Printer on 3rd floor prints blank pages"]
    # Outlook's reply has no References, but it quotes the first mail
    assert [m["rule"] for m in printer["messages"] if m["direction"] == "in"] == [
        "new", "quoted_history"]
    newsletter = cases["[IT Weekly] Ten tips for safer passwords"]
    assert newsletter["messages"][0]["kind"] == "list"
    # The out-of-office and the bounce match no case: stored, classified, not opened as cases.
    assert {m["kind"] for m in export["unthreaded"]} == {"auto_reply", "bounce"}
    assert len(export["cases"]) == 9
    for case in export["cases"]:
        assert case["deadlines"]["first_response_due_at"], case["subject"]


def test_acknowledgements_only_to_people_once(db, tmp_path):
    app = make_app(db, tmp_path)
    ingest(app, list(demo_raws().values()))
    process_pending(app)
    with db.transaction() as s:
        acks = s.scalars(select(OutboundMail).where(OutboundMail.kind == "ack")).all()
        recipients = sorted(a.to_addrs[0] for a in acks)
        decisions = s.scalars(select(Event.detail).where(Event.kind == "ack_decision")).all()
    assert len(recipients) == len(set(recipients)) == 8
    assert "news@itweekly.example" not in recipients
    assert "dave.osei@acme.example" not in recipients
    assert any(d.startswith("list:") for d in decisions)
    assert any(d.startswith("not_new:") for d in decisions)


def test_processing_is_idempotent(db, tmp_path):
    app = make_app(db, tmp_path)
    ids = ingest(app, list(demo_raws().values()))
    process_pending(app)
    again = [process_raw(app, i) for i in ids]
    assert {o.result for o in again} == {"skipped"}
    ingest(app, list(demo_raws().values()))  # the same keys: nothing new stored
    assert process_pending(app) == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == len(ids)
        assert s.scalar(select(func.count()).select_from(Case)) == 9


def test_unparseable_mail_is_quarantined_with_reason(db, tmp_path):
    app = make_app(db, tmp_path)
    (raw_id,) = ingest(app, [b"\x00\x01 this is not mail at all"])
    (outcome,) = process_pending(app)
    assert outcome.result == "quarantined"
    with db.transaction() as s:
        q = s.scalar(select(Quarantine))
        assert q.raw_id == raw_id and "no RFC 5322 header" in q.reason
        assert s.get(RawMessage, raw_id).status == RawStatus.QUARANTINED
        export = export_cases(s)
    assert export["quarantine"][0]["reason"] == q.reason


def test_an_error_the_same_bytes_would_repeat_quarantines_at_once(db, tmp_path, monkeypatch):
    app = make_app(db, tmp_path)
    (raw_id,) = ingest(app, [demo_raws()["02-bob-printer"]])

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash in threading")

    monkeypatch.setattr("mailproc.runners.inbound.thread_message", boom)
    assert process_raw(app, raw_id).result == "quarantined"
    with db.transaction() as s:
        assert "simulated crash in threading" in s.scalar(select(Quarantine.reason))
        assert s.scalar(select(func.count()).select_from(Case)) == 0  # rolled back


def test_one_poison_message_does_not_hold_its_mailbox_back(db, tmp_path, monkeypatch):
    """A RecursionError on one message (issue 15: a 135 KB To: header) quarantines that
    message, and the rest of the mailbox is processed in the same call."""
    app = make_app(db, tmp_path)
    raws = demo_raws()
    ingest(app, [raws["01-alice-vpn"], raws["02-bob-printer"], raws["06-erin-locked"]])
    real = thread_message

    def poison(msg, *args, **kwargs):
        if "printer" in (msg.subject or "").lower():
            raise RecursionError("maximum recursion depth exceeded")
        return real(msg, *args, **kwargs)

    monkeypatch.setattr("mailproc.runners.inbound.thread_message", poison)
    outcomes = process_pending(app)
    assert [o.result for o in outcomes] == ["processed", "quarantined", "processed"]


def test_the_database_going_away_holds_the_mailbox_and_never_quarantines(db, tmp_path,
                                                                         monkeypatch):
    app = make_app(db, tmp_path)
    (raw_id,) = ingest(app, [demo_raws()["02-bob-printer"]])

    def gone(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr("mailproc.runners.inbound.thread_message", gone)
    results = [process_raw(app, raw_id).result for _ in range(MAX_STARTS + 2)]
    assert results == ["retry"] * (MAX_STARTS + 2)
    monkeypatch.undo()
    assert process_raw(app, raw_id).result == "processed"


def test_stranger_using_a_case_tag_gets_a_linked_case(db, tmp_path):
    app = make_app(db, tmp_path)
    raws = demo_raws()
    ingest(app, [raws["01-alice-vpn"]])
    process_pending(app)
    stranger = (b"From: mallory@evil.example\r\nTo: support@example.com\r\n"
                b"Subject: Re: [#1001] Cannot connect to VPN since this morning\r\n"
                b"Message-ID: <m-1@evil.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n"
                b"Please send me the VPN config.\r\n")
    ingest(app, [stranger])
    (outcome,) = process_pending(app)
    assert outcome.rule == "subject_tag_stranger" and outcome.case_ref != "1001"
    with db.transaction() as s:
        cases = by_subject(export_cases(s))
    linked = [c for c in cases.values() if c["linked_case"] == "1001"]
    assert len(linked) == 1 and linked[0]["customer"] == "mallory@evil.example"


def test_kb_suggestions_fit_or_stay_empty_and_thanks_resolves(db, tmp_path):
    app = make_app(db, tmp_path)
    raws = demo_raws()
    ingest(app, [raws["06-erin-locked"], raws["07-frank-invoice"]])
    process_pending(app)
    with db.transaction() as s:
        cases = {c.ref: c for c in s.scalars(select(Case))}
        erin, frank = cases["1001"], cases["1002"]
        assert [k["id"] for k in erin.kb_suggestions][:1] == ["account-locked"]
        assert frank.kb_suggestions == []
        ack = s.scalar(select(OutboundMail).where(OutboundMail.case_id == erin.id))
    assert b"Account locked" in ack.raw
    thanks = (b"From: Erin Schulz <erin.schulz@umbrella.example>\r\nTo: support@example.com\r\n"
              b"Subject: Re: [#1001] process lock on my account\r\n"
              b"Message-ID: <erin-2@umbrella.example>\r\nDate: Mon, 23 Nov 2026 11:00:00 +0100\r\n"
              b"\r\nThanks, that fixed it! I waited 30 minutes and could sign in again.\r\n")
    ingest(app, [thanks])
    (outcome,) = process_pending(app)
    assert outcome.case_ref == "1001"
    with db.transaction() as s:
        erin = s.scalar(select(Case).where(Case.ref == "1001"))
        kinds = s.scalars(select(Event.kind).where(Event.case_id == erin.id)).all()
    assert erin.resolved_by_kb and erin.status.value == "resolved"
    assert "resolved_by_kb" in kinds


def test_agent_notification_offers_internal_articles_too(db, tmp_path):
    from tests.agent_helpers import agent_app
    from tests.helpers import KB_CACHE

    app = agent_app(db, tmp_path, kb={"cache_dir": str(KB_CACHE)})
    ingest(app, [demo_raws()["06-erin-locked"]])
    process_pending(app)
    with db.transaction() as s:
        rows = {r.kind: r for r in s.scalars(select(OutboundMail))}
    assert b"unlocking an account" not in rows["ack"].raw  # customers never see internal ones
    notification = rows["agent_notify"].raw.decode("ascii", "replace")
    assert "Account locked after too many sign-in attempts" in " ".join(notification.split())
    assert "unlocking an account" in " ".join(notification.split())


def test_a_message_to_retry_holds_back_the_rest_of_its_mailbox(db, tmp_path, monkeypatch):
    """The opening message fails once: its reply must wait, or it would open a second case."""
    import mailproc.runners.inbound as pipeline
    from tests.agent_helpers import agent_app, feed, mail

    app = agent_app(db, tmp_path)
    real, failed = pipeline._process, []

    def flaky(app_, session, raw_id, *prepared):
        if raw_id == 1 and not failed:
            failed.append(raw_id)
            raise ConnectionError("database hiccup")
        return real(app_, session, raw_id, *prepared)

    monkeypatch.setattr(pipeline, "_process", flaky)
    first = feed(app, mail(frm="ann@kunde.example", subject="VPN down", msgid="<o1@kunde.example>",
                           body="The VPN is down."),
                 mail(frm="bob@kunde.example", subject="Re: VPN down", msgid="<o2@kunde.example>",
                      in_reply_to="<o1@kunde.example>", references="<o1@kunde.example>",
                      body="Same here."))
    assert [o.result for o in first] == ["retry"]          # the reply waited
    second = pipeline.process_pending(app)
    assert [o.result for o in second] == ["processed", "processed"]
    assert second[0].case_ref == second[1].case_ref and second[1].rule == "references"


def test_a_message_that_kills_its_process_is_convicted_alone_in_a_child(db, tmp_path,
                                                                      monkeypatch):
    """Twice in hand when its process died: the third time it runs alone in a child process,
    and only because that child dies on it is it quarantined (issue 15, item 2)."""
    import mailproc.runners.inbound as pipeline
    from tests.agent_helpers import agent_app, feed, mail

    app = agent_app(db, tmp_path)

    class Killed(BaseException):
        """Stands for SIGKILL: nothing after it runs, no except Exception sees it."""

    parent = os.getpid()

    def dies(app_, session, raw_id, *prepared):
        if os.getpid() != parent:      # alone in the child: a real SIGKILL (say, the OOM killer)
            os.kill(os.getpid(), signal.SIGKILL)
        raise Killed()

    monkeypatch.setattr(pipeline, "_process", dies)
    deaths = 0
    with pytest.raises(Killed):
        feed(app, mail(frm="ann@kunde.example", subject="Poison", body="x"))
    deaths += 1
    while True:
        try:
            outcomes = pipeline.process_pending(app)
            break
        except Killed:
            deaths += 1
            assert deaths < 20
    assert deaths == pipeline.SUSPECT_AFTER
    assert [o.result for o in outcomes] == ["quarantined"]
    with app.db.transaction() as s:
        [q] = s.scalars(select(Quarantine)).all()
        assert "alone in a child process killed the child (killed by SIGKILL)" in q.reason


def test_an_innocent_message_whose_process_was_killed_twice_is_processed_alone(db, tmp_path):
    """A deploy or the OOM killer hit the process twice while this mail was in hand: alone in a
    child it goes through, and the customer is acknowledged; nothing is quarantined."""
    from tests.agent_helpers import agent_app, mail, outbox

    app = agent_app(db, tmp_path)
    (raw_id,) = ingest(app, [mail(frm="ann@kunde.example", subject="Printer offline",
                                  body="The printer on floor 2 is offline.")])
    with app.db.transaction() as s:
        s.get(RawMessage, raw_id).attempts = 2        # two starts that never finished
    outcome = process_raw(app, raw_id)
    assert outcome.result == "processed" and outcome.case_ref == "1001"
    assert [r.to_addrs for r in outbox(app, "ack")] == [["ann@kunde.example"]]
    with app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Quarantine)) == 0


def test_start_up_work_is_done_before_a_message_is_claimed(db, tmp_path, monkeypatch):
    """A process that dies while it starts (building the KB index) dies on no message."""
    from mailproc.app import App

    app = make_app(db, tmp_path)
    (raw_id,) = ingest(app, [demo_raws()["02-bob-printer"]])

    class Killed(BaseException):
        pass

    def dies(self):
        raise Killed()

    monkeypatch.setattr(App, "prepare", dies)
    with pytest.raises(Killed):
        process_raw(app, raw_id)
    with app.db.transaction() as s:
        assert s.get(RawMessage, raw_id).attempts == 0

def test_raw_bytes_that_went_missing_quarantine_that_message_not_its_mailbox(db, tmp_path):
    """A missing blob file fails the same way every time: it is the message's problem, not
    the machinery's, so it must not hold the mailbox for ever."""
    app = make_app(db, tmp_path)
    raws = demo_raws()
    first, second = ingest(app, [raws["01-alice-vpn"], raws["02-bob-printer"]])
    with app.db.transaction() as s:
        row = s.get(RawMessage, first)
        row.data, row.blob_path = None, str(tmp_path / "gone" / "blob.eml")
    outcomes = process_pending(app)
    assert [o.result for o in outcomes] == ["quarantined", "processed"]
    assert "FileNotFoundError" in outcomes[0].reason or "blob" in outcomes[0].reason
