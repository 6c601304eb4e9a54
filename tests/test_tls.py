"""IMAP and SMTP over real TLS: implicit TLS and STARTTLS against Dovecot and aiosmtpd with a
certificate from a private CA, SMTP AUTH, and a clear failure when the certificate is not
trusted (never a silent fallback to plain text)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from mailproc.config import MailboxSettings, OutgoingSettings
from mailproc.errors import SourceError
from mailproc.runners.outbound import deliver_due
from mailproc.source.factory import build_source
from tests.helpers import make_app
from tests.servers import ImapAccount, free_port
from tests.test_delivery_smtp import queue, row
from tests.test_imap_source import MemorySink, mail, settings_for
from tests.tls_servers import TlsDovecot, TlsSmtpSink, make_ca

# aiosmtpd cannot tell that its implicit-TLS port is encrypted and warns about AUTH there.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def ca():
    directory = Path(tempfile.mkdtemp(prefix="mailproc-ca-"))
    yield make_ca(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_dovecot(ca):
    directory = Path(tempfile.mkdtemp(prefix="mailproc-dovecot-tls-"))
    server = TlsDovecot(directory, free_port(), ca)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def account(tls_dovecot):
    user, password = f"tls{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    tls_dovecot.add_user(user, password)
    return ImapAccount(server=tls_dovecot, user=user, password=password)


def _poll(source) -> MemorySink:
    sink = MemorySink()
    try:
        source.poll_once(sink)
    finally:
        source.close()
    return sink


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_over_tls_with_a_private_ca(account, ca, security):
    from mailproc.source.imap import ImapSource

    account.append(mail(1, "tls"))
    port = account.server.imaps_port if security == "tls" else account.port
    sink = _poll(ImapSource(settings_for(account, security=security, port=port,
                                         ca_file=str(ca.ca_file))))
    assert list(sink.by_key.values()) == [mail(1, "tls")]
    assert sink.attempts[-1][2] is True


def test_imap_certificate_not_trusted_is_a_loud_error(account):
    from mailproc.source.imap import ImapSource

    account.append(mail(2, "untrusted"))
    source = ImapSource(settings_for(account, security="tls", port=account.server.imaps_port))
    sink = MemorySink()
    with pytest.raises(SourceError) as info:
        source.poll_once(sink)
    source.close()
    assert "certificate" in str(info.value).lower()
    assert sink.by_key == {} and sink.attempts[-1][2] is False


def test_mailbox_config_ca_file_reaches_the_source(db, tmp_path, account, ca, monkeypatch):
    monkeypatch.setenv("MAILPROC_TEST_IMAP_PW", account.password)
    app = make_app(db, tmp_path)
    box = MailboxSettings(name="tls", type="imap", host=account.host,
                          port=account.server.imaps_port, user=account.user, security="tls",
                          ca_file=str(ca.ca_file), password_env="MAILPROC_TEST_IMAP_PW")
    account.append(mail(3, "configured"))
    sink = _poll(build_source(app, box))
    assert list(sink.by_key.values()) == [mail(3, "configured")]


@pytest.fixture(params=["starttls", "tls"])
def tls_sink(request, ca):
    sink = TlsSmtpSink(ca, "support@example.com", "s3cret-smtp-pw",
                       implicit=request.param == "tls")
    sink.start()
    yield request.param, sink
    sink.stop()


def _smtp_app(db, tmp_path, sink, mode, monkeypatch, **changes):
    monkeypatch.setenv("MAILPROC_TEST_SMTP_PW", changes.pop("password", "s3cret-smtp-pw"))
    settings = dict(transport="smtp", host="localhost", port=sink.port, tls=mode,
                    user="support@example.com", password_env="MAILPROC_TEST_SMTP_PW",
                    ca_file=str(sink.ca.ca_file), timeout_seconds=5.0)
    settings.update(changes)
    return make_app(db, tmp_path, outgoing=OutgoingSettings(**settings))


def test_smtp_tls_and_auth(db, tmp_path, tls_sink, monkeypatch):
    mode, sink = tls_sink
    app = _smtp_app(db, tmp_path, sink, mode, monkeypatch)
    outbox_id, _, mid = queue(app, f"tls-{mode}")
    [result] = deliver_due(app)
    assert result.result == "sent", result.detail
    [got] = sink.wait_for(1)
    assert got.message["Message-ID"] == mid
    assert sink.logins == [("support@example.com", True)]
    assert row(app, outbox_id).status == "sent"


def test_smtp_untrusted_certificate_is_retried_with_the_reason(db, tmp_path, tls_sink,
                                                               monkeypatch):
    mode, sink = tls_sink
    app = _smtp_app(db, tmp_path, sink, mode, monkeypatch, ca_file="")
    outbox_id, _, _ = queue(app, f"untrusted-{mode}")
    [result] = deliver_due(app)
    assert result.result == "retry"
    assert "certificate" in result.detail.lower()
    assert sink.messages == [] and row(app, outbox_id).status == "pending"


def test_smtp_wrong_password_sends_nothing_and_keeps_the_row(db, tmp_path, tls_sink,
                                                             monkeypatch):
    mode, sink = tls_sink
    app = _smtp_app(db, tmp_path, sink, mode, monkeypatch, password="wrong-pw-77")
    outbox_id, _, _ = queue(app, f"badauth-{mode}")
    [result] = deliver_due(app)
    assert result.result == "retry" and "authentication refused" in result.detail
    assert "wrong-pw-77" not in result.detail
    # aiosmtplib tries each mechanism the server offers (PLAIN, LOGIN): every one refused.
    assert sink.messages == [] and sink.logins
    assert set(sink.logins) == {("support@example.com", False)}
    assert row(app, outbox_id).status == "pending"


def test_a_bad_ca_file_is_a_config_error_before_anything_is_claimed(db, tmp_path, ca,
                                                                   monkeypatch):
    from mailproc.errors import ConfigError
    from mailproc.source.imap import ImapSettings, ImapSource

    sink = TlsSmtpSink(ca, "support@example.com", "s3cret-smtp-pw")
    app = _smtp_app(db, tmp_path, sink, "starttls", monkeypatch,
                    ca_file=str(tmp_path / "missing.pem"))
    outbox_id, _, _ = queue(app, "bad-ca")
    with pytest.raises(ConfigError, match="missing.pem"):
        deliver_due(app)
    assert row(app, outbox_id).status == "pending"       # not leased, not SENDING
    with pytest.raises(ConfigError, match="missing.pem"):
        ImapSource(ImapSettings(name="x", host="127.0.0.1", port=993, user="u",
                                ca_file=str(tmp_path / "missing.pem")))
