"""The escalation ladder: steps fire once, in order, with phone numbers; #escalate jumps a step."""

from __future__ import annotations

import json
from datetime import timedelta
from types import MappingProxyType

import pytest
from sqlalchemy import select

from mailproc.errors import ConfigError
from mailproc.escalation.ladder import load_ladder
from mailproc.escalation.plan import CaseFacts, next_step
from mailproc.escalation.steps import claim_step
from mailproc.models import Case, Contact, Escalation, Event, Message, OutboundMail, Participant
from mailproc.runners.periodic import sweep
from mailproc.sla.calendar import CALENDAR_24X7
from tests.agent_helpers import agent_app, feed, mail, outbox
from tests.helpers import MONDAY

DIRECTORY = {
    "people": [
        {"key": "petra", "name": "Petra Schulz", "role": "team lead helpdesk",
         "phone": "+49 30 1234 5690", "email": "petra@example.com", "lead_of": ["helpdesk"]},
        {"key": "max", "name": "Max Meier", "role": "support manager", "phone": "030 1234 5699",
         "email": "max@example.com", "manager_of": ["*"]},
    ],
    "vendors": [{"key": "netcarrier", "name": "NetCarrier NOC", "service": "internet uplink",
                 "phone": "+49 69 9876 5400", "email": "noc@netcarrier.example"}],
    "oncall": [{"person": "petra", "days": "mon-fri", "hours": "08:00-18:00"},
               {"person": "max", "days": "sat-sun"}],
}
ESCALATION = {
    "steps": [
        {"name": "warning", "trigger": "first_response", "at_fraction": 0.75,
         "notify": ["assignee"]},
        {"name": "overdue", "trigger": "first_response", "after": "0m", "notify": ["assignee"]},
        {"name": "team-lead", "trigger": "first_response", "after": "1h", "notify": ["team_lead"]},
        {"name": "manager", "trigger": "first_response", "after": "4h", "notify": ["manager"]},
        {"name": "vendor", "trigger": "first_response", "after": "1d",
         "notify": ["vendor:netcarrier", "oncall"]},
        {"name": "waiting", "trigger": "customer_waiting", "notify": ["assignee"]},
    ],
    "customer_waiting_after": "2h",
}


def esc_app(db, tmp_path, **extra):
    return agent_app(db, tmp_path, directory=MappingProxyType(DIRECTORY),
                     escalation=MappingProxyType(extra.pop("escalation", ESCALATION)), **extra)


def run_week(app, *, step=timedelta(minutes=30), until=timedelta(days=4)):
    fired = []
    end = app.clock.now() + until
    while app.clock.now() < end:
        app.clock.advance(step)
        fired += [(app.clock.now(), a) for a in sweep(app)]
    return fired


def test_ladder_fires_each_step_once_in_order_with_phones(db, tmp_path):
    app = esc_app(db, tmp_path)
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject="VPN drops",
                   body="The VPN drops every few minutes.\n\n-- \nMaria Keller\nTel. +49 171 5550123"))
    fired = run_week(app)
    steps = [a.step for _, a in fired if a.action == "escalated"]
    assert steps == ["warning", "overdue", "team-lead", "manager", "vendor"]
    with app.db.transaction() as s:
        case = s.scalar(select(Case))
        due = case.first_response_due_at
        rows = s.scalars(select(OutboundMail).where(OutboundMail.kind == "escalation")
                         .order_by(OutboundMail.id)).all()
        texts = [r.raw.decode("utf-8", "replace") for r in rows]
        # One mail per step and recipient: the vendor step reaches the vendor and whoever is
        # on call, each with their own reply address.
        assert len(rows) == 6
        assert list(dict.fromkeys(r.dedupe_key.split(":")[2] for r in rows)) == steps
        assert all("\r\nAuto-Submitted: auto-generated\r\n" in text for text in texts)
        events = s.scalars(select(Event.detail).where(Event.kind == "escalated")).all()
    # Deadlines in the team's time zone, as everywhere else, never a bare UTC beside them.
    assert all("UTC" not in e and ("CET" in e or "CEST" in e) for e in events), events
    times = {a.step: at for at, a in fired}
    assert times["warning"] < due <= times["overdue"] < times["team-lead"] < times["manager"]
    assert times["overdue"] - due < timedelta(minutes=30)
    # Step 3 goes to the team lead with her number; the manager's number came as 030 ... (E.164).
    assert rows[2].to_addrs == ["petra@example.com"] and "+493012345690" in texts[2]
    assert rows[3].to_addrs == ["max@example.com"] and "+493012345699" in texts[3]
    assert "noc@netcarrier.example" in rows[4].to_addrs and "+496998765400" in texts[4]
    assert "VPN drops" in texts[0] and "Recent history" in texts[2]
    assert any("+493012345690" in e for e in events)
    assert sweep(app) == []  # nothing fires twice


