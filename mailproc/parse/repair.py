"""Mail the standard parsers misread, read again as its sender meant it: headers in RFC 822's
obsolete syntax, a boundary in angle brackets. Each repair says what it did, as a defect."""

from __future__ import annotations

import email
import email.message
import re

_OBS_HEADER = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
_BRACKETED = re.compile(rb'(boundary\s*=\s*")(<[^"\r\n]*>)(")', re.IGNORECASE)


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    head, sep, body = raw.partition(b"\n\n")
    if not sep:
        head, sep, body = raw.partition(b"\r\n\r\n")
    return head, sep, body


def reparse_obsolete(raw: bytes, defects: list[str]) -> email.message.Message | None:
    """Retry with RFC 822 obsolete "Name  :" header syntax, which the parsers skip."""
    head, sep, body = _split(raw)
    fixed = _OBS_HEADER.sub(rb"\1:", head)
    if fixed == head:
        return None
    defects.append("obsolete header syntax (space before colon) repaired")
    return email.message_from_bytes(fixed + sep + body)


BRACKETED = "multipart boundary in angle brackets read as declared"   # its defect


def bracketed_boundary(raw: bytes, msg: email.message.Message, defects: list[str]) -> bytes | None:
    """A multipart boundary in angle brackets (boundary="<<001-3e1d>>", an old Exchange's):
    the stdlib reads one pair of brackets off as an address's, finds no delimiter line, and
    the whole body becomes one part: the words are lost in an attachment. The bytes with a
    pair more, which it reads off, so the declared boundary is found; None when the message
    has no such boundary or was read as a multipart anyway."""
    if msg.is_multipart() or msg.get_content_maintype() != "multipart":
        return None
    head, sep, body = _split(raw)
    fixed = _BRACKETED.sub(rb"\1<\2>\3", head, count=1)
    if fixed == head:
        return None
    defects.append(BRACKETED)
    return fixed + sep + body
