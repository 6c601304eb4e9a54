"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
MAILPROC_SECRET_KEY, so a copy of the database alone gives no mailbox away."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mailproc.errors import GrantRevoked

_INFO = b"mailproc oauth2 grants v1"


class Vault:
    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def __repr__(self) -> str:
        return "Vault(...)"

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, sealed: str, *, what: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise GrantRevoked(f"{what} cannot be decrypted with this MAILPROC_SECRET_KEY "
                               "(was the key changed?)") from None
