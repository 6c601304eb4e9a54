"""Outgoing RFC 5322 messages: sanitised headers, loop-safe markers, stable Message-IDs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import unicodedata
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Iterable, Mapping, Sequence

from mailproc.outbox.direct import message_bytes
from mailproc.outbox.wire import add_attachment, as_bytes, boundary

log = logging.getLogger(__name__)

# 7bit transfer: the relay may not offer 8BITMIME, and non-ASCII headers become RFC 2047 words.
POLICY = SMTP.clone(cte_type="7bit")
MAX_REFERENCES = 20
AUTO_SUBMITTED = frozenset({"auto-replied", "auto-generated", "auto-notified"})
# C0 and C1 controls, DEL and the Unicode line/paragraph separators: any of them in a header
# value can split it into a second header in some parser downstream.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
# RFC 6531: a local part may also hold non-ASCII UTF-8 (jdöe@...), never space of any kind.
_LOCAL_UTF8 = re.compile(r"^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]|[^\x00-\x7f\s])+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_MSGID = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,75}$")
# Headers build_message owns; extra_headers may not replace them.
_OWN = frozenset(h.lower() for h in (
    "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "Reply-To", "Auto-Submitted", "X-Auto-Response-Suppress", "X-Loop", "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding", "Sender", "Return-Path"))


def clean_header(value: str) -> str:
    """One header value on one line: control characters become spaces, runs of space one."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


def check_address(value: str, *, utf8: bool = False) -> str:
    """A bare addr-spec (local@domain) or ValueError; no display names, no comments.
    `utf8`: the local part may be non-ASCII (it then needs SMTPUTF8 on the wire)."""
    addr = str(value).strip()
    local, at, domain = addr.rpartition("@")
    if (not at or not local or len(addr) > 320 or _CONTROL.search(addr)
            or not (_LOCAL_UTF8 if utf8 else _LOCAL).match(local)
            or local.startswith(".") or local.endswith(".") or ".." in local
            or not _DOMAIN.match(domain) or not _plain_unicode(local)):
        raise ValueError(f"not an email address: {addr[:80]!r}")
    return addr


def _plain_unicode(text: str) -> bool:
    """No invisible or look-alike characters outside ASCII: controls, format characters
    (zero-width, bidi overrides), private use, separators, or a full-width @."""
    return all(c.isascii() or (unicodedata.category(c)[0] not in "CZ" and c not in "\uff20\ufe6b")
               for c in text)


def transport_address(value: str) -> str | None:
    """The address as we send to it: an internationalised domain in its IDNA 2008 form
    (jdoe@straße.de → jdoe@xn--strae-oqa.de, not the IDNA 2003 strasse.de, which is someone
    else's domain); a non-ASCII local part is kept (see needs_smtputf8); None when the
    address is not valid."""
    import idna

    local, at, domain = str(value).strip().rpartition("@")
    if at and not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    try:
        return check_address(f"{local}@{domain}", utf8=True)
    except ValueError:
        return None


def needs_smtputf8(addresses: Iterable[str]) -> bool:
    """True when one of these (transport_address) addresses has a non-ASCII local part: the
    mail then goes with UTF-8 headers and only to a server that offers SMTPUTF8 (RFC 6531)."""
    return any(not a.isascii() for a in addresses)


def attachment_type(content_type: str | None) -> tuple[str, str]:
    """(maintype, subtype) safe to attach: a customer's type is used only when it is a plain
    token/token of a leaf type; message/* and multipart/* (which the stdlib would try to
    parse) and anything odd go as application/octet-stream."""
    ctype = (content_type or "").strip().lower()
    if _CONTENT_TYPE.match(ctype) and ctype.partition("/")[0] not in ("message", "multipart"):
        maintype, _, subtype = ctype.partition("/")
        return maintype, subtype
    return "application", "octet-stream"


def normalize_message_id(value: str) -> str | None:
    """`<left@right>` for an id with or without brackets; None when it is not an id."""
    mid = clean_header(value).strip().strip("<>").strip()
    return f"<{mid}>" if mid and len(mid) < 990 and _MSGID.match(mid) else None


def make_message_id(domain: str, kind: str, key: str, secret: bytes = b"") -> str:
    """Our Message-ID for one outbox decision; the same (kind, key) always gives the same id,
    so a retried or re-delivered row carries the id receiving clients deduplicate on.
    Keyed with `secret` (the app's secret key): the keys are sequential row ids, and an id an
    outsider can compute would let them reply into any case's thread."""
    domain = check_address(f"x@{domain}").partition("@")[2]
    kind_part = re.sub(r"[^a-z0-9-]+", "-", kind.lower()).strip("-")[:30] or "mail"
    data = f"{kind}\x00{key}".encode()
    digest = (hmac.new(secret, data, hashlib.sha256) if secret else hashlib.sha256(data))
    digest = digest.hexdigest()[:24]
    return f"<mp.{kind_part}.{digest}@{domain}>"


