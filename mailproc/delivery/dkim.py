"""DKIM signatures on every outgoing mail (RFC 6376; RSA-SHA256, and Ed25519-SHA256 of RFC
8463), added by the transport just before sending: after the last header change, so what
the receiver checks is what was signed. Providers that check DMARC put unsigned mail from
a domain that publishes a policy into spam, and then an acknowledgement's promised
response window never reaches the customer.

The key is PEM (PKCS#8 or PKCS#1), RSA of 2048 bits or more, or Ed25519; from a file, an
environment variable or a command, like every secret. `generate_key` makes one and the
DNS TXT record to publish for it (`mailproc dkim keygen`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailproc.credentials import resolve_secret
from mailproc.delivery.files import After, Before, Outgoing, Transport
from mailproc.errors import ConfigError

# Signed when present: what a receiver shows or threads by, and what says what the body is.
SIGNED = ("From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID",
          "In-Reply-To", "References", "MIME-Version", "Content-Type",
          "Content-Transfer-Encoding", "Auto-Submitted", "X-Loop")
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class Signer:
    domain: str
    selector: str
    key: bytes              # as dkimpy takes it: PKCS#1 PEM for RSA, base64 seed for Ed25519
    algorithm: bytes        # b"rsa-sha256" or b"ed25519-sha256"

    def sign(self, raw: bytes) -> bytes:
        """`raw` with a DKIM-Signature header in front (relaxed/relaxed canonicalisation)."""
        head = raw.split(b"\r\n\r\n", 1)[0].lower()
        present = [h.encode() for h in SIGNED
                   if head.startswith(h.lower().encode() + b":")
                   or b"\r\n" + h.lower().encode() + b":" in head]
        signature = dkim.sign(raw, self.selector.encode(), self.domain.encode(), self.key,
                              canonicalize=(b"relaxed", b"relaxed"),
                              signature_algorithm=self.algorithm, include_headers=present,
                              linesep=b"\r\n")
        return signature + raw


def _private_key(pem: bytes):
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"outgoing.dkim: the key is not an unencrypted PEM private key "
                          f"({type(exc).__name__})") from None


def signer_from_pem(pem: bytes, *, domain: str, selector: str) -> Signer:
    key = _private_key(pem)
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"outgoing.dkim: an RSA key of {key.key_size} bits is too short "
                              f"(receivers want {MIN_RSA_BITS} or more)")
        return Signer(domain, selector, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()), b"rsa-sha256")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        return Signer(domain, selector, base64.b64encode(seed), b"ed25519-sha256")
    raise ConfigError(f"outgoing.dkim: a {type(key).__name__} cannot sign DKIM: use RSA or "
                      "Ed25519")


def load_signer(settings) -> Signer | None:
    """The signer `[outgoing.dkim]` describes; None when DKIM is not configured."""
    pem = configured_key(settings)
    if pem is None:
        return None
    cfg = settings.outgoing.dkim
    return signer_from_pem(pem, domain=cfg.domain, selector=cfg.selector)


def configured_key(settings) -> bytes | None:
    """The PEM `[outgoing.dkim]` names; None when DKIM is not configured."""
    cfg = settings.outgoing.dkim
    if not (cfg.domain or cfg.selector):
        return None
    if not (cfg.domain and cfg.selector):
        raise ConfigError("outgoing.dkim: set both domain and selector")
    sources = [bool(cfg.key_file), bool(cfg.key_env), bool(cfg.key_command)]
    if sum(sources) != 1:
        raise ConfigError("outgoing.dkim: set exactly one of key_file, key_env, key_command")
    if cfg.key_file:
        path = settings.resolve(cfg.key_file)
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"outgoing.dkim.key_file: cannot read {path}: "
                              f"{exc.strerror or exc}") from None
    else:
        pem = (resolve_secret(cfg.key_env, cfg.key_command, setting="outgoing.dkim.key")
               or "").encode()
    return pem


class SigningTransport:
    """A transport that signs each message, then hands it to the real one."""

    def __init__(self, inner: Transport, signer: Signer) -> None:
        self.inner, self.signer = inner, signer
        self.name, self.target = inner.name, inner.target

    def deliver(self, items: Iterable[Outgoing], *, before: Before, after: After) -> None:
        self.inner.deliver((replace(i, raw=self.signer.sign(i.raw)) for i in items),
                           before=before, after=after)


def generate_key(kind: str = "rsa") -> tuple[bytes, str]:
    """(a new private key as PKCS#8 PEM, the DKIM record's value for DNS)."""
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    elif kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"key type must be rsa or ed25519, got {kind!r}")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, record_value(pem)


def record_value(pem: bytes) -> str:
    """The DKIM record's value (v=DKIM1; k=...; p=...) for a private key's public half."""
    key = _private_key(pem)
    if isinstance(key, rsa.RSAPrivateKey):
        kind, public = "rsa", key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        kind, public = "ed25519", key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        raise ConfigError(f"a {type(key).__name__} cannot sign DKIM: use RSA or Ed25519")
    return f"v=DKIM1; k={kind}; p={base64.b64encode(public).decode()}"


def dns_record(domain: str, selector: str, value: str) -> str:
    """A zone-file line for the record: TXT strings are at most 255 characters each."""
    chunks = " ".join(f'"{value[i:i + 250]}"' for i in range(0, len(value), 250))
    return f"{selector}._domainkey.{domain}. IN TXT ( {chunks} )"