def test_agent_reply_stops_first_response_ladder_and_customer_waiting_fires(db, tmp_path):
    app = esc_app(db, tmp_path)
    feed(app, mail(frm="maria@kunde.example", subject="Printer jam", body="Paper jams."))
    with app.db.transaction() as s:
        case = s.scalar(select(Case))
        ref, assignee = case.ref, case.assignee
    agent = {"alice": "alice@example.com", "bob": "bob@example.com"}[assignee.split()[0].lower()]
    app.clock.advance(timedelta(hours=1))
    assert [a.step for a in sweep(app)] == []
    from mailproc.classify.authenticity import agent_reply_ref
    from mailproc.signing import sign_reply_address

    signed = sign_reply_address("support@example.com", agent_reply_ref(ref, assignee.split()[0]
                                                                        .lower()), app.secret_key)
    feed(app, mail(frm=agent, to=signed, subject=f"Re: [#{ref}] Printer jam",
                   body="Please send a photo.", headers={
                       "Authentication-Results": "mx.example.com; dmarc=pass"}))
    app.clock.advance(timedelta(minutes=30))
    feed(app, mail(frm="maria@kunde.example", subject=f"Re: [#{ref}] Printer jam",
                   body="Here is the photo."))
    fired = run_week(app, until=timedelta(days=1))
    steps = [a.step for _, a in fired]
    assert "warning" not in steps and "overdue" not in steps
    assert steps.count("waiting") == 1


def test_escalate_command_jumps_one_step(db, tmp_path):
    app = esc_app(db, tmp_path)
    feed(app, mail(frm="maria@kunde.example", subject="Laptop broken", body="It is broken."))
    with app.db.transaction() as s:
        case = s.scalar(select(Case))
        case.next_escalation_at = app.clock.now()
        s.add(Event(case_id=case.id, at=app.clock.now(), actor="alice@example.com",
                    kind="escalation_requested", detail="customer is a VIP", data={}))
    actions = sweep(app)
    assert [a.step for a in actions] == ["warning"]
    assert "escalated by an agent" in actions[0].detail
    assert sweep(app) == []  # the request is used up
    fired = run_week(app, until=timedelta(days=4))
    assert [a.step for _, a in fired] == ["overdue", "team-lead", "manager", "vendor"]


def test_claim_is_the_guard_against_double_firing(db, tmp_path):
    app = esc_app(db, tmp_path)
    feed(app, mail(frm="maria@kunde.example", subject="Mouse", body="Mouse dead."))
    with app.db.transaction() as s:
        case_id = s.scalar(select(Case.id))
        assert claim_step(s, case_id, "overdue", "fr", MONDAY) is not None
    with app.db.transaction() as s:
        assert claim_step(s, case_id, "overdue", "fr", MONDAY) is None
        assert claim_step(s, case_id, "overdue", "fr:other", MONDAY) is not None
    with app.db.transaction() as s:
        assert len(s.scalars(select(Escalation)).all()) == 2


