"""Large base64 bodies lifted out of a message's bytes while the stdlib parser reads it.

The stdlib's feedparser reads a message line by line in Python: a 50 MB attachment is
650,000 lines and seconds of CPU, though nothing but its bytes is wanted from them. Each
base64 body of at least LIFT_BYTES is swapped for one placeholder line before parsing and
put back into its part afterwards, so the parser walks the few lines around it. Only bodies
that are plainly base64 (its alphabet and line breaks, up to the next boundary line) are
lifted; when the parsed tree does not give every placeholder back exactly once, the caller
parses the original bytes the slow way.
"""

from __future__ import annotations

import binascii
import email.message
import re
import secrets

LIFT_BYTES = 1_000_000
_CTE = b"content-transfer-encoding:"
_BASE64_VALUE = re.compile(rb"[ \t]*base64[ \t]*\r?\n(?![ \t])")
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n \t"


def lift(raw: bytes, *, at_least: int = LIFT_BYTES) -> tuple[bytes, dict[str, str]]:
    """(the bytes with each large base64 body replaced by a placeholder, {placeholder: body})."""
    if len(raw) < at_least:
        return raw, {}
    lower = raw.lower()
    nonce = secrets.token_hex(8)
    pieces: list[bytes] = []
    lifted: dict[str, str] = {}
    pos = done = 0
    while (found := lower.find(_CTE, pos)) >= 0:
        pos = found + len(_CTE)
        if found and raw[found - 1:found] != b"\n":       # not a header field's start
            continue
        value = _BASE64_VALUE.match(lower, pos)
        if value is None:
            continue
        start = _body_start(raw, value.end() - 1)
        if start is None:
            break
        end = raw.find(b"\n--", start)
        if end < 0:
            end = len(raw)                                 # the message's last part
        elif end > start and raw[end - 1:end] == b"\r":
            end -= 1                                       # the CRLF is the boundary's
        body = raw[start:end]
        pos = max(pos, end)
        if len(body) < at_least or body.translate(None, _ALPHABET):
            continue
        key = f"mailproc-lifted-{nonce}-{len(lifted)}"
        pieces += [raw[done:start], key.encode("ascii")]
        lifted[key] = body.decode("ascii")
        done = end
    if not lifted:
        return raw, {}
    pieces.append(raw[done:])
    return b"".join(pieces), lifted


def restore(msg: email.message.Message, lifted: dict[str, str]) -> dict[int, bytes] | None:
    """Put each lifted body back into its part; None unless every one went back once.

    Returns the decoded bytes of the parts put back, by part identity, where the stdlib's
    decoding would find no defect in them (binascii skips line breaks in one pass; the
    stdlib joins the lines first); the others decode the stdlib's way, defects noted."""
    left = dict(lifted)
    decoded: dict[int, bytes] = {}
    for part in msg.walk():
        payload = part._payload    # noqa: SLF001 - the parsed payload, as it was read
        if not isinstance(payload, str) or not lifted:
            continue
        if payload.strip() in left:
            body = left.pop(payload.strip())
            part.set_payload(body)
            if _well_formed(body):
                decoded[id(part)] = binascii.a2b_base64(body)
        elif any(key in payload for key in lifted):
            return None
    return None if left else decoded


def _well_formed(body: str) -> bool:
    """Only alphabet and line breaks, padding only at the end, whole 4-character groups."""
    if " " in body or "\t" in body or "=" in body.rstrip().rstrip("="):
        return False
    return (len(body) - body.count("\n") - body.count("\r")) % 4 == 0


def _body_start(raw: bytes, line_end: int) -> int | None:
    """Where the body begins: after the empty line that ends the header block whose field
    ends at `line_end` (the index of its newline)."""
    at = line_end
    while at >= 0:
        following = raw[at + 1:at + 3]
        if following[:1] == b"\n":
            return at + 2
        if following == b"\r\n":
            return at + 3
        at = raw.find(b"\n", at + 1)
    return None
