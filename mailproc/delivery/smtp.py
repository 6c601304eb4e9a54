"""SMTP delivery with aiosmtplib, one connection per batch; replies -> Transient/Permanent errors."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl
from collections.abc import Callable
from typing import Iterable, Iterator

import aiosmtplib

from mailproc.config import OutgoingSettings
from mailproc.delivery.files import After, Before, Outgoing, SendOutcome
from mailproc.errors import (
    DeliveryError, GrantError, PermanentDeliveryError, TransientDeliveryError,
)
from mailproc.oauth import sasl
from mailproc.outbox.mime import needs_smtputf8
from mailproc.tls import tls_context

log = logging.getLogger(__name__)

# Losing the connection or the server's patience: worth trying again later.
_ENHANCED_57 = re.compile(r"^5\.7\.\d{1,3}\b")
_CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                      aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectTimeoutError,
                      aiosmtplib.SMTPReadTimeoutError, asyncio.TimeoutError, ConnectionError,
                      OSError)


def _reply(code: int | None, message: str) -> str:
    text = " ".join(str(message or "").split())[:500]
    return f"{code} {text}".strip() if code else text


def is_config_refusal(code: int | None, message: str) -> bool:
    """A 5xx that speaks of us, not of the recipient: authentication required or refused
    (530, 535, 538) or a policy / relaying refusal (5.7.x, e.g. 554 5.7.1 Relay access
    denied). Our relay is misconfigured; the mail and the address are fine."""
    if code in (530, 535, 538):
        return True
    return bool(code and 500 <= code < 600 and _ENHANCED_57.match(str(message or "").strip()))


def from_code(code: int, message: str, *, during: str, content: bool = False) -> DeliveryError:
    """4xx is worth another try, 5xx is final unless it is about our own configuration
    (not for a refusal of the content at DATA: the same bytes would be refused again);
    anything else (a broken server) is retried."""
    text = f"{during}: {_reply(code, message)}"
    if 500 <= code < 600 and (content or not is_config_refusal(code, message)):
        return PermanentDeliveryError(text)
    return TransientDeliveryError(text)


def translate(exc: BaseException, target: str) -> DeliveryError:
    """aiosmtplib's exceptions -> ours, with the server's reply text (never credentials)."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Wrong credentials are a configuration problem for every row: retry after the fix.
        return TransientDeliveryError(f"{target}: authentication refused: "
                                      f"{_reply(exc.code, exc.message)}")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {_reply(r.code, r.message)}" for r in exc.recipients)
        if codes and all(500 <= c < 600 for c in codes) and not any(
                is_config_refusal(r.code, r.message) for r in exc.recipients):
            return PermanentDeliveryError(f"all recipients refused: {text}")
        return TransientDeliveryError(f"recipients refused for now: {text}")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return from_code(exc.code, exc.message, during=f"sender {exc.sender} refused")
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return from_code(exc.code, exc.message, during="message refused", content=True)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return TransientDeliveryError(f"{target}: {exc}")
    if isinstance(exc, ssl.SSLError):   # an OSError too: say it was TLS, and why
        why = getattr(exc, "verify_message", None) or exc.reason or exc
        return TransientDeliveryError(f"{target}: TLS failed: {why}")
    if isinstance(exc, _CONNECTION_ERRORS):
        if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 400:
            return from_code(exc.code, exc.message, during=f"{target}")
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return TransientDeliveryError(f"{target}: {detail}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return from_code(exc.code, exc.message, during=f"{target}")
    if isinstance(exc, ValueError):
        # aiosmtplib refuses addresses it cannot send safely (e.g. non-ASCII without SMTPUTF8).
        return PermanentDeliveryError(f"cannot send: {exc}")
    return TransientDeliveryError(f"{target}: {type(exc).__name__}: {exc}")


def _is_connection_loss(exc: BaseException) -> bool:
    return isinstance(exc, _CONNECTION_ERRORS) and not isinstance(
        exc, (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPSenderRefused,
              aiosmtplib.SMTPDataError))


def _head(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


class SmtpTransport:
    """Sends raw bytes with the envelope of each outbox row through one SMTP server."""

    name = "smtp"

    def __init__(self, settings: OutgoingSettings, password: str | None, *,
                 tokens: Callable[..., str] | None = None) -> None:
        self.settings = settings
        self._password = password
        self._tokens = tokens  # an OAuth2 grant's access tokens (auth = "oauth2")
        self.target = f"{settings.host}:{settings.port}"
        # Built here, before any row is claimed: a bad ca_file is a ConfigError up front.
        self._tls = tls_context(settings.ca_file or None) if settings.tls != "none" else None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpTransport({self.target}, tls={self.settings.tls}, user={self.settings.user!r})"

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout_seconds,
            use_tls=s.tls == "tls", start_tls=True if s.tls == "starttls" else False,
            tls_context=self._tls,
            username=s.user if s.user and self._tokens is None else None,
            password=self._password if s.user and self._tokens is None else None)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        try:
            await client.connect()
            if self._tokens is not None:
                await self._token_login(client)
        except BaseException as exc:
            client.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise translate(exc, self.target) from None
        return client

    async def _token_login(self, client: aiosmtplib.SMTP) -> None:
        """OAUTHBEARER or XOAUTH2, whichever the server offers; a refused token is replaced
        once by a newer one. The grant is asked in a thread: it may call the provider."""
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        mechanism = sasl.mechanism(client.server_auth_methods)
        token = await self._token()
        try:
            await self._authenticate(client, mechanism, token)
        except aiosmtplib.SMTPAuthenticationError:
            log.info("SMTP %s refused the OAuth2 token; asking for a newer one", self.target)
            await self._authenticate(client, mechanism, await self._token(rejected=token))

    async def _token(self, rejected: str | None = None) -> str:
        try:
            return await asyncio.to_thread(self._tokens, rejected=rejected)
        except GrantError as exc:  # revoked or not: every row waits for a person or the provider
            raise TransientDeliveryError(f"{self.target}: {exc}") from None

    async def _authenticate(self, client: aiosmtplib.SMTP, mechanism: str, token: str) -> None:
        s = self.settings
        if mechanism == "XOAUTH2":
            await client.auth_xoauth2(s.user, token)
            return
        initial = base64.b64encode(sasl.oauthbearer(s.user, token, s.host, s.port).encode())
        response = await client.execute_command(b"AUTH", b"OAUTHBEARER", initial)
        if response.code == 334:  # the error as a challenge; ^A ends the exchange (RFC 7628)
            response = await client.execute_command(base64.b64encode(b"\x01"))
        if response.code != 235:
            raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)

    async def _send_one(self, client: aiosmtplib.SMTP, item: Outgoing) -> SendOutcome:
        options: list[str] = []
        if needs_smtputf8([item.mail_from, *item.recipients]) or not _head(item.raw).isascii():
            # UTF-8 in an address or header (RFC 6531/6532): only a server offering SMTPUTF8
            # may carry it. Without it the row fails now, onto the phone list: retrying would
            # not teach the server a new extension.
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
            if not client.supports_extension("smtputf8"):
                return SendOutcome(error=PermanentDeliveryError(
                    f"{self.target} does not offer SMTPUTF8, which "
                    f"{', '.join(a for a in item.recipients if not a.isascii()) or 'this mail'} "
                    f"needs"))
            options = ["SMTPUTF8"] + (["BODY=8BITMIME"] if client.supports_extension("8bitmime")
                                      else [])
        errors, response = await client.sendmail(item.mail_from, list(item.recipients), item.raw,
                                                 mail_options=options)
        refused = {a: _reply(r.code, r.message) for a, r in errors.items()
                   if r.code >= 500 and not is_config_refusal(r.code, r.message)}
        deferred = {a: _reply(r.code, r.message) for a, r in errors.items() if a not in refused}
        accepted = tuple(a for a in item.recipients if a not in errors)
        log.info("outbox %s accepted by %s for %d recipients: %s", item.outbox_id, self.target,
                 len(accepted), _reply(None, response)[:120])
        return SendOutcome(accepted=accepted, refused=refused, deferred=deferred)

    async def _run(self, items: Iterator[Outgoing], before: Before, after: After) -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            for item in items:
                if not before(item):
                    continue
                if client is None:
                    try:
                        client = await self._connect()
                    except DeliveryError as exc:
                        # No server: the rest of the batch would only wait for the same
                        # timeout, one by one. They go back to the queue untried.
                        log.warning("SMTP %s unreachable: %s", self.target, exc)
                        after(item, SendOutcome(error=exc))
                        for rest in items:
                            after(rest, SendOutcome(error=exc, attempted=False))
                        return
                try:
                    outcome = await self._send_one(client, item)
                except Exception as exc:
                    error = translate(exc, self.target)
                    refused = {}
                    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
                        refused = {r.recipient: _reply(r.code, r.message)
                                   for r in exc.recipients if r.code >= 500}
                    if _is_connection_loss(exc) or not client.is_connected:
                        # Reconnect for the next item: the session's state is unknown.
                        client.close()
                        client = None
                    outcome = SendOutcome(error=error, refused=refused)
                after(item, outcome)
        finally:
            if client is not None:
                try:
                    await client.quit()
                except Exception:  # the verdicts are recorded; a failed QUIT changes nothing
                    client.close()

    def deliver(self, items: Iterable[Outgoing], *, before: Before, after: After) -> None:
        asyncio.run(self._run(iter(items), before, after))
