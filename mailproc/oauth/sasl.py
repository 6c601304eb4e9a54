"""The SASL initial responses of OAuth2 logins: XOAUTH2 (Google, Microsoft) and OAUTHBEARER
(RFC 7628), and which one to use with a server."""

from __future__ import annotations

from collections.abc import Iterable

from mailproc.errors import ConfigError


def mechanism(offered: Iterable[str]) -> str:
    """OAUTHBEARER, the standard, when the server offers it; else XOAUTH2 (Microsoft offers
    only that, and a server that lists neither is most likely one of the two big ones)."""
    return "OAUTHBEARER" if "OAUTHBEARER" in {m.upper() for m in offered} else "XOAUTH2"


def _clean(value: str, what: str) -> str:
    if any(c in value for c in "\x01\r\n") or not value:
        raise ConfigError(f"OAuth2 {what} is empty or holds a control character")
    return value


def xoauth2(user: str, token: str) -> str:
    return f"user={_clean(user, 'user')}\x01auth=Bearer {_clean(token, 'token')}\x01\x01"


def oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """RFC 7628 §3.1: the gs2 header names the user (`,` and `=` escaped as RFC 5801 says)."""
    name = _clean(user, "user").replace("=", "=3D").replace(",", "=2C")
    return (f"n,a={name},\x01host={host}\x01port={port}\x01"
            f"auth=Bearer {_clean(token, 'token')}\x01\x01")
