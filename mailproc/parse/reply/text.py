"""Mark each line of a plain-text body: text, quote, attribution or header, forward, rule, mobile line."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from mailproc.parse.html_text import PRE_FENCE
from mailproc.parse.reply import patterns as P
from mailproc.parse.reply.headers import LABELLED_ADDRESS, TIME, header_block, inline_fields, is_from
from mailproc.parse.reply.notes import notes_table

# Line marks (talon's idea): t text, e empty, m ">"-quoted, s quote header/splitter, f forward marker,
# r rule line, h hard quote boundary from HTML structure, M mobile "Sent from" line, c code.
_HTML_MARK = re.compile(r"\x00(\w+)\x00")
HARD_HTML_MARKS = frozenset({"quote", "stop"})
WEAK_HTML_MARKS = frozenset({"hr", "rule"})
_MAX_HEADER_JOIN = 6


_FIELD_COLON = re.compile(r"[:：]")


def _reply_above_alone(lines: list[str], i: int) -> bool:
    """A help desk's marker stands alone: not announced ("your mails contain:", "the form has
    this text"), and what follows is its notification, not the person's sentence going on in
    lower case."""
    ruled = i > 0 and P.RULE_LINE.match(lines[i - 1]) is not None     # Jira's rule over it
    if P.leads_into(lines, i - 1 if ruled else i) or (
            i > 0 and lines[i - 1].strip() and not ruled and lines[i].strip()[:1] not in "#-=*_"):
        return False
    return not P.line_below(lines, i)[:1].islower()


def _told_of(lines: list[str], i: int) -> bool:
    """The person's sentence leads into line i and goes on under it: "…starts with a line like
    this\n\n>>> Tom <a@b> 03/04/2025 10:12 >>>\n\nfollowed by…"."""
    return P.announced(lines, i) or P.leads_into(lines, i) and P.line_below(lines, i)[:1].islower()


def _names_a_line(text: str) -> bool:
    """Cheap test before REPLY_ABOVE, which every line is asked: it names "this line"."""
    low = text.lower()
    return "line" in low or "zeile" in low or "ligne" in low or "línea" in low or "lijn" in low or "regel" in low


_ON_SENT = re.compile(r"^[\s*_-]*On\s.{0,200}\d.{0,200}\ssent\s*:\s*$")
# Right-to-left and other invisible marks Gmail puts around names and addresses in Hebrew and Arabic.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")


def is_attribution(text: str, next_is_quote: bool) -> bool:
    text = text.strip()
    if not text or len(text) > 400:
        return False
    if P.DASHED_WROTE.match(text) or _ON_SENT.match(text):
        return True
    verb = _last_verb(text)
    if verb is None or _told_by_writer(text, verb):
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
    # "Matti kirjoitti 3.3.2026 klo 10.15:" (Thunderbird fi), "Вы писали 3 марта 2026 г., 10:15:" (The Bat!)
    dated = (ends_colon and rest[:1].isdigit() and len(rest.split()) <= 6 and P.DATE_HINT.search(rest) is not None
             and verb.group().lower() not in ("wrote", "writes"))
    if rest and not (dated or P.ATTRIBUTION_START.match(text) or P.EMAIL.search(text) or P.DATE_HINT.match(text)):
        return False
    # Only a name (or address) may follow the verb: "schrieb Max <max@x.de>:", never a clause;
    # or, after "Name <address> <verb>", the date: "… kirjutas kuupäeval K, 4. märts 2026 kell 10:15:" (et).
    if rest and not P.EMAIL.search(rest) \
            and not _dated_after_address(text, verb, rest, ends_colon, next_is_quote):
        if len(rest.split()) > 6 or verb.group().lower() in ("wrote", "writes"):
            return False
    has_date = P.DATE_HINT.search(text) is not None
    has_email = P.EMAIL.search(text) is not None
    # Thunderbird's everyday verbs head its ">" quote, with the author's address; a customer
    # tells of a colleague's words with them ("Nire lankide Mikelek <mikel@…> hau idatzi zuen
    # atzo:", "这份合同写于2026年3月3日：") over words of their own.
    if P.ADDRESSED_VERB.fullmatch(verb.group()) and not (has_email and next_is_quote) \
            or verb.group() == "写于" and not next_is_quote:
        return False
    if has_date or has_email:
        return True
    if verb.group().lower().endswith("escrit"):
        return False    # Catalan "ha escrit" is everyday prose: Thunderbird's line has a date
    if P.ATTRIBUTION_START.match(text) and len(text) < 200:
        # "On Monday the printer wrote:" over the error it printed: a thing, not a person,
        # wrote it, and no date or address says otherwise; a ">" quote below still does.
        return next_is_quote or not _THING_WROTE.search(text)
    # "John Smith wrote:" with nothing else is trusted only above a ">" quote.
    return next_is_quote and ends_colon and len(text.split()) <= 8


