"""Grants against a real authorization server on loopback (tests/oauth_server.py), on SQLite
and PostgreSQL: tokens stored encrypted, renewed before they expire and after a refusal, by
one process at a time; a withdrawn grant is health down and one alert naming the command."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime, timezone
from types import MappingProxyType

import pytest
from sqlalchemy import select, text

from mailproc.config import OAuth2Settings
from mailproc.errors import GrantError, GrantRevoked
from mailproc.fallback.alerts import check_alerts
from mailproc.models import Health, OAuthGrant
from mailproc.oauth.grants import GrantTokens, grant_name, list_grants, save_grant
from mailproc.oauth.providers import endpoints_for
from mailproc.oauth.vault import Vault
from tests.helpers import make_app
from tests.oauth_server import PUBLIC_CLIENT_ID, OAuthServer

USER = "support@example.com"
NAME = grant_name("support")


@pytest.fixture
def short_server():
    with OAuthServer(access_lifetime=2) as server:
        yield server


def endpoints(server: OAuthServer):
    return endpoints_for(OAuth2Settings(client_id=PUBLIC_CLIENT_ID, token_url=server.token_url,
                                        device_authorization_url=server.device_authorization_url,
                                        scopes=("imap", "smtp")), "imap", where="mailboxes.support")


def signed_in(app, server: OAuthServer, user: str = USER, name: str = NAME
              ) -> tuple[Vault, dict]:
    vault = Vault(app.secret_key)
    token = server.issue_token(user)
    # Tokens live in real time, whatever the app's fixed clock says.
    save_grant(app.db, vault, name, endpoints(server), user, token, datetime.now(timezone.utc))
    return vault, token


def tokens(app, server, vault, name: str = NAME) -> GrantTokens:
    return GrantTokens(app.db, vault, name, endpoints(server), None)


def test_tokens_are_sealed_reused_and_renewed_before_they_expire(db, tmp_path, short_server):
    app = make_app(db, tmp_path)
    app.db.upgrade()
    vault, first = signed_in(app, short_server)
    with db.transaction() as s:
        stored = " ".join(str(v) for v in s.execute(text("SELECT * FROM oauth_grants")).one())
    assert first["refresh_token"] not in stored and first["access_token"] not in stored
    source = tokens(app, short_server, vault)
    assert source() == first["access_token"]
    assert source() == first["access_token"]              # cached: no refresh yet
    assert short_server.grants["refresh_token"] == 0
    time.sleep(1.6)                                        # past 3/4 of the 2 s life
    renewed = source()
    assert renewed != first["access_token"] and short_server.is_active(renewed)
    assert short_server.grants["refresh_token"] == 1
    # The rotated refresh token was stored: the next renewal works with it.
    assert source(rejected=renewed) != renewed
    assert short_server.grants["refresh_token"] == 2
    (view,) = list_grants(app.db)
    assert (view.state, view.refreshes, view.account) == ("active", 2, USER)


def test_many_processes_renew_once(db, tmp_path, short_server):
    """Four holders see the same refused token at once: one renews under the lease, the
    others wait and take its token; a second renewal of the rotated refresh token would
    have revoked the grant."""
    app = make_app(db, tmp_path)
    app.db.upgrade()
    vault, first = signed_in(app, short_server)
    results, errors = [], []
    start = threading.Barrier(4)

    def ask():
        source = tokens(app, short_server, vault)  # each its own holder, as a process would be
        start.wait()
        try:
            results.append(source(rejected=first["access_token"]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(set(results)) == 1 and results[0] != first["access_token"]
    assert short_server.grants["refresh_token"] == 1
    with db.transaction() as s:
        row = s.get(OAuthGrant, NAME)
        assert (row.state, row.lease_holder, row.refreshes) == ("active", None, 1)


def test_withdrawn_grant_is_health_down_and_one_alert_naming_the_command(db, tmp_path,
                                                                        short_server):
    log = tmp_path / "alerts.jsonl"
    hook = f"{sys.executable} -c \"import sys; open({str(log)!r}, 'a').write(sys.stdin.read() + '\\n')\""
    app = make_app(db, tmp_path, alerts=MappingProxyType({"command": hook}))
    app.db.upgrade()
    vault, first = signed_in(app, short_server)
    short_server.revoke_user(USER)
    source = tokens(app, short_server, vault)
    with pytest.raises(GrantRevoked, match="invalid_grant.*mailproc oauth login support"):
        source(rejected=first["access_token"])
    with pytest.raises(GrantRevoked, match="no longer works"):
        source()                               # no second call to the provider
    assert short_server.grants["refresh_token"] == 0
    with db.transaction() as s:
        health = s.scalar(select(Health).where(Health.transport == "oauth2"))
        assert (health.target, health.state) == (NAME, "down")
        assert "mailproc oauth login support" in health.last_error
    sent = check_alerts(app, app.clock.now())
    assert [(a["event"], a["key"], a["command"]) for a in sent] == [
        ("outage", f"oauth2:{NAME}", "mailproc oauth login support")]
    assert check_alerts(app, app.clock.now()) == []          # once
    # Signing in again ends the outage: health up, a recovery notice.
    signed_in(app, short_server)
    assert tokens(app, short_server, vault)()
    assert [a["event"] for a in check_alerts(app, app.clock.now())] == ["recovery"]
    lines = [json.loads(x) for x in log.read_text().splitlines() if x]
    assert [x["event"] for x in lines] == ["outage", "recovery"]


def test_missing_grant_other_client_and_unreachable_provider(db, tmp_path, short_server):
    app = make_app(db, tmp_path)
    app.db.upgrade()
    vault = Vault(app.secret_key)
    with pytest.raises(GrantRevoked, match="no OAuth2 grant for mailbox:support: run "
                                           "`mailproc oauth login support`"):
        tokens(app, short_server, vault)()
    signed_in(app, short_server)
    other = endpoints_for(OAuth2Settings(client_id="another-app", token_url=short_server.token_url,
                                         device_authorization_url="http://127.0.0.1:1/d",
                                         scopes=("imap",)), "imap", where="m")
    with pytest.raises(GrantRevoked, match="made for client id mailproc-public"):
        GrantTokens(app.db, vault, NAME, other, None)()
    gone = endpoints_for(OAuth2Settings(client_id=PUBLIC_CLIENT_ID, token_url="http://127.0.0.1:9/t",
                                        device_authorization_url="http://127.0.0.1:9/d",
                                        scopes=("imap",)), "imap", where="m")
    with pytest.raises(GrantError, match="could not reach") as caught:
        GrantTokens(app.db, vault, NAME, gone, None)(rejected=tokens(app, short_server, vault)())
    assert not isinstance(caught.value, GrantRevoked)       # a network failure revokes nothing
    assert list_grants(app.db)[0].state == "active"
