"""Parse raw RFC 5322 bytes into a ParsedMessage; the only module that touches mail-parser."""

from __future__ import annotations

import email
import email.message
import email.utils
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

import mailparser
from mailparser.const import EPILOGUE_DEFECTS

from mailproc.errors import ParseError
from mailproc.parse.addresses import (
    address_header_notes, decode_bytes, decode_header_value, first_msgid, parse_addresses,
    parse_msgid_list, repair_8bit,
)
from mailproc.parse.dates import choose_date, date_header_notes
from mailproc.parse.enriched import enriched_to_text
from mailproc.parse.html_text import html_to_text
from mailproc.parse.lift import lift, restore
from mailproc.parse.reply import extract
from mailproc.parse.repair import bracketed_boundary, reparse_obsolete

log = logging.getLogger(__name__)

SYNTHETIC_MSGID_DOMAIN = "mailproc.invalid"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")
_MAX_FILENAME = 200


@dataclass(frozen=True)
class Attachment:
    """One attached file, decoded; the payload is stored once by its sha256."""

    filename: str
    content_type: str
    size: int
    sha256: str
    payload: bytes


@dataclass(frozen=True)
class ParsedMessage:
    """Everything later steps need from one inbound mail, decoded and normalised."""

    message_id: str
    message_id_synthesized: bool
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: str
    from_name: str
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    reply_to: tuple[tuple[str, str], ...]
    date_at: datetime | None
    date_source: str
    headers: Mapping[str, tuple[str, ...]]
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    new_text: str
    quoted_text: str
    signature: str
    defects: tuple[str, ...]
    size: int
    auth_results: tuple[str, ...]
    content_type: str = "text/plain"

    def header(self, name: str) -> str:
        """The first value of a header (case-insensitive), or ''."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""


def parse_message(
    raw: bytes,
    *,
    max_bytes: int = 25_000_000,
    received_fallback_at: datetime | None = None,
    now: datetime | None = None,
) -> ParsedMessage:
    """Parse raw bytes; raise ParseError with a readable reason when nothing usable is there.

    ``date_at`` falls back to ``received_fallback_at`` (e.g. the IMAP INTERNALDATE),
    then to ``now``; it is None only when all three are missing.
    """
    size = len(raw)
    if not raw or not raw.strip():
        raise ParseError("empty message")
    if size > max_bytes:
        raise ParseError(
            f"message is {round(size / 1_000_000)} MB, over the {round(max_bytes / 1_000_000)} MB limit"
        )
    defects: list[str] = []
    msg, decoded = _load(raw, defects)
    headers = _collect_headers(msg, defects)
    if not headers:
        msg = reparse_obsolete(raw, defects)
        headers = _collect_headers(msg, defects) if msg is not None else {}
    if not headers:
        raise ParseError("not a mail message: no RFC 5322 header found")

    digest = hashlib.sha256(raw).hexdigest()
    message_id = first_msgid(_first(headers, "message-id"))
    synthesized = not message_id
    if synthesized:
        # Hash of the bytes, so a redelivery of the same mail gets the same id.
        message_id = f"{digest[:32]}@{SYNTHETIC_MSGID_DOMAIN}"
    in_reply_to = parse_msgid_list(list(headers.get("in-reply-to", ())), exclude=message_id)
    references = parse_msgid_list(list(headers.get("references", ())), exclude=message_id)

    from_pairs = _addresses(msg, "from", defects)
    from_name, from_addr = from_pairs[0] if from_pairs else ("", "")
    date_at, date_source = choose_date(
        list(headers.get("date", ())),
        list(headers.get("received", ())),
        fallback_at=received_fallback_at if received_fallback_at is not None else now,
        now=now,
        defects=defects,
    )

    texts, htmls, attachments = _walk(msg, defects, decoded)
    text = "\n\n".join(t for t in texts if t.strip())
    html = "\n".join(htmls) if htmls else None
    if not text and html:
        text = _safe(html_to_text, html, defects, "HTML to text") or ""
    parts = _safe(
        lambda: extract(text=text if texts else None, html=None if texts else html,
                        sender=from_addr, subject=_first(headers, "subject")),
        None, defects, "reply extraction",
    )
    new_text = parts.text if parts is not None else text
    quoted = parts.quoted if parts is not None else ""
    signature = parts.signature if parts is not None else ""

    return ParsedMessage(
        message_id=message_id,
        message_id_synthesized=synthesized,
        in_reply_to=in_reply_to,
        references=references,
        subject=_first(headers, "subject"),
        from_addr=from_addr,
        from_name=from_name,
        to=_addresses(msg, "to", defects),
        cc=_addresses(msg, "cc", defects),
        reply_to=_addresses(msg, "reply-to", defects),
        date_at=date_at,
        date_source=date_source,
        headers=MappingProxyType(headers),
        text=text,
        html=html,
        attachments=tuple(attachments),
        new_text=new_text or "",
        quoted_text=quoted or "",
        signature=signature or "",
        defects=tuple(dict.fromkeys(defects)),
        size=size,
        auth_results=headers.get("authentication-results", ()),
        content_type=_content_type(msg),
    )


def _load(raw: bytes, defects: list[str]) -> tuple[email.message.Message, dict[int, bytes]]:
    """The message tree as mail-parser builds it, with mail-parser's header diagnostics.

    mail-parser's full parse also decodes every body part and re-encodes every
    attachment, which parse_message does again in its own walk; here only the
    parts we use run: the stdlib tree mail-parser builds from bytes, and its
    address and date (Date, Resent-Date, Received) checks. Mail whose epilogue
    mail-parser would try to recover goes through the full parse as before.
    """
    try:
        msg, lifted = _from_bytes(raw)
        repaired = bracketed_boundary(raw, msg, defects)
        if repaired is not None:
            raw = repaired
            msg, lifted = _from_bytes(raw)
    except Exception as exc:  # library edge (RecursionError on absurd nesting): unreadable
        raise ParseError(f"unreadable message: {type(exc).__name__}: {exc}") from exc
    parts = list(msg.walk())
    decoded: dict[int, bytes] = {}
    if any(type(d).__name__ in EPILOGUE_DEFECTS for p in parts for d in getattr(p, "defects", ())):
        msg = _load_full(raw, defects)
        parts = list(msg.walk())
    else:
        try:
            notes = address_header_notes(msg) + date_header_notes(msg)
            decoded = _decode_as_mailparser(parts, lifted)
        except Exception as exc:  # library edge: as when mail-parser's own parse raises
            _note_mailparser_failure(exc, defects)
            notes = []
        defects.extend(f"{n.get('header', '?')}: {n.get('reason', n)}" for n in notes)
    for part in parts:
        for defect in getattr(part, "defects", ()):
            defects.append(f"MIME {type(defect).__name__} in {part.get_content_type()}")
    return msg, decoded


def _from_bytes(raw: bytes) -> tuple[email.message.Message, dict[int, bytes]]:
    """The call mail-parser's from_bytes makes, with large base64 bodies lifted around it;
    and the lifted bodies' bytes, decoded, by part identity."""
    lifted_raw, lifted = lift(raw)
    if not lifted:
        return email.message_from_bytes(raw), {}
    msg = email.message_from_bytes(lifted_raw)
    decoded = restore(msg, lifted)
    return (msg, decoded) if decoded is not None else (email.message_from_bytes(raw), {})