@lru_cache(maxsize=1024)    # asked of the same line by is_attribution and _attribution_span
def _last_verb(text: str) -> re.Match | None:
    verb = None
    for verb in P.VERB.finditer(text):
        pass
    return verb


def _told_by_writer(line: str, verb: re.Match | None) -> bool:
    """"As I wrote on 3/3/26 at 10:15 to <support@…>:": a client's line names the writer, the
    person who writes "I" tells of their own mail (`verb`: the line's last, _last_verb)."""
    return verb is not None and _FIRST_PERSON.search(line, 0, verb.start()) is not None


_FIRST_PERSON = re.compile(r"(?:^|[\s,])(?:I|[Ww]e|[Ii]ch|[Ww]ir)\s+(?:(?:already|have|had|schon|bereits)\s+)?$")
# An article or possessive right before the verb ("the printer wrote", "le serveur a écrit") or,
# German, right after it ("schrieb das Gerät", "schrieb Ihr Kollege Herr Wolf"): what wrote is a
# thing, or someone the person tells of.
_THING_WROTE = re.compile(
    r"\b(?:the|my|our|your|this|its|le|la|les|mon|notre|el|il|lo|het)\s+[^\W\d_]+\s+(?:%s)\s*[:：]?\s*$"
    # or someone named after one: "your colleague Fiona wrote:" (a client writes no "your")
    r"|\b(?:my|our|your|his|her|their)\s+[^\W\d_]+(?:\s+[^\W\d_][\w'’-]*){1,2}\s+(?:%s)\s*[:：]?\s*$"
    r"|\b(?:schrieb|schreibt)\s+(?:das|der|die|mein|meine|unser|unsere|ihr|ihre|dein|deine|sein|seine)"
    r"\s+[^\W\d_]+(?:\s+[^\W\d_][\w.'’-]*){0,3}\s*[:：]?\s*$"
    % (P.WROTE, P.WROTE), re.IGNORECASE)


def _dated_after_address(text: str, verb: re.Match, rest: str, ends_colon: bool,
                         next_is_quote: bool) -> bool:
    """"Name <address> <verb> <date and time>:"; in English only "wrote on …" over ">" lines
    ("'Acme' via Help Center <help@example.com> wrote on 12/06/2024 10:00:", Google Groups):
    "As Sarah <sarah@…> wrote on 3 March at 10:15:" over the person's words is prose."""
    english = verb.group().lower() in ("wrote", "writes")
    return (ends_colon and (not english or next_is_quote and rest[:3].lower() == "on ")
            and len(rest) <= 80
            and _BRACKETED_ADDRESS.search(text, 0, verb.start()) is not None
            and (_YEAR.search(rest) or _SHORT_DATE.search(rest) and next_is_quote)
            and TIME.search(rest) is not None)


def next_nonempty(marks: list[str], lines: list[str], i: int) -> int | None:
    for j in range(i, len(lines)):
        if lines[j].strip():
            return j
    return None