def test_next_step_is_pure_and_ordered():
    ladder = load_ladder(ESCALATION)
    start = MONDAY
    facts = CaseFacts(status="open", created_at=start,
                      first_response_due_at=start + timedelta(hours=4),
                      resolution_due_at=start + timedelta(days=3))
    plan = next_step(facts, ladder, frozenset(), start, CALENDAR_24X7, "24x7")
    assert plan.due == () and plan.next_at == start + timedelta(hours=3)
    late = next_step(facts, ladder, frozenset(), start + timedelta(hours=5, minutes=1),
                     CALENDAR_24X7, "24x7")
    assert [d.step.name for d in late.due] == ["warning", "overdue", "team-lead"]
    assert late.next_at == start + timedelta(hours=8)
    done = frozenset({("warning", "fr"), ("overdue", "fr"), ("team-lead", "fr")})
    again = next_step(facts, ladder, done, start + timedelta(hours=5, minutes=1),
                      CALENDAR_24X7, "24x7")
    assert again.due == ()
    resolved = next_step(CaseFacts(status="resolved", created_at=start), ladder, frozenset(),
                         start, CALENDAR_24X7, "24x7")
    assert resolved.due == () and resolved.next_at is None


@pytest.mark.parametrize("raw,where", [
    ({"steps": [{"after": "soon"}]}, "escalation.steps[0].after"),
    ({"steps": [{"trigger": "sometime"}]}, "escalation.steps[0].trigger"),
    ({"steps": [{"notify": ["boss"]}]}, "escalation.steps[0].notify[0]"),
    ({"steps": [{"at_fraction": 1.5}]}, "escalation.steps[0].at_fraction"),
    ({"stepz": []}, "escalation.stepz"),
    ({"reminders": {"remind_after": "5d", "resolve_after": "2d"}},
     "escalation.reminders.resolve_after"),
])
def test_ladder_config_errors_name_the_key(raw, where):
    with pytest.raises(ConfigError, match=where.replace("[", r"\[").replace("]", r"\]")):
        load_ladder(raw)


def test_concurrent_sweeps_fire_each_step_once(db, tmp_path):
    import threading

    app = esc_app(db, tmp_path)
    problems = [("Printer jams on tray 2", "Paper jams every third page."),
                ("VPN drops hourly", "The tunnel disconnects after an hour."),
                ("Invoice 4711 wrong", "We were billed twice for March."),
                ("New laptop for Jana", "Please order a laptop for our new hire."),
                ("Outlook signature", "How do I add a logo to my signature?"),
                ("Licence renewal", "Our design software licence expires Friday.")]
    for n, (subject, body) in enumerate(problems):   # unrelated: no incident groups them
        feed(app, mail(frm=f"user{n}@kunde.example", subject=subject, body=body))
    sweep(app)                       # plan every case
    app.clock.advance(timedelta(days=2))
    results, errors = [], []

    def run():
        try:
            results.append(sweep(app))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    fired = [(a.case_ref, a.step) for r in results for a in r]
    assert len(fired) == len(set(fired)) == 6 * 5   # 5 first-response steps, each once
    with app.db.transaction() as s:
        rows = s.scalars(select(OutboundMail).where(OutboundMail.kind == "escalation")).all()
        assert len(rows) == 6 * 6     # the vendor step goes to two people, each their own mail
        assert len({r.dedupe_key for r in rows}) == len(rows)


TEN_PROBLEMS = ["Printer jams on tray 2", "VPN drops hourly", "Invoice 4711 wrong",
                "New laptop for Jana", "Outlook signature logo", "Licence renewal due",
                "Badge reader at the garage", "Monitor flickers when docked",
                "Scanner sends empty PDFs", "Calendar does not sync to phone"]


def ten_cases(db, tmp_path):
    app = esc_app(db, tmp_path)
    for n, subject in enumerate(TEN_PROBLEMS):   # unrelated: no incident groups them
        feed(app, mail(frm=f"user{n}@firma{n}.example", subject=subject,
                       body=f"{subject}: since this morning, please help."))
    return app


def test_a_sweep_plans_cases_a_chunk_per_transaction(db, tmp_path, monkeypatch):
    """A backlog's new cases are planned SWEEP_CHUNK to a transaction, their facts read
    together; the plans and the fired steps are those of one case at a time."""
    from sqlalchemy import event

    from mailproc.runners import periodic

    monkeypatch.setattr(periodic, "SWEEP_CHUNK", 4)
    app = ten_cases(db, tmp_path)
    commits = []

    def count(conn):
        commits.append(1)
    event.listen(app.db.engine, "commit", count)
    try:
        assert periodic.sweep_escalations(app, now=app.clock.now()) == []  # nothing due yet
    finally:
        event.remove(app.db.engine, "commit", count)
    assert len(commits) <= 1 + 3 + 1              # candidates, 3 chunks, the mark (not 12)
    with app.db.transaction() as s:
        planned = s.scalars(select(Case.next_escalation_at)).all()
    assert len(planned) == 10 and None not in planned
    app.clock.advance(timedelta(days=2))
    fired = periodic.sweep_escalations(app, now=app.clock.now())
    assert len(fired) == len({(a.case_ref, a.step) for a in fired}) == 10 * 5  # 5 steps each, once


