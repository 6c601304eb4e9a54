"""The wire bytes of a plain message written directly: the same bytes as the stdlib's.

An acknowledgement or a notification is a few ASCII headers and one or two text bodies. The
stdlib's EmailMessage parses every header it is given through its header registry and then
folds it again, about 2.5 ms per message in the ordered step (issue #18). Here such a
message is written in well under a millisecond, byte for byte as `build_message` would have
the stdlib write it (a test holds every case to that); anything else (a non-ASCII header,
which needs RFC 2047 words, a display name that needs quoting, a word too long to fold,
attachments) returns None and goes the stdlib's way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.contentmanager import _encode_text
from email.policy import Policy

MAX_LINE = 78
# A display name written bare: atext and single spaces (no specials, nothing to quote).
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_PRINTABLE = re.compile(r"^[\x21-\x7e]+(?: [\x21-\x7e]+)*$")
_PLAIN_ID = re.compile(r"^<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+>$")
# String-valued headers build_message writes whose values the stdlib keeps as they are.
_UNSTRUCTURED = frozenset({"subject", "date", "message-id", "in-reply-to", "references",
                           "auto-submitted"})

Header = tuple[str, "str | Sequence[tuple[str, str]]"]


def message_bytes(headers: Sequence[Header], text: str, text_cte: str | None, html: str | None,
                  html_cte: str | None, boundary: str, policy: Policy) -> bytes | None:
    """`headers` in order, a value either a string or (display name, address) pairs; then
    the text body and the HTML alternative, each with the transfer encoding asked for (None:
    the stdlib's choice). None when the stdlib must write it."""
    lines = []
    for name, value in headers:
        if isinstance(value, str):
            # The stdlib types some headers (a Message-ID, Content-*, Resent-Date ...) and
            # rewrites odd values of theirs; only ours and X- headers are written here.
            if name.lower() not in _UNSTRUCTURED and not name.lower().startswith("x-"):
                return None
            if name == "Message-ID" and not _PLAIN_ID.match(value):
                return None
            folded = _fold(name, value)
        else:       # an address list folds between addresses its own way: not done here
            folded = _fold(name, _addresses(value), split=False)
        if folded is None:
            return None
        lines.append(folded)
    text_cte, text_body = _encode_text(text, "utf-8", text_cte, policy)
    text_part = ['Content-Type: text/plain; charset="utf-8"',
                 f"Content-Transfer-Encoding: {text_cte}"]
    if html is None:
        lines += [*text_part, "MIME-Version: 1.0", "", text_body]
        return _wire(lines, policy)
    html_cte, html_body = _encode_text(html, "utf-8", html_cte, policy)
    content_type = _fold("Content-Type", f'multipart/alternative; boundary="{boundary}"',
                         whole=False)
    if content_type is None:
        return None
    lines += ["MIME-Version: 1.0", content_type, "", f"--{boundary}", *text_part, "", text_body,
              f"--{boundary}", 'Content-Type: text/html; charset="utf-8"',
              f"Content-Transfer-Encoding: {html_cte}", "MIME-Version: 1.0", "", html_body,
              f"--{boundary}--", ""]
    return _wire(lines, policy)


def _addresses(pairs: Sequence[tuple[str, str]]) -> str | None:
    out = []
    for name, address in pairs:
        if not address.isascii() or (name and not _PLAIN_NAME.match(name)):
            return None
        out.append(f"{name} <{address}>" if name else address)
    return ", ".join(out)


def _fold(name: str, value: str | None, whole: bool = True, split: bool = True) -> str | None:
    """`Name: value` folded at spaces into lines of at most 78 characters, as the stdlib folds
    plain ASCII; None when the value is not plain printable ASCII or a word does not fit.
    A value that fits on a line of its own goes there whole (`whole`: the stdlib does so for
    an unstructured or address header, not for a Content-Type's parameters); one that does
    not is split between words (unless not `split`: None)."""
    if value is None or not _PRINTABLE.match(value) or "=?" in value:
        return None
    if len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}"
    if whole and 1 + len(value) <= MAX_LINE:
        return f"{name}:\n {value}"
    if not split:
        return None
    words = value.split(" ")
    lines, line = [], f"{name}: {words[0]}"
    for word in words[1:]:
        if len(line) + 1 + len(word) <= MAX_LINE:
            line += " " + word
        else:
            lines.append(line)
            line = " " + word
    lines.append(line)
    if any(len(part) > MAX_LINE for part in lines):
        return None
    return "\n".join(lines)


def _wire(lines: list[str], policy: Policy) -> bytes:
    # Bodies come from _encode_text with "\n" line ends; the policy says what goes on the wire.
    text = "\n".join(lines)
    return text.replace("\n", policy.linesep).encode("ascii")
