"""The web console over HTTP on SQLite and PostgreSQL: sign-in, roles, CSRF, rate limits,
the case pages and their actions (through the `#` command code), quarantine, phone list."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from starlette.testclient import TestClient

from mailproc.actions.notify import agent_reply_address
from mailproc.clock import FixedClock
from mailproc.models import (
    Case, Event, Message, OutboundMail, Quarantine, RawMessage, RawStatus, SignInLink, User,
)
from mailproc.runners.inbound import process_pending
from mailproc.signing import sign_reply_address
from mailproc.web.app import create_app
from tests.agent_helpers import mail, store
from tests.web_helpers import (
    PASSWORD, client, console_app, csrf_of, form_token, signed_in,
)


def _ref(app, subject_part: str) -> str:
    with app.db.transaction() as s:
        return s.scalar(select(Case.ref).where(Case.subject.contains(subject_part)))


def _events(app, kind: str) -> list[Event]:
    with app.db.transaction() as s:
        rows = s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)).all()
        s.expunge_all()
        return rows


def test_pages_need_a_session_and_carry_the_security_headers(db, tmp_path):
    app = console_app(db, tmp_path)
    c = client(app)
    r = c.get("/cases")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/cases"
    r = c.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    r = client(app).post("/login", data={"csrf": "x", "email": "admin@example.com",
                                         "password": PASSWORD})
    assert r.status_code == 403             # the sign-in form's own CSRF token is missing


def test_session_cookie_is_httponly_samesite_and_signed(db, tmp_path):
    app = console_app(db, tmp_path)
    c = client(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf": token, "email": "admin@example.com",
                               "password": PASSWORD})
    header = [h for h in r.headers.get_list("set-cookie") if h.startswith("mailproc_session=")][0]
    assert "HttpOnly" in header and "SameSite=lax" in header
    assert "Secure" not in header          # plain http in the test; Secure behind TLS
    value = header.split(";")[0].split("=", 1)[1].strip('"')
    forged = client(app)
    forged.cookies.set("mailproc_session", value[:-2] + ("00" if value[-2:] != "00" else "11"))
    assert forged.get("/").status_code == 303      # a tampered cookie is no session
    assert c.get("/").status_code == 200


def test_ten_wrong_passwords_lock_the_account_and_the_right_one_then_fails(db, tmp_path):
    app = console_app(db, tmp_path)
    c = client(app)
    token = csrf_of(c.get("/login").text)
    for _ in range(10):
        r = c.post("/login", data={"csrf": token, "email": "alice@example.com",
                                   "password": "wrong password!"})
        assert r.status_code == 403 and "wrong email address or password" in r.text
    r = c.post("/login", data={"csrf": token, "email": "alice@example.com",
                               "password": PASSWORD})
    assert r.status_code == 403 and "locked" in r.text
    assert [e.data["user"] for e in _events(app, "user_locked")] == ["alice@example.com"]
    # Another account is not locked by it; after 15 minutes alice may try again.
    assert signed_in(app, "carol@example.com").get("/").status_code == 200
    app.clock = FixedClock(app.clock.now() + timedelta(minutes=16))
    assert signed_in(app, "alice@example.com").get("/").status_code == 200


def test_an_unknown_account_gets_the_same_answer_as_a_wrong_password(db, tmp_path):
    app = console_app(db, tmp_path)
    c = client(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf": token, "email": "nobody@example.com", "password": "x" * 12})
    assert r.status_code == 403 and "wrong email address or password" in r.text


def test_sign_in_link_is_mailed_through_the_outbox_and_works_once(db, tmp_path):
    app = console_app(db, tmp_path)
    c = client(app)
    token = csrf_of(c.get("/login").text)
    # A configured agent without a user row gets one; an unknown address gets no mail,
    # and the page says the same either way.
    r1 = c.post("/login/link", data={"csrf": token, "email": "bob@example.com"})
    r2 = c.post("/login/link", data={"csrf": token, "email": "stranger@example.org"})
    assert r1.status_code == r2.status_code == 200
    assert "a sign-in link is on its way" in r1.text and "a sign-in link is on its way" in r2.text
    with app.db.transaction() as s:
        (row,) = s.scalars(select(OutboundMail).where(OutboundMail.kind == "sign_in")).all()
        assert row.to_addrs == ["bob@example.com"]
        raw = row.raw.decode()
        assert s.scalar(select(User.role).where(User.email == "bob@example.com")) == "agent"
    link = re.search(r"http://127\.0\.0\.1:8025(/login/link/[A-Za-z0-9_-]+)", raw).group(1)
    secret = link.rsplit("/", 1)[1]
    with app.db.transaction() as s:
        assert s.scalar(select(SignInLink.id)) != secret    # only its hash is stored
    page = c.get(link)
    assert page.status_code == 200 and secret in page.text     # a button, not a sign-in
    r = c.post("/login/use", data={"csrf": token, "token": secret, "next": "/cases"})
    assert r.status_code == 303 and r.headers["location"] == "/cases"
    assert c.get("/cases").status_code == 200
    again = client(app)
    t2 = csrf_of(again.get("/login").text)
    r = again.post("/login/use", data={"csrf": t2, "token": secret})
    assert r.status_code == 403 and "not valid any more" in r.text


def test_a_sign_in_link_expires_after_15_minutes(db, tmp_path):
    app = console_app(db, tmp_path)
    c = client(app)
    token = csrf_of(c.get("/login").text)
    c.post("/login/link", data={"csrf": token, "email": "alice@example.com"})
    with app.db.transaction() as s:
        raw = s.scalar(select(OutboundMail.raw).where(OutboundMail.kind == "sign_in")).decode()
    secret = re.search(r"/login/link/([A-Za-z0-9_-]+)", raw).group(1)
    app.clock = FixedClock(app.clock.now() + timedelta(minutes=16))
    r = c.post("/login/use", data={"csrf": token, "token": secret})
    assert r.status_code == 403


def test_a_form_without_its_csrf_token_is_refused(db, tmp_path):
    app = console_app(db, tmp_path)
    c = signed_in(app, "lead@example.com")
    ref = _ref(app, "VPN")
    r = c.post(f"/cases/{ref}/act", data={"action": "status", "value": "closed"})
    assert r.status_code == 403
    r = c.post(f"/cases/{ref}/act", data={"action": "status", "value": "closed",
                                          "csrf": "not-the-token"})
    assert r.status_code == 403
    with app.db.transaction() as s:
        assert s.scalar(select(Case.status).where(Case.ref == ref)).value == "new"


def test_roles_are_enforced_on_the_server(db, tmp_path):
    app = console_app(db, tmp_path)
    agent = signed_in(app, "alice@example.com")
    for path in ("/templates", "/users", "/settings", "/quarantine"):
        assert agent.get(path).status_code == 403, path
    lead = signed_in(app, "lead@example.com")
    assert lead.get("/quarantine").status_code == 200
    assert lead.get("/users").status_code == 403
    admin = signed_in(app, "admin@example.com")
    for path in ("/templates", "/users", "/settings", "/quarantine", "/kb"):
        assert admin.get(path).status_code == 200, path


def test_agents_see_their_teams_cases_and_leads_see_all(db, tmp_path):
    app = console_app(db, tmp_path)
    vpn, refund = _ref(app, "VPN"), _ref(app, "Refund")
    alice = signed_in(app, "alice@example.com")           # helpdesk
    listing = alice.get("/cases").text
    assert "VPN drops every hour" in listing and "Refund for invoice" not in listing
    assert alice.get(f"/cases/{vpn}").status_code == 200
    assert alice.get(f"/cases/{refund}").status_code == 404
    token = form_token(alice, f"/cases/{vpn}")
    r = alice.post(f"/cases/{refund}/act", data={"csrf": token, "action": "note",
                                                 "text": "peek", "nonce": "1"})
    assert r.status_code == 404
    lead = signed_in(app, "lead@example.com").get("/cases").text
    assert "VPN drops every hour" in lead and "Refund for invoice" in lead


def test_filters_search_and_keyset_pages(db, tmp_path):
    app = console_app(db, tmp_path)
    c = signed_in(app, "admin@example.com")
    assert "Refund for invoice" in c.get("/cases?team=billing").text
    assert "VPN drops" not in c.get("/cases?team=billing").text
    assert "VPN drops" in c.get("/cases?q=maria%40kunde").text
    assert "Printer on floor" not in c.get("/cases?q=maria%40kunde").text
    assert "Printer on floor" in c.get("/cases?q=second+page").text      # words of the text
    ref = _ref(app, "Printer")
    assert "Printer on floor" in c.get(f"/cases?q=%23{ref}").text
    assert "No case matches" in c.get("/cases?status=closed").text
    # 60 more cases: the first page holds 50, the next the rest, no case twice.
    store(app, *[_mail(i) for i in range(60)])
    process_pending(app)
    first = c.get("/cases?status=all")
    refs1 = re.findall(r'<td data-label="Case"><a href="/cases/(\d+)"', first.text)
    nxt = re.search(r'href="/cases\?([^"]+)">Next page', first.text).group(1)
    second = c.get("/cases?" + nxt.replace("&amp;", "&"))
    refs2 = re.findall(r'<td data-label="Case"><a href="/cases/(\d+)"', second.text)
    assert len(refs1) == 50 and len(refs2) == 14 and not set(refs1) & set(refs2)


def _mail(i: int) -> bytes:
    return mail(frm=f"c{i}@many.example", subject=f"Question number {i}", body=f"Question {i}?")


def test_actions_run_the_command_code_and_record_the_actor(db, tmp_path):
    app = console_app(db, tmp_path)
    ref = _ref(app, "VPN")
    c = signed_in(app, "lead@example.com")
    token = form_token(c, f"/cases/{ref}")
    for i, data in enumerate(({"action": "priority", "value": "high"},
                              {"action": "assign", "value": "Alice Adams"},
                              {"action": "note", "text": "Checked the logs: profile expired."},
                              {"action": "reply", "text": "Hello Maria, please update."},
                              {"action": "status", "value": "pending"})):
        r = c.post(f"/cases/{ref}/act", data={"csrf": token, "nonce": f"n{i}", **data})
        assert r.status_code == 303, (data, r.text)
        assert "error" not in c.get(f"/cases/{ref}").text.split("flash", 1)[-1][:20]
    # The same nonce again (a double click): nothing happens twice.
    c.post(f"/cases/{ref}/act", data={"csrf": token, "nonce": "n3", "action": "reply",
                                      "text": "Hello Maria, please update."})
    with app.db.transaction() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        assert (case.priority, case.assignee, case.status.value) == ("high", "Alice Adams",
                                                                     "pending")
        relays = s.scalars(select(OutboundMail).where(OutboundMail.kind == "relay")).all()
        assert len(relays) == 1 and relays[0].to_addrs == ["maria@kunde.example"]
        assert b"please update" in relays[0].raw
        note = s.scalar(select(Message).where(Message.internal.is_(True)))
        assert "profile expired" in note.new_text
        kinds = {e.kind: e.actor for e in s.scalars(select(Event).where(Event.case_id == case.id))}
        assert kinds["note"] == kinds["relayed"] == "lead@example.com"
        assert kinds["priority_changed" if "priority_changed" in kinds else "priority"]
    # A command the mail path would refuse is refused here too, with its reason.
    r = c.post(f"/cases/{ref}/act", data={"csrf": token, "nonce": "bad", "action": "status",
                                          "value": "sideways"})
    assert "needs one of" in c.get(r.headers["location"]).text


def test_agents_cannot_reassign_or_merge(db, tmp_path):
    app = console_app(db, tmp_path)
    ref = _ref(app, "VPN")
    c = signed_in(app, "alice@example.com")
    token = form_token(c, f"/cases/{ref}")
    for action in ("assign", "merge"):
        r = c.post(f"/cases/{ref}/act", data={"csrf": token, "nonce": action, "action": action,
                                              "value": "Alice Adams"})
        assert r.status_code == 403


def test_quarantine_replay_and_dismiss_are_events(db, tmp_path):
    app = console_app(db, tmp_path)
    store(app, b"From: x@y.example\r\nSubject: broken\r\n\r\n" + b"\x00" * 10)
    with app.db.transaction() as s:
        row = s.scalar(select(RawMessage).where(RawMessage.status == RawStatus.PENDING))
        row.status = RawStatus.QUARANTINED
        s.add(Quarantine(raw_id=row.id, reason="test: bad bytes", at=app.clock.now()))
    c = signed_in(app, "lead@example.com")
    page = c.get("/quarantine")
    assert "test: bad bytes" in page.text and "broken" in page.text
    (qid,) = re.findall(r'action="/quarantine/(\d+)"', page.text)[:1]
    eml = c.get(f"/quarantine/{qid}.eml")
    assert eml.status_code == 200 and b"Subject: broken" in eml.content
    assert eml.headers["content-type"] == "application/octet-stream"
    r = c.post(f"/quarantine/{qid}", data={"csrf": csrf_of(page.text), "do": "replay"})
    assert r.status_code == 303
    with app.db.transaction() as s:
        assert s.scalar(select(RawMessage.status).where(RawMessage.id == row.id)) \
            == RawStatus.PENDING
    (event,) = _events(app, "quarantine_replayed")
    assert event.actor == "lead@example.com"


def test_phone_list_call_is_recorded(db, tmp_path):
    app = console_app(db, tmp_path)
    ref = _ref(app, "VPN")
    c = signed_in(app, "alice@example.com")
    token = form_token(c, "/phone-list")
    r = c.post("/phone-list/called", data={"csrf": token, "ref": ref, "note": "reached her"})
    assert r.status_code == 303
    (event,) = _events(app, "phone_call")
    assert (event.actor, event.detail) == ("alice@example.com", "reached her")


def test_settings_never_show_secrets(db, tmp_path):
    app = console_app(db, tmp_path)
    page = signed_in(app, "admin@example.com").get("/settings").text
    assert "test-key-" not in page
    assert "support@example.com" in page


def test_revoked_sessions_and_disabled_users_are_signed_out(db, tmp_path):
    app = console_app(db, tmp_path)
    alice = signed_in(app, "alice@example.com")
    admin = signed_in(app, "admin@example.com")
    token = form_token(admin, "/users")
    with app.db.transaction() as s:
        uid = s.scalar(select(User.id).where(User.email == "alice@example.com"))
    assert admin.post(f"/users/{uid}", data={"csrf": token, "do": "sign-out"}).status_code == 303
    assert alice.get("/").status_code == 303
    alice = signed_in(app, "alice@example.com")
    admin.post(f"/users/{uid}", data={"csrf": token, "do": "disable"})
    assert alice.get("/").status_code == 303
    c = client(app)
    t = csrf_of(c.get("/login").text)
    assert c.post("/login", data={"csrf": t, "email": "alice@example.com",
                                  "password": PASSWORD}).status_code == 403


def test_no_page_shows_a_signed_reply_address(db, tmp_path):
    """Each agent's signed address lets mail act as that agent: it never reaches a page."""
    app = console_app(db, tmp_path)
    ref = _ref(app, "VPN")
    c = signed_in(app, "lead@example.com")
    token = form_token(c, f"/cases/{ref}")
    c.post(f"/cases/{ref}/act", data={"csrf": token, "nonce": "r", "action": "reply",
                                      "text": "We are looking into it."})
    with app.db.transaction() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        signed = [agent_reply_address(app, case, agent) for agent in app.agents.agents]
        signed.append(sign_reply_address(app.settings.support.address, ref, app.secret_key))
    for path in (f"/cases/{ref}", "/cases", "/", "/phone-list"):
        page = c.get(path).text
        assert not any(address.split("@")[0] in page for address in signed), path


def test_cookies_are_secure_behind_tls(db, tmp_path):
    app = console_app(db, tmp_path)
    c = TestClient(create_app(app), base_url="https://console.example", follow_redirects=False)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf": token, "email": "admin@example.com",
                               "password": PASSWORD})
    header = [h for h in r.headers.get_list("set-cookie") if h.startswith("mailproc_session=")][0]
    assert "Secure" in header
    assert "max-age=31536000" in c.get("/").headers["strict-transport-security"]


def test_one_address_guessing_many_accounts_is_stopped(db, tmp_path):
    app = console_app(db, tmp_path)
    c = client(app)
    token = csrf_of(c.get("/login").text)
    for i in range(30):
        c.post("/login", data={"csrf": token, "email": f"guess{i}@example.com",
                               "password": "not it at all"})
    r = c.post("/login", data={"csrf": token, "email": "admin@example.com",
                               "password": PASSWORD})
    assert r.status_code == 403 and "too many failed sign-ins from your address" in r.text