def split_inline_attribution(lines: list[str]) -> list[str]:
    """Put an attribution that shares a line with reply text on its own line."""
    out: list[str] = []
    for line in lines:
        if ("wrote" in line or "On " in line) and line.rstrip().endswith((":", "：")):
            # An attribution is at most ~300 characters: only the line's end is searched (a long
            # line of dashes or of "On 1 " was read once per character before).
            m = P.INLINE_ATTRIBUTION.search(line, max(0, len(line) - 320))
            start = _with_dashes(line, m.start()) if m else 0
            if m and start > 0 and line[:start].strip() and not P.QUOTE_PREFIX.match(line):
                out.append(line[:start].rstrip())
                out.append(line[start:])
                continue
        out.append(line)
    return out


def _with_dashes(line: str, start: int) -> int:
    """Where the attribution starts with the "--" a client put before it ("reply--- On ...")."""
    k = start
    while k > 0 and line[k - 1] in " \t":
        k -= 1
    j = k
    while j > 0 and line[j - 1] == "-":
        j -= 1
    return j if k - j >= 2 else start


def mark_lines(lines: list[str]) -> list[str]:
    """One mark per line; headers spanning several lines mark all of them."""
    # Non-breaking and zero-width spaces (French "a écrit :", pasted headers) only get in the way of matching.
    lines = [line if line.isascii() else _INVISIBLE.sub("", line.replace("\xa0", " ")) for line in lines]
    n = len(lines)
    marks = ["t"] * n
    in_code = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if is_fence(stripped):
            marks[i] = "c"
            in_code = not in_code
            continue
        if in_code:
            marks[i] = "c"
        elif not stripped:
            marks[i] = "e"
        elif P.GROUPWISE_HEADER.match(line) and not _told_of(lines, i):
            marks[i] = "s"
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
        # Cheap tests first: markers are short, "-----Original Message-----" opens with a rule.
        if len(stripped) <= 100 and P.FORWARD_MARKER.match(stripped):
            marks[i] = "f"
            i += 1
            continue
        if stripped[0] in "-=_*~" and (P.ORIGINAL_MESSAGE.match(stripped) or P.DASHED_HEADER.match(stripped)):
            marks[i] = "s"
            i += 1
            continue
        if _names_a_line(stripped) and P.REPLY_ABOVE.match(stripped) and _reply_above_alone(lines, i) \
                and ("t" in marks[:i] or "c" in marks[:i] or "m" in marks):   # not a notification's own
            marks[i] = "s"
            i += 1
            continue
        block = header_block(lines, i) if _FIELD_COLON.search(stripped, 0, 40) else 0
        if block and _shown(lines, i, block):
            i += block     # "the log shows:\n\nFrom: a@b To: c@d Status: rejected": what it shows
            continue
        if block:
            for j in range(i, i + block):
                marks[j] = "s"
            if i and marks[i - 1] == "t" and LABELLED_ADDRESS.match(lines[i - 1]) \
                    and not is_from(stripped):
                marks[i - 1] = "s"     # the block's From under a name we do not know: lv "No:"
            i += block
            continue
        table = notes_table(lines, marks, i) if i else None
        if table:
            for j in range(table[0], table[1] + 1):
                marks[j] = "s"
            i = table[1] + 1
            continue
        span = _attribution_span(lines, marks, i)
        if span:
            for j in range(i, i + span):
                marks[j] = "s"
            if i and marks[i - 1] == "t" and _name_above_address(lines[i - 1], stripped,
                                                                   i < 2 or not lines[i - 2].strip()):
                marks[i - 1] = "s"
            i += span
            continue
        if P.device_line_at(lines, i):
            marks[i] = "M"
        i += 1
    return marks


def is_fence(line: str) -> bool:
    """Where code or a log starts or ends: a Markdown fence, or HTML's <pre>."""
    line = line.strip()
    return line.startswith("```") or line == PRE_FENCE


def _quote_below(lines: list[str], i: int) -> bool:
    j = next_nonempty([], lines, i + 1)
    return j is not None and P.QUOTE_PREFIX.match(lines[j]) is not None


# A date's label, also in the languages where it is a common word ("Dato", "날짜").
_SENT_LINE = re.compile(r"^\s*[*_]?(?:%s|%s|dato|날짜|fecha)[*_]?\s*[:：]" % (
    P.HEADER_FIELDS["sent"], P.MORE_HEADER_FIELDS["sent"]), re.IGNORECASE)


