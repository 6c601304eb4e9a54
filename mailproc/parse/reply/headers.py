"""Outlook-style header blocks ("From: / Sent: / To: / Subject:") that head a quoted mail, told
from fields the person writes or shows: a booking's "From: Berlin / To: Lisbon", a message's
source with its transport's fields."""

from __future__ import annotations

import re

from mailproc.parse.reply import patterns as P
from mailproc.parse.reply.patterns import is_field

TIME = re.compile(r"(?<!\d)\d{1,2}[:：]\d{2}(?!\d)")     # 10:15, not a version (2.10) or an IP
# "Label: Name <address>": one short word and an address in brackets.
LABELLED_ADDRESS = re.compile(r"^\s*[*_]?[^\W\d_]{1,12}[*_]?\s*[:：]\s*[^<>\[\]\n]{0,80}"
                               r"[<\[](?:mailto:)?[^<>\[\]\s]+@[^<>\[\]\s]+[>\]]\s*$")

_INLINE_FIELD = re.compile(
    r"\s[*_]?(%s)[*_]?\s*:\s" % "|".join("(?P<%s>%s)" % (r, n) for r, n in P.HEADER_FIELDS.items()),
    re.IGNORECASE,
)


def inline_fields(line: str) -> set[str]:
    found = set()
    for m in _INLINE_FIELD.finditer(line):
        found.update(role for role in P.HEADER_FIELDS if m.group(role))
    return found


def header_block(lines: list[str], i: int) -> int:
    """Length of an Outlook-style From/Sent/To/Subject block starting at line i, or 0: not a
    message's source the person shows, whose transport's fields ("Received:",
    "Authentication-Results:") no client quotes."""
    n = _header_block(lines, i) or _more_header_block(lines, i)
    return 0 if n and _shown_source(lines, i, i + n) else n


def _more_header_block(lines: list[str], i: int) -> int:
    """A block in the languages whose labels are common words (MORE_HEADER_FIELDS): every line a
    field, three of From/Sent/To/Subject, the Sent line with its time, an address in it or in a
    "Label: Name <address>" line right above (a From label we do not know)."""
    roles: dict[str, int] = {}
    j = i
    while j < len(lines) and j < i + 8 and lines[j].strip():
        m = P.MORE_FIELD_LINE.match(lines[j].strip())
        if not m:
            break
        roles.setdefault(next(r for r in P.MORE_HEADER_FIELDS if m.group(r)), j)
        j += 1
    if len({"from", "sent", "to", "subject"} & set(roles)) < 3 or "sent" not in roles \
            or not TIME.search(lines[roles["sent"]]):
        return 0
    above = lines[i - 1] if i else ""
    if not any(P.EMAIL.search(lines[n]) for n in range(i, j)) and (
            "from" in roles or not LABELLED_ADDRESS.match(above)):
        return 0
    return j - i


def _header_block(lines: list[str], i: int) -> int:
    roles: set[str] = set()
    j = i
    continuation = 0
    while j < len(lines) and j < i + 12:
        line = lines[j].strip()
        if not line:
            break
        role = is_field(line)
        if role:
            roles.add(role)
            # Some clients run the fields together on one line: "From: a Date: b".
            roles.update(inline_fields(line))
            continuation = 0
        elif j == i:
            return 0
        else:
            continuation += 1
            if continuation > 2:
                break
        j += 1
    # Trailing continuation lines after the last field may be the start of the quoted body; keep them
    # out unless they end the block (wrapped addresses usually precede "Sent:").
    while j > i and not is_field(lines[j - 1].strip()) and continuation:
        j -= 1
        continuation -= 1
    if len(roles) < 2:
        if roles == {"from"} and j - i <= 2 and P.FROM_WITH_ADDRESS.match(lines[i]):
            return j - i
        return 0
    if "from" in roles or {"sent", "to"} <= roles or {"sent", "subject"} <= roles or {"to", "subject"} <= roles:
        # A client's header names an address or the time it was sent: a letter's or an order's
        # fields ("Kepada: / Tarikh: 4 Mac", "Od: Praha / Kam: Brno / Datum: 3. 3.") do not.
        if not any(P.EMAIL.search(lines[n]) or TIME.search(lines[n]) for n in range(i, j)):
            return 0
        return 0 if _announced_fields(lines, i, j, roles) else j - i
    return 0


def is_from(line: str) -> bool:
    m = P.MORE_FIELD_LINE.match(line)
    return m is not None and m.group("from") is not None


def _announced_fields(lines: list[str], i: int, j: int, roles: set[str]) -> bool:
    """Fields the person announced ("I need to change my booking:" over "From: Berlin / To:
    Lisbon / Date: ..."), none of them naming an address, not all four of a client's header:
    their words, not a quote's header."""
    if {"from", "sent", "to", "subject"} <= roles:
        return False
    k = i - 1
    while k >= max(0, i - 12) and lines[k].strip() and not P.RULE_LINE.match(lines[k].strip()) \
            and not lines[k].rstrip().endswith((":", "：")):
        k -= 1      # to the paragraph's first line ("Version: 4.2.1" over "Date: ...")
    if any(P.EMAIL.search(lines[n]) for n in range(max(k, 0), j)):
        return False
    while k >= 0 and (not lines[k].strip() or P.RULE_LINE.match(lines[k].strip())):
        k -= 1
    return k >= 0 and lines[k].rstrip().endswith((":", "："))


_TRANSPORT_FIELD = re.compile(r"^\s*(?:received:\s*(?:from|by)\s|(?:return-path|authentication-results"
                              r"|dkim-signature|arc-seal|delivered-to)\s*:)", re.IGNORECASE)


def _shown_source(lines: list[str], i: int, j: int) -> bool:
    """The paragraph holding lines i..j has a transport's field and a line announces it."""
    start, end = i, j
    while start > 0 and lines[start - 1].strip():
        start -= 1
    while end < len(lines) and lines[end].strip():
        end += 1
    return P.announced(lines, start) and any(_TRANSPORT_FIELD.match(lines[n]) for n in range(start, end))
