"""The two ways a person signs a mailbox in: the device authorization grant (RFC 8628: a code
typed at the provider's page, from any device; Microsoft 365) and the authorization code grant
with PKCE on a loopback redirect (RFC 8252, RFC 7636: a browser on this machine; Google)."""

from __future__ import annotations

import hmac
import http.server
import threading
import time
import webbrowser
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from mailproc.errors import GrantError
from mailproc.oauth.configured import Configured
from mailproc.oauth.grants import oauth_client

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
Say = Callable[[str], None]


def login(c: Configured, *, say: Say, open_browser: bool = True, port: int = 0,
          timeout: float = 900.0) -> dict:
    """Run the configured flow until the person has signed in; the token response."""
    try:
        with oauth_client(c.endpoints, c.client_secret) as client:
            if c.endpoints.flow == "device":
                return _device(client, c, say, timeout)
            return _loopback(client, c, say, open_browser, port, timeout)
    except httpx2.HTTPError as exc:
        raise GrantError(f"{c.where}: the provider could not be reached: "
                         f"{type(exc).__name__}: {exc}") from None


def _refused(c: Configured, exc: OAuthError) -> GrantError:
    why = f" ({exc.description[:200]})" if exc.description else ""
    return GrantError(f"{c.where}: the provider refused the sign-in: {exc.error}{why}")


def _device(client: OAuth2Client, c: Configured, say: Say, timeout: float) -> dict:
    form = {"client_id": c.endpoints.client_id, "scope": c.endpoints.scope}
    if c.client_secret:
        form["client_secret"] = c.client_secret
    answer = client.request("POST", c.endpoints.device_authorization_url, data=form,
                            withhold_token=True)
    grant = answer.json() if answer.headers.get("content-type", "").startswith(
        "application/json") else {}
    if answer.status_code != 200 or "device_code" not in grant:
        raise GrantError(f"{c.where}: the device authorization endpoint answered "
                         f"{answer.status_code} {grant.get('error', '')}".rstrip())
    page = grant.get("verification_uri_complete") or grant.get("verification_uri") \
        or grant.get("verification_url", "")
    say(f"To sign in {c.account} for {c.where}, open {page}\n"
        f"and enter the code {grant['user_code']} (valid for "
        f"{int(grant.get('expires_in', 900)) // 60} minutes).")
    interval = float(grant.get("interval") or 5)
    limit = min(timeout, float(grant.get("expires_in") or timeout))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(interval)
        try:
            return client.fetch_token(c.endpoints.token_url, grant_type=DEVICE_GRANT,
                                      device_code=grant["device_code"])
        except OAuthError as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":  # RFC 8628 §3.5: five seconds more, from now on
                interval += 5
                continue
            raise _refused(c, exc) from None
    raise GrantError(f"{c.where}: nobody signed in within {limit:.0f}s; run the command again")


class _Redirect(http.server.BaseHTTPRequestHandler):
    """The loopback redirect: takes the provider's answer once, thanks the person."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        query = parse_qs(urlsplit(self.path).query)
        if "code" not in query and "error" not in query:
            self.send_error(404)
            return
        self.server.answer = {k: v[0] for k, v in query.items()}
        ok = "code" in query
        body = ("<!doctype html><meta charset=utf-8><title>mailproc</title><p>"
                + ("Signed in. You can close this tab and go back to mailproc."
                   if ok else "The sign-in did not complete; mailproc says why.")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.done.set()

    def log_message(self, format, *args) -> None:  # the query holds the code: never log it
        pass


def _loopback(client: OAuth2Client, c: Configured, say: Say, open_browser: bool, port: int,
              timeout: float) -> dict:
    server = http.server.HTTPServer(("127.0.0.1", port), _Redirect)
    server.answer, server.done = None, threading.Event()
    thread = threading.Thread(target=server.serve_forever, name="oauth-redirect", daemon=True)
    thread.start()
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/"
        client.redirect_uri = redirect_uri
        client.code_challenge_method = "S256"
        verifier = generate_token(64)
        url, state = client.create_authorization_url(
            c.endpoints.authorization_url, code_verifier=verifier, login_hint=c.account,
            **c.endpoints.authorize_params)
        say(f"To sign in {c.account} for {c.where}, open this address in a browser on this "
            f"machine:\n{url}")
        if open_browser:
            webbrowser.open(url)
        if not server.done.wait(timeout):
            raise GrantError(f"{c.where}: no answer from the browser within {timeout:.0f}s; "
                             "run the command again")
        answer = server.answer
    finally:
        server.shutdown()
        server.server_close()
    if not hmac.compare_digest(answer.get("state", ""), state):
        raise GrantError(f"{c.where}: the answer's state does not match this sign-in: ignored")
    if "error" in answer:
        raise _refused(c, OAuthError(error=answer["error"],
                                     description=answer.get("error_description")))
    try:
        return client.fetch_token(c.endpoints.token_url, grant_type="authorization_code",
                                  code=answer["code"], code_verifier=verifier,
                                  redirect_uri=redirect_uri)
    except OAuthError as exc:
        raise _refused(c, exc) from None
