"""OAuth2 grants in the database: saved by `mailproc oauth login`, their access tokens shared by
every process and refreshed before they expire (or after the server refused one) by one
process at a time, under a lease on the grant's row. A refused refresh revokes the grant:
health down at once, so the alert sweep tells a person which command to run."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx2
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy import or_, select, update

from mailproc.clock import Clock, SystemClock
from mailproc.db import Database
from mailproc.errors import GrantError, GrantRevoked
from mailproc.fallback.health import record_attempt
from mailproc.models import OAuthGrant
from mailproc.oauth.providers import Endpoints
from mailproc.oauth.vault import Vault

log = logging.getLogger(__name__)
TRANSPORT = "oauth2"
LEASE = timedelta(seconds=30)
HTTP_TIMEOUT = 30.0
# The provider's answers to a refresh that mean a person must sign in again.
_REFUSALS = {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied",
             "invalid_scope"}


def grant_name(mailbox: str | None) -> str:
    """The grant of a mailbox, or of the outgoing server when `mailbox` is None."""
    return f"mailbox:{mailbox}" if mailbox else "outgoing"


def login_command(name: str) -> str:
    """The command that makes grant `name` again."""
    return ("mailproc oauth login --outgoing" if name == "outgoing"
            else f"mailproc oauth login {name.removeprefix('mailbox:')}")


def oauth_client(endpoints: Endpoints, client_secret: str | None) -> OAuth2Client:
    """Authlib's client for `endpoints`: a public client sends its id alone, a confidential
    one its secret in the form (both Microsoft and Google take it there)."""
    return OAuth2Client(endpoints.client_id, client_secret, scope=endpoints.scope,
                        token_endpoint_auth_method="client_secret_post" if client_secret
                        else "none", timeout=HTTP_TIMEOUT)


def _margin(row: OAuthGrant) -> timedelta:
    """Refresh when less than a quarter of the token's life is left, and at most 2 minutes
    before it ends (Microsoft's and Google's tokens live about an hour)."""
    life = (row.expires_at - row.refreshed_at) if row.expires_at and row.refreshed_at \
        else timedelta(0)
    return min(timedelta(minutes=2), life / 4)


def save_grant(db: Database, vault: Vault, name: str, endpoints: Endpoints, account: str,
               token: Mapping, now: datetime) -> OAuthGrant:
    """Store the tokens of a fresh login (replacing an older grant of the same name) and mark
    the grant's health up again, which ends its outage."""
    if not token.get("refresh_token"):
        raise GrantError("the provider gave no refresh token (is offline_access, or for Google "
                         "access_type=offline, in the request?): mailproc could not renew access")
    with db.transaction() as session:
        row = session.get(OAuthGrant, name) or OAuthGrant(name=name, created_at=now)
        row.provider, row.account, row.client_id = endpoints.provider, account, endpoints.client_id
        row.token_url = endpoints.token_url
        row.scopes = str(token.get("scope") or endpoints.scope)
        row.refresh_token = vault.seal(token["refresh_token"])
        row.access_token = vault.seal(token["access_token"])
        row.expires_at = now + timedelta(seconds=int(token.get("expires_in") or 3600))
        row.state, row.problem, row.lease_holder, row.lease_until = "active", None, None, None
        row.refreshed_at, row.refreshes, row.updated_at = now, 0, now
        session.add(row)
        record_attempt(session, name, TRANSPORT, ok=True, error=None, now=now)
    log.info("OAuth2 grant %s saved for %s (%s)", name, account, endpoints.provider)
    return row


@dataclass(frozen=True)
class GrantView:
    """What `mailproc oauth status` shows of a grant: never a token."""

    name: str
    provider: str
    account: str
    scopes: str
    state: str
    expires_at: datetime | None
    refreshed_at: datetime | None
    refreshes: int
    problem: str | None
    updated_at: datetime


def list_grants(db: Database) -> list[GrantView]:
    with db.transaction() as session:
        return [GrantView(r.name, r.provider, r.account, r.scopes, r.state, r.expires_at,
                          r.refreshed_at, r.refreshes, r.problem, r.updated_at)
                for r in session.scalars(select(OAuthGrant).order_by(OAuthGrant.name))]


def delete_grant(db: Database, name: str) -> bool:
    with db.transaction() as session:
        row = session.get(OAuthGrant, name)
        if row is not None:
            session.delete(row)
        return row is not None


