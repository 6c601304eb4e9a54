"""Agent replies shaped as Outlook, Gmail, Apple Mail, Thunderbird and HTML-only clients write
them, through real Dovecot (inbound) and aiosmtpd (outbound), relayed clean and threaded."""

from __future__ import annotations

import html
from dataclasses import replace
from string import Template

import pytest

from mailproc.ops.export import export_cases
from mailproc.runners.inbound import process_pending
from mailproc.runners.outbound import deliver_due
from mailproc.source.imap import ImapSettings, ImapSource
from tests.agent_helpers import CLIENTS, agent_app, mail

CUSTOMER_TEXT = "My VPN drops every few minutes since this morning's update."


def smtp_app(db, tmp_path, sink, **kw):
    app = agent_app(db, tmp_path, **kw)
    out = replace(app.settings.outgoing, transport="smtp", host=sink.host, port=sink.port,
                  tls="none", user="")
    app.settings = replace(app.settings, outgoing=out)
    return app


def poll(app, account) -> None:
    source = ImapSource(ImapSettings(name="demo", host=account.host, port=account.port,
                                     user=account.user, security="plain",
                                     password=account.password, use_idle=False))
    try:
        source.poll_once(app.raw_store())
    finally:
        source.close()
    process_pending(app)


def deliver(app, sink, n: int):
    before = len(sink.messages)
    results = deliver_due(app)
    assert all(r.result == "sent" for r in results), results
    return sink.wait_for(before + n)[before:]


def customer_mail() -> bytes:
    return mail(frm="Maria Keller <maria@kunde.example>", cc="Tom Lang <tom@kunde.example>",
                subject="VPN keeps dropping", msgid="<cust-1@kunde.example>",
                body=f"Hello,\n\n{CUSTOMER_TEXT}\n\nMaria")


def client_reply(name: str, notification) -> bytes:
    body = notification.get_body(("plain",)).get_content()
    quoted_gt = "\n".join("> " + line if line else ">" for line in body.splitlines())
    values = {"reply_to": notification["Reply-To"], "notify_id": notification["Message-ID"],
              "subject": notification["Subject"], "quoted": body, "quoted_gt": quoted_gt,
              "quoted_html": html.escape(body)}
    text = Template((CLIENTS / f"{name}.eml").read_text()).substitute(values)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


@pytest.mark.parametrize("client", ["outlook", "outlook_banner", "gmail", "apple_mail",
                                    "thunderbird_bottom", "html_only"])
def test_client_reply_reaches_customers_threaded_and_clean(db, tmp_path, smtp_sink,
                                                            imap_account, client):
    app = smtp_app(db, tmp_path, smtp_sink)
    imap_account.append(customer_mail())
    poll(app, imap_account)
    sent = deliver(app, smtp_sink, 2)
    notification = next(m.message for m in sent if m.rcpt_tos == ("alice@example.com",))
    assert notification["Reply-To"].startswith("support+1001-alice.")
    assert CUSTOMER_TEXT in notification.get_body(("plain",)).get_content()

    imap_account.append(client_reply(client, notification))
    poll(app, imap_account)
    (relay,) = deliver(app, smtp_sink, 1)
    assert sorted(relay.rcpt_tos) == ["maria@kunde.example", "tom@kunde.example"]
    msg = relay.message
    assert msg["From"].addresses[0].display_name == "Alice Adams via Example Support"
    assert msg["From"].addresses[0].addr_spec == "support@example.com"
    assert msg["In-Reply-To"] == "<cust-1@kunde.example>"
    assert "<cust-1@kunde.example>" in msg["References"]
    assert msg["Auto-Submitted"] is None      # a person wrote this
    assert msg["Subject"].startswith("Re: [#1001]")
    text = msg.get_body(("plain",)).get_content()
    assert "please restart the VPN client once" in " ".join(text.split())
    # Neither the quoted notification nor the customer's own words come back to them.
    assert CUSTOMER_TEXT not in text
    assert "Reply to this email to answer" not in text
    assert "\n>" not in text
    assert "originated from outside" not in " ".join(text.split())   # the gateway's, not Alice's
    with db.transaction() as s:
        (case,) = export_cases(s)["cases"]
    assert case["first_responded_at"] is not None
    assert case["status"] == "open"
    agent_msg = [m for m in case["messages"] if m["kind"] == "agent"]
    assert len(agent_msg) == 1 and agent_msg[0]["rule"] == "signed_address"
    kinds = [e["kind"] for e in case["events"]]
    assert "first_response" in kinds and "relayed" in kinds and "security" not in kinds