def _shown(lines: list[str], i: int, block: int) -> bool:
    """The header a sentence announces ("the log shows:", "they look like this:") is the
    person's example: up to four lines (From, To, Cc, Subject), no date (a client's history
    has one), no ">" under it; not a forward's ("Begin forwarded message:")."""
    head = lines[i:i + block]
    return block <= 4 and P.announced(lines, i) and not P.FORWARD_MARKER.match(P.line_above(lines, i)) \
        and not _quote_below(lines, i + block - 1) \
        and not any(_SENT_LINE.match(line) or "sent" in inline_fields(line.strip())
                    for line in head)


_MAYBE_ATTRIBUTION = re.compile(r"[\d:：@]|^-")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_SHORT_DATE = re.compile(r"(?<![\d./-])\d{1,2}[./-]\d{1,2}[./-]\d{2}(?![\d./-])")   # Thunderbird's "3/3/26"
_BRACKETED_ADDRESS = re.compile(r"[<\[(]\s?(?:mailto:)?[^<>\[\]()\s]+@[^<>\[\]()\s]+\s?[>\])]")
_BRACKETS = re.compile(r"\((?:[^()]|\([^()]*\))*\)")    # (…), one level nested: eu "(…, og. (10:15))"
# Every script's decimal digits as ASCII ones: a date in Bengali or Persian digits is a date.
_DIGITS = {c: str(unicodedata.decimal(chr(c))) for c in range(0x0660, 0x1100)
           if unicodedata.decimal(chr(c), None) is not None}


def _any_language(line: str) -> bool:
    """An attribution in any language, when it heads a quote: "<date> <time> Name <address>
    <verb>:" (mk напиша, cy ysgrifennodd, hi ने लिखा, ...). An address in brackets after a
    name (not after a lower-case word: "my account (a@b)", "by <a@b>"), a year and a
    colon-time before it (or in brackets after it: eu), only the verb after it, a colon at
    the end. Prose that introduces a paste ("… sent on 5 March 2026 at 10:15:") is not."""
    if len(line) > 250 or not line.endswith((":", "：")):
        return False
    address = _BRACKETED_ADDRESS.search(line)
    if address is None:
        return False
    before = line[:address.start()].rstrip(" (").split()
    if before and "@" not in before[-1] and before[-1].strip(",").islower():
        return False
    digits = line.translate(_DIGITS)
    head, tail = digits[:address.start()], digits[address.end():]
    dated = head + " ".join(_BRACKETS.findall(tail))
    undated_tail = _BRACKETS.sub(" ", tail)
    return (_YEAR.search(dated) is not None and TIME.search(dated) is not None
            and not _YEAR.search(undated_tail) and not TIME.search(undated_tail))


_LEADING_ADDRESS = re.compile(r"^[(\[]?<?(?:mailto:)?[^\s<>()\[\]]+@[^\s<>()\[\]]+[>)\]]")


def _name_above_address(above: str, line: str, apart: bool) -> bool:
    """A client wrapped "Name <address> <verb> …:" before the address: the name, alone on the
    line above the attribution, belongs to it ("Nagy János\n<a@b> ezt írta (…):"). A name with
    a department (five or six words) only when a blank line (`apart`) sets it off from the
    words above, and never in capitals alone ("PLEASE CALL ME BACK TODAY")."""
    above = above.strip()
    words = above.split()
    return (_LEADING_ADDRESS.match(line) is not None
            and (0 < len(words) <= 4 or len(words) <= 6 and apart and not above.isupper()
                 and any(c.isalpha() for c in above))
            and not above.endswith((".", "!", "?", ":", "：")) and "@" not in above
            and P.capitalised(above))


