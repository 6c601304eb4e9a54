"""IMAP and SMTP logins with a grant's tokens, against Dovecot and aiosmtpd that check every
token at the local authorization server: the mechanism the server offers, a refused token
renewed once, a withdrawn grant a clear error that names the command."""

from __future__ import annotations

import httpx
import pytest

from mailproc.config import OutgoingSettings
from mailproc.delivery.files import Outgoing
from mailproc.delivery.smtp import SmtpTransport
from mailproc.errors import SourceAuthError, TransientDeliveryError
from mailproc.oauth.grants import grant_name
from mailproc.source.imap import ImapSettings, ImapSource
from tests.helpers import make_app
from tests.oauth_server import PUBLIC_CLIENT_ID, RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET
from tests.servers import SmtpSink
from tests.test_oauth_grants import signed_in, tokens

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
RAW = (b"From: support@example.com\r\nTo: kim@kunde.example\r\nSubject: Your request\r\n"
       b"Message-ID: <ack-1@example.com>\r\n\r\nWe have it.\r\n")


def withdraw_access_token(server, access_token: str) -> None:
    """RFC 7009: the access token alone is revoked (as when a server restarts its sessions);
    the refresh token still works."""
    answer = httpx.post(server.revocation_url, data={"token": access_token,
                                                     "client_id": PUBLIC_CLIENT_ID})
    assert answer.status_code == 200 and not server.is_active(access_token)


def imap_source(dovecot, grant) -> ImapSource:
    return ImapSource(ImapSettings(name="support", host=dovecot.host, port=dovecot.port,
                                   user="support", security="plain", auth="xoauth2",
                                   timeout=10.0), token_provider=grant)


def test_imap_token_refused_is_renewed_once(db, tmp_path, oauth_server, oauth_dovecot):
    app = make_app(db, tmp_path)
    app.db.upgrade()
    vault, first = signed_in(app, oauth_server, "support")
    withdraw_access_token(oauth_server, first["access_token"])
    oauth_dovecot.add_user("support", "for-append")
    oauth_dovecot.append("support", RAW)
    source = imap_source(oauth_dovecot, tokens(app, oauth_server, vault))
    try:
        assert source.poll_once(app.raw_store()) == 1
    finally:
        source.close()
    assert oauth_server.grants["refresh_token"] == 1


def test_imap_with_a_withdrawn_grant_names_the_command(db, tmp_path, oauth_server,
                                                       oauth_dovecot):
    app = make_app(db, tmp_path)
    app.db.upgrade()
    vault, _ = signed_in(app, oauth_server, "support")
    oauth_server.revoke_user("support")
    source = imap_source(oauth_dovecot, tokens(app, oauth_server, vault))
    with pytest.raises(SourceAuthError, match="run `mailproc oauth login support`"):
        source.poll_once(app.raw_store())


def deliver(transport) -> list:
    outcomes = []
    transport.deliver([Outgoing(1, "support@example.com", ("kim@kunde.example",), RAW,
                                "<ack-1@example.com>")],
                      before=lambda item: True, after=lambda item, outcome: outcomes.append(outcome))
    return outcomes


@pytest.fixture
def relay(oauth_server, request):
    sink = SmtpSink(oauth_introspection=(oauth_server.introspection_url, RESOURCE_CLIENT_ID,
                                         RESOURCE_CLIENT_SECRET),
                    oauth_mechanisms=getattr(request, "param", ("OAUTHBEARER", "XOAUTH2")))
    sink.start()
    yield sink
    sink.stop()


def smtp(app, server, sink, vault) -> SmtpTransport:
    settings = OutgoingSettings(transport="smtp", host=sink.host, port=sink.port, tls="none",
                                user="relay", auth="oauth2", timeout_seconds=10)
    return SmtpTransport(settings, None, tokens=tokens(app, server, vault, grant_name(None)))


@pytest.mark.parametrize("relay, used", [(("OAUTHBEARER", "XOAUTH2"), "OAUTHBEARER"),
                                         (("XOAUTH2",), "XOAUTH2"),
                                         (("OAUTHBEARER",), "OAUTHBEARER")], indirect=["relay"])
def test_smtp_uses_what_the_server_offers_and_renews_a_refused_token(db, tmp_path, oauth_server,
                                                                     relay, used):
    app = make_app(db, tmp_path)
    app.db.upgrade()
    vault, first = signed_in(app, oauth_server, "relay", grant_name(None))
    withdraw_access_token(oauth_server, first["access_token"])
    (outcome,) = deliver(smtp(app, oauth_server, relay, vault))
    assert outcome.error is None and outcome.accepted == ("kim@kunde.example",)
    assert relay.logins == [(used, "relay")]
    assert oauth_server.grants["refresh_token"] == 1
    assert len(relay.messages) == 1


def test_smtp_with_a_withdrawn_grant_waits_for_a_person(db, tmp_path, oauth_server, relay):
    app = make_app(db, tmp_path)
    app.db.upgrade()
    vault, _ = signed_in(app, oauth_server, "relay", grant_name(None))
    oauth_server.revoke_user("relay")
    (outcome,) = deliver(smtp(app, oauth_server, relay, vault))
    assert isinstance(outcome.error, TransientDeliveryError)     # kept, retried after login
    assert "mailproc oauth login --outgoing" in str(outcome.error)
    assert relay.messages == [] and relay.logins == []
