"""A local OAuth2 authorization server for the tests, built on Authlib's server components.

Device flow (RFC 8628), authorization code with PKCE S256 (RFC 7636) on loopback redirects
(RFC 8252 §7.3), refresh tokens (rotated like Microsoft, or kept like Google), introspection
(RFC 7662) for the resource servers (Dovecot, the SMTP sink) and revocation (RFC 7009).
Everything lives in memory behind one lock; werkzeug serves it on 127.0.0.1 in a daemon thread.
The "person" is played by the test: `browser_user` for the browser, `approve_device()` for the
device flow, `revoke_user()` for an admin withdrawing consent.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, InvalidRequestError, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant, DeviceCredentialDict
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

# Authlib's debug lines print whole token responses; keep tokens out of any test log.
logging.getLogger("authlib").setLevel(logging.INFO)

PUBLIC_CLIENT_ID = "mailproc-public"
CONFIDENTIAL_CLIENT_ID = "mailproc-confidential"
CONFIDENTIAL_CLIENT_SECRET = "conf-secret"
RESOURCE_CLIENT_ID = "resource-server"
RESOURCE_CLIENT_SECRET = "rs-secret"
DEFAULT_SCOPE = "imap smtp"
DEVICE_GRANT_TYPE = DeviceCodeGrant.GRANT_TYPE
_USER_GRANTS = (DEVICE_GRANT_TYPE, "authorization_code", "refresh_token")
_SECRET_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str
    auth_methods: tuple[str, ...]
    grant_types: tuple[str, ...]

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # every authorization request names its loopback redirect

    def get_allowed_scope(self, scope):
        return scope or DEFAULT_SCOPE

    def check_redirect_uri(self, redirect_uri):
        parts = urlsplit(redirect_uri)  # RFC 8252 §7.3: any port on the loopback IP literal
        return parts.scheme == "http" and parts.hostname == "127.0.0.1" and not parts.fragment

    def check_client_secret(self, client_secret):
        return bool(self.client_secret) and hmac.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if (endpoint == "introspection") != (self.client_id == RESOURCE_CLIENT_ID):
            return False  # only the resource server introspects, and it does nothing else
        return method in self.auth_methods

    def check_response_type(self, response_type):
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types


_CLIENTS = {
    c.client_id: c
    for c in (
        _Client(PUBLIC_CLIENT_ID, "", ("none",), _USER_GRANTS),
        _Client(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, _SECRET_METHODS, _USER_GRANTS),
        _Client(RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET, ("client_secret_basic",), ()),
    )
}


@dataclass
class _AuthCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    code_challenge: str
    code_challenge_method: str
    expires_at: float

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


@dataclass
class _Token(TokenMixin):
    access_token: str
    refresh_token: str | None
    client_id: str
    username: str
    scope: str
    issued_at: float
    expires_in: int
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def get_expires_at(self):
        return int(self.issued_at + self.expires_in)

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.access_revoked


class _S256Required(CodeChallenge):
    """PKCE is mandatory for every client, and only with S256 (no "plain")."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required")
        super().validate_code_challenge(grant, redirect_uri)


class _AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*_SECRET_METHODS, "none"]

    def save_authorization_code(self, code, request):
        data = request.payload.data
        self.server.codes[code] = _AuthCode(
            code, request.client.get_client_id(), request.payload.redirect_uri, request.scope, request.user,
            data["code_challenge"], data["code_challenge_method"], time.time() + 600)

    def query_authorization_code(self, code, client):
        found = self.server.codes.get(code)
        if found and found.client_id == client.get_client_id() and time.time() < found.expires_at:
            return found

    def delete_authorization_code(self, authorization_code):
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return authorization_code.username


class _RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*_SECRET_METHODS, "none"]

    @property
    def INCLUDE_NEW_REFRESH_TOKEN(self):  # noqa: N802 (Authlib's name)
        return self.server.owner.rotate_refresh_tokens

    def authenticate_refresh_token(self, refresh_token):
        found = self.server.by_refresh.get(refresh_token)
        if found and not found.refresh_revoked:
            return found

    def authenticate_user(self, refresh_token):
        return refresh_token.username

    def revoke_old_credential(self, refresh_token):
        if self.server.owner.rotate_refresh_tokens:
            refresh_token.refresh_revoked = True