def cap_references(ids: Sequence[str], limit: int = MAX_REFERENCES) -> list[str]:
    """The thread root plus the newest ids: long threads stay threaded without huge headers."""
    ids = list(dict.fromkeys(ids))
    if len(ids) <= limit:
        return ids
    return [ids[0], *ids[-(limit - 1):]]


def _address(name: str, addr: str) -> Address:
    """The stdlib's Address of a name build_message cleaned and an address it checked."""
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def _cte(body: str) -> str | None:
    # The stdlib would pick base64 for mostly non-ASCII text, and base64 of CRLF text decodes
    # to CRLF in the reader's hands; quoted-printable keeps lines as lines.
    if body.isascii() and all(len(line) <= 990 for line in body.splitlines()):
        return None
    return "quoted-printable"


def build_message(*, from_addr: str, from_name: str, to: Sequence[str], cc: Sequence[str] = (),
                  subject: str, text: str, html: str | None = None, message_id: str,
                  in_reply_to: str | None = None, references: Iterable[str] = (),
                  reply_to: str | None = None, auto_submitted: str | None = "auto-replied",
                  loop_token: str, attachments: Iterable[tuple[str, str, bytes]] = (),
                  extra_headers: Mapping[str, str] | None = None, date_at: datetime) -> bytes:
    """The wire bytes (CRLF) of one outgoing message; every header value is sanitised here.

    `attachments` are (filename, content type, bytes). `auto_submitted=None` is for mail a
    human wrote (an agent's relayed reply): then no auto-response markers, only X-Loop.
    """
    if not to:
        raise ValueError("a message needs at least one To address")
    own_id = normalize_message_id(message_id)
    if own_id is None:
        raise ValueError(f"not a Message-ID: {message_id[:80]!r}")
    if auto_submitted is not None and auto_submitted not in AUTO_SUBMITTED:
        raise ValueError(f"Auto-Submitted must be one of {sorted(AUTO_SUBMITTED)}")
    # An address with a non-ASCII local part cannot be an RFC 2047 word: such a message is
    # written with UTF-8 headers (RFC 6532) and sent only with SMTPUTF8.
    policy = POLICY.clone(utf8=True) if needs_smtputf8(
        [from_addr, *to, *cc, *([reply_to] if reply_to else [])]) else POLICY
    head: list[tuple[str, str | list[tuple[str, str]]]] = [
        ("From", [(clean_header(from_name), check_address(from_addr, utf8=True))]),
        ("To", [("", check_address(a, utf8=True)) for a in to])]
    if cc:
        head.append(("Cc", [("", check_address(a, utf8=True)) for a in cc]))
    if reply_to:
        head.append(("Reply-To", [("", check_address(reply_to, utf8=True))]))
    head += [("Subject", clean_header(subject)), ("Date", format_datetime(date_at)),
             ("Message-ID", own_id)]
    parent = normalize_message_id(in_reply_to) if in_reply_to else None
    if parent:
        head.append(("In-Reply-To", parent))
    refs = [r for r in (normalize_message_id(x) for x in references) if r]
    if parent and parent not in refs:
        refs.append(parent)
    if refs:
        head.append(("References", " ".join(cap_references(refs))))
    if auto_submitted is not None:
        # RFC 3834 section 5; Exchange honours X-Auto-Response-Suppress. No Precedence:
        # RFC 3834 advises against it and some lists treat "bulk" as spam.
        head += [("Auto-Submitted", auto_submitted), ("X-Auto-Response-Suppress", "All")]
    token = clean_header(loop_token)
    if not token:
        raise ValueError("loop_token is required")
    head.append(("X-Loop", token))
    for name, value in (extra_headers or {}).items():
        if not _HEADER_NAME.match(name) or name.lower() in _OWN:
            raise ValueError(f"extra header {name[:40]!r} is not allowed")
        head.append((name, clean_header(value)))
    text = text if text.endswith("\n") else text + "\n"
    text_cte, html_cte = _cte(text), None if html is None else _cte(html)
    attachments = list(attachments)
    if not attachments and policy is POLICY:
        raw = message_bytes(head, text, text_cte, html, html_cte, boundary(), policy)
        if raw is not None:
            return raw
    msg = EmailMessage(policy=policy)
    for name, value in head:
        msg[name] = value if isinstance(value, str) else [_address(n, a) for n, a in value]
    msg.set_content(text, cte=text_cte)
    if html is not None:
        msg.add_alternative(html, subtype="html", cte=html_cte)
    for filename, content_type, data in attachments:
        maintype, subtype = attachment_type(content_type)
        add_attachment(msg, data, maintype=maintype, subtype=subtype or "octet-stream",
                       filename=clean_header(filename) or "attachment")
    return as_bytes(msg, policy)