def test_attachments_are_relayed(db, tmp_path, smtp_sink, imap_account):
    app = smtp_app(db, tmp_path, smtp_sink)
    imap_account.append(customer_mail())
    poll(app, imap_account)
    notification = next(m.message for m in deliver(app, smtp_sink, 2)
                        if m.rcpt_tos == ("alice@example.com",))
    reply = mail(frm="Alice Adams <alice@example.com>", to=notification["Reply-To"],
                 subject="Re: " + notification["Subject"], body="Here is the new profile.",
                 attachments=[("vpn-profile.ovpn", "application/octet-stream", b"client\n" * 40)])
    imap_account.append(reply)
    poll(app, imap_account)
    (relay,) = deliver(app, smtp_sink, 1)
    files = [(p.get_filename(), p.get_content()) for p in relay.message.iter_attachments()]
    assert files == [("vpn-profile.ovpn", b"client\n" * 40)]


def test_a_relay_held_by_a_broken_template_keeps_its_attachments(db, tmp_path, smtp_sink,
                                                                  imap_account):
    from mailproc.outbox.compose import render_held

    override = tmp_path / "overrides"
    override.mkdir()
    app = smtp_app(db, tmp_path, smtp_sink, templates={"override_dir": str(override)})
    imap_account.append(customer_mail())
    poll(app, imap_account)
    notification = next(m.message for m in deliver(app, smtp_sink, 2)
                        if m.rcpt_tos == ("alice@example.com",))
    (override / "relay.txt.j2").write_text("{{ reply_txt }}\n")       # an admin's typo
    imap_account.append(mail(
        frm="Alice Adams <alice@example.com>", to=notification["Reply-To"],
        subject="Re: " + notification["Subject"], body="Here is the new profile.",
        attachments=[("vpn-profile.ovpn", "application/octet-stream", b"client\n" * 40)]))
    poll(app, imap_account)
    assert deliver_due(app) == []                                      # held, not sent
    (override / "relay.txt.j2").write_text("{{ reply_text }}\n\nCase #{{ case.ref }}\n")
    assert render_held(app, app.clock.now()) == 1
    (relay,) = deliver(app, smtp_sink, 1)
    assert "Here is the new profile." in relay.message.get_body(("plain",)).get_content()
    files = [(p.get_filename(), p.get_content()) for p in relay.message.iter_attachments()]
    assert files == [("vpn-profile.ovpn", b"client\n" * 40)]


def test_customer_reply_to_relay_threads_back_and_notifies(db, tmp_path, smtp_sink,
                                                           imap_account):
    app = smtp_app(db, tmp_path, smtp_sink)
    imap_account.append(customer_mail())
    poll(app, imap_account)
    notification = next(m.message for m in deliver(app, smtp_sink, 2)
                        if m.rcpt_tos == ("alice@example.com",))
    imap_account.append(client_reply("gmail", notification))
    poll(app, imap_account)
    (relay,) = deliver(app, smtp_sink, 1)
    # Tom (cc'd) answers the relay from his own client: same case, Alice hears about it.
    answer = mail(frm="Tom Lang <tom@kunde.example>", to="support@example.com",
                  subject="Re: " + relay.message["Subject"], body="Works again, thanks!",
                  in_reply_to=relay.message["Message-ID"],
                  references=relay.message["References"] + " " + relay.message["Message-ID"])
    imap_account.append(answer)
    poll(app, imap_account)
    (again,) = deliver(app, smtp_sink, 1)
    assert again.rcpt_tos == ("alice@example.com",)
    assert "Works again" in again.message.get_body(("plain",)).get_content()
    with db.transaction() as s:
        (case,) = export_cases(s)["cases"]
    assert [m["rule"] for m in case["messages"] if m["direction"] == "in"][-1] == "references"


def test_odd_attachment_types_neither_crash_nor_leak_into_headers(db, tmp_path, smtp_sink,
                                                                  imap_account):
    """A message/delivery-status part or a folded content type from a customer must not
    quarantine the mail: it is attached as application/octet-stream."""
    app = smtp_app(db, tmp_path, smtp_sink)
    raw = (b"From: Maria Keller <maria@kunde.example>\r\nTo: support@example.com\r\n"
           b"Subject: Report attached\r\nMessage-ID: <odd-1@kunde.example>\r\n"
           b"Date: Mon, 23 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nSee the attached report.\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n"
           b'Content-Disposition: attachment; filename="status.txt"\r\n\r\n'
           b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\n"
           b"Action: failed\r\nStatus: 5.1.1\r\n"
           b"--b--\r\n")
    imap_account.append(raw)
    poll(app, imap_account)
    notification = next(m for m in deliver(app, smtp_sink, 2)
                        if m.rcpt_tos == ("alice@example.com",)).message
    [part] = list(notification.iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_filename() == "status.txt"