class _DeviceCodeGrant(DeviceCodeGrant):
    def query_device_credential(self, device_code):
        return self.server.devices.get(device_code)

    def query_user_grant(self, user_code):
        return self.server.device_decisions.get(user_code)

    def should_slow_down(self, credential):
        now = time.monotonic()
        last, credential["last_poll"] = credential.get("last_poll"), now
        if self.server.owner.enforce_interval and last is not None and now - last < credential["interval"]:
            credential["interval"] += 5  # RFC 8628 §3.5: for this and all later requests
            return True
        return False

    def create_token_response(self):
        response = super().create_token_response()
        self.server.devices.pop(self.request.credential["device_code"], None)  # one use only
        return response


class _DeviceAuthorizationEndpoint(DeviceAuthorizationEndpoint):
    def get_verification_uri(self):
        return self.server.owner.base_url + "/activate"

    def save_device_credential(self, client_id, scope, data):
        self.server.devices[data["device_code"]] = DeviceCredentialDict(
            client_id=client_id, scope=scope or DEFAULT_SCOPE, expires_at=time.time() + data["expires_in"], **data)


class _IntrospectionEndpoint(IntrospectionEndpoint):
    def query_token(self, token_string, token_type_hint):
        return self.server.by_access.get(token_string)  # access tokens only; anything else: inactive

    def check_permission(self, token, client, request):
        return client.get_client_id() == RESOURCE_CLIENT_ID

    def introspect_token(self, token):
        return {"active": True, "username": token.username, "sub": token.username, "scope": token.scope,
                "client_id": token.client_id, "exp": token.get_expires_at(), "iat": int(token.issued_at),
                "token_type": "Bearer"}


class _RevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = [*_SECRET_METHODS, "none"]

    def query_token(self, token_string, token_type_hint):
        return self.server.by_access.get(token_string) or self.server.by_refresh.get(token_string)

    def revoke_token(self, token, request):
        token.access_revoked = True
        if request.form["token"] == token.refresh_token:  # a refresh token takes its access token along
            token.refresh_revoked = True


class _AuthServer(AuthorizationServer):
    """Authlib's Flask authorization server holding its own in-memory records."""

    def __init__(self, app: Flask, owner: OAuthServer) -> None:
        self.owner = owner
        self.codes: dict[str, _AuthCode] = {}
        self.devices: dict[str, DeviceCredentialDict] = {}
        self.device_decisions: dict[str, tuple[str | None, bool]] = {}
        self.by_access: dict[str, _Token] = {}
        self.by_refresh: dict[str, _Token] = {}
        super().__init__(app, _CLIENTS.get, self._save)

    def _save(self, token: dict, request) -> None:
        self.store(token, request.client.get_client_id(), request.user)
        self.owner.grants[request.payload.grant_type] += 1

    def store(self, token: dict, client_id: str, username: str) -> None:
        record = _Token(token["access_token"], token.get("refresh_token"), client_id, username,
                        token["scope"], time.time(), token["expires_in"])
        self.by_access[record.access_token] = record
        if record.refresh_token:
            self.by_refresh[record.refresh_token] = record


class _QuietHandler(WSGIRequestHandler):
    def log(self, type, message, *args):  # request lines carry codes and tokens: say nothing
        pass


