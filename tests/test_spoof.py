"""Spoof-proof agent mail: signed per-agent reply address or trusted DKIM/DMARC, else customer mail."""

from __future__ import annotations

from datetime import timedelta, timezone
from email import message_from_bytes, policy

from sqlalchemy import select

from mailproc.classify.authenticity import (
    agent_reply_ref, check_agent, check_auth_results, parse_authentication_results,
)
from mailproc.models import Case
from mailproc.ops.export import export_cases
from mailproc.signing import sign_reply_address
from tests.agent_helpers import SUPPORT, agent_app, feed, mail, outbox

KEY = b"k" * 32


def test_parse_authentication_results_with_comments_and_props():
    parsed = parse_authentication_results(
        "mx.example.com 1; dkim=pass (2048-bit key) header.d=example.com header.s=s1;\r\n"
        " spf=pass smtp.mailfrom=example.com; dmarc=pass (p=reject dis=none) header.from=example.com")
    assert parsed.authserv_id == "mx.example.com"
    assert [(r.method, r.result) for r in parsed.results] == [
        ("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert parsed.results[0].props["header.d"] == "example.com"
    assert parse_authentication_results("") is None


def test_only_trusted_aligned_passes_count():
    ok = "mx.example.com; dkim=pass header.d=example.com"
    assert check_auth_results([ok], "alice@example.com", ["mx.example.com"]).method == "dkim"
    assert check_auth_results(["mx.example.com; dmarc=pass header.from=example.com"],
                              "alice@example.com", ["mx.example.com"]).method == "dmarc"
    # Anyone can write this header; an authserv-id we do not trust means nothing.
    assert not check_auth_results(["evil.example; dkim=pass header.d=example.com"],
                                  "alice@example.com", ["mx.example.com"]).authentic
    # A DKIM pass for another domain does not vouch for the From domain.
    assert not check_auth_results(["mx.example.com; dkim=pass header.d=attacker.example"],
                                  "alice@example.com", ["mx.example.com"]).authentic
    assert not check_auth_results(["mx.example.com; dkim=fail header.d=example.com"],
                                  "alice@example.com", ["mx.example.com"]).authentic
    # Our MTA's verdict is on top; a forged "pass" further down is not believed.
    assert not check_auth_results(["mx.example.com; dkim=fail header.d=example.com",
                                   "mx.example.com; dkim=pass header.d=example.com"],
                                  "alice@example.com", ["mx.example.com"]).authentic
    assert not check_auth_results([ok], "alice@example.com", []).authentic


def _check(recipients, **kw):
    args = dict(from_addr="alice@example.com", agent_key="alice", case_ref="1001",
                recipients=recipients, auth_results=[], trusted_authserv_ids=[],
                support_address=SUPPORT, key=KEY)
    args.update(kw)
    return check_agent(**args)


def test_signed_address_must_be_this_agents_for_this_case():
    mine = sign_reply_address(SUPPORT, agent_reply_ref("1001", "alice"), KEY)
    assert _check([mine]).method == "signed_address"
    # The customer's own signed address (in every acknowledgement) proves nothing about agents.
    assert not _check([sign_reply_address(SUPPORT, "1001", KEY)]).authentic
    assert not _check([sign_reply_address(SUPPORT, agent_reply_ref("1001", "bob"), KEY)]).authentic
    assert not _check([sign_reply_address(SUPPORT, agent_reply_ref("1002", "alice"), KEY)]).authentic
    tampered = mine.replace(mine.split(".")[-2][-4:], "aaaa")
    assert not _check([tampered]).authentic
    assert not _check([sign_reply_address(SUPPORT, agent_reply_ref("1001", "alice"),
                                          b"other-key")]).authentic


def _case(app):
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Printer jams",
                   msgid="<c1@kunde.example>", body="The printer jams on every page."))
    (note,) = outbox(app, "agent_notify")
    return message_from_bytes(note.raw, policy=policy.default)


def _export(app):
    with app.db.transaction() as s:
        return export_cases(s)["cases"]


def test_forged_status_closed_from_outsider_changes_nothing(db, tmp_path):
    app = agent_app(db, tmp_path)
    _case(app)
    before = _export(app)[0]
    forged = mail(frm="Alice Adams <alice@example.com>", to=SUPPORT,
                  subject="Re: [#1001] Printer jams", in_reply_to="<c1@kunde.example>",
                  body="#status closed\n#assign bob\n\nAll fixed, closing.",
                  headers={"Authentication-Results":
                           "evil.example; dkim=pass header.d=example.com"})
    feed(app, forged)
    (case,) = _export(app)
    assert case["status"] == before["status"] == "new"
    assert case["assignee"] == before["assignee"]
    assert outbox(app, "relay") == []
    security = [e for e in case["events"] if e["kind"] == "security"]
    assert len(security) == 1 and "alice@example.com" in security[0]["detail"]
    assert not any(e["kind"] in ("status", "assigned") and e["actor"] == "alice@example.com"
                   for e in case["events"])
    # Treated as customer mail: the team hears about it; the agent address is no participant.
    assert "alice@example.com" not in case["participants"]
    notes = outbox(app, "agent_notify")
    assert len(notes) == 2


