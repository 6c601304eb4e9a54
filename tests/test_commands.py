"""`#` commands at the top of an agent's reply: parsed, all checked first, each an event."""

from __future__ import annotations

from email import message_from_bytes, policy

from mailproc.actions.commands import parse_commands
from mailproc.ops.export import export_cases
from tests.agent_helpers import agent_app, feed, mail, outbox


def test_parse_commands_at_the_top_only():
    parsed = parse_commands("\n#status pending\n\n#assign bob\nHello,\n#note is text here\n")
    assert [(c.name, c.args, c.line_no) for c in parsed.commands] == [
        ("status", "pending", 2), ("assign", "bob", 4)]
    assert parsed.body == "Hello,\n#note is text here"
    assert parse_commands("#1042 is the case\nthanks").commands == ()
    assert parse_commands("# heading\ntext").commands == ()
    only = parse_commands("#NOTE")
    assert [c.name for c in only.commands] == ["note"] and only.body == ""


def _setup(db, tmp_path, **kw):
    app = agent_app(db, tmp_path, **kw)
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Printer jams",
                   msgid="<c1@kunde.example>", body="The printer on floor 3 jams."))
    (note,) = outbox(app, "agent_notify")
    return app, message_from_bytes(note.raw, policy=policy.default)


def _reply(app, note, body, frm="Alice Adams <alice@example.com>"):
    feed(app, mail(frm=frm, to=note["Reply-To"], subject="Re: " + note["Subject"], body=body,
                   in_reply_to=note["Message-ID"]))
    with app.db.transaction() as s:
        return export_cases(s)["cases"]


def test_note_stays_internal(db, tmp_path):
    app, note = _setup(db, tmp_path)
    (case,) = _reply(app, note, "#note\nCustomer is on the old driver; Bob knows the fix.")
    assert outbox(app, "relay") == []
    agent_msgs = [m for m in case["messages"] if m["kind"] == "agent"]
    assert agent_msgs[0]["internal"] is True
    assert "note" in [e["kind"] for e in case["events"]]
    # The rest of the team (Bob) hears about the note; the customer never does.
    notes = outbox(app, "agent_notify")
    assert [n.to_addrs for n in notes] == [["alice@example.com"], ["bob@example.com"]]
    assert "old driver" in notes[-1].raw.decode("utf-8", "replace")
    assert all("maria" not in ",".join(r.to_addrs) for r in outbox(app) if r.kind != "ack")
    assert case["first_responded_at"] is None


def test_status_assign_priority_are_events_and_reply_is_relayed(db, tmp_path):
    app, note = _setup(db, tmp_path)
    (case,) = _reply(app, note, "#priority urgent\n#assign bob\n#status pending\n\n"
                                "Could you send a photo of the jam?\n")
    assert case["priority"] == "urgent"
    assert case["assignee"] == "Bob Brown"
    assert case["status"] == "pending"
    kinds = [e["kind"] for e in case["events"] if e["actor"] == "alice@example.com"]
    for kind in ("priority", "assigned", "status", "relayed", "first_response"):
        assert kind in kinds
    (relay,) = outbox(app, "relay")
    text = relay.raw.decode()
    assert "photo of the jam" in text and "#priority" not in text and "#assign" not in text
    # Bob is told the case is his now.
    assert outbox(app, "agent_notify")[-1].to_addrs == ["bob@example.com"]


def test_unknown_command_relays_nothing_and_names_the_line(db, tmp_path):
    app, note = _setup(db, tmp_path)
    (case,) = _reply(app, note, "#status pending\n#asign bob\n\nPhoto please.")
    assert case["status"] == "new"          # nothing ran: the valid line waits for the fix
    assert outbox(app, "relay") == []
    (error,) = outbox(app, "agent_error")
    assert error.to_addrs == ["alice@example.com"]
    body = message_from_bytes(error.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "line 2" in body and "#asign" in body and "#assign" in body
    assert any(e["kind"] == "command_error" and "line 2" in e["detail"] for e in case["events"])


def test_invalid_arguments_are_errors(db, tmp_path):
    app, note = _setup(db, tmp_path)
    _reply(app, note, "#status maybe")
    _reply(app, note, "#priority whenever")
    _reply(app, note, "#merge 9999")
    _reply(app, note, "#assign nobody-here")
    errors = outbox(app, "agent_error")
    assert len(errors) == 4
    assert outbox(app, "relay") == []


def test_kb_sends_the_article(db, tmp_path):
    app, note = _setup(db, tmp_path, kb={"dir": "kb", "semantic": False})
    _reply(app, note, "#kb account-locked\n\nThis article explains it.")
    (relay,) = outbox(app, "relay")
    text = message_from_bytes(relay.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "This article explains it." in text
    assert "Account locked after too many sign-in attempts" in text
    _reply(app, note, "#kb agent-unlock-account")          # internal: never to a customer
    assert len(outbox(app, "agent_error")) == 1


def test_escalate_and_merge(db, tmp_path):
    app, note = _setup(db, tmp_path)
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Printer still jams (again)",
                   msgid="<c2@kunde.example>", body="Also the second printer jams."))
    second = message_from_bytes(outbox(app, "agent_notify")[-1].raw, policy=policy.default)
    assert "1002" in second["Subject"]
    _reply(app, note, "#escalate customer blocked for two days")
    # Round-robin gave the second case to Bob: only his signed address runs commands on it.
    cases = _reply(app, second, "#merge 1001\n\nI merged this into your first case.",
                   frm="Bob Brown <bob@example.com>")
    first, merged = cases
    assert "escalation_requested" in [e["kind"] for e in first["events"]]
    assert merged["status"] == "closed" and merged["linked_case"] == "1001"
    assert "c2@kunde.example" in [m["message_id"] for m in first["messages"]]
    (relay,) = outbox(app, "relay")
    assert relay.case_id == 1   # the reply went out on the case it was merged into


