"""Acknowledgements end to end: real Dovecot in, real aiosmtpd out, honest deadlines, no loops."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from click.testing import CliRunner
from sqlalchemy import select

from mailproc.cli.templates import templates as templates_cli
from mailproc.config import MailboxSettings
from mailproc.models import Event, OutboundMail, OutboxStatus
from mailproc.ops.status import status_summary
from mailproc.runners.embedded import run_round
from mailproc.source.factory import build_source
from tests.helpers import make_app

# Friday 22 May 2026, 17:55 in Berlin; Monday 25 May is Whit Monday (a public holiday).
FRIDAY_EVENING = datetime(2026, 5, 22, 15, 55, tzinfo=timezone.utc)


def imap_app(db, tmp_path, account, sink, now=FRIDAY_EVENING, **sections):
    env = {"MAILPROC_SMTP_HOST": sink.host, "MAILPROC_SMTP_PORT": str(sink.port),
           "MAILPROC_SMTP_TLS": "none", "TEST_IMAP_PW": account.password}
    app = make_app(db, tmp_path, now=now, env=env, **sections)
    box = MailboxSettings(name="support", type="imap", host=account.host, port=account.port,
                          user=account.user, security="plain", password_env="TEST_IMAP_PW",
                          use_idle=False, batch_size=50)
    app.settings = replace(app.settings, mailboxes=(box,))
    return app


def request(sender: str, subject: str, msgid: str, body: str = "Please help.") -> bytes:
    return (f"From: Customer <{sender}>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{msgid}>\r\nDate: Fri, 22 May 2026 17:55:00 +0200\r\n\r\n{body}\r\n"
            ).encode()


def rounds(app, n=1):
    source = build_source(app, app.settings.mailboxes[0])
    try:
        return [run_round(app, [source]) for _ in range(n)]
    finally:
        source.close()


def test_exactly_one_ack_with_the_holiday_aware_deadline(db, tmp_path, imap_account, smtp_sink,
                                                         monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    app = imap_app(db, tmp_path, imap_account, smtp_sink)
    imap_account.append(request("kim@customer.example", "Cannot print invoices", "kim-1@c.example"))
    rounds(app, 3)
    (mail,) = smtp_sink.messages
    msg = mail.message
    assert list(mail.rcpt_tos) == ["kim@customer.example"]
    assert msg["Subject"] == "[#1001] Cannot print invoices"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<kim-1@c.example>"
    assert msg["Reply-To"].startswith("support+1001.")
    text = " ".join(msg.get_body(("plain",)).get_content().split())  # unwrap lines
    # Closed Friday evening, Saturday, Sunday and Whit Monday: 08:00-12:00 on Tuesday is 4h.
    assert "Tuesday 26 May, 12:00 CEST" in text
    assert "within 4 business hours" in text
    assert "+49 30 1234 5678" in text
    assert msg.get_body(("html",)) is not None
    assert all("$MailprocProcessed" in f for f in imap_account.flags().values())


def autoresponder_reply(captured, style: str, n: int) -> bytes:
    """What a responder sends back to each mail it receives: "compliant" (RFC 3834),
    "careless" (no Auto-Submitted, no In-Reply-To, quotes our subject) or "rude" (a new
    subject every time, nothing that links it to what it answers)."""
    original = captured.message
    subject = f"Thanks for your mail ({n})" if style == "rude" else f"Re: {original['Subject']}"
    headers = (f"From: Away <away@customer.example>\r\nTo: {original['From']}\r\n"
               f"Subject: {subject}\r\nMessage-ID: <away-{style}-{n}@customer.example>\r\n"
               f"Date: Fri, 22 May 2026 18:00:00 +0200\r\n")
    if style == "compliant":
        headers += f"Auto-Submitted: auto-replied\r\nIn-Reply-To: {original['Message-ID']}\r\n"
    return (headers + "\r\nI am away until Monday.\r\n").encode()


def converse(app, account, sink, style: str) -> int:
    """Let the responder answer everything we send until the conversation stops; rounds used."""
    seen = len(sink.messages) - 1
    for n in range(1, 15):
        new = sink.messages[seen:]
        seen = len(sink.messages)
        for captured in new:
            account.append(autoresponder_reply(captured, style, n))
        rounds(app)
        if len(sink.messages) == seen:
            return n
    raise AssertionError(f"the {style} responder conversation never stopped")


def test_auto_responder_loop_stops(db, tmp_path, imap_account, smtp_sink, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    app = imap_app(db, tmp_path, imap_account, smtp_sink)
    imap_account.append(request("away@customer.example", "Question", "q-1@customer.example"))
    rounds(app)
    assert len(smtp_sink.messages) == 1
    # An RFC 3834 responder, and one that only quotes our subject: both stop at once.
    assert converse(app, imap_account, smtp_sink, "compliant") == 1
    assert converse(app, imap_account, smtp_sink, "careless") == 1
    assert len(smtp_sink.messages) == 1
    # One that hides every link opens a new case each time: the per-sender rate limit
    # ends that conversation too.
    converse(app, imap_account, smtp_sink, "rude")
    assert len(smtp_sink.messages) == app.settings.ack.per_sender_per_hour
    with db.transaction() as s:
        details = s.scalars(select(Event.detail).where(Event.kind == "ack_decision")).all()
    assert any(d.startswith("auto_reply:") for d in details)
    assert any(d.startswith("not_new:") for d in details)
    assert any(d.startswith("rate_limited:") for d in details)


def test_broken_template_is_caught_and_never_loses_the_mail(db, tmp_path, imap_account,
                                                           smtp_sink, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    override = tmp_path / "overrides"
    override.mkdir()
    (override / "ack.txt.j2").write_text("Hello {{ customer.name }},\n{{ case.refx }}\n")
    app = imap_app(db, tmp_path, imap_account, smtp_sink,
                   templates={"override_dir": str(override)})
    cfg = tmp_path / "config" / "mailproc.toml"
    cfg.parent.mkdir()
    cfg.write_text(f'[templates]\noverride_dir = "{override}"\n')
    result = CliRunner().invoke(templates_cli, ["check"], obj={"config": str(cfg)})
    assert result.exit_code == 1
    assert "ack.txt.j2:2:" in result.output
    imap_account.append(request("lee@customer.example", "Laptop broken", "lee-1@c.example"))
    rounds(app)
    assert smtp_sink.messages == []
    with db.transaction() as s:
        row = s.scalar(select(OutboundMail))
        assert row.status == OutboxStatus.HELD and "ack.txt.j2:2" in row.last_error
        summary = status_summary(s)
    assert summary["outbox"] == {"held": 1}
    assert any(p["kind"] == "template_error" for p in summary["recent_problems"])
    (override / "ack.txt.j2").write_text("Hello {{ customer.name }}, case #{{ case.ref }}.\n")
    rounds(app)
    (mail,) = smtp_sink.messages
    assert "case #1001." in mail.message.get_body(("plain",)).get_content()


def test_refused_recipient_gets_no_more_mail(db, tmp_path, imap_account, smtp_sink, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PW", imap_account.password)
    app = imap_app(db, tmp_path, imap_account, smtp_sink)
    smtp_sink.script("rcpt", "550 5.1.1 <gone@customer.example>: no such user")
    imap_account.append(request("gone@customer.example", "First", "gone-1@c.example"))
    rounds(app)
    assert smtp_sink.messages == []
    imap_account.append(request("gone@customer.example", "Second", "gone-2@c.example"))
    rounds(app)
    assert smtp_sink.messages == []
    from mailproc.models import Contact

    with db.transaction() as s:
        contact = s.scalar(select(Contact).where(Contact.email == "gone@customer.example"))
        assert contact.undeliverable_until > FRIDAY_EVENING
        assert "550" in contact.undeliverable_reason
        details = s.scalars(select(Event.detail).where(Event.kind == "ack_decision")).all()
        failed = s.scalar(select(OutboundMail).where(OutboundMail.kind == "ack"))
    assert failed.status == OutboxStatus.FAILED
    assert details[-1].startswith("undeliverable:")
