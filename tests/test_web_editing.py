"""Templates and KB articles edited in the console: checked on save, versioned, previewed
in the sandbox, reverted; only admins may change them."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from mailproc.models import Case, Event, OutboundMail, TemplateVersion
from mailproc.store.versions import POLL_SECONDS
from tests.agent_helpers import agent_app, feed, mail
from tests.web_helpers import console_app, csrf_of, form_token, signed_in

ACK = "/templates/edit?kind=ack&lang="


def _form(page: str) -> dict:
    """The editor's fields as the browser would post them."""
    fields = {m[0]: m[1] for m in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                             page)}
    for name, text in re.findall(r'<textarea name="(source:[^"]+)"[^>]*>(.*?)</textarea>', page,
                                 re.S):
        fields[name] = (text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')
                        .replace("&#39;", "'").replace("&amp;", "&"))
    return fields


def test_an_admin_saves_a_template_and_a_worker_renders_it_without_restart(db, tmp_path):
    app = console_app(db, tmp_path)
    # A worker's app, made and rendering before the edit, as a running process would be.
    worker = agent_app(db, tmp_path)
    feed(worker, mail(frm="early@kunde.example", subject="Before the edit", body="Hi"))
    c = signed_in(app, "admin@example.com")
    page = c.get(ACK).text
    fields = _form(page)
    assert "{{" in fields["source:ack.txt.j2"]
    fields["source:ack.txt.j2"] = "Thanks, we are on it.\n\n" + fields["source:ack.txt.j2"]
    r = c.post("/templates/edit", data={**fields, "do": "save", "note": "friendlier"})
    assert r.status_code == 303, r.text[-2000:]
    with app.db.transaction() as s:
        (v,) = s.scalars(select(TemplateVersion)).all()
        assert (v.name, v.author, v.note) == ("ack.txt.j2", "admin@example.com", "friendlier")
        assert s.scalar(select(Event.actor).where(Event.kind == "template_saved")) \
            == "admin@example.com"
    assert "Thanks, we are on it." in c.get(ACK).text
    time.sleep(POLL_SECONDS + 0.2)          # the worker asks the database at most once a second
    feed(worker, mail(frm="late@kunde.example", subject="After the edit", body="Hi"))
    with app.db.transaction() as s:
        acks = {row.to_addrs[0]: row.raw for row in s.scalars(
            select(OutboundMail).where(OutboundMail.kind == "ack"))}
    assert b"Thanks, we are on it." in acks["late@kunde.example"]
    assert b"Thanks, we are on it." not in acks["early@kunde.example"]


def test_a_template_that_fails_the_check_cannot_go_live(db, tmp_path):
    app = console_app(db, tmp_path)
    c = signed_in(app, "admin@example.com")
    fields = _form(c.get(ACK).text)
    fields["source:ack.txt.j2"] = "Hello {{ case.ref }}\n{% if %}\n"
    r = c.post("/templates/edit", data={**fields, "do": "save"})
    assert r.status_code == 422
    assert re.search(r"line 2: [^<]*", r.text), r.text[-3000:]
    fields["source:ack.txt.j2"] = "Hello {{ custmer.name }}\n"
    r = c.post("/templates/edit", data={**fields, "do": "save"})
    assert r.status_code == 422 and "custmer" in r.text
    with app.db.transaction() as s:
        assert s.scalars(select(TemplateVersion)).all() == []


def test_live_check_and_preview_against_a_real_case(db, tmp_path):
    app = console_app(db, tmp_path)
    with app.db.transaction() as s:
        ref = s.scalar(select(Case.ref).where(Case.subject.contains("VPN")))
    c = signed_in(app, "admin@example.com")
    fields = _form(c.get(ACK).text)
    fields["source:ack.subject.j2"] = "[#{{ case.ref }}] Got it: {{ case.subject }}"
    r = c.post("/templates/check", data={**fields, "case": ref})
    data = r.json()
    assert r.status_code == 200 and data["problems"] == {}
    assert data["preview"]["subject"] == f"[#{ref}] Got it: VPN drops every hour"
    assert "<script" not in (data["preview"]["html"] or "")
    fields["source:ack.subject.j2"] = "{{ case.ref }"
    data = c.post("/templates/check", data=fields).json()
    assert [line for line, _ in data["problems"]["ack.subject.j2"]] == [1]
    fields.pop("csrf")
    assert c.post("/templates/check", data=fields).status_code == 403