class OAuthServer:
    """The authorization server on a free loopback port; see the module docstring."""

    def __init__(self, *, access_lifetime: int = 3600, device_interval: int = 1, rotate_refresh_tokens: bool = True,
                 device_code_lifetime: int = 600, enforce_interval: bool = False) -> None:
        self.access_lifetime = access_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.enforce_interval = enforce_interval  # True: a poll sooner than `interval` gets slow_down
        self.browser_user: str | None = None
        self.grants: Counter = Counter()
        self.base_url = ""
        self._lock = threading.Lock()
        self._httpd = None
        self._thread: threading.Thread | None = None
        app = Flask(__name__)
        self._authz = authz = _AuthServer(app, self)
        authz.register_token_generator("default", BearerTokenGenerator(
            lambda **_: generate_token(42), lambda **_: generate_token(48), access_lifetime))
        authz.register_grant(_AuthorizationCodeGrant, [_S256Required(required=True)])
        authz.register_grant(_RefreshTokenGrant)
        authz.register_grant(_DeviceCodeGrant)
        device_endpoint = _DeviceAuthorizationEndpoint(authz)
        device_endpoint.INTERVAL, device_endpoint.EXPIRES_IN = device_interval, device_code_lifetime
        authz.register_endpoint(device_endpoint)
        authz.register_endpoint(_IntrospectionEndpoint)
        authz.register_endpoint(_RevocationEndpoint)
        routes = {
            "/authorize": (["GET"], self._authorize),
            "/token": (["POST"], authz.create_token_response),
            "/device": (["POST"], lambda: authz.create_endpoint_response("device_authorization")),
            "/introspect": (["POST"], lambda: authz.create_endpoint_response("introspection")),
            "/revoke": (["POST"], lambda: authz.create_endpoint_response("revocation")),
        }
        for path, (methods, view) in routes.items():
            app.add_url_rule(path, path, self._locked(view), methods=methods)
        self._app = app

    def _locked(self, view):
        def locked_view():
            with self._lock:
                return view()
        return locked_view

    def _authorize(self):
        user = self.browser_user
        try:
            grant = self._authz.get_consent_grant(end_user=user)
        except OAuth2Error as error:  # bad client or redirect_uri: an error page, no redirect
            return self._authz.handle_error_response(None, error)
        return self._authz.create_authorization_response(grant=grant, grant_user=user)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._httpd = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="oauth-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> OAuthServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def authorization_url(self) -> str:
        return self.base_url + "/authorize"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def device_authorization_url(self) -> str:
        return self.base_url + "/device"

    @property
    def introspection_url(self) -> str:
        return self.base_url + "/introspect"

    @property
    def revocation_url(self) -> str:
        return self.base_url + "/revoke"

    # -- the person and the admin ----------------------------------------------------------
    def pending_user_codes(self) -> list[str]:
        with self._lock:
            return [c["user_code"] for c in self._authz.devices.values()
                    if not c.is_expired() and c["user_code"] not in self._authz.device_decisions]

    def approve_device(self, user_code: str, username: str) -> None:
        self._decide(user_code, (username, True))

    def deny_device(self, user_code: str) -> None:
        self._decide(user_code, (None, False))

    def _decide(self, user_code: str, decision: tuple[str | None, bool]) -> None:
        with self._lock:
            if not any(c["user_code"] == user_code for c in self._authz.devices.values()):
                raise KeyError(f"no device authorization with user code {user_code!r}")
            self._authz.device_decisions[user_code] = decision

    def revoke_user(self, username: str) -> None:
        with self._lock:
            for record in self._authz.by_access.values():
                if record.username == username:
                    record.access_revoked = record.refresh_revoked = True

    def issue_token(self, username: str, scope: str = DEFAULT_SCOPE) -> dict:
        """A token response for `username` as if PUBLIC_CLIENT_ID had signed in (not counted in grants)."""
        client = _CLIENTS[PUBLIC_CLIENT_ID]
        with self._lock:
            token = self._authz.generate_token("direct", client, user=username, scope=scope)
            self._authz.store(token, client.client_id, username)
        return token

    def issued_secrets(self) -> list[str]:
        """Every access and refresh token handed out so far (to look for them in logs)."""
        with self._lock:
            return [t for r in self._authz.by_access.values()
                    for t in (r.access_token, r.refresh_token) if t]

    def is_active(self, access_token: str) -> bool:
        with self._lock:
            record = self._authz.by_access.get(access_token)
            return bool(record) and not record.is_revoked() and not record.is_expired()
