"""The console end to end in Chromium against the real pipeline: mail into Dovecot becomes a
case on the page; the acknowledgement template edited in the browser (live preview, save) is
what an already-running `mailproc run` sends next, at the SMTP sink; going back to the file
restores the old text."""

from __future__ import annotations

import subprocess
import sys
import time

from mailproc import config
from mailproc.app import App
from mailproc.store.versions import POLL_SECONDS
from mailproc.web.accounts import add_user
from tests.browser_console import browser, shoot, sign_in
from tests.helpers import wait
from tests.test_procfile import env_for
from tests.web_helpers import PASSWORD, ServerThread

EDIT = "EDITED-IN-THE-BROWSER: we read every mail within the hour."


def customer_mail(n: int) -> bytes:
    return (f"From: Kim Kunde <kim{n}@kunde.example>\r\nTo: support@example.com\r\n"
            f"Subject: Scanner number {n} is offline\r\nMessage-ID: <scan-{n}@kunde.example>\r\n"
            f"Date: Mon, 23 Nov 2026 09:0{n}:00 +0100\r\n\r\nScanner {n} does not answer.\r\n"
            ).encode()


def ack_text(sink, n: int) -> str:
    (mail,) = [m for m in sink.messages if m.rcpt_tos == (f"kim{n}@kunde.example",)]
    return " ".join(mail.message.get_body(("plain",)).get_content().split())


def test_template_edited_in_the_browser_reaches_the_next_customer(tmp_path, imap_account,
                                                                  smtp_sink):
    env = env_for(tmp_path, None)
    env.pop("MAILPROC_NOW")
    env.update({"MAILPROC_IMAP_HOST": imap_account.host, "MAILPROC_IMAP_PORT":
                str(imap_account.port), "MAILPROC_IMAP_USER": imap_account.user,
                "MAILPROC_IMAP_PASSWORD": imap_account.password, "MAILPROC_IMAP_SSL": "plain",
                "MAILPROC_SMTP_HOST": smtp_sink.host, "MAILPROC_SMTP_PORT": str(smtp_sink.port),
                "MAILPROC_SMTP_TLS": "none"})
    settings = config.load(env["MAILPROC_CONFIG"], env=env)
    app = App.create(settings)
    app.db.upgrade()
    with app.db.transaction() as s:
        add_user(s, "admin@example.com", role="admin", password=PASSWORD, actor="test",
                 now=app.clock.now())
    log = open(tmp_path / "run.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "mailproc.cli.main", "run",
                               "--idle-timeout", "1"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        with ServerThread(app) as server, browser() as b:
            page = sign_in(b, server.url, "admin@example.com")
            imap_account.append(customer_mail(1))

            def case_listed():
                page.goto(server.url + "/cases")
                return page.get_by_text("Scanner number 1 is offline").count() > 0
            wait(case_listed, "the first mail to appear as a case")
            wait(lambda: any(m.rcpt_tos == ("kim1@kunde.example",) for m in smtp_sink.messages),
                 "the first acknowledgement")
            assert EDIT not in ack_text(smtp_sink, 1)

            page.goto(server.url + "/templates/edit?kind=ack&lang=")
            box = page.locator("textarea[name='source:ack.txt.j2']")
            box.fill(EDIT + "\n\n" + box.input_value())
            preview = page.locator("[data-preview=text]")
            wait(lambda: EDIT in preview.inner_text(), "the live preview", timeout=15)
            shoot(page, "template-editor-laptop")
            page.get_by_role("button", name="Save").click()
            page.wait_for_load_state("load")
            assert "Saved" in page.locator(".flash.ok").inner_text()
            time.sleep(POLL_SECONDS + 0.2)

            imap_account.append(customer_mail(2))
            wait(lambda: any(m.rcpt_tos == ("kim2@kunde.example",) for m in smtp_sink.messages),
                 "the second acknowledgement")
            assert EDIT in ack_text(smtp_sink, 2)

            page.get_by_role("button", name="Back to the file").click()
            page.wait_for_load_state("load")
            assert "reverted" in page.locator(".flash.ok").inner_text()
            time.sleep(POLL_SECONDS + 0.2)       # workers ask for new versions once a second
            imap_account.append(customer_mail(3))
            wait(lambda: any(m.rcpt_tos == ("kim3@kunde.example",) for m in smtp_sink.messages),
                 "the third acknowledgement")
            assert EDIT not in ack_text(smtp_sink, 3)
            assert ack_text(smtp_sink, 3).startswith("Hello Kim Kunde, thank you")
            assert ack_text(smtp_sink, 1).startswith("Hello Kim Kunde, thank you")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    assert worker.returncode in (0, -15), (tmp_path / "run.log").read_text()[-3000:]
