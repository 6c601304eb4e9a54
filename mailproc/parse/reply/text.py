"""Split a plain-text body into new text and quoted history by marking each line, then reading the marks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailproc.parse.reply import patterns as P

# Line marks (talon's idea): t text, e empty, m ">"-quoted, s quote header/splitter, f forward marker,
# r rule line, h hard quote boundary from HTML structure, M mobile "Sent from" line, c code.
_HTML_MARK = re.compile(r"\x00(\w+)\x00")
HARD_HTML_MARKS = frozenset({"quote", "stop"})
WEAK_HTML_MARKS = frozenset({"hr", "rule"})
_MAX_HEADER_JOIN = 6


@dataclass(frozen=True)
class QuoteSplit:
    """New lines, quoted lines, and whether the body forwards mail (then nothing is quoted)."""

    new: list[str]
    quoted: list[str]
    forward: bool


def _is_field(line: str) -> str | None:
    m = P.FIELD_LINE.match(line)
    if not m:
        return None
    for role in P.HEADER_FIELDS:
        if m.group(role):
            return role
    return None


_INLINE_FIELD = re.compile(
    r"\s[*_]?(%s)[*_]?\s*:\s" % "|".join("(?P<%s>%s)" % (r, n) for r, n in P.HEADER_FIELDS.items()),
    re.IGNORECASE,
)


def _inline_fields(line: str) -> set[str]:
    found = set()
    for m in _INLINE_FIELD.finditer(line):
        found.update(role for role in P.HEADER_FIELDS if m.group(role))
    return found


def _header_block(lines: list[str], i: int) -> int:
    """Length of an Outlook-style From/Sent/To/Subject block starting at line i, or 0."""
    roles: set[str] = set()
    j = i
    continuation = 0
    while j < len(lines) and j < i + 12:
        line = lines[j].strip()
        if not line:
            break
        role = _is_field(line)
        if role:
            roles.add(role)
            # Some clients run the fields together on one line: "From: a Date: b".
            roles.update(_inline_fields(line))
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
    while j > i and not _is_field(lines[j - 1].strip()) and continuation:
        j -= 1
        continuation -= 1
    if len(roles) < 2:
        if roles == {"from"} and j - i <= 2 and P.FROM_WITH_ADDRESS.match(lines[i]):
            return j - i
        return 0
    if "from" in roles or {"sent", "to"} <= roles or {"sent", "subject"} <= roles or {"to", "subject"} <= roles:
        return j - i
    return 0


_ON_SENT = re.compile(r"^[\s*_-]*On\s.{0,200}\d.{0,200}\ssent\s*:\s*$")


def _is_attribution(text: str, next_is_quote: bool) -> bool:
    text = text.strip()
    if not text or len(text) > 400:
        return False
    if P.DASHED_WROTE.match(text) or _ON_SENT.match(text):
        return True
    verb = None
    for verb in P.VERB.finditer(text):
        pass
    if verb is None:
        return False
    tail = text[verb.end():].strip(" -*")
    ends_colon = text.rstrip(" -*").endswith((":", "："))
    if tail and not ends_colon:
        return False
    if len(tail) > 160:
        return False
    # "Am <date> schrieb Name:" puts the verb first; a sentence like "as I wrote on 12/03:" does too,
    # so a verb followed by more words needs an opening word or an address.
    rest = tail.strip(":： ")
    if rest and not (P.ATTRIBUTION_START.match(text) or P.EMAIL.search(text) or P.DATE_HINT.match(text)):
        return False
    # Only a name (or address) may follow the verb: "schrieb Max <max@x.de>:", never a clause.
    if rest and not P.EMAIL.search(rest):
        if len(rest.split()) > 6 or verb.group().lower() in ("wrote", "writes"):
            return False
    has_date = P.DATE_HINT.search(text) is not None
    has_email = P.EMAIL.search(text) is not None
    if has_date or has_email:
        return True
    if P.ATTRIBUTION_START.match(text) and len(text) < 200:
        return True
    # "John Smith wrote:" with nothing else is trusted only above a ">" quote.
    return next_is_quote and ends_colon and len(text.split()) <= 8


def _next_nonempty(marks: list[str], lines: list[str], i: int) -> int | None:
    for j in range(i, len(lines)):
        if lines[j].strip():
            return j
    return None


def split_inline_attribution(lines: list[str]) -> list[str]:
    """Put an attribution that shares a line with reply text on its own line."""
    out: list[str] = []
    for line in lines:
        if "wrote" in line or "On " in line:
            m = P.INLINE_ATTRIBUTION.search(line)
            if m and m.start() > 0 and line[: m.start()].strip() and not P.QUOTE_PREFIX.match(line):
                out.append(line[: m.start()].rstrip())
                out.append(line[m.start():])
                continue
        out.append(line)
    return out


def mark_lines(lines: list[str]) -> list[str]:
    """One mark per line; headers spanning several lines mark all of them."""
    # Non-breaking and zero-width spaces (French "a écrit :", pasted headers) only get in the way of matching.
    lines = [line.replace("\xa0", " ").replace("\u200b", "") for line in lines]
    n = len(lines)
    marks = ["t"] * n
    in_code = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("```"):
            marks[i] = "c"
            in_code = not in_code
            continue
        if in_code:
            marks[i] = "c"
        elif not stripped:
            marks[i] = "e"
        elif P.QUOTE_PREFIX.match(line):
            marks[i] = "m"
        elif "\x00" in line:
            hm = _HTML_MARK.search(line)
            name = hm.group(1) if hm else ""
            marks[i] = "h" if name in HARD_HTML_MARKS else "r" if name in WEAK_HTML_MARKS else "e"
    i = 0
    while i < n:
        if marks[i] != "t":
            i += 1
            continue
        line = lines[i]
        stripped = line.strip()
        if P.RULE_LINE.match(stripped):
            marks[i] = "r"
            i += 1
            continue
        if P.FORWARD_MARKER.match(stripped):
            marks[i] = "f"
            i += 1
            continue
        if P.ORIGINAL_MESSAGE.match(stripped):
            marks[i] = "s"
            i += 1
            continue
        block = _header_block(lines, i)
        if block:
            for j in range(i, i + block):
                marks[j] = "s"
            i += block
            continue
        span = _attribution_span(lines, marks, i)
        if span:
            for j in range(i, i + span):
                marks[j] = "s"
            i += span
            continue
        if P.MOBILE_LINE.match(stripped) and not P.MOBILE_FALSE.search(stripped):
            marks[i] = "M"
        i += 1
    return marks


def _attribution_span(lines: list[str], marks: list[str], i: int) -> int:
    line = lines[i].strip()
    if len(line) > 400:
        return 0
    nxt = _next_nonempty(marks, lines, i + 1)
    next_is_quote = nxt is not None and marks[nxt] == "m"
    if P.VERB.search(line) or line.endswith((":", "：")) or P.DASHED_WROTE.match(line) or _ON_SENT.match(line):
        if _is_attribution(line, next_is_quote):
            return 1
        if (P.DATE_ADDRESS_HEADER.match(line) or P.FROM_WORD_HEADER.match(line)) and (
            next_is_quote or line.endswith((":", "："))
        ):
            return 1
        if len(line) <= 250 and P.ADDRESS_COLON_END.search(line) and P.YEAR_OR_TIME.search(line):
            return 1
    elif P.DATE_ADDRESS_HEADER.match(line) and next_is_quote:
        return 1
    # Attributions wrapped over several lines: "On <date> Name <\naddress> wrote:".
    if not (P.ATTRIBUTION_START.match(line) or P.DATE_HINT.match(line)) or not P.DATE_HINT.search(line):
        return 0
    joined = line
    for j in range(i + 1, min(len(lines), i + _MAX_HEADER_JOIN)):
        part = lines[j].strip()
        if marks[j] not in ("t", "e", "m") or len(joined) > 400:
            return 0
        if not part:
            continue
        if marks[j] == "m":
            part = part.lstrip("> ")
        joined = joined + " " + part
        if P.VERB.search(part) or part.endswith((":", "：")):
            after = _next_nonempty(marks, lines, j + 1)
            quote_next = after is not None and marks[after] == "m"
            if _is_attribution(joined, quote_next):
                return j - i + 1
            if P.DATE_ADDRESS_HEADER.match(joined) and (quote_next or joined.endswith(":")):
                return j - i + 1
            return 0
    return 0


def _resolve(lines: list[str], marks: list[str]) -> list[str]:
    """Settle marks that depend on their neighbours: rules, HTML boundaries, re-wrapped quote lines."""
    marks = list(marks)
    n = len(marks)
    for i in range(n - 1, -1, -1):
        if marks[i] in ("r", "h"):
            j = _next_nonempty(marks, lines, i + 1)
            if j is None:
                marks[i] = "e"
                continue
            following = marks[j]
            # The rule before Outlook's header, Gmail's quote div before "Forwarded message": the
            # mark joins whatever it introduces.
            if following == "t" and _is_field(lines[j].strip()):
                # A rule right above "From: ..." starts the quote even when the header is one line.
                marks[i] = "s"
            elif following == "f":
                marks[i] = "f" if marks[i] == "r" else "e"
            elif marks[i] == "h" or following in ("s", "h", "m"):
                marks[i] = "s"
            elif "\x00hr\x00" in lines[i] and _long_block_follows(lines, j) and any(k == "t" for k in marks[:i]):
                # An HTML <hr> between what was written and a long block is how webmail separates history;
                # a short block under a rule is a signature or footer.
                marks[i] = "s"
            else:
                marks[i] = "t" if "\x00" not in lines[i] else "e"
    # A client that re-wrapped a quoted paragraph leaves a short unquoted tail between ">" lines.
    for i in range(1, n - 1):
        if marks[i] == "t" and marks[i - 1] == "m":
            j = i
            while j < n and j < i + 2 and marks[j] == "t":
                j += 1
            if j < n and marks[j] == "m" and _looks_rewrapped(lines[i - 1], lines[i:j]):
                for k in range(i, j):
                    marks[k] = "m"
    return marks


def _long_block_follows(lines: list[str], start: int, minimum: int = 5) -> bool:
    count = 0
    for line in lines[start:]:
        if line.strip() and "\x00" not in line:
            count += 1
            if count >= minimum:
                return True
    return False


def _looks_rewrapped(previous: str, run: list[str]) -> bool:
    body = previous.lstrip(" >")
    for line in run:
        s = line.strip()
        if "http" in s or s.startswith(("(", "_", "<", "[")) or s.endswith((">", ")", "]")):
            continue
        if len(body) >= 60 and s[:1].islower():
            continue
        return False
    return True


_INTERLEAVED = re.compile(r"m[me]*[tcM][tecM]*[sh]?e*m")


def split_quote(lines: list[str], marks: list[str]) -> QuoteSplit:
    """Read the marks: where the quoted history starts and ends, and what around it is new."""
    marks = _resolve(lines, marks)
    seq = "".join(marks)
    n = len(lines)
    first_s = next((i for i, k in enumerate(seq) if k in "sh"), None)
    first_f = seq.find("f")
    first_mobile = seq.find("M")
    if first_f >= 0 and (first_s is None or first_f < first_s) and (first_mobile < 0 or first_mobile > first_f):
        return QuoteSplit(lines, [], True)
    if first_s is not None and not any(k in "tcM" for k in seq[:first_s]):
        end = first_s
        while end < n and seq[end] in "sh":
            end += 1
        nxt = _next_nonempty(marks, lines, end)
        if nxt is not None and seq[nxt] == "m":
            # Quote on top, reply below it (bottom-posting).
            stop = nxt
            while stop < n and seq[stop] in "me":
                stop += 1
            rest = split_quote(lines[stop:], mark_lines(lines[stop:]))
            return QuoteSplit(rest.new, lines[:stop] + rest.quoted, rest.forward)
        # A header with nothing above it is pasted or forwarded content, not history.
        seq = seq[:first_s] + "t" * (end - first_s) + seq[end:]
        marks = list(seq)
        first_s = next((i for i, k in enumerate(seq) if k in "sh"), None)
        first_f = seq.find("f")
        if first_f >= 0 and (first_s is None or first_f < first_s):
            return QuoteSplit(lines, [], True)
    if _INTERLEAVED.search(seq):
        last_new = max(i for i, k in enumerate(seq) if k in "tcM")
        first_quote = min(i for i, k in enumerate(seq) if k in "msh")
        if last_new > first_quote:
            return QuoteSplit(lines[: last_new + 1], lines[last_new + 1:], False)
    cut = None
    if first_mobile >= 0 and (first_s is None or first_mobile < first_s):
        if _next_nonempty(marks, lines, first_mobile + 1) is not None:
            return QuoteSplit(lines[: first_mobile + 1], lines[first_mobile + 1:], False)
    if first_s is not None:
        cut = first_s
        last_q = max(i for i, k in enumerate(seq) if k in "mshf")
        between = seq[cut:last_q + 1]
        tail = seq[last_q + 1:]
        if "m" in between and not any(k in "tcM" for k in between) and any(k in "tc" for k in tail):
            return QuoteSplit(lines[:cut] + lines[last_q + 1:], lines[cut:last_q + 1], False)
        return QuoteSplit(lines[:cut], lines[cut:], False)
    # No header at all: only a trailing or leading block of several ">" lines is history.
    m = re.search(r"m[me]*$", seq)
    if m and seq[: m.start()].strip("e") and seq.count("m", m.start()) >= 2:
        return QuoteSplit(lines[: m.start()], lines[m.start():], False)
    m = re.match(r"^e*m[me]*", seq)
    if m and seq.count("m", 0, m.end()) >= 2 and "m" not in seq[m.end():]:
        return QuoteSplit(lines[m.end():], lines[: m.end()], False)
    return QuoteSplit(lines, [], False)