def test_a_case_that_fails_to_plan_holds_back_no_other(db, tmp_path, monkeypatch, caplog):
    from mailproc.escalation.executor import planned_since
    from mailproc.runners import periodic

    monkeypatch.setattr(periodic, "SWEEP_CHUNK", 4)
    app = ten_cases(db, tmp_path)
    with app.db.transaction() as s:
        poison = s.scalars(select(Case.id).order_by(Case.id)).all()[6]   # in the second chunk
    plan = periodic.plan_cases

    def failing(app_, session, case_ids, now):
        if poison in case_ids:
            raise RuntimeError("template broken")
        return plan(app_, session, case_ids, now)
    monkeypatch.setattr(periodic, "plan_cases", failing)
    periodic.sweep_escalations(app, now=app.clock.now())
    with app.db.transaction() as s:
        unplanned = s.scalars(select(Case.id).where(Case.next_escalation_at.is_(None))).all()
        assert unplanned == [poison] and planned_since(s) is None   # the mark waits for it
    assert "escalation planning failed" in caplog.text
    monkeypatch.setattr(periodic, "plan_cases", plan)              # fixed: the next sweep plans it
    periodic.sweep_escalations(app, now=app.clock.now())
    with app.db.transaction() as s:
        assert s.scalars(select(Case.id).where(Case.next_escalation_at.is_(None))).all() == []
        assert planned_since(s) is not None


