"""HMAC signatures for values we hand out, above all signed reply addresses `support+<ref>.<sig>@domain`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr

from mailproc.errors import ConfigError

log = logging.getLogger(__name__)

# 16 base32 characters = 80 bits of HMAC-SHA256: far beyond guessing by sending mail,
# short enough to keep the reply address readable. Base32 lower-case survives MTAs and
# clients that lower-case local parts.
SIG_LENGTH = 16
REPLY_PURPOSE = "reply-address"
_SIG_RE = re.compile(r"[a-z2-7]+")
# A ref is lower-cased before signing, so a lower-cased address still verifies.
_REF_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class SignedRef:
    """A verified ref and the address it was read from."""

    ref: str
    address: str


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) == 0:
        # The key itself is never put in the message: only its type and emptiness.
        raise ConfigError("signing key must be non-empty bytes")


def sign(value: str, key: bytes, purpose: str) -> str:
    """Lower-case base32 HMAC-SHA256 of `value`, separated by `purpose`, truncated to SIG_LENGTH."""
    _check_key(key)
    if "\x00" in purpose:
        raise ValueError("purpose must not contain NUL")
    # The purpose is bound into the MAC so a signature made for a Message-ID can never
    # be replayed as a reply-address signature (or the other way round).
    mac = hmac.new(bytes(key), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode("ascii").lower()[:SIG_LENGTH]


def verify(value: str, sig: str, key: bytes, purpose: str) -> bool:
    """True when `sig` is the signature of `value` for `purpose`; case-insensitive, constant time."""
    expected = sign(value, key, purpose)
    given = (sig or "").strip().lower()
    if not given.isascii():
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


def _split_address(address: str) -> tuple[str, str] | None:
    """(local part, lower-case domain) of a bare or display-name address, or None."""
    _, addr = parseaddr(address or "")
    addr = addr.strip()
    if addr.count("@") != 1:
        return None
    local, domain = addr.split("@")
    if not local or not domain or '"' in local or any(ch.isspace() for ch in addr):
        return None
    return local, domain.lower()


def _support_parts(support_address: str) -> tuple[str, str]:
    parts = _split_address(support_address)
    if parts is None:
        raise ConfigError(f"support address is not a plain address: {support_address!r}")
    return parts


def sign_reply_address(support_address: str, ref: str, key: bytes) -> str:
    """`support+<ref>.<sig>@domain` for the case `ref`, replies to which verify_reply_address accepts."""
    local, domain = _support_parts(support_address)
    canonical = str(ref).strip().lower()
    if not _REF_RE.fullmatch(canonical):
        raise ValueError(f"ref must be letters, digits, '-' or '_', got {ref!r}")
    return f"{local}+{canonical}.{sign(canonical, key, REPLY_PURPOSE)}@{domain}"


def verify_reply_address(address: str, support_address: str, key: bytes) -> str | None:
    """The ref of a validly signed reply address of `support_address`, else None."""
    parts = _split_address(address)
    if parts is None:
        return None
    local, domain = parts
    support_local, support_domain = _support_parts(support_address)
    if domain != support_domain:
        return None
    prefix = f"{support_local}+".lower()
    lowered = local.lower()
    if not lowered.startswith(prefix):
        return None
    ref, dot, sig = lowered[len(prefix):].rpartition(".")
    if not dot or not _REF_RE.fullmatch(ref) or len(sig) != SIG_LENGTH or not _SIG_RE.fullmatch(sig):
        return None
    if not verify(ref, sig, key, REPLY_PURPOSE):
        # Forged, truncated or signed with an old key: the address is ignored, never trusted.
        log.info("reply address %s has an invalid signature", address)
        return None
    return ref


def find_signed_ref(
    addresses: Iterable[str], support_address: str, key: bytes
) -> SignedRef | None:
    """First validly signed reply address among header values (To, Cc, Delivered-To, X-Original-To)."""
    # Only `support+<ref>.<sig>@` can be signed: a mail to 10,000 people is not parsed 10,000
    # times for nothing.
    values = [value for value in addresses if value and "+" in value]
    for _, addr in getaddresses(values):
        ref = verify_reply_address(addr, support_address, key)
        if ref is not None:
            return SignedRef(ref=ref, address=addr)
    return None