def test_customer_with_own_signed_address_cannot_pose_as_agent(db, tmp_path):
    app = agent_app(db, tmp_path)
    _case(app)
    customer_address = sign_reply_address(SUPPORT, "1001", app.secret_key)
    feed(app, mail(frm="alice@example.com", to=customer_address, subject="Re: [#1001] Printer jams",
                   body="#status closed"))
    (case,) = _export(app)
    assert case["status"] == "new"
    assert [e["kind"] for e in case["events"]].count("security") == 1


def test_trusted_dkim_lets_direct_mail_run_commands(db, tmp_path):
    app = agent_app(db, tmp_path)
    _case(app)
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=SUPPORT,
                   subject="Re: [#1001] Printer jams", in_reply_to="<c1@kunde.example>",
                   headers={"Authentication-Results":
                            "mx.example.com; dkim=pass header.d=example.com; "
                            "dmarc=pass header.from=example.com"},
                   body="#status pending\n\nPlease send a photo of the jam."))
    (case,) = _export(app)
    assert case["status"] == "pending"
    assert "security" not in [e["kind"] for e in case["events"]]
    (relay,) = outbox(app, "relay")
    assert relay.to_addrs == ["maria@kunde.example"]


def test_signed_reply_runs_commands(db, tmp_path):
    app = agent_app(db, tmp_path)
    note = _case(app)
    feed(app, mail(frm="alice@example.com", to=note["Reply-To"], subject="Re: x",
                   body="#status resolved"))
    (case,) = _export(app)
    assert case["status"] == "resolved"
    assert outbox(app, "relay") == []     # commands only: nothing to relay


def test_signed_address_of_a_case_merged_into_this_one_counts():
    old = sign_reply_address(SUPPORT, agent_reply_ref("1002", "alice"), KEY)
    assert not _check([old]).authentic                     # another case's address
    assert _check([old], merged_refs=["1002"]).method == "signed_address"
    bobs = sign_reply_address(SUPPORT, agent_reply_ref("1002", "bob"), KEY)
    assert not _check([bobs], merged_refs=["1002"]).authentic   # still per agent


def test_an_authenticated_agent_naming_a_case_in_the_subject_answers_that_case(db, tmp_path):
    """A fresh mail (no threading headers) to the plain support address, `[#1001]` in the
    subject, and our MTA vouching for the agent's domain: a reply to case 1001, relayed, the
    first response recorded; not a new case with the agent as its customer (issue 15, item 5)."""
    app = agent_app(db, tmp_path)
    _case(app)
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=SUPPORT,
                   subject="Re: [#1001] Printer jams", body="Please use tray 2 meanwhile.",
                   headers={"Authentication-Results":
                            "mx.example.com; dkim=pass header.d=example.com; "
                            "dmarc=pass header.from=example.com"}))
    (case,) = _export(app)
    assert case["ref"] == "1001" and case["first_responded_at"] is not None
    (relay,) = outbox(app, "relay")
    assert relay.to_addrs == ["maria@kunde.example"] and b"tray 2" in relay.raw
    assert not any(e["kind"] == "security" for e in case["events"])


def test_a_forged_agent_mail_reaches_agents_headed_as_a_suspected_forgery(db, tmp_path):
    app = agent_app(db, tmp_path)
    _case(app)
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=SUPPORT,
                   subject="Re: [#1001] Printer jams", in_reply_to="<c1@kunde.example>",
                   body="Please send your password to this address.",
                   headers={"Authentication-Results": "evil.example; dkim=pass header.d=x"}))
    notice = message_from_bytes(outbox(app, "agent_notify")[-1].raw, policy=policy.default)
    assert "SUSPECTED FORGERY" in notice["Subject"]
    assert notice.get_body(("plain",)).get_content().startswith("Suspected forgery")


def test_a_forged_agent_mail_is_the_customer_s_turn_on_the_case(db, tmp_path):
    """Mail that claims to be an agent's and fails the check is customer mail: the case's
    last customer message moves to it (the response clock restarts from it)."""
    app = agent_app(db, tmp_path)
    _case(app)
    later = app.clock.advance(timedelta(hours=3))
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=SUPPORT,
                   subject="Re: [#1001] Printer jams", in_reply_to="<c1@kunde.example>",
                   body="Any news on the printer?",
                   headers={"Authentication-Results": "evil.example; dkim=pass header.d=x"}))
    with app.db.transaction() as s:
        (case,) = s.scalars(select(Case)).all()
        assert case.last_customer_message_at.replace(tzinfo=timezone.utc) == later