def test_mail_for_a_merged_case_lands_in_the_case_it_was_merged_into(db, tmp_path):
    app, note = _setup(db, tmp_path)
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Second printer jams",
                   msgid="<c2@kunde.example>", body="Also the second printer jams."))
    ack = message_from_bytes(outbox(app, "ack")[-1].raw, policy=policy.default)
    second = message_from_bytes(outbox(app, "agent_notify")[-1].raw, policy=policy.default)
    _reply(app, second, "#merge 1001\n\nSame problem, merged.", frm="Bob Brown <bob@example.com>")
    # Maria answers the acknowledgement of the merged case, then writes with its tag only.
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Re: " + ack["Subject"],
                   msgid="<c3@kunde.example>", in_reply_to=ack["Message-ID"],
                   references=ack["Message-ID"], body="It jams on tray 2 only."))
    # Bob answers from the notification of the merged case: still his signed address.
    _reply(app, second, "#note\nLooking into it.", frm="Bob Brown <bob@example.com>")
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="[#1002] one more thing",
                   msgid="<c4@kunde.example>", body="And the toner is low."))
    with app.db.transaction() as s:
        cases = {c["ref"]: c for c in export_cases(s)["cases"]}
    assert sorted(cases) == ["1001", "1002"]          # no third case, nothing reopened
    assert cases["1002"]["status"] == "closed"
    into = {m["message_id"]: m["rule"] for m in cases["1001"]["messages"]}
    assert into["c3@kunde.example"] == "references"
    assert into["c4@kunde.example"] == "subject_tag"
    assert into["c2@kunde.example"] == "new"           # moved over by the merge
    assert [m for m in cases["1002"]["messages"] if m["direction"] == "in"] == []
    assert not [e for e in cases["1001"]["events"] if e["kind"] == "security"]
    assert [m["internal"] for m in cases["1001"]["messages"] if m["kind"] == "agent"] == [
        False, True]                                   # the merge reply, then Bob's note


def test_merging_back_into_a_merged_case_is_refused_not_a_cycle(db, tmp_path):
    app, note = _setup(db, tmp_path)
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Second printer jams",
                   msgid="<c2@kunde.example>", body="Also the second printer jams."))
    second = message_from_bytes(outbox(app, "agent_notify")[-1].raw, policy=policy.default)
    _reply(app, second, "#merge 1001\n\nSame problem.", frm="Bob Brown <bob@example.com>")
    cases = {c["ref"]: c for c in _reply(app, note, "#merge 1002\n\nOther way round?")}
    (error,) = outbox(app, "agent_error")
    body = message_from_bytes(error.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "was merged into this case already" in body
    assert cases["1001"]["status"] != "closed" and cases["1002"]["status"] == "closed"
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="[#1001] any news?",
                   msgid="<c5@kunde.example>", body="Any news?"))
    with app.db.transaction() as s:
        cases = {c["ref"]: c for c in export_cases(s)["cases"]}
    assert sorted(cases) == ["1001", "1002"]
    assert "c5@kunde.example" in [m["message_id"] for m in cases["1001"]["messages"]]


def test_the_agents_sign_off_keeps_its_signature_separator(db, tmp_path):
    """"-- " (with its space) is how mail clients know a signature starts (RFC 3676)."""
    app, note = _setup(db, tmp_path)
    _reply(app, note, "Please switch the tray to A4.\n\n-- \nAlice Adams\nHelpdesk, ext. 1111\n")
    (relay,) = outbox(app, "relay")
    text = message_from_bytes(relay.raw, policy=policy.default).get_body(("plain",)).get_content()
    lines = text.splitlines()
    assert "-- " in lines and lines[lines.index("-- ") + 1] == "Alice Adams"


def test_each_notification_is_headed_by_why_it_was_sent(db, tmp_path):
    """A colleague's note is not "a new reply from the customer" (issue 15, item 6)."""
    app, note = _setup(db, tmp_path)
    first = message_from_bytes(outbox(app, "agent_notify")[0].raw, policy=policy.default)
    assert "New case" in first["Subject"]
    _reply(app, note, "#note\nCustomer is on the old driver; Bob knows the fix.")
    to_bob = message_from_bytes(outbox(app, "agent_notify")[-1].raw, policy=policy.default)
    assert "Internal note" in to_bob["Subject"] and "Customer reply" not in to_bob["Subject"]
    text = to_bob.get_body(("plain",)).get_content()
    assert text.startswith("Internal note (not sent to the customer) on case #1001")
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Re: [#1001] Printer jams",
                   in_reply_to="<c1@kunde.example>", body="It jams again."))
    reply = message_from_bytes(outbox(app, "agent_notify")[-1].raw, policy=policy.default)
    assert "Customer reply" in reply["Subject"]
    assert reply.get_body(("plain",)).get_content().startswith(
        "New reply from the customer on case #1001")