def test_revert_restores_the_old_text_and_diff_shows_the_change(db, tmp_path):
    app = console_app(db, tmp_path)
    c = signed_in(app, "admin@example.com")
    fields = _form(c.get(ACK).text)
    original = fields["source:ack.txt.j2"]
    for line in ("First edit.", "Second edit."):
        fields["source:ack.txt.j2"] = f"{line}\n\n{original}"
        assert c.post("/templates/edit", data={**fields, "do": "save"}).status_code == 303
    with app.db.transaction() as s:
        first, second = s.scalars(select(TemplateVersion.id).order_by(TemplateVersion.id)).all()
    diff = c.get(f"/templates/versions/{second}").text
    assert '<div class="del">-First edit.</div>' in diff
    assert '<div class="add">+Second edit.</div>' in diff
    token = csrf_of(c.get(ACK).text)
    r = c.post("/templates/revert", data={"csrf": token, "template": "ack.txt.j2",
                                          "version": str(first), "back": ACK})
    assert r.status_code == 303
    assert "First edit." in _form(c.get(ACK).text)["source:ack.txt.j2"]
    c.post("/templates/revert", data={"csrf": token, "template": "ack.txt.j2", "version": "",
                                      "back": ACK})
    assert _form(c.get(ACK).text)["source:ack.txt.j2"] == original


def test_template_names_cannot_leave_the_store(db, tmp_path):
    app = console_app(db, tmp_path)
    c = signed_in(app, "admin@example.com")
    r = c.get("/templates/edit?name=../../etc/passwd")
    assert r.status_code == 404 and "not a template name" in r.text
    assert c.get("/templates/edit?kind=ack&lang=../x").status_code == 404
    token = form_token(c, ACK)
    r = c.post("/templates/edit", data={"csrf": token, "name": "../../x.txt.j2",
                                        "source:../../x.txt.j2": "hi", "do": "save"})
    assert r.status_code == 404
    with app.db.transaction() as s:
        assert s.scalars(select(TemplateVersion)).all() == []


def test_agents_cannot_edit_templates_or_articles(db, tmp_path):
    app = console_app(db, tmp_path, kb={"enabled": True})
    agent = signed_in(app, "alice@example.com")
    assert agent.get(ACK).status_code == 403
    token = form_token(agent, "/kb")
    assert agent.post("/templates/edit", data={"csrf": token, "kind": "ack", "do": "save",
                                               "source:ack.txt.j2": "x"}).status_code == 403
    assert agent.post("/kb/password-reset", data={"csrf": token, "text": "x"}).status_code == 403


def test_kb_article_saved_checked_tried_and_reverted(db, tmp_path):
    app = console_app(db, tmp_path, kb={"enabled": True, "semantic": False})
    c = signed_in(app, "admin@example.com")
    listing = c.get("/kb").text
    article_id = re.search(r'href="/kb/([a-z0-9-]+)"', listing).group(1)
    page = c.get(f"/kb/{article_id}").text
    text = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    text = text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&") \
        .replace("&lt;", "<").replace("&gt;", ">")
    token = csrf_of(page)
    broken = text.replace("audience:", "audience: everyone\nold_audience:", 1)
    r = c.post(f"/kb/{article_id}", data={"csrf": token, "text": broken})
    assert r.status_code == 422 and "line " in r.text
    edited = text.rstrip() + "\n\nAlso: the zebra-unicorn-reset fixes it.\n"
    assert c.post(f"/kb/{article_id}", data={"csrf": token, "text": edited}).status_code == 303
    ranking = c.get("/kb?try=zebra-unicorn-reset").text
    assert f'href="/kb/{article_id}"' in ranking.split("<h2>Articles</h2>")[0]
    assert "off" in ranking.split("<h2>Articles</h2>")[0]          # semantic stage is off
    with app.db.transaction() as s:
        version = s.scalar(select(Event.data).where(Event.kind == "kb_saved"))["version"]
    assert "+Also: the zebra-unicorn-reset fixes it." in c.get(f"/kb/versions/{version}").text
    r = c.post(f"/kb/{article_id}/change", data={"csrf": token, "version": ""})
    assert r.status_code == 303
    assert "zebra-unicorn" not in c.get(f"/kb/{article_id}").text


def test_article_ids_cannot_leave_the_store(db, tmp_path):
    app = console_app(db, tmp_path, kb={"enabled": True, "semantic": False})
    c = signed_in(app, "admin@example.com")
    for bad in ("..%2F..%2Fetc%2Fpasswd", "a%00b", "%2Fetc%2Fpasswd"):
        assert c.get(f"/kb/{bad}").status_code == 404, bad
    token = form_token(c, "/kb")
    r = c.post("/kb/new", data={"csrf": token, "id": "../../etc/passwd"})
    assert r.status_code == 303 and r.headers["location"] == "/kb"
    assert c.post("/kb/..%2Fsecret", data={"csrf": token, "text": "x"}).status_code == 404