def test_sweep_command_steps_through_time(db, tmp_path, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        return  # the CLI opens the database by URL: the SQLite file
    from click.testing import CliRunner

    from mailproc.cli.main import cli

    app = esc_app(db, tmp_path, escalation=MappingProxyType({}))   # the default ladder
    feed(app, mail(frm="maria@kunde.example", subject="VPN drops", body="It drops."))
    monkeypatch.setenv("MAILPROC_DATABASE_URL", db.url)
    monkeypatch.setenv("MAILPROC_SECRET_KEY", "test-key-" + "x" * 24)
    runner = CliRunner()
    seen = []
    for at in ("2026-11-23T10:00:00+01:00", "2026-11-23T12:30:00+01:00",
               "2026-11-23T14:30:00+01:00", "2026-11-23T15:30:00+01:00",
               "2026-11-23T15:30:00+01:00", "2026-11-24T10:00:00+01:00"):
        out = runner.invoke(cli, ["sweep", "--now", at, "--json"])
        assert out.exit_code == 0, out.output
        seen.append([a["step"] for a in json.loads(out.output)])
    assert seen == [[], ["warning"], ["overdue"], ["team-lead"], [], ["manager"]]


def test_directory_rota_and_errors():
    from mailproc.people.directory import load_directory

    d = load_directory(DIRECTORY, zone="Europe/Berlin")
    assert [p.key for p in d.on_call(MONDAY)] == ["petra"]                     # Mon 09:00
    assert d.on_call(MONDAY + timedelta(hours=12)) == []                       # Mon 21:00
    assert [p.key for p in d.on_call(MONDAY + timedelta(days=5))] == ["max"]   # Saturday
    assert d.person("max").phone == "+493012345699"
    bad = {"people": [{"key": "a", "name": "A"}, {"key": "b", "name": "B", "phone": "12"}]}
    with pytest.raises(ConfigError, match=r"directory\.people\[1\]\.phone"):
        load_directory(bad)
    with pytest.raises(ConfigError, match=r"directory\.oncall\[0\]\.person"):
        load_directory({"oncall": [{"person": "nobody"}]})
    with pytest.raises(ConfigError, match=r"directory\.oncall\[0\]\.days"):
        load_directory({"people": [{"key": "a", "name": "A"}],
                        "oncall": [{"person": "a", "days": "someday"}]})


def test_a_reply_to_an_escalation_answers_the_customer_or_becomes_a_note(db, tmp_path):
    """The assignee's reply to a warning is a reply to the customer (their own signed
    address); a team lead's reply is an internal note on the case: never customer mail, no
    participant, no acknowledgement (issue 15, item 9)."""
    from email import message_from_bytes, policy

    app = esc_app(db, tmp_path)
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject="VPN drops",
                   msgid="<v1@kunde.example>", body="The VPN drops every few minutes."))
    run_week(app, until=timedelta(hours=6))
    with app.db.transaction() as s:
        rows = s.scalars(select(OutboundMail).where(OutboundMail.kind == "escalation")
                         .order_by(OutboundMail.id)).all()
        by_to = {r.to_addrs[0]: message_from_bytes(r.raw, policy=policy.default) for r in rows}
    warning = by_to["alice@example.com"]
    assert "+1001-alice." in warning["Reply-To"]
    lead = by_to["petra@example.com"]
    assert "+1001--petra." in lead["Reply-To"]
    assert "internal note" in " ".join(lead.get_body(("plain",)).get_content().split())
    feed(app, mail(frm="Petra Schulz <petra@example.com>", to=lead["Reply-To"],
                   subject="Re: " + lead["Subject"], in_reply_to=lead["Message-ID"],
                   body="Alice, the VPN gateway was patched last night, start there."))
    with app.db.transaction() as s:
        case = s.scalar(select(Case))
        note = s.scalar(select(Message).where(Message.from_addr == "petra@example.com"))
        assert note.case_id == case.id and note.internal and note.kind == "internal"
        assert case.last_customer_message_at < note.created_at   # not the customer's turn
        people = s.scalars(select(Contact.email).join(
            Participant, Participant.contact_id == Contact.id)).all()
        assert "petra@example.com" not in people
        kinds = s.scalars(select(Event.kind).where(Event.case_id == case.id)).all()
        acks = s.scalars(select(OutboundMail).where(OutboundMail.kind == "ack")).all()
    assert "note" in kinds and "security" not in kinds and len(acks) == 1
    notice = message_from_bytes(outbox(app, "agent_notify")[-1].raw, policy=policy.default)
    assert "Internal note" in notice["Subject"]
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=warning["Reply-To"],
                   subject="Re: " + warning["Subject"], in_reply_to=warning["Message-ID"],
                   body="Hi Maria, please reinstall the VPN client 5.2; it fixes the drops."))
    with app.db.transaction() as s:
        case = s.scalar(select(Case))
        assert case.first_responded_at is not None
        kinds = s.scalars(select(Event.kind).where(Event.case_id == case.id)).all()
        relays = s.scalars(select(OutboundMail).where(OutboundMail.kind == "relay")).all()
    assert "security" not in kinds and [r.to_addrs for r in relays] == [["maria@kunde.example"]]


def test_a_lead_can_write_to_the_customer_with_relay(db, tmp_path):
    from email import message_from_bytes, policy

    app = esc_app(db, tmp_path)
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject="VPN drops",
                   msgid="<v1@kunde.example>", body="The VPN drops every few minutes."))
    run_week(app, until=timedelta(hours=6))
    with app.db.transaction() as s:
        rows = s.scalars(select(OutboundMail).where(OutboundMail.kind == "escalation")).all()
        lead = next(message_from_bytes(r.raw, policy=policy.default) for r in rows
                    if r.to_addrs == ["petra@example.com"])
    feed(app, mail(frm="Petra Schulz <petra@example.com>", to=lead["Reply-To"],
                   subject="Re: " + lead["Subject"], in_reply_to=lead["Message-ID"],
                   body="#relay\nDear Maria, we restarted the VPN gateway; please try again."))
    (relay,) = outbox(app, "relay")
    sent = message_from_bytes(relay.raw, policy=policy.default)
    assert relay.to_addrs == ["maria@kunde.example"] and "Petra Schulz via" in sent["From"]
    text = sent.get_body(("plain",)).get_content()
    assert "restarted the VPN gateway" in text and "#relay" not in text
    with app.db.transaction() as s:
        assert s.scalar(select(Case)).first_responded_at is not None
