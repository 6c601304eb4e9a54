"""Incidents: 20 people report the same outage within 10 minutes; one incident, one command resolves."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from click.testing import CliRunner
from sqlalchemy import event, func, select

from mailproc.actions.acknowledge import enqueue_incident_ack
from mailproc.actions import incidents
from mailproc.actions.incidents import (_FIRST_WORDS, on_new_case, recent_case_words, similarity,
                                        update_incident, words)
from mailproc.config import AckSettings
from mailproc.models import Case, CaseStatus, Event, Incident, Message, OutboundMail
from mailproc.runners.inbound import process_pending
from mailproc.source.base import FetchedMessage
from tests.agent_helpers import agent_app, feed, mail

OUTAGE = [
    ("Email server down", "Since 10:00 our email does not work, the mail server seems down."),
    ("Cannot send email", "Email is down for the whole office, outlook says server not responding."),
    ("mail server not responding", "Our email server is not responding since ten minutes."),
    ("E-Mail down?", "Is the mail server down? Nobody here can send or receive email."),
    ("Outlook: server not available", "Outlook cannot connect to the email server, is email down?"),
]
OTHER = [("Printer jam", "The printer on floor 3 jams all the time."),
         ("Password reset", "I forgot my password, please reset it.")]


def incident_app(db, tmp_path):
    # Acks are left to the hook below, as actions.after_message does it.
    return agent_app(db, tmp_path, ack=AckSettings(enabled=False),
                     escalation=MappingProxyType({"incidents": {
                         "min_cases": 5, "window_minutes": 15, "similarity": 0.3}}))


def arrive(app, n: int, subject: str, body: str) -> Incident | None:
    """What the pipeline does for a new human case: process it, then group and acknowledge."""
    feed(app, mail(frm=f"User {n} <user{n}@firma{n % 7}.example>", subject=subject, body=body))
    with app.db.transaction() as s:
        case = s.scalar(select(Case).order_by(Case.id.desc()).limit(1))
        message = s.scalar(select(Message).where(Message.case_id == case.id))
        incident = on_new_case(app, s, case, message, app.clock.now())
        if incident is not None:
            enqueue_incident_ack(app, s, case, message, incident, app.clock.now())
        return incident


def test_words_and_similarity_are_pure():
    a = words("Email server down since this morning")
    assert a == {"email", "server", "down"}
    assert similarity(a, words("Is the email server down?")) == 1.0
    assert similarity(a, words("Printer jam")) == 0.0


def test_twenty_reports_become_one_incident_resolved_with_one_command(db, tmp_path):
    app = incident_app(db, tmp_path)
    seen = []
    for n in range(20):
        subject, body = OUTAGE[n % len(OUTAGE)]
        seen.append(arrive(app, n, subject, body))
        if n in (3, 11):
            seen.append(arrive(app, 100 + n, *OTHER[0 if n == 3 else 1]))
        app.clock.advance(timedelta(seconds=30))
    # The fifth similar report opens the incident; the others before it are linked too.
    assert seen[:4] == [None] * 4 and seen[4] is None and seen[5] is not None
    with app.db.transaction() as s:
        incidents = s.scalars(select(Incident)).all()
        assert len(incidents) == 1
        inc = incidents[0]
        linked = s.scalars(select(Case).where(Case.incident_id == inc.id)).all()
        assert len(linked) == 20
        assert {c.subject for c in linked} == {x[0] for x in OUTAGE}
        loose = s.scalars(select(Case).where(Case.incident_id.is_(None))).all()
        assert {c.subject for c in loose} == {"Printer jam", "Password reset"}
        acks = s.scalars(select(OutboundMail).where(OutboundMail.kind == "incident")).all()
        assert len(acks) == 16  # every report after the incident opened
        assert all(b"INC-" in a.raw or inc.title.encode() in a.raw for a in acks)
        notes = s.scalars(select(OutboundMail).where(OutboundMail.kind == "agent_notify",
                                                     OutboundMail.dedupe_key.like("%incident%"))
                          ).all()
        assert len(notes) >= 1 and len({n.case_id for n in notes}) == 1
        inc_id = inc.id
    incident, sent = update_incident(app, inc_id, "The mail server is back; mail queued during "
                                     "the outage is being delivered.", actor="ops",
                                     now=app.clock.now(), resolve=True)
    assert sent == 20 and incident.status == "resolved"
    with app.db.transaction() as s:
        updates = s.scalars(select(OutboundMail).where(OutboundMail.kind == "incident_update")
                            ).all()
        assert len({u.recipient for u in updates}) == 20
        assert all(b"mail server is back" in u.raw for u in updates)
        statuses = {c.status for c in s.scalars(select(Case).where(Case.incident_id == inc_id))}
        assert statuses == {CaseStatus.RESOLVED}
    # A new report after the resolution does not join the closed incident.
    assert arrive(app, 99, *OUTAGE[0]) is None


def test_incident_cli_resolves_once(db, tmp_path, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        return  # the CLI test needs a URL a fresh process can open: the SQLite file
    app = incident_app(db, tmp_path)
    for n in range(5):
        arrive(app, n, *OUTAGE[n])
    monkeypatch.setenv("MAILPROC_DATABASE_URL", db.url)
    monkeypatch.setenv("MAILPROC_SECRET_KEY", "test-key-" + "x" * 24)
    monkeypatch.setenv("MAILPROC_NOW", app.clock.now().isoformat())
    from mailproc.cli.main import cli

    runner = CliRunner()
    listed = runner.invoke(cli, ["incident", "list"])
    assert listed.exit_code == 0 and "INC-1" in listed.output and "open" in listed.output
    done = runner.invoke(cli, ["incident", "resolve", "INC-1", "--message", "Fixed."])
    assert done.exit_code == 0, done.output
    assert "5 customers" in done.output
    again = runner.invoke(cli, ["incident", "resolve", "1", "--message", "Fixed."])
    assert again.exit_code == 1 and "resolved already" in again.output


def _backlog(app, arrivals) -> None:
    """Mail that reached the server at `arrivals`, all processed now (after an outage)."""
    store = app.raw_store()
    for n, at in enumerate(arrivals):
        raw = mail(frm=f"User {n} <user{n}@firma{n % 7}.example>", subject="VPN is down",
                   body="The VPN is down since this morning, cannot connect.")
        store.store_one("demo", FetchedMessage("demo", "INBOX", f"backlog:{n}", None, None, raw,
                                               at))
    process_pending(app)


def test_a_backlog_groups_by_when_mail_arrived_not_when_it_was_processed(db, tmp_path):
    app = incident_app(db, tmp_path)
    start = app.clock.now() - timedelta(days=3)
    _backlog(app, [start + timedelta(hours=12 * n) for n in range(6)])   # three days, apart
    with app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_real_burst_in_a_backlog_is_still_one_incident(db, tmp_path):
    app = incident_app(db, tmp_path)
    start = app.clock.now() - timedelta(days=2)
    _backlog(app, [start + timedelta(minutes=2 * n) for n in range(6)])
    with app.db.transaction() as s:
        (incident,) = s.scalars(select(Incident)).all()
        assert s.scalar(select(func.count()).select_from(Case).where(
            Case.incident_id == incident.id)) == 6
        why = s.scalars(select(Event.detail).where(Event.kind == "incident_linked")).all()
        assert any("arrived within 15 minutes" in w for w in why)


def test_a_burst_processed_out_of_arrival_order_is_still_found(db, tmp_path, monkeypatch):
    """Two mailboxes' backlogs, processed one after the other: three reports from the first,
    then more unrelated cases opened after them than the check reads (its limit, 5 here)
    whose mail arrived days later, then the second mailbox's two reports of the same minute.
    The cases compared are the newest whose mail arrived in the window, not the newest."""
    monkeypatch.setattr(incidents, "RECENT_LIMIT", 5)
    app = incident_app(db, tmp_path)
    store = app.raw_store()
    at = app.clock.now() - timedelta(days=3)
    later = [("Printer jam", "The printer on floor 3 jams all the time."),
             ("Password reset", "I forgot my password, please reset it."),
             ("New laptop", "Our new colleague starts on Monday and needs a laptop."),
             ("Invoice 2026-118", "The VAT on invoice 2026-118 looks wrong."),
             ("Parking permit", "Can I get a parking permit for the garage?"),
             ("Teams echo", "Calls in meeting room Elbe have an echo."),
             ("Scanner PDFs", "Scans arrive as empty PDF files."),
             ("Monitor flickers", "The monitor flickers after docking the notebook.")]
    batch = [(at + timedelta(minutes=n), OUTAGE[n]) for n in range(3)] \
        + [(at + timedelta(days=2, minutes=n), later[n]) for n in range(8)] \
        + [(at + timedelta(minutes=3 + n), OUTAGE[3 + n]) for n in range(2)]
    for n, (arrived, (subject, body)) in enumerate(batch):
        raw = mail(frm=f"User {n} <user{n}@firma{n}.example>", subject=subject, body=body)
        store.store_one("demo", FetchedMessage("demo", "INBOX", f"ooo:{n}", None, None, raw,
                                               arrived))
    process_pending(app)
    with app.db.transaction() as s:
        (incident,) = s.scalars(select(Incident)).all()
        linked = s.scalars(select(Case.subject).where(Case.incident_id == incident.id)).all()
        assert sorted(linked) == sorted(subject for subject, _ in OUTAGE)


def test_the_burst_check_walks_only_the_cases_opened_within_the_window(db, tmp_path):
    """A new case compares itself with the open cases whose mail arrived within the window;
    the query walks the index of when cases were opened, down to the window's start only
    (not every case without an incident, which grows for ever), and the words it compares
    are those of the subject and the first message's start, remembered or read."""
    app = incident_app(db, tmp_path)
    for n in range(3):                              # last week's cases: outside the window
        arrive(app, 200 + n, *OTHER[n % 2])
    app.clock.advance(timedelta(days=7))
    for n in range(4):
        arrive(app, n, *OUTAGE[n])
        app.clock.advance(timedelta(minutes=1))
    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.db.transaction() as s:
        newest = s.scalar(select(Case).order_by(Case.id.desc()).limit(1))
        arrived = app.clock.now()
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            cached = recent_case_words(s, newest, arrived, 15)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        _FIRST_WORDS._known.clear()
        read = recent_case_words(s, newest, arrived, 15)
        expected = [(c.id, words(f"{c.subject} {m.new_text or m.body_text}"))
                    for c, m in s.execute(select(Case, Message).join(Message)
                                          .where(Case.id != newest.id,
                                                 Case.subject.in_([o[0] for o in OUTAGE])
                                                 ).order_by(Case.id.desc()))]
        assert cached == read == expected and len(expected) == 3
        # Remembered cases need no raw row: SQLite keeps the arrival behind the mail's bytes.
        assert not any("raw_messages" in statement for statement, _ in statements), statements
        if db.engine.dialect.name == "sqlite":
            (statement, parameters), = [x for x in statements if "FROM cases" in x[0]]
            plan = " ".join(str(row) for row in s.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))
            assert "ix_cases_created_at" in plan, plan
