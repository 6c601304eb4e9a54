"""XOAUTH2: the SASL string Gmail and Microsoft 365 expect."""

from __future__ import annotations


def xoauth2_string(user: str, token: str) -> bytes:
    """The initial client response of SASL XOAUTH2 (before base64), as Google and Microsoft define it."""
    if "\x01" in user or "\x01" in token:
        raise ValueError("user and token must not contain \\x01")
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
