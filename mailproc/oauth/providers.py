"""Provider presets (Microsoft 365, Google) and the generic provider: endpoints, scopes, flow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mailproc.config import OAuth2Settings
from mailproc.errors import ConfigError

Use = Literal["imap", "smtp"]
_MS = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
_MS_SCOPES = {"imap": ("https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"),
              "smtp": ("https://outlook.office.com/SMTP.Send", "offline_access")}
_GOOGLE_SCOPES = ("https://mail.google.com/",)


@dataclass(frozen=True)
class Endpoints:
    """Everything a login or a refresh needs to know about one provider, for one use."""

    provider: str
    flow: Literal["device", "loopback"]
    client_id: str
    token_url: str
    scopes: tuple[str, ...]
    authorization_url: str = ""
    device_authorization_url: str = ""
    revocation_url: str = ""
    # Extra query parameters of the authorization request (Google gives a refresh token
    # only with access_type=offline, and again only with prompt=consent).
    authorize_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


def endpoints_for(s: OAuth2Settings, use: Use, *, where: str) -> Endpoints:
    """The endpoints of `s` for an IMAP or SMTP grant; what is set in `s` wins over a preset.
    Raises ConfigError naming `where` when something needed is missing."""
    if not s.client_id:
        raise ConfigError(f"{where}.oauth2.client_id: required (the app registered at the "
                          "provider)")
    if s.provider == "microsoft":
        if not s.tenant:
            raise ConfigError(f"{where}.oauth2.tenant: required for microsoft")
        base = _MS.format(tenant=s.tenant)
        preset = Endpoints(provider="microsoft", flow="device", client_id=s.client_id,
                           token_url=f"{base}/token", scopes=_MS_SCOPES[use],
                           authorization_url=f"{base}/authorize",
                           device_authorization_url=f"{base}/devicecode")
    elif s.provider == "google":
        # Google's device flow does not allow Gmail scopes: a loopback redirect with PKCE.
        preset = Endpoints(provider="google", flow="loopback", client_id=s.client_id,
                           token_url="https://oauth2.googleapis.com/token", scopes=_GOOGLE_SCOPES,
                           authorization_url="https://accounts.google.com/o/oauth2/v2/auth",
                           revocation_url="https://oauth2.googleapis.com/revoke",
                           authorize_params={"access_type": "offline", "prompt": "consent"})
    else:
        if not s.token_url:
            raise ConfigError(f"{where}.oauth2.token_url: required for the generic provider")
        if not s.scopes:
            raise ConfigError(f"{where}.oauth2.scopes: required for the generic provider")
        preset = Endpoints(provider="generic",
                           flow="device" if s.device_authorization_url else "loopback",
                           client_id=s.client_id, token_url=s.token_url, scopes=())
    chosen = Endpoints(
        provider=preset.provider, flow=s.flow or preset.flow, client_id=s.client_id,
        token_url=s.token_url or preset.token_url, scopes=tuple(s.scopes) or preset.scopes,
        authorization_url=s.authorization_url or preset.authorization_url,
        device_authorization_url=s.device_authorization_url or preset.device_authorization_url,
        revocation_url=s.revocation_url or preset.revocation_url,
        authorize_params=preset.authorize_params)
    needed = {"device": "device_authorization_url", "loopback": "authorization_url"}[chosen.flow]
    if not getattr(chosen, needed):
        raise ConfigError(f"{where}.oauth2.{needed}: required for the {chosen.flow} flow")
    for key in ("token_url", needed, "revocation_url"):
        url = getattr(chosen, key)
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ConfigError(f"{where}.oauth2.{key}: expected an https URL, got {url!r}")
    return chosen