class GrantTokens:
    """The access token of one grant, for IMAP and SMTP logins. Call it for a token; call it
    with `rejected=` the token a server just refused to get a newer one. Raises GrantRevoked
    when a person must sign in again, GrantError when the provider cannot be asked now."""

    def __init__(self, db: Database, vault: Vault, name: str, endpoints: Endpoints,
                 client_secret: str | None, *, clock: Clock | None = None) -> None:
        self.db, self.vault, self.name, self.endpoints = db, vault, name, endpoints
        self._secret = client_secret
        # Tokens expire in the provider's time: the real clock, whatever MAILPROC_NOW says.
        self.clock = clock or SystemClock()
        self.holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{id(self):x}"
        self._cached: tuple[str, datetime] | None = None

    def __repr__(self) -> str:
        return f"GrantTokens({self.name})"

    def __call__(self, rejected: str | None = None) -> str:
        cached = self._cached
        if cached and cached[0] != rejected and cached[1] > self.clock.now():
            return cached[0]
        deadline = time.monotonic() + LEASE.total_seconds() + 5
        while True:
            now = self.clock.now()
            if access := self._stored(rejected, now):
                return access
            if self._take_lease(now):
                try:
                    # Another holder may have renewed it between our look and our lease.
                    return self._stored(rejected, now) or self._refresh()
                finally:
                    self._release_lease()
            if time.monotonic() > deadline:
                raise GrantError(f"grant {self.name}: another process has been refreshing its "
                                 f"token for over {LEASE.total_seconds():.0f}s")
            time.sleep(0.2)

    def _stored(self, rejected: str | None, now: datetime) -> str | None:
        """The stored access token if it is not the rejected one and not about to expire."""
        with self.db.transaction() as session:
            row = self._row(session)
            access = self.vault.open(row.access_token, what=f"grant {self.name}") \
                if row.access_token else None
            fresh_until = row.expires_at - _margin(row) if row.expires_at else now
        if access and access != rejected and fresh_until > now:
            self._cached = (access, fresh_until)
            return access
        return None

    def _row(self, session) -> OAuthGrant:
        row = session.get(OAuthGrant, self.name)
        if row is None:
            raise GrantRevoked(f"no OAuth2 grant for {self.name}: run `{login_command(self.name)}`")
        if row.state != "active":
            raise GrantRevoked(f"OAuth2 grant {self.name} ({row.account}) no longer works: "
                               f"{row.problem}")
        if row.client_id != self.endpoints.client_id:
            raise GrantRevoked(f"OAuth2 grant {self.name} was made for client id {row.client_id}"
                               f", the configuration names {self.endpoints.client_id}: run "
                               f"`{login_command(self.name)}`")
        return row

    def _take_lease(self, now: datetime) -> bool:
        with self.db.transaction() as session:
            taken = session.execute(update(OAuthGrant).where(
                OAuthGrant.name == self.name,
                or_(OAuthGrant.lease_until.is_(None), OAuthGrant.lease_until < now,
                    OAuthGrant.lease_holder == self.holder),
            ).values(lease_holder=self.holder, lease_until=now + LEASE))
            return taken.rowcount == 1

    def _release_lease(self) -> None:
        with self.db.transaction() as session:
            session.execute(update(OAuthGrant).where(
                OAuthGrant.name == self.name, OAuthGrant.lease_holder == self.holder,
            ).values(lease_holder=None, lease_until=None))

    def _refresh(self) -> str:
        """Ask the provider for a new access token with the stored refresh token; we hold the
        lease, so no other process spends (and, where tokens rotate, loses) it meanwhile."""
        with self.db.transaction() as session:
            row = self._row(session)
            refresh = self.vault.open(row.refresh_token, what=f"grant {self.name}")
        started = self.clock.now()
        try:
            # The scopes again: Microsoft's v2.0 endpoint gives a token for what is asked.
            with oauth_client(self.endpoints, self._secret) as client:
                token = client.refresh_token(self.endpoints.token_url, refresh_token=refresh)
        except OAuthError as exc:
            if exc.error in _REFUSALS:
                self._revoke(f"the provider refused to renew it ({exc.error}"
                             f"{': ' + exc.description[:200] if exc.description else ''})")
            raise GrantError(f"grant {self.name}: the provider answered {exc.error}") from None
        except (httpx2.HTTPError, ValueError) as exc:
            raise GrantError(f"grant {self.name}: could not reach "
                             f"{self.endpoints.token_url}: {type(exc).__name__}") from None
        access = token.get("access_token")
        if not access:
            raise GrantError(f"grant {self.name}: the provider's answer holds no access token")
        with self.db.transaction() as session:
            row = self._row(session)
            row.access_token = self.vault.seal(access)
            if token.get("refresh_token"):  # rotated (Microsoft): the old one is spent
                row.refresh_token = self.vault.seal(token["refresh_token"])
            row.expires_at = started + timedelta(seconds=int(token.get("expires_in") or 3600))
            row.refreshed_at = row.updated_at = started
            row.refreshes += 1
            self._cached = (access, row.expires_at - _margin(row))
            record_attempt(session, self.name, TRANSPORT, ok=True, error=None, now=started)
        log.info("OAuth2 grant %s: access token renewed, valid until %s", self.name,
                 self._cached[1].astimezone(timezone.utc).isoformat(timespec="seconds"))
        return access

    def _revoke(self, why: str) -> None:
        now = self.clock.now()
        problem = f"{why}; run `{login_command(self.name)}`"
        with self.db.transaction() as session:
            row = session.get(OAuthGrant, self.name)
            row.state, row.problem, row.updated_at = "revoked", problem, now
            row.access_token = None
            record_attempt(session, self.name, TRANSPORT, ok=False, fatal=True,
                           error=f"OAuth2 grant {self.name} ({row.account}): {problem}", now=now)
        self._cached = None
        log.error("OAuth2 grant %s revoked: %s", self.name, problem)
        raise GrantRevoked(f"OAuth2 grant {self.name} no longer works: {problem}")