def _decode_as_mailparser(parts: list[email.message.Message],
                          known: dict[int, bytes]) -> dict[int, bytes]:
    """Decode the base64 leaves that mail-parser's parse decodes, by its rules, so the
    defects decoding leaves on a part (bad base64) are there as they always were; the
    bytes are kept (by part identity) for the walk. Other encodings record no defects.
    `known`: parts decoded already, without defects (a lifted body)."""
    from mailparser.utils import decode_header_part, mime_header_view, ported_string, raw_payload

    decoded: dict[int, bytes] = dict(known)
    blocked: set[int] = set()
    for part in parts:
        if id(part) in known:
            continue
        inside = id(part) in blocked
        if part.is_multipart():
            disposition = part.get_content_disposition()
            if inside or disposition not in (None, "inline") or (
                    disposition != "inline" and bool(part.get_filename())):
                blocked.update(id(sub) for sub in part.get_payload())
            continue
        if str(part.get("content-transfer-encoding", "")).lower() != "base64":
            continue
        view, _ = mime_header_view(part)
        disposition = ported_string(view.get_content_disposition()).lower()
        subtype = ported_string(view.get_content_subtype())
        is_attachment = bool(
            decode_header_part(view.get_filename(), defects=[])
            or (ported_string(view.get("content-id")) and subtype not in ("html", "plain"))
            or subtype in "rtf"  # sic: mail-parser tests `in ("rtf")`, a substring test
            or disposition == "attachment")
        inline_body = (not inside and disposition == "inline"
                       and part.get_content_type() in ("text/plain", "text/html"))
        if not is_attachment or inline_body:
            data = part.get_payload(decode=True)
        elif ported_string(view.get("content-transfer-encoding", "")).strip().lower() == "base64":
            data = raw_payload(part)  # decodes only when the declared charset is unusable
        else:
            continue
        if isinstance(data, bytes):
            decoded[id(part)] = data
    return decoded


def _load_full(raw: bytes, defects: list[str]) -> email.message.Message:
    """mail-parser's whole parse, falling back to the stdlib tree when it breaks."""
    try:
        parser = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # library edge: mail-parser raises AttributeError on real mail
        _note_mailparser_failure(exc, defects)
        try:
            msg = email.message_from_bytes(raw)
        except Exception as exc2:  # library edge: nothing else can read it either
            raise ParseError(f"unreadable message: {type(exc2).__name__}: {exc2}") from exc2
    else:
        msg = parser.message
        for note in (
            *parser.address_header_defects,
            *parser.date_header_defects,
        ):
            defects.append(f"{note.get('header', '?')}: {note.get('reason', note)}")
    if msg is None:
        raise ParseError("unreadable message: no structure found")
    return msg


