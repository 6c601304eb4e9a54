"""Mail that real senders produce and that must neither stall the pipeline nor lose an answer:
internationalised addresses (RFC 2047 words inside the addr-spec, raw UTF-8) and NUL bytes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailproc.models import Contact, Event, Message, Quarantine
from tests.agent_helpers import agent_app, feed, mail, outbox


def _events(app, kind):
    with app.db.transaction() as s:
        return [e.detail for e in s.scalars(select(Event).where(Event.kind == kind))]


def test_idn_domain_is_acknowledged_in_its_idna_form(db, tmp_path):
    app = agent_app(db, tmp_path)
    [out] = feed(app, mail(frm="Jörg <joerg@mächine.example>", subject="Drucker kaputt",
                           body="Der Drucker im 2. Stock druckt nicht."))
    assert out.result == "processed"
    [ack] = outbox(app, "ack")
    assert ack.to_addrs == ["joerg@xn--mchine-bua.example"]
    assert b"To: joerg@xn--mchine-bua.example" in ack.raw


def test_non_ascii_local_part_is_acknowledged_with_utf8_headers(db, tmp_path):
    app = agent_app(db, tmp_path)
    [out] = feed(app, mail(frm="Jörg Döe <jdöe@mächine.example>", subject="VPN",
                           body="Das VPN bricht ab.\n\n--\nJörg Döe\nTel. +49 30 1234567"))
    assert out.result == "processed" and out.case_ref
    [ack] = outbox(app, "ack")
    assert ack.status == "pending" and ack.to_addrs == ["jdöe@xn--mchine-bua.example"]
    assert "\r\nTo: jdöe@xn--mchine-bua.example\r\n".encode() in ack.raw
    with app.db.transaction() as s:
        assert s.scalars(select(Quarantine)).all() == []
        contact = s.scalars(select(Contact).where(Contact.email == "jdöe@mächine.example")).one()
        assert "+49301234567" in contact.phones
    feed(app, mail(frm="Jörg Döe <jdöe@mächine.example>", subject="Re: VPN",
                   body="Noch da?", in_reply_to=ack.message_id))
    assert len(outbox(app, "ack")) == 1                      # one case, acknowledged once


def test_an_invalid_address_is_a_failed_ack_on_the_phone_list_not_a_quarantine(db, tmp_path):
    from mailproc.fallback.phone_list import build_phone_list

    app = agent_app(db, tmp_path)
    # A domain IDNA 2008 refuses (a zero-width joiner between letters): no mail can reach it.
    [out] = feed(app, mail(frm="Jörg Döe <joerg@ma\u200dchine.example>", subject="VPN",
                           body="Das VPN bricht ab.\n\n--\nJörg Döe\nTel. +49 30 1234567"))
    assert out.result == "processed" and out.case_ref
    [ack] = outbox(app, "ack")
    assert ack.status == "failed" and ack.raw is None
    assert "not a valid email address" in ack.last_error
    assert _events(app, "ack_failed")
    with app.db.transaction() as s:
        assert s.scalars(select(Quarantine)).all() == []
        [entry] = build_phone_list(app, s, app.clock.now())
    assert entry.case_ref == out.case_ref and "+49301234567" in entry.phones


def test_idna_2008_not_2003(db, tmp_path):
    from mailproc.outbox.mime import transport_address

    # IDNA 2003 maps ß to ss: strasse.de is somebody else's domain.
    assert transport_address("jdoe@straße.de") == "jdoe@xn--strae-oqa.de"
    assert transport_address("x@a\u200db.com") is None


def test_rate_limit_counts_an_idn_sender_in_either_form(db, tmp_path):
    app = agent_app(db, tmp_path)
    topics = [("Drucker", "Papierstau im Fach zwei."), ("VPN", "Tunnel bricht stündlich ab."),
              ("Rechnung", "Doppelt abgebucht im März."), ("Laptop", "Neues Gerät für Jana."),
              ("Signatur", "Logo in Outlook einfügen?"), ("Lizenz", "Adobe läuft Freitag aus."),
              ("Telefon", "Headset knackt laut.")]
    for subject, body in topics:
        feed(app, mail(frm="joerg@mächine.example", subject=subject, body=body))
    acks = outbox(app, "ack")
    assert len(acks) == app.settings.ack.per_sender_per_hour == 5   # then rate_limited
    assert {tuple(a.to_addrs) for a in acks} == {("joerg@xn--mchine-bua.example",)}


def test_nul_bytes_in_the_body_are_removed_on_every_database(db, tmp_path):
    app = agent_app(db, tmp_path)
    [out] = feed(app, mail(frm="ann@kunde.example", subject="Null\x00byte",
                           body="Hello\x00 the printer is broken.\x00"))
    assert out.result == "processed"
    with app.db.transaction() as s:
        message = s.scalars(select(Message)).one()
        assert "\x00" not in message.body_text + message.new_text + message.subject
        assert "the printer is broken." in message.new_text


def test_nul_in_an_address_and_encoded_junk_addresses(db, tmp_path):
    app = agent_app(db, tmp_path)
    raw = (b"From: Ann <ann\x00x@kunde.example>\r\nTo: support@example.com\r\n"
           b"Cc: =?utf-8?q?a=40b.example=2C_c=40d.example?=, =?utf-8?q?tom=40kunde.example?=\r\n"
           b"Subject: Scanner\r\nMessage-ID: <nul-1@kunde.example>\r\n"
           b"Date: Mon, 23 Nov 2026 08:00:00 +0000\r\n\r\nThe scanner is offline.\r\n")
    [out] = feed(app, raw)
    assert out.result == "processed"
    with app.db.transaction() as s:
        emails = set(s.scalars(select(Contact.email)))
    assert "annx@kunde.example" in emails and "tom@kunde.example" in emails
    assert not [e for e in emails if "," in e or " " in e]


@pytest.mark.parametrize("smtputf8", [True, False])
def test_utf8_addresses_go_only_to_a_server_that_offers_smtputf8(db, tmp_path, smtputf8):
    from mailproc.config import OutgoingSettings
    from mailproc.fallback.phone_list import build_phone_list
    from mailproc.runners.outbound import deliver_due
    from tests.servers import SmtpSink

    sink = SmtpSink(smtputf8=smtputf8)
    sink.start()
    try:
        app = agent_app(db, tmp_path, outgoing=OutgoingSettings(
            transport="smtp", host=sink.host, port=sink.port, tls="none", timeout_seconds=5.0))
        [out] = feed(app, mail(frm="Jörg <jdöe@mächine.example>", subject="Drucker",
                               body="Der Drucker druckt leere Seiten."))
        deliver_due(app)
        [ack] = outbox(app, "ack")
        if smtputf8:
            got = next(m for m in sink.wait_for(2) if m.rcpt_tos != ("alice@example.com",))
            assert got.rcpt_tos == ("jdöe@xn--mchine-bua.example",) and ack.status == "sent"
            assert "SMTPUTF8" in got.mail_options
            assert "\r\nTo: jdöe@xn--mchine-bua.example\r\n".encode() in got.raw
            return
        # A relay without RFC 6531: the customer cannot get mail from us, so the phone list
        # has them at once; the agent (an ASCII address) is notified as usual.
        assert ack.status == "failed" and "does not offer SMTPUTF8" in ack.last_error
        assert "jdöe@xn--mchine-bua.example" in ack.last_error
        assert [m.rcpt_tos for m in sink.wait_for(1)] == [("alice@example.com",)]
        with app.db.transaction() as s:
            [entry] = build_phone_list(app, s, app.clock.now())
            assert s.scalars(select(Contact).where(
                Contact.undeliverable_until.is_not(None))).all() == []   # not the address's fault
        assert entry.case_ref == out.case_ref and entry.status == "to call"
    finally:
        sink.stop()


def test_a_relay_to_an_ascii_and_a_utf8_customer_reaches_the_first_without_smtputf8(
        db, tmp_path):
    from email import message_from_bytes, policy

    from mailproc.config import OutgoingSettings
    from mailproc.runners.outbound import deliver_due
    from tests.servers import SmtpSink

    sink = SmtpSink(smtputf8=False)
    sink.start()
    try:
        app = agent_app(db, tmp_path, outgoing=OutgoingSettings(
            transport="smtp", host=sink.host, port=sink.port, tls="none", timeout_seconds=5.0))
        feed(app, mail(frm="Maria <maria@kunde.example>", cc="Jörg <jdöe@mächine.example>",
                       subject="Drucker", body="Der Drucker druckt leere Seiten."))
        note = message_from_bytes(outbox(app, "agent_notify")[0].raw, policy=policy.default)
        feed(app, mail(frm="Alice Adams <alice@example.com>", to=note["Reply-To"],
                       subject="Re: " + note["Subject"], body="Bitte den Treiber neu installieren."))
        deliver_due(app)
        relays = {tuple(r.to_addrs): r for r in outbox(app, "relay")}
        assert relays[("maria@kunde.example",)].status == "sent"
        utf8 = relays[("jdöe@xn--mchine-bua.example",)]
        assert utf8.status == "failed" and "SMTPUTF8" in utf8.last_error
        assert ("maria@kunde.example",) in [m.rcpt_tos for m in sink.messages]
    finally:
        sink.stop()


def test_a_forged_bounce_cannot_silence_an_agent_or_a_stranger(db, tmp_path):
    app = agent_app(db, tmp_path)
    feed(app, mail(frm="Kim <kim@kunde.example>", subject="Printer", body="It jams."))
    forged = (b"From: MAILER-DAEMON@evil.example\r\nTo: support@example.com\r\n"
              b"Subject: Undelivered Mail Returned to Sender\r\n"
              b"Message-ID: <forged-1@evil.example>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\n"
              b"MIME-Version: 1.0\r\n"
              b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
              b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
              b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
              b"Reporting-MTA: dns; mx.evil.example\r\n\r\n"
              b"Final-Recipient: rfc822; alice@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
              b"Final-Recipient: rfc822; kim@kunde.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
              b"Final-Recipient: rfc822; nobody@else.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
              b"--b--\r\n")
    feed(app, forged)
    with app.db.transaction() as s:
        held = {c.email for c in s.scalars(select(Contact)) if c.undeliverable_until}
    # Kim got our ack, so a bounce for Kim is believable; the agent and the stranger are not.
    assert held == {"kim@kunde.example"}
