"""Agents and teams from config: validation, lookups, routing, rule and round-robin assignment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailproc.errors import ConfigError
from mailproc.ops.export import export_cases
from mailproc.people.agents import load_agents
from mailproc.policy.assign import choose_assignee, route_team
from tests.agent_helpers import AGENTS, TEAMS, agent_app, feed, mail, outbox


def test_directory_lookups():
    d = load_agents(AGENTS, TEAMS)
    assert d.by_address("BOB@home.example").key == "bob"
    assert d.find("alice").key == d.find("Alice Adams").key == "alice"
    assert d.find("carol@example.com").team == "billing"
    assert d.find("Carol").key == "carol"
    assert d.find("nobody") is None
    assert [a.key for a in d.members("helpdesk")] == ["alice", "bob"]
    assert "bob@home.example" in d.addresses


@pytest.mark.parametrize("agents, teams, key", [
    ([{"name": "A", "addresses": ["a@x"], "tema": "t"}], [], "agents[0].tema"),
    ([{"name": "A", "addresses": []}], [], "agents[0].addresses"),
    ([{"addresses": ["a@x"]}], [], "agents[0].name"),
    ([{"name": "A", "addresses": ["a@x"]}, {"name": "B", "addresses": ["A@x"]}], [], "agents[1]"),
    ([{"name": "A", "addresses": ["a@x"]}], [{"name": "t", "assignment": "random"}],
     "teams[0].assignment"),
    ([{"name": "A", "addresses": ["a@x"]}],
     [{"name": "t", "assign_rules": [{"agent": "zed", "keywords": ["x"]}]}],
     "teams[0].assign_rules[0].agent"),
    ([{"name": "A", "addresses": ["a@x"], "team": "nope"}], [{"name": "t"}], "agents[0].team"),
])
def test_config_errors_name_the_key(agents, teams, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_agents(agents, teams)


def test_routing_rules_and_round_robin():
    teams = [dict(TEAMS[0], assign_rules=[{"agent": "bob", "domains": ["vip.example"]}]), TEAMS[1]]
    d = load_agents(AGENTS, teams)
    assert route_team(d, "helpdesk", "x@y.example", "Invoice 4711 wrong", "")[0] == "billing"
    assert route_team(d, "helpdesk", "x@y.example", "VPN", "down")[0] == "helpdesk"
    rule = choose_assignee(d, "helpdesk", "ceo@vip.example", "Hi", "", "Bob Brown")
    assert (rule.assignee, rule.rule) == ("Bob Brown", "rule")
    seq, last = [], None
    for _ in range(3):
        last = choose_assignee(d, "helpdesk", "x@y.example", "Hi", "", last).assignee
        seq.append(last)
    assert seq == ["Alice Adams", "Bob Brown", "Alice Adams"]
    assert choose_assignee(d, "billing", "x@y.example", "Hi", "", None).assignee == ""


def test_new_cases_are_assigned_and_notified(db, tmp_path):
    app = agent_app(db, tmp_path)
    for i, subject in enumerate(["VPN down", "Printer jams", "Refund for invoice 7"]):
        feed(app, mail(frm=f"c{i}@kunde.example", subject=subject, body=f"{subject}, help."))
    with db.transaction() as s:
        cases = export_cases(s)["cases"]
    assert [(c["team"], c["assignee"]) for c in cases] == [
        ("helpdesk", "Alice Adams"), ("helpdesk", "Bob Brown"), ("billing", "")]
    notes = outbox(app, "agent_notify")
    # Assigned cases tell the assignee; billing has nobody assigned and notifies the team.
    assert [n.to_addrs for n in notes] == [["alice@example.com"], ["bob@example.com"],
                                           ["carol@example.com"]]
    raw = notes[0].raw.decode()
    assert "Reply-To: support+1001-alice." in raw and "Auto-Submitted: auto-generated" in raw
    assert "VPN down, help." in raw


def test_customer_side_reopen_nudge_and_linked_case(db, tmp_path):
    app = agent_app(db, tmp_path)
    feed(app, mail(frm="maria@kunde.example", subject="VPN broken", msgid="<v1@kunde.example>",
                   body="The VPN fails since 8:00."))
    feed(app, mail(frm="maria@kunde.example", subject="Re: VPN broken", in_reply_to="<v1@kunde.example>",
                   body="Any update?"))
    with db.transaction() as s:
        (case,) = export_cases(s)["cases"]
    nudge = [e for e in case["events"] if e["kind"] == "customer_nudge"]
    assert len(nudge) == 1 and "unchanged" in nudge[0]["detail"]
    assert case["priority"] == "normal" and case["status"] == "new"
    assert len(outbox(app, "agent_notify")) == 2
    assert len(outbox(app, "ack")) == 1

    note = outbox(app, "agent_notify")[0]
    reply_to = note.raw.decode().split("Reply-To: ")[1].split()[0]
    feed(app, mail(frm="alice@example.com", to=reply_to, subject="Re: x", body="#status resolved"))
    feed(app, mail(frm="maria@kunde.example", subject="Re: VPN broken",
                   in_reply_to="<v1@kunde.example>", body="It broke again this afternoon."))
    with db.transaction() as s:
        (case,) = export_cases(s)["cases"]
    assert case["status"] == "open"
    assert "resolved -> open: customer replied" in [e["detail"] for e in case["events"]]

    feed(app, mail(frm="alice@example.com", to=reply_to, subject="Re: x", body="#status closed"))
    later = app.clock.now() + timedelta(days=45)
    app.clock = type(app.clock)(later)
    feed(app, mail(frm="maria@kunde.example", subject="Re: VPN broken",
                   in_reply_to="<v1@kunde.example>", body="The VPN fails again, new problem."))
    with db.transaction() as s:
        old, new = export_cases(s)["cases"]
    assert old["status"] == "closed" and new["linked_case"] == old["ref"]
    assert new["messages"][0]["new_text"].startswith("The VPN fails again")
    assert new["deadlines"]["first_response_due_at"] is not None
    assert outbox(app, "agent_notify")[-1].case_id == 2
