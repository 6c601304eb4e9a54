"""The OAuth2 side of the configuration: which grant a mailbox (or the outgoing server) uses,
its endpoints, its client secret, and the token source its logins ask."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailproc.config import OAuth2Settings, Settings
from mailproc.credentials import resolve_secret
from mailproc.errors import ConfigError
from mailproc.oauth.grants import GrantTokens, grant_name
from mailproc.oauth.providers import Endpoints, Use, endpoints_for
from mailproc.oauth.vault import Vault

if TYPE_CHECKING:
    from mailproc.app import App


@dataclass(frozen=True)
class Configured:
    name: str           # the grant's name: mailbox:<name> or outgoing
    account: str        # the mailbox's login
    where: str          # the configuration's key, for messages
    endpoints: Endpoints
    client_secret: str | None = field(repr=False)


def oauth_places(settings: Settings) -> list[str | None]:
    """The mailboxes that sign in with OAuth2, and None for [outgoing] when it does."""
    places: list[str | None] = [m.name for m in settings.mailboxes
                                if m.type == "imap" and m.auth == "oauth2"]
    if settings.outgoing.transport == "smtp" and settings.outgoing.auth == "oauth2":
        places.append(None)
    return places


def configured(app: App, mailbox: str | None) -> Configured:
    """The OAuth2 setup of mailbox `mailbox`, or of [outgoing] when it is None."""
    settings = app.settings
    if mailbox is None:
        out = settings.outgoing
        if out.transport != "smtp" or out.auth != "oauth2":
            raise ConfigError('[outgoing] does not sign in with OAuth2: set transport = "smtp" '
                              'and auth = "oauth2"')
        return _configured(out.oauth2, grant_name(None), out.user, "outgoing", "smtp")
    box = next((m for m in settings.mailboxes if m.name == mailbox), None)
    if box is None:
        known = ", ".join(m.name for m in settings.mailboxes) or "none"
        raise ConfigError(f"no mailbox named {mailbox!r} (configured: {known})")
    if box.type != "imap" or box.auth != "oauth2":
        raise ConfigError(f'mailboxes.{mailbox} does not sign in with OAuth2: set type = "imap" '
                          f'and auth = "oauth2"')
    return _configured(box.oauth2, grant_name(mailbox), box.user, f"mailboxes.{mailbox}", "imap")


def _configured(s: OAuth2Settings, name: str, user: str, where: str, use: Use) -> Configured:
    secret = resolve_secret(s.client_secret_env, s.client_secret_command,
                            setting=f"{where}.oauth2.client_secret")
    return Configured(name=name, account=user, where=where,
                      endpoints=endpoints_for(s, use, where=where), client_secret=secret)


def vault(app: App) -> Vault:
    return Vault(app.secret_key)


def grant_tokens(app: App, mailbox: str | None) -> GrantTokens:
    """The token source of a configured mailbox's (or the outgoing server's) grant."""
    c = configured(app, mailbox)
    return GrantTokens(app.db, vault(app), c.name, c.endpoints, c.client_secret)
