"""Recognise bounces: failed recipients, permanent or temporary, and the original Message-ID."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from mailproc.errors import ParseError
from mailproc.outbox.mime import transport_address
from mailproc.parse.addresses import first_msgid, repair_8bit
from mailproc.parse.message import ParsedMessage, parse_message

log = logging.getLogger(__name__)

PERMANENT = "permanent"
TEMPORARY = "temporary"


@dataclass(frozen=True)
class Bounce:
    """A delivery failure report: who failed, how badly, and which of our mails it was."""

    addresses: tuple[str, ...]
    kind: str
    original_message_id: str | None
    detector: str
    diagnostic: str


_ADDR = r"[A-Za-z0-9!#$%&*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
_ADDR_RE = re.compile(_ADDR)
# A DSN field holds one address (RFC 3464 "rfc822; addr", RFC 6533 "utf-8; addr" with \x{HH}
# escapes): its local part and domain may be UTF-8, and the whole address must match, never
# an ASCII tail of it (jdöe@ is not e@).
_TYPED_ADDR_RE = re.compile(r"(?:[A-Za-z0-9!#$%&*+/=?^_`{|}~.-]|[^\x00-\x7f\s])+"
                            r"@(?:[A-Za-z0-9-]|[^\x00-\x7f\s])+(?:\.(?:[A-Za-z0-9-]|[^\x00-\x7f\s])+)+")
_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
_OPEN = r"[\[<\"'(]?(?:smtp[:=])?"
_CLOSE = r"[\]>\"')]?"
# A failed recipient is listed on a line of its own, optionally quoted or
# bracketed, followed by a reason separator ("addr:", "addr ... unknown").
_LINE_ADDR = re.compile(
    r"^[ \t>|*-]*" + _OPEN + r"(?P<addr>" + _ADDR + r")" + _CLOSE
    + r"[ \t]*(?:$|:|\.\.\.|\(|,|;|[ \t]+[-<(\[]|[ \t]+\w)",
    re.MULTILINE | re.IGNORECASE,
)
# "Recipient: addr", "Error-for: addr", "Delivery failed 20 attempts: addr".
_FIELD_ADDR = re.compile(
    r"^[ \t]*(?P<label>[^:\n]{1,40}):[ \t]*" + _OPEN + r"(?P<addr>" + _ADDR + r")" + _CLOSE
    + r"[ \t]*(?:$|[:.,;]|[ \t])",
    re.MULTILINE | re.IGNORECASE,
)
_NOT_RECIPIENT_LABEL = re.compile(r"^[\s*>|-]*(?:from|sender|reply-to|return-path|mail from|to|cc|bcc|subject|sent|date|"
                                  r"errors-to|message-id|in-reply-to|references)\s*$", re.IGNORECASE)
# "to <addr>", "generated from addr": the address follows a phrase.
_LABELLED_ADDR = re.compile(
    r"(?:recipients?|addressee|mailbox|rcpt to|deliver(?:ed|y)? to|sent to|message to|"
    r"addressed to|addressed|deliver your message to|generated from|expanded from|"
    r"original-recipient|final-recipient|destinataire|empfänger|smtp)"
    r"(?:\(s\))?[^\n<@]{0,12}?[:\s,=]" + _OPEN + r"(?P<addr>" + _ADDR + r")",
    re.IGNORECASE,
)
# "552 Quota violation for user@host": an SMTP reply quoted in the report.
_SMTP_REPLY_ADDR = re.compile(r"^[ \t]*[45]\d\d[ -][^\n]*?" + _OPEN + r"(?P<addr>" + _ADDR + r")", re.MULTILINE)
# "...the following recipients...:" followed by bare local parts (AOL screen names).
_BARE_NAMES = re.compile(r"recipients?[^\n]*:[ \t]*\n((?:[ \t]+[A-Za-z0-9._+-]+[ \t]*\n)+)", re.IGNORECASE)
_BAD_LOCAL = re.compile(r"\.\.|^\.|\.@")
# Where the report ends and the returned copy of our mail begins.
_RETURNED = re.compile(
    r"^[ \t|>-]*(?:-{2,}|={2,}|\*{2,}|_{2,})?[ \t]*(?:"
    r"below this line is a copy|this is a copy of|original message follows|original message (?:is )?(?:below|attached|details|headers)|"
    r"original message ?-{2,}|returned mail follows|"
    r"message text follows|copy of (?:the|your) message|unsent message|"
    r"undelivered message follows|your message reads|forwarded message|message headers follow|"
    r"original mail|header of the original|returned message|text of the (?:original )?message|"
    r"message removed|message headers? follows?|start of returned message"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_HEADERS_BLOCK = re.compile(r"^(?:Received|Return-Path|Message-ID|From|Date):[ \t]", re.IGNORECASE | re.MULTILINE)
FAILURE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status )?notification|delivery fail|failure notice|"
    r"returned mail|mail delivery|could not be delivered|non[- ]?delivery|nondeliverable|"
    r"delivery problem|mail system error|mail failure|failed mail|failure notification|returned to sender|delivery report|not delivered|"
    r"\bbounce|permanent error|warning: could not send|delayed mail|delivery delayed|"
    r"message status|unzustellbar|unable to deliver|user unknown|rejected",
    re.IGNORECASE,
)
_FAILURE_TEXT = re.compile(
    r"could not be delivered|couldn't be delivered|was not delivered|wasn't able to deliver|"
    r"unable to deliver|undeliverable|delivery (?:has )?failed|permanent(?:ly)? (?:fatal )?error|"
    r"user unknown|unknown user|no such (?:user|mailbox|address)|mailbox unavailable|"
    r"did not reach|delivery to the following recipient|following address(?:es)? (?:had|failed)|"
    r"could not deliver|not be delivered|has not (?:yet )?been delivered|undeliverable mail|"
    r"returned because|message was undeliverable|failed permanently|failed recipient|"
    r"did not receive a copy|delivery has been delayed|delivery attempts|mail delivery failed|"
    r"is not a valid mailbox|recipient address rejected|was (?:automatically )?rejected|"
    r"could not be reached|message was not accepted|unrouteable|nicht zugestellt",
    re.IGNORECASE,
)
_WARNING = re.compile(
    r"delivery (?:status )?notification \(delay\)|\bwarning\b.{0,60}(?:deliver|undelivered|"
    r"could not send)|has not yet been delivered|not yet been delivered|will (?:continue|keep) "
    r"(?:trying|to try)|still trying|delivery has been delayed|is delayed|delayed mail|"
    r"will retry|retry (?:until|for)|attempts will continue|no action is required on your part",
    re.IGNORECASE,
)
_SYSTEM_LOCALS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon",
                  "mail.delivery.system", "maildelivery", "mailadmin")
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_QUOTED_MSGID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def analyse_bounce(msg: ParsedMessage, raw: bytes, *, _depth: int = 0) -> Bounce | None:
    """A Bounce when the message reports failed delivery, else None."""
    dsn = _delivery_status(msg)
    if dsn is None and _depth == 0:
        nested = _forwarded_report(msg)
        if nested is not None:
            return nested
    original = _original_message_id(msg, raw)
    if dsn is not None:
        addresses, kind, diagnostic = dsn
        if addresses:
            return Bounce(addresses, kind, original, "dsn", diagnostic)
    if not _looks_like_bounce(msg, dsn is not None):
        return None
    report = _report_region(msg.text)
    addresses = _report_addresses(report, msg)
    kind = TEMPORARY if _WARNING.search(msg.subject + "\n" + report[:3000]) else PERMANENT
    diagnostic = _diagnostic(report)
    return Bounce(addresses, kind, original, "text", diagnostic)


def _forwarded_report(msg: ParsedMessage) -> Bounce | None:
    """Some gateways wrap the real multipart/report in a message/rfc822 part."""
    for attachment in msg.attachments:
        head = attachment.payload[:8192].lower()
        if attachment.content_type == "message/rfc822" and b"multipart/report" in head:
            try:
                inner = parse_message(attachment.payload)
            except ParseError:
                return None
            return analyse_bounce(inner, attachment.payload, _depth=1)
    return None


def is_report(msg: ParsedMessage) -> bool:
    """True for multipart/report report-type=delivery-status (RFC 3464)."""
    ctype = msg.header("content-type").lower()
    return msg.content_type == "multipart/report" and "delivery-status" in ctype


def _delivery_status(msg: ParsedMessage) -> tuple[tuple[str, ...], str, str] | None:
    blocks = [
        a.payload for a in msg.attachments
        if a.content_type in ("message/delivery-status", "message/global-delivery-status")
    ]
    if not blocks:
        return None
    addresses: list[str] = []
    kinds: list[str] = []
    diagnostics: list[str] = []
    for payload in blocks:
        for fields in _field_blocks(repair_8bit(payload.decode("utf-8", "surrogateescape"))):
            action = fields.get("action", "").lower()
            status = fields.get("status", "")
            if action.startswith(("failed", "delayed")):
                kind = TEMPORARY if action.startswith("delayed") else PERMANENT
            elif not action and status.startswith(("5", "4")):
                kind = TEMPORARY if status.startswith("4") else PERMANENT
            else:
                continue
            recipient = fields.get("original-recipient") or fields.get("final-recipient") or ""
            addr = _typed_address(recipient) or _typed_address(fields.get("final-recipient", ""))
            if addr and not _BAD_LOCAL.search(addr) and addr.lower() not in {a.lower() for a in addresses}:
                addresses.append(addr)
            kinds.append(kind)
            detail = fields.get("diagnostic-code") or status
            if detail:
                diagnostics.append(detail)
    kind = PERMANENT if PERMANENT in kinds or not kinds else TEMPORARY
    return tuple(addresses), kind, "; ".join(diagnostics)[:500]


def _field_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            current.setdefault(last, value.strip())
    if current:
        blocks.append(current)
    return blocks


def _typed_address(value: str) -> str:
    """The address of an RFC 3464 "rfc822; user@host" field, as we send to it (IDNA domain)."""
    kind, _, addr = value.rpartition(";")
    addr = (addr or value).strip()
    if kind.strip().lower() == "utf-8":
        addr = _UTF8_ESCAPE.sub(lambda m: _char(m.group(1)), addr)
    match = _TYPED_ADDR_RE.search(addr)
    if not match:
        return ""
    return transport_address(match.group(0)) or match.group(0)


def _char(hex_digits: str) -> str:
    code = int(hex_digits, 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "?"


def _looks_like_bounce(msg: ParsedMessage, has_dsn_part: bool) -> bool:
    if has_dsn_part or is_report(msg):
        return True
    system = is_system_address(msg.from_addr) or not msg.from_addr
    subject_hit = bool(FAILURE_SUBJECT.search(msg.subject))
    report = _report_region(msg.text)[:5000]
    text_hit = bool(_FAILURE_TEXT.search(report))
    if subject_hit and text_hit:
        return True
    if not system:
        return False
    # A daemon writing in a language we have no phrases for still lists the
    # failed recipients on lines of their own, or returns our mail.
    returned = any(a.content_type in _ORIGINAL_TYPES for a in msg.attachments)
    return subject_hit or text_hit or returned or bool(_LINE_ADDR.search(report))


def is_system_address(addr: str) -> bool:
    """MAILER-DAEMON, postmaster and friends: senders that never read replies."""
    local = addr.lower().partition("@")[0]
    return local.startswith(_SYSTEM_LOCALS)


def _report_region(text: str) -> str:
    """The failure report, without the copy of the original message that follows it."""
    cut = len(text)
    match = _RETURNED.search(text)
    if match:
        cut = match.start()
    headers = _HEADERS_BLOCK.search(text, 0, cut)
    if headers and headers.start() > 0:
        cut = headers.start()
    return text[:cut]


def _report_addresses(report: str, msg: ParsedMessage) -> tuple[str, ...]:
    # The bounce is addressed to the sender of the failed mail: never report them.
    ignore = {msg.from_addr} | {a for _, a in msg.to} | {a for _, a in msg.cc}
    strong: list[str] = []
    for match in _LINE_ADDR.finditer(report):
        strong.append(match.group("addr"))
    for match in _FIELD_ADDR.finditer(report):
        if not _NOT_RECIPIENT_LABEL.match(match.group("label")):
            strong.append(match.group("addr"))
    for regex in (_LABELLED_ADDR, _SMTP_REPLY_ADDR):
        strong.extend(match.group("addr") for match in regex.finditer(report))
    found = _clean(strong, ignore)
    if not found and "@" in msg.from_addr:
        domain = msg.from_addr.partition("@")[2]
        for match in _BARE_NAMES.finditer(report):
            found += _clean([f"{name}@{domain}" for name in match.group(1).split()], ignore)
    if not found:
        # Free-form reports ("unable to deliver to x for the following reason"):
        # any address left in the report itself is a failed recipient.
        found = _clean(_ADDR_RE.findall(report), ignore)
    return found


def _clean(candidates: list[str], ignore: set[str]) -> tuple[str, ...]:
    found: list[str] = []
    seen: set[str] = set()
    for addr in candidates:
        addr = addr.strip(".'\"")
        low = addr.lower()
        if low in seen or low in ignore or is_system_address(low) or _BAD_LOCAL.search(low):
            continue
        seen.add(low)
        found.append(addr)
    return tuple(found)


def _diagnostic(report: str) -> str:
    for line in report.splitlines():
        if _STATUS.search(line) or _FAILURE_TEXT.search(line):
            return line.strip()[:300]
    return ""


def _original_message_id(msg: ParsedMessage, raw: bytes) -> str | None:
    for attachment in msg.attachments:
        if attachment.content_type in _ORIGINAL_TYPES:
            text = attachment.payload[:65536].decode("utf-8", "replace")
            match = _QUOTED_MSGID.search(text)
            if match:
                return first_msgid(match.group(1)) or None
    text = msg.text
    match = _QUOTED_MSGID.search(text)
    if match:
        return first_msgid(match.group(1)) or None
    body = raw.partition(b"\n\n")[2][:200000].decode("latin-1")
    match = _QUOTED_MSGID.search(body)
    return first_msgid(match.group(1)) or None if match else None