def _note_mailparser_failure(exc: Exception, defects: list[str]) -> None:
    log.info("mail-parser failed (%s: %s), falling back to stdlib email", type(exc).__name__, exc)
    defects.append(f"mail-parser failed ({type(exc).__name__}), parsed with stdlib email")


def _collect_headers(msg: email.message.Message, defects: list[str]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = repair_8bit(str(name)).strip().lower()
        grouped.setdefault(key, []).append(decode_header_value(value, defects, key))
    return {key: tuple(values) for key, values in grouped.items()}


def _first(headers: Mapping[str, tuple[str, ...]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _addresses(msg: email.message.Message, name: str, defects: list[str]) -> tuple[tuple[str, str], ...]:
    # Split addresses on the raw value: a decoded name may contain the comma
    # that separates addresses ("=?utf-8?q?Doe,_John?=").
    raws = [
        repair_8bit(str(value), defects, name).replace("\r", "").replace("\n", "")
        for key, value in msg.raw_items()
        if key.lower() == name
    ]
    pairs = parse_addresses(raws)
    return tuple((decode_header_value(n, defects, name), a) for n, a in pairs)


def _content_type(msg: email.message.Message) -> str:
    try:
        return msg.get_content_type()
    except Exception:  # library edge: a broken Content-Type must not lose the mail
        return "text/plain"


def _safe(func, arg, defects: list[str], what: str):
    """Run a helper on untrusted content; a failure costs that field, never the mail."""
    try:
        return func(arg) if arg is not None else func()
    except Exception as exc:  # a bug in one helper must not quarantine good mail
        log.exception("%s failed", what)
        defects.append(f"{what} failed: {type(exc).__name__}")
        return None


def _walk(msg: email.message.Message, defects: list[str], decoded: dict[int, bytes]):
    texts: list[str] = []
    htmls: list[str] = []
    enriched: list[str] = []     # text/enriched, text/richtext: the body when no plain text is
    attachments: list[Attachment] = []
    stack = [msg]
    while stack:
        part = stack.pop()
        try:
            ctype = part.get_content_type()
            disposition = part.get_content_disposition()
            filename = _filename(part, defects)
        except Exception as exc:  # library edge: broken MIME parameters
            defects.append(f"unreadable MIME part ({type(exc).__name__})")
            continue
        if part.is_multipart() and not ctype.startswith("message/"):
            stack.extend(reversed(part.get_payload()))
            continue
        is_body = (
            ctype in ("text/plain", "text/html", "text/enriched", "text/richtext")
            and disposition != "attachment"
            and not filename
            and not part.is_multipart()
        )
        if is_body:
            payload = decoded.get(id(part)) or _payload(part)
            body = decode_bytes(payload, part.get_content_charset(), defects, f"{ctype} part")
            if "\x00" in body:   # no text column (PostgreSQL's least of all) takes NUL
                defects.append(f"NUL bytes in {ctype} part removed")
                body = body.replace("\x00", "")
            if ctype in ("text/enriched", "text/richtext"):
                enriched.append(enriched_to_text(body, richtext=ctype == "text/richtext"))
            else:
                (texts if ctype == "text/plain" else htmls).append(body)
            continue
        payload = decoded.get(id(part)) or _payload(part)
        name = _sanitise(filename) or f"attachment-{len(attachments) + 1}"
        attachments.append(
            Attachment(
                filename=name,
                content_type=ctype,
                size=len(payload),
                sha256=hashlib.sha256(payload).hexdigest(),
                payload=payload,
            )
        )
    return texts or enriched, htmls, attachments


def _payload(part: email.message.Message) -> bytes:
    if part.is_multipart():
        # message/rfc822 and message/delivery-status are containers in compat32;
        # keep their bytes as sent so a bounce's original stays linkable.
        chunks = []
        for sub in part.get_payload():
            try:
                chunks.append(sub.as_bytes())
            except Exception:  # library edge: re-serialising broken MIME
                chunks.append(str(sub).encode("utf-8", "replace"))
        return b"\n".join(chunks)
    try:
        data = part.get_payload(decode=True)
    except Exception:  # library edge: broken transfer encoding
        data = None
    if data is None:
        value = part.get_payload()
        data = value.encode("ascii", "surrogateescape") if isinstance(value, str) else b""
    return data


def _filename(part: email.message.Message, defects: list[str]) -> str:
    name = part.get_filename()
    if name is None:
        return ""
    return decode_header_value(str(name), defects, "filename")


def _sanitise(name: str) -> str:
    """A file name safe to show and store: last path component, no control chars."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip().lstrip(".").strip()
    return name[:_MAX_FILENAME]


def recipient_addresses(msg: ParsedMessage) -> list[str]:
    addrs = [a for _, a in msg.to] + [a for _, a in msg.cc]
    for name in ("delivered-to", "x-original-to"):
        addrs.extend(msg.headers.get(name, ()))
    return addrs
