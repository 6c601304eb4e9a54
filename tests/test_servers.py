"""The real-server fixtures work: Dovecot login/append/fetch, SMTP capture and scripted errors, Redis."""

from __future__ import annotations

import smtplib
import socket

import pytest
import redis

from tests.fixtures_servers import redis_db_number
from tests.servers import DROP, ImapAccount, SmtpSink

RAW = b"From: a@example.org\r\nTo: support@example.com\r\nSubject: harness\r\nMessage-ID: <h1@example.org>\r\n\r\nbody line\r\n"


def test_dovecot_append_and_fetch_over_real_login(imap_account):
    uid = imap_account.append(RAW, flags=[b"\\Flagged"])
    client = imap_account.client()
    try:
        client.select_folder("INBOX", readonly=True)
        data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])
    finally:
        client.logout()
    assert data[uid][b"BODY[]"] == RAW
    assert b"\\Flagged" in data[uid][b"FLAGS"]


def test_each_imap_account_is_a_separate_mailbox(dovecot, imap_account):
    imap_account.append(RAW, folder="Support")
    fresh = ImapAccount(dovecot, imap_account.user + "b", "pw-b")
    dovecot.add_user(fresh.user, fresh.password)
    assert fresh.uids("INBOX") == []
    assert imap_account.uids("Support") == [1]


def test_dovecot_refuses_a_wrong_password(dovecot, imap_account):
    from imapclient import IMAPClient
    from imapclient.exceptions import LoginError

    client = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    with pytest.raises(LoginError):
        client.login(imap_account.user, imap_account.password + "x")
    client.shutdown()


def _send(sink: SmtpSink, rcpts=("support@example.com",), raw=RAW):
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        return smtp.sendmail("sender@example.org", list(rcpts), raw)


def test_smtp_sink_captures_envelope_and_parsed_message(smtp_sink):
    _send(smtp_sink, rcpts=("a@example.com", "b@example.com"))
    (msg,) = smtp_sink.wait_for(1, timeout=5)
    assert msg.mail_from == "sender@example.org"
    assert msg.rcpt_tos == ("a@example.com", "b@example.com")
    assert msg.raw.replace(b"\r\n", b"\n") == RAW.replace(b"\r\n", b"\n")
    assert msg.message["Subject"] == "harness"
    assert msg.message.get_content().strip() == "body line"


def test_smtp_scripted_temporary_data_failure_then_success(smtp_sink):
    smtp_sink.script("data", "451 4.3.0 try later")
    with pytest.raises(smtplib.SMTPDataError) as info:
        _send(smtp_sink)
    assert info.value.smtp_code == 451
    assert smtp_sink.messages == []
    _send(smtp_sink)
    assert len(smtp_sink.wait_for(1)) == 1


def test_smtp_scripted_unknown_recipient(smtp_sink):
    smtp_sink.script("rcpt", "550 5.1.1 no such user")
    refused = _send(smtp_sink, rcpts=("gone@example.com", "ok@example.com"))
    assert refused == {"gone@example.com": (550, b"5.1.1 no such user")}
    (msg,) = smtp_sink.wait_for(1)
    assert msg.rcpt_tos == ("ok@example.com",)


def test_smtp_scripted_connection_drop(smtp_sink):
    smtp_sink.script("data", DROP)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send(smtp_sink)
    assert smtp_sink.messages == []
    _send(smtp_sink)
    assert len(smtp_sink.wait_for(1)) == 1


def test_smtp_wait_for_times_out_with_a_count(smtp_sink):
    with pytest.raises(TimeoutError, match="0 of 1"):
        smtp_sink.wait_for(1, timeout=0.2)


def test_smtp_restarts_on_the_same_port(smtp_sink):
    port = smtp_sink.port
    smtp_sink.stop()
    with pytest.raises(OSError):
        socket.create_connection((smtp_sink.host, port), timeout=2).close()
    smtp_sink.start()
    assert smtp_sink.port == port
    _send(smtp_sink)
    assert len(smtp_sink.wait_for(1)) == 1


def test_redis_url_is_a_private_flushed_database(redis_url):
    assert redis_url.endswith(f"/{redis_db_number()}")
    assert 1 <= redis_db_number() <= 15
    conn = redis.Redis.from_url(redis_url)
    try:
        assert conn.dbsize() == 0
        conn.set("mailproc:test", "value")
        assert conn.get("mailproc:test") == b"value"
    finally:
        conn.close()
