"""The OAuth2 test infrastructure works: the Authlib authorization server driven with plain httpx,
Dovecot checking XOAUTH2/OAUTHBEARER tokens by introspection, and the SMTP sink doing the same."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import aiosmtplib
import httpx
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.fixtures_servers import running_dovecot
from tests.oauth_server import (
    CONFIDENTIAL_CLIENT_ID,
    CONFIDENTIAL_CLIENT_SECRET,
    DEVICE_GRANT_TYPE,
    PUBLIC_CLIENT_ID,
    RESOURCE_CLIENT_ID,
    RESOURCE_CLIENT_SECRET,
    OAuthServer,
)

REDIRECT = "http://127.0.0.1:49152/callback"
RESOURCE = (RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET)
RAW = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: oauth\r\n\r\nbody\r\n"

# aiosmtpd warns about AUTH without TLS, which is what the loopback sink wants.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def _token(http: httpx.Client, server: OAuthServer, **form) -> httpx.Response:
    return http.post(server.token_url, data=form)


def _introspect(http: httpx.Client, server: OAuthServer, token: str, auth=RESOURCE) -> httpx.Response:
    return http.post(server.introspection_url, data={"token": token}, auth=auth)


def _wait_until_expired(server: OAuthServer, access_token: str, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while server.is_active(access_token):
        assert time.monotonic() < deadline, "the access token did not expire"
        time.sleep(0.1)


# -- device flow (RFC 8628) ---------------------------------------------------------------------

def _start_device(http, server, client_id=PUBLIC_CLIENT_ID) -> dict:
    response = http.post(server.device_authorization_url, data={"client_id": client_id, "scope": "imap smtp"})
    assert response.status_code == 200
    return response.json()


def _poll(http, server, device: dict) -> httpx.Response:
    return _token(http, server, grant_type=DEVICE_GRANT_TYPE, device_code=device["device_code"],
                  client_id=PUBLIC_CLIENT_ID)


def test_device_flow_pending_then_approved(http, oauth_server):
    device = _start_device(http, oauth_server)
    assert device["interval"] == 1 and device["verification_uri"].startswith(oauth_server.base_url)
    pending = _poll(http, oauth_server, device)
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    assert oauth_server.pending_user_codes() == [device["user_code"]]

    oauth_server.approve_device(device["user_code"], "alice")
    granted = _poll(http, oauth_server, device)
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["expires_in"] == 3600 and body["scope"] == "imap smtp" and body["refresh_token"]
    assert oauth_server.grants[DEVICE_GRANT_TYPE] == 1
    assert oauth_server.pending_user_codes() == []
    claims = _introspect(http, oauth_server, body["access_token"]).json()
    assert claims["active"] is True and claims["username"] == "alice" and claims["client_id"] == PUBLIC_CLIENT_ID
    assert _poll(http, oauth_server, device).json()["error"] == "invalid_request"  # a device code is used once


def test_device_flow_denied(http, oauth_server):
    device = _start_device(http, oauth_server)
    oauth_server.deny_device(device["user_code"])
    denied = _poll(http, oauth_server, device)
    assert denied.status_code == 400 and denied.json()["error"] == "access_denied"
    assert oauth_server.grants[DEVICE_GRANT_TYPE] == 0
    with pytest.raises(KeyError):
        oauth_server.approve_device("NOPE-NOPE", "alice")


def test_device_code_expires(http):
    with OAuthServer(device_code_lifetime=1) as server:
        device = _start_device(http, server)
        assert device["expires_in"] == 1
        time.sleep(1.05)
        assert server.pending_user_codes() == []
        assert _poll(http, server, device).json()["error"] == "expired_token"


def test_polling_faster_than_the_interval_gets_slow_down(http):
    with OAuthServer(device_interval=5, enforce_interval=True) as server:
        device = _start_device(http, server)
        assert _poll(http, server, device).json()["error"] == "authorization_pending"
        assert _poll(http, server, device).json()["error"] == "slow_down"


# -- authorization code with PKCE (RFC 7636) on a loopback redirect (RFC 8252) ----------------

def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize(http, server, *, client_id=PUBLIC_CLIENT_ID, redirect_uri=REDIRECT, **extra) -> httpx.Response:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": "imap smtp", "state": "st-1", **extra}
    return http.get(server.authorization_url, params=params)


def _redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_authorization_code_needs_the_right_verifier(http, oauth_server):
    oauth_server.browser_user = "bob"
    verifier, challenge = _pkce()
    query = _redirect_query(_authorize(http, oauth_server, code_challenge=challenge, code_challenge_method="S256"))
    assert query["state"] == "st-1"
    exchange = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT,
                "client_id": PUBLIC_CLIENT_ID}

    missing = _token(http, oauth_server, **exchange)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = _token(http, oauth_server, **exchange, code_verifier=_pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = _token(http, oauth_server, **exchange, code_verifier=verifier)
    assert right.status_code == 200 and right.json()["refresh_token"]
    assert _introspect(http, oauth_server, right.json()["access_token"]).json()["username"] == "bob"
    assert oauth_server.grants["authorization_code"] == 1
    assert _token(http, oauth_server, **exchange, code_verifier=verifier).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("auth_style", ["client_secret_post", "client_secret_basic"])
def test_confidential_client_authenticates_both_ways(http, oauth_server, auth_style):
    oauth_server.browser_user = "carol"
    verifier, challenge = _pkce()
    query = _redirect_query(_authorize(http, oauth_server, client_id=CONFIDENTIAL_CLIENT_ID,
                                       code_challenge=challenge, code_challenge_method="S256"))
    form = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    wrong = {"client_id": CONFIDENTIAL_CLIENT_ID, "client_secret": "nope"}
    assert _token(http, oauth_server, **form, **wrong).json()["error"] == "invalid_client"
    if auth_style == "client_secret_post":
        response = _token(http, oauth_server, **form, client_id=CONFIDENTIAL_CLIENT_ID,
                          client_secret=CONFIDENTIAL_CLIENT_SECRET)
    else:
        response = http.post(oauth_server.token_url, data=form,
                             auth=(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET))
    assert response.status_code == 200, response.text
    refreshed = http.post(oauth_server.token_url, auth=(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET),
                          data={"grant_type": "refresh_token", "refresh_token": response.json()["refresh_token"]})
    assert refreshed.status_code == 200 and oauth_server.grants["refresh_token"] == 1


@pytest.mark.parametrize("extra", [{}, {"code_challenge": _pkce()[0], "code_challenge_method": "plain"}])
def test_authorization_without_s256_pkce_is_refused(http, oauth_server, extra):
    oauth_server.browser_user = "bob"
    query = _redirect_query(_authorize(http, oauth_server, **extra))
    assert query["error"] == "invalid_request" and "code" not in query


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/cb", "http://127.0.0.1.evil.example:8080/cb",
                                          "http://192.168.1.5:8080/cb"])
def test_non_loopback_redirect_is_refused_without_redirecting(http, oauth_server, redirect_uri):
    oauth_server.browser_user = "bob"
    response = _authorize(http, oauth_server, redirect_uri=redirect_uri, code_challenge=_pkce()[1],
                          code_challenge_method="S256")
    assert response.status_code == 400 and "location" not in response.headers
    assert response.json()["error"] == "invalid_request"


def test_nobody_signed_in_means_access_denied(http, oauth_server):
    query = _redirect_query(_authorize(http, oauth_server, code_challenge=_pkce()[1], code_challenge_method="S256"))
    assert query["error"] == "access_denied" and query["state"] == "st-1" and "code" not in query


# -- refresh, expiry, revocation, introspection ------------------------------------------------

def _refresh(http, server, refresh_token: str) -> httpx.Response:
    return _token(http, server, grant_type="refresh_token", refresh_token=refresh_token, client_id=PUBLIC_CLIENT_ID)


def test_refresh_tokens_rotate(http, oauth_server):
    first = oauth_server.issue_token("dave")
    second = _refresh(http, oauth_server, first["refresh_token"])
    assert second.status_code == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"] and new["access_token"] != first["access_token"]
    assert _refresh(http, oauth_server, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert _refresh(http, oauth_server, new["refresh_token"]).status_code == 200
    assert oauth_server.grants["refresh_token"] == 2


def test_refresh_tokens_kept_when_not_rotating(http):
    with OAuthServer(rotate_refresh_tokens=False) as server:
        first = server.issue_token("dave")
        for _ in range(2):
            response = _refresh(http, server, first["refresh_token"])
            assert response.status_code == 200 and "refresh_token" not in response.json()
            assert server.is_active(response.json()["access_token"])


def test_short_lived_access_token_expires(http):
    with OAuthServer(access_lifetime=1) as server:
        token = server.issue_token("erin")
        assert token["expires_in"] == 1
        claims = _introspect(http, server, token["access_token"]).json()
        assert claims["active"] is True and claims["exp"] <= time.time() + 1
        _wait_until_expired(server, token["access_token"])
        assert _introspect(http, server, token["access_token"]).json() == {"active": False}
        assert _refresh(http, server, token["refresh_token"]).status_code == 200  # refresh outlives access


def test_revoke_user_kills_access_and_refresh_tokens(http, oauth_server):
    gone, other = oauth_server.issue_token("frank"), oauth_server.issue_token("grace")
    refreshed = _refresh(http, oauth_server, gone["refresh_token"]).json()
    oauth_server.revoke_user("frank")
    for access in (gone["access_token"], refreshed["access_token"]):
        assert _introspect(http, oauth_server, access).json() == {"active": False}
    assert _refresh(http, oauth_server, refreshed["refresh_token"]).json()["error"] == "invalid_grant"
    assert _introspect(http, oauth_server, other["access_token"]).json()["active"] is True


def test_revocation_endpoint(http, oauth_server):
    token = oauth_server.issue_token("heidi")
    response = http.post(oauth_server.revocation_url, data={"token": token["refresh_token"],
                                                            "client_id": PUBLIC_CLIENT_ID})
    assert response.status_code == 200
    assert not oauth_server.is_active(token["access_token"])
    assert _refresh(http, oauth_server, token["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("auth", [None, (RESOURCE_CLIENT_ID, "wrong"), (CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET)])
def test_introspection_needs_the_resource_servers_credentials(http, oauth_server, auth):
    token = oauth_server.issue_token("ivan")["access_token"]
    refused = _introspect(http, oauth_server, token, auth=auth)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert _introspect(http, oauth_server, token).json()["active"] is True
    assert _introspect(http, oauth_server, "no-such-token").json() == {"active": False}


# -- Dovecot's oauth2 passdb asks the introspection endpoint ------------------------------------

def _imap_login(server, mechanism: str, user: str, token: str) -> None:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=10)
    try:
        if mechanism == "XOAUTH2":
            client.oauth2_login(user, token)
        else:
            client.oauthbearer_login(user, token)
    finally:
        client.shutdown()


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_dovecot_accepts_a_fresh_token_and_refuses_it_after_revoke(oauth_server, oauth_dovecot, mechanism):
    token = oauth_server.issue_token("judy")["access_token"]
    _imap_login(oauth_dovecot, mechanism, "judy", token)
    with pytest.raises(LoginError):
        _imap_login(oauth_dovecot, mechanism, "mallory", token)  # someone else's token
    oauth_server.revoke_user("judy")
    with pytest.raises(LoginError):
        _imap_login(oauth_dovecot, mechanism, "judy", token)


def test_dovecot_refuses_an_expired_token():
    with OAuthServer(access_lifetime=2) as server, running_dovecot(
            introspection_url=server.introspection_url, introspection_client=RESOURCE) as dovecot:
        token = server.issue_token("ken")["access_token"]
        for mechanism in ("XOAUTH2", "OAUTHBEARER"):
            _imap_login(dovecot, mechanism, "ken", token)
        _wait_until_expired(server, token)
        for mechanism in ("XOAUTH2", "OAUTHBEARER"):
            with pytest.raises(LoginError):
                _imap_login(dovecot, mechanism, "ken", token)


# -- the SMTP sink asks the introspection endpoint too -------------------------------------------

def _smtp(sink) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(hostname=sink.host, port=sink.port, start_tls=False, use_tls=False, timeout=5)


def _oauthbearer(user: str, token: str) -> bytes:
    return base64.b64encode(f"n,a={user},\x01auth=Bearer {token}\x01\x01".encode())


def test_smtp_xoauth2_login_then_mail_is_captured(oauth_server, oauth_smtp_sink):
    token = oauth_server.issue_token("leo")["access_token"]

    async def send():
        async with _smtp(oauth_smtp_sink) as smtp:
            await smtp.ehlo()
            assert sorted(smtp.server_auth_methods) == ["oauthbearer", "xoauth2"]
            assert (await smtp.auth_xoauth2("leo", token)).code == 235
            await smtp.sendmail("leo@example.com", ["b@example.com"], RAW)

    asyncio.run(send())
    (message,) = oauth_smtp_sink.wait_for(1)
    assert message.mail_from == "leo@example.com" and message.message["Subject"] == "oauth"
    assert oauth_smtp_sink.logins == [("XOAUTH2", "leo")]


def test_smtp_bad_tokens_are_refused_promptly(oauth_server, oauth_smtp_sink):
    leos = oauth_server.issue_token("leo")["access_token"]

    async def refused(user: str, token: str) -> int:
        async with _smtp(oauth_smtp_sink) as smtp:
            with pytest.raises(aiosmtplib.SMTPAuthenticationError) as info:
                await asyncio.wait_for(smtp.auth_xoauth2(user, token), 3)
            return info.value.code

    assert asyncio.run(refused("leo", "not-a-token")) == 535
    assert asyncio.run(refused("mallory", leos)) == 535
    oauth_server.revoke_user("leo")
    assert asyncio.run(refused("leo", leos)) == 535
    assert oauth_smtp_sink.logins == []


def test_smtp_mail_without_auth_is_refused(oauth_smtp_sink):
    async def mail() -> int:
        async with _smtp(oauth_smtp_sink) as smtp:
            with pytest.raises(aiosmtplib.SMTPSenderRefused) as info:
                await smtp.sendmail("x@example.com", ["b@example.com"], RAW)
            return info.value.code

    assert asyncio.run(mail()) == 530
    assert oauth_smtp_sink.messages == []


def test_smtp_oauthbearer_login(oauth_server, oauth_smtp_sink):
    token = oauth_server.issue_token("mia")["access_token"]

    async def login() -> tuple[int, int, int]:
        async with _smtp(oauth_smtp_sink) as smtp:
            await smtp.ehlo()
            bad = await smtp.execute_command(b"AUTH", b"OAUTHBEARER", _oauthbearer("mia", "bad-token"))
            final = await smtp.execute_command(base64.b64encode(b"\x01"))  # RFC 7628 §3.2.3
            good = await smtp.execute_command(b"AUTH", b"OAUTHBEARER", _oauthbearer("mia", token))
            return bad.code, final.code, good.code

    assert asyncio.run(login()) == (334, 535, 235)
    assert oauth_smtp_sink.logins == [("OAUTHBEARER", "mia")]