def _attribution_span(lines: list[str], marks: list[str], i: int) -> int:
    line = lines[i].strip()
    if len(line) > 400:
        return 0
    # Every attribution has a date, an address, a colon or a dash rule, or opens with "On", "Am", ...
    # or is wrapped at its address: "Müşteri Hizmetleri A.Ş. <\nmusteri@…>, 4 Mar 2025 …".
    if not _MAYBE_ATTRIBUTION.search(line) and not P.ATTRIBUTION_START.match(line) and not (
            line.endswith("<") and i + 1 < len(lines) and _LEADING_ADDRESS.match(lines[i + 1].strip())
            and P.capitalised(line)):
        return 0
    verb = _last_verb(line)     # one pass of the verb pattern for both of its uses here
    if _told_by_writer(line, verb):
        return 0
    nxt = next_nonempty(marks, lines, i + 1)
    next_is_quote = nxt is not None and marks[nxt] == "m"
    if next_is_quote and P.QUOTING.match(line):
        return 1
    if verb is not None or line.endswith((":", "：")) or P.DASHED_WROTE.match(line) or _ON_SENT.match(line):
        if is_attribution(line, next_is_quote):
            return 1
        if (P.DATE_ADDRESS_HEADER.match(line) or P.FROM_WORD_HEADER.match(line)) and (
            next_is_quote or line.endswith((":", "："))
        ):
            return 1
        if len(line) <= 250 and P.ADDRESS_COLON_END.search(line) and P.YEAR_OR_TIME.search(line):
            return 1
        if next_is_quote and _any_language(line):
            return 1
    elif P.DATE_ADDRESS_HEADER.match(line) and next_is_quote:
        return 1
    # Attributions wrapped over several lines: "On <date> Name <\naddress> wrote:". One that opens
    # with a weekday or a name ("wt., 3 mar 2026 o 10:15 Jan <", "Nagy János <a@b> ezt írta (időpont: 2022. okt.")
    # must name an address in brackets, as clients do (a sentence with an address in it does not).
    opens = P.ATTRIBUTION_START.match(line) or P.DATE_HINT.match(line)
    if not opens and ("@" not in line and (i + 1 >= len(lines) or "@" not in lines[i + 1])
                      or len(line) > 160
                      or ("<" not in line and "(" not in line and not (   # wrapped at the address
                          TIME.search(line.translate(_DIGITS)) and not P.prose(line)
                          and i + 1 < len(lines) and _LEADING_ADDRESS.match(lines[i + 1].strip())))):
        return 0
    if not P.DATE_HINT.search(line) and not (   # "… schrieb am So., 23.\nJuni 2024, 21:08:"
            i + 1 < len(lines) and P.DATE_HINT.search(line + " " + lines[i + 1].strip())):
        return 0
    joined = line
    for j in range(i + 1, min(len(lines), i + _MAX_HEADER_JOIN)):
        part = lines[j].strip()
        if marks[j] not in ("t", "e", "m") or len(joined) > 400:
            return 0
        if not part:
            if not opens:
                return 0  # a wrap never leaves a blank line
            continue
        if marks[j] == "m":
            part = part.lstrip("> ")
        if P.ATTRIBUTION_START.match(part):
            return 0  # the attribution starts on that line, not on this one
        joined = joined + " " + part
        if j == i + 1 and line.endswith("<") and P.DATE_ADDRESS_HEADER.match(joined):
            after = next_nonempty(marks, lines, j + 1)     # Gmail's old "2013/11/13 John Smith <\n
            if after is not None and marks[after] == "m":   # john@smith.org>" over the quote
                return 2
        if P.VERB.search(part) or part.endswith((":", "：")):
            after = next_nonempty(marks, lines, j + 1)
            quote_next = after is not None and marks[after] == "m"
            if not opens and not (P.EMAIL.search(joined) and _YEAR.search(joined.translate(_DIGITS))):
                return 0  # a client's attribution names the year; "host 192.0.2.22" in a bounce does not
            if not opens and P.ADDRESS_COLON_END.search(joined):
                return j - i + 1
            if is_attribution(joined, quote_next):
                return j - i + 1
            if P.DATE_ADDRESS_HEADER.match(joined) and (quote_next or joined.endswith(":")):
                return j - i + 1
            if quote_next and _any_language(joined):
                return j - i + 1
            return 0
    return 0
