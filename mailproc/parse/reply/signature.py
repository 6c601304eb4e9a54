"""Find where the signature starts at the bottom of new text: delimiter, mobile line, sign-off, contact block."""

from __future__ import annotations

import functools
import re
import unicodedata
from email.utils import parseaddr

from mailproc.parse.reply import patterns as P
from mailproc.parse.reply.legal import DISCLAIMER, disclaimer_start, is_legal
from mailproc.parse.reply.postscript import is_postscript, postscript_like
from mailproc.parse.reply.text import is_fence

_TAIL_LINES = 14  # a signature is a short block; anything longer above the bottom is content
_LIST_FOOTER = re.compile(r"mailing list|listinfo|unsubscribe|abmelden|se désinscrire|darse de baja", re.I)
_NAME_WORD = re.compile(r"^[^\W\d_][\w.'’-]*$")
_BLOCK_MAX = 7  # lines under a sign-off or a name
_CONTACT_BLOCK_MAX = 11  # ... when phone numbers or addresses show it is a contact block
_LONG_BLOCK_MAX = 30  # ... under a sign-off and a name, with phones and addresses (_long_contact_block)
_SEPARATORS = ("|", "·", "•")
# Gmail's plain text writes bold as "*…*": "*Richard Lindhout* | *Eigenaar*" is a name line.
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]{1,80}?)(?<=\S)\*(?![\w*])")
# An HTML signature's logo or icon in the text part: "[cid:image001.png@01CE…]<http://…>", "[image: logo]".
_IMAGE = re.compile(r"^\[(?:cid|image):[^\]]{0,80}\](?:\s*<[^<>\s]+>)?$", re.IGNORECASE)
_LOWER_DASH = re.compile(r"^\s*-[a-z]")      # "-force": a command's flag
# A link a mail gateway rewrote (Outlook's safelinks, Proofpoint, Mimecast): long, and the company's;
# and the place of a signature's image: "[cid:image001.png@01D9...]", "[https://cdn.../logo.png]<...>".
_BARE_URL = re.compile(r"^[<\[(]?https?://[\w.-]{0,40}?(?:safelinks\.protection\.outlook\.com|urldefense\.|mimecast\.com)"
                       r"\S*$|^\[(?:cid:|https?://)[^\]\s]+\](?:<[^<>\s]+>)?$")


def _phone(line: str) -> bool:
    """A phone number: seven digits or more ("10 / 100" in a log line is not one)."""
    return any(sum(c.isdigit() for c in m.group()) >= 7 for m in P.PHONE.finditer(line))


def _name_tokens(sender: str | None) -> set[str]:
    if not sender:
        return set()
    name, addr = parseaddr(sender)
    tokens = {t.lower() for t in re.split(r"[\s,.\"']+", name) if len(t) > 1}
    local = addr.split("@")[0] if "@" in addr else ""
    tokens |= {t.lower() for t in re.split(r"[._+-]+", local) if len(t) > 2}
    if addr:
        tokens.add(addr.lower())
    return tokens


def _is_signoff(line: str) -> bool:
    m = P.SIGN_OFF.match(line)
    if not m:
        return False
    rest = line[m.end():]
    word = m.group().strip()
    if word.lower() in _BARE_ONLY:   # "LP Records", "Atte Korhonen", "UDV" (a code): not sign-offs
        return not rest.strip(" ,.!:;-") and not (len(word) > 1 and word.isupper())
    if P.SIGN_OFF_REST.match(rest) is not None:
        return True
    # Two languages: "Med venlig hilsen / Kind regards", "Mit freundlichen Grüßen | Best regards".
    parts = _BILINGUAL.split(line)
    return len(parts) == 2 and all(_is_signoff(part) for part in parts)


_BILINGUAL = re.compile(r"\s+[/|]\s+")
# Sign-offs that are also words, names or abbreviations: only alone on their line.
_BARE_ONLY = frozenset("lp kh udv üdv att atte pozdrav selamlar".split())


@functools.lru_cache(maxsize=4096)     # asked of each line for every line above it
def _sign_off_ok(line: str) -> bool:
    s = line.strip()
    if len(s) > 60 or s.endswith("?"):
        return False
    return _is_signoff(s)


_AFTER_NAME = re.compile(r"\s*[,|·•]\s*")    # "John Smith, CPA", "Jean Dupont | Responsable support"


def _is_name_line(line: str, titled: bool = False) -> bool:
    """A name ("Jane Doe", "J. Smith"); with `titled` (the sender's own line), also a name
    followed by a short title or credential ("John Smith, CPA", "Jean Dupont | Support")."""
    line = line.strip().strip(",")
    if not titled and _AFTER_NAME.search(line):
        return False
    head, *rest = _AFTER_NAME.split(line, maxsplit=1)
    words = head.split()
    # After a full name, a short credential or title (in two languages: "Teamleiter
    # Entwicklung / Team Lead Development"): not a clause, no date ("Thu, 29 Apr").
    if rest and (len(words) < 2 or any(len(title.split()) > 4 for title in rest[0].split(" / "))
                 or rest[0].endswith(".") and not _DOTTED_END.match(rest[0])     # "Ph.D."
                 or any(c.isdigit() or c in "@," for c in rest[0])):
        return False    # "John Smith,john@acme.com,admin" is a row of a list
    # A period ends an initial or a title ("J.", "Dr.", "Mag."), not a name: "Attached." is a
    # one-word sentence (an inline answer above the sign-off).
    return 1 <= len(words) <= 4 and words[0][0].isupper() and all(
        _NAME_WORD.match(w) and w[0].isupper()
        and not (w.endswith(".") and len(w) > 4) for w in words)


# HTML mail's text writes a link's target after its words: "LinkedIn (https://…)".
_LINK_TARGET = re.compile(r" \((?:https?://|mailto:)[^()\s]+\)")
_LINK_WORDS = re.compile(r"^(?:[^\W\d_][\w.&'’-]*\s?){1,5}$")


@functools.lru_cache(maxsize=4096)
def _is_sig_block_line(line: str) -> bool:
    s = line.strip()
    if not s or DISCLAIMER.search(s) or _BARE_URL.match(s) or _IMAGE.match(s):
        return True
    if _LINK_TARGET.search(s) and all(_LINK_WORDS.match(part.strip()) for part in
                                      re.split(r"[|·•]", _LINK_TARGET.sub("", s)) if part.strip()):
        # A signature's links ("LinkedIn (…) | Twitter (…)", "Chat with me on Teams (…)",
        # "www.acme.example (…)"): a few words each, no sentence.
        return True
    contact = _phone(s) or P.EMAIL.search(s) or P.URL.search(s) or P.CONTACT_LABEL.match(s)
    # "Office: +44 20 7946 0958 | Mobile: +44 7700 900123 | Fax: +44 20 7946 0959" runs long.
    if contact and len(s) <= 120 and any(sep in s for sep in _SEPARATORS):
        return True
    if len(s) > (100 if _TWO_TITLES.match(s) else 72) or s.endswith("?"):
        return False
    if contact:
        return True
    words = s.split()
    if "|" in s or "·" in s:
        return len(words) <= 14
    if len(words) > 8:
        return False
    # Titles, company names, addresses: short lines that do not read like a sentence.
    return not (s.endswith((".", "!")) and len(words) > 5 and P.lower_words(s) > 2)


# A title in two languages: "Analyste principal, Services numériques | Senior Analyst, Digital
# Services": words on both sides of one bar, no digits (not a diffstat's "file.py | 336 +++").
_TWO_TITLES = re.compile(r"^[^\W\d_][^|\d:]{0,60} \| [^\W\d_][^|\d:]{0,60}$")


def _has_contact(lines: list[str]) -> bool:
    return any(_phone(x) or P.EMAIL.search(x) or P.CONTACT_LABEL.match(x.strip()) for x in lines)


def _block_fits(below: list[str]) -> bool:
    """A short block, or a longer one that carries contact lines (title, company, phones, links)."""
    limit = _CONTACT_BLOCK_MAX if len(below) > _BLOCK_MAX and _has_contact(below) else _BLOCK_MAX
    return len(below) <= limit and all(_is_sig_block_line(x) for x in below)


_CODE = re.compile(r"\s==?\s|[{}]\s*$")      # an assignment or a comparison, a brace


def _content_line(line: str) -> bool:
    """A "P.S." or a line of code: no signature starts above it."""
    return bool(postscript_like(line) or _CODE.search(line))


def signed_start(lines: list[str], sender: str | None = None) -> int | None:
    """signature_start, only where the signature opens with a sign-off, a "-- " line or a
    device's line: for the lines above a P.S. or a forwarded mail, where an address, a name
    or a rule is as often what the person asks about as their signature."""
    start = signature_start(lines, sender)
    if start is None:
        return None
    s = lines[start].strip()
    return start if _sign_off_ok(s) or s in ("--", "-- ") or P.is_mobile_line(s) else None


def only_signature(lines: list[str]) -> bool:
    """Nothing but a signature: a device's line, or a sign-off over a short block."""
    content = [line.strip() for line in lines if line.strip()]
    if not content:
        return False
    return all(P.is_mobile_line(line) for line in content) \
        or _sign_off_ok(content[0]) and _block_fits(content[1:])


def only_ending(lines: list[str]) -> bool:
    """Nothing but a mail's ending: its writer's name, sign-off or device line ("-Abhishek
    Kona", "Thanks,\nBob", "Sent from my iPhone") over a short signature, or a mailing list's
    footer, or both."""
    footer = list_footer_start(lines)
    content = [line.strip() for line in lines[:footer] if line.strip()]
    if not content:
        return footer is not None
    first = content[0]
    return len(content) <= _BLOCK_MAX and bool(
        P.DASH_NAME.match(first) or _is_name_line(first) or _sign_off_ok(first)
        or P.is_mobile_line(first)) and all(_is_sig_block_line(line) for line in content[1:])


def named_block(lines: list[str]) -> bool:
    """A full name, with a title after it or not, over a signature's short block ("Max Muster
    | Support Lead\nmax@…\n+49 …"); not an answer ("Yes please", "Thank you!")."""
    content = [line.strip() for line in lines if line.strip()]
    return bool(content) and len(content) <= _CONTACT_BLOCK_MAX and len(content[0].split()) >= 2 \
        and _is_name_line(content[0], titled=True) and all(_is_sig_block_line(line) for line in content[1:])


def _delimited_again(below: list[str]) -> bool:
    """Another "--" further down, after words that are no signature's: rules between paragraphs
    (Markdown), not a signature's own rule ("--\nRegards, Petar\n---\nPGP key: ...")."""
    words = False
    for line in below:
        if P.SIG_DELIMITER.match(line.strip()):
            if words:
                return True
        elif line.strip() and not _is_sig_block_line(line):
            words = True
    return False


def _signed_after_words(below: list[str]) -> bool:
    """Words that are no signature's, then a sign-off: the rule above them was the text's own
    ("---\n\nIssue 3: ...\n\nThanks,\nJane")."""
    words = False
    for line in below:
        if words and _sign_off_ok(line):
            return True
        words = words or bool(line.strip()) and not _is_sig_block_line(line)
    return False


def _last_block(lines: list[str], i: int) -> bool:
    """Line i starts the last paragraph: no blank line between it and the end."""
    rest = [line.strip() for line in lines[i:]]
    while rest and not rest[-1]:
        rest.pop()
    return all(rest)


def _bare_only(line: str) -> bool:
    m = P.SIGN_OFF.match(line)
    return m is not None and m.group().strip().lower() in _BARE_ONLY


def _in_short_list(lines: list[str], i: int) -> bool:
    """The two lines right above are short items too ("CD" over "LP"): a list, not a sign-off."""
    return i > 1 and all(0 < len(lines[k].strip()) <= 4 for k in (i - 1, i - 2))


def _introduced_directly(lines: list[str], i: int) -> bool:
    """The line right above ends in a colon: "Menu options:\nA bientôt\nContact" is a list."""
    return i > 0 and lines[i - 1].rstrip().endswith((":", "："))


def _sentence(line: str) -> bool:
    """"Router arrived.": words ending a sentence, not a name ("Dave."), an address that ends in
    its house number, nor a short line that ends in a degree or a company's form with dots
    inside ("Jane Doe, Ph.D.", "Acme s.r.o.")."""
    s = line.strip()
    words = s.split()
    if not s.endswith((".", "!", "?")) or len(words) < 2 or _ADDRESS.match(s):
        return False
    form = _DOTTED_END.search(s)     # a name's or a company's: every word before it capitalised,
    head = s[:form.start()] if form else ""      # no label ("Nabywca: Kowalski Sp. z o.o.")
    return not (form and len(words) <= 5 and ":" not in head and P.capitalised(head))


# A postal address ending in its house number: "1117 Budapest, Október huszonharmadika u. 8."
_ADDRESS = re.compile(r"^\d{4,5}\s+[A-ZÀ-ÝĀ-ſ][\w-]*,\s[^\n]{0,60}\s\d{1,4}[a-z]?\.$")
# Degrees and companies' legal forms written with dots, at a line's end.
_DOTTED_END = re.compile(r"(?<![\w.])(?:Ph\.D|M\.D|M\.Sc|B\.Sc|Dr\.-Ing|s\.r\.o|Sp\. z o\.o|S\.A|S\.L"
                         r"|S\.p\.A|B\.V|N\.V|e\.V|S\.A\.S|S\.R\.L)\.$")


def _introduced_paragraph(lines: list[str], i: int) -> bool:
    """The paragraph holding line i is announced by a line ending in a colon."""
    while i > 0 and lines[i - 1].strip():
        i -= 1
    return P.announced(lines, i)


def list_footer_start(lines: list[str]) -> int | None:
    """Where a mailing-list footer ("__\\nfoo mailing list\\n...") starts, if the text ends with one."""
    for i in range(max(0, len(lines) - 8), len(lines)):
        if P.SIG_DELIMITER.match(lines[i].strip()) or P.RULE_LINE.match(lines[i]):
            after = " ".join(lines[i + 1:])
            if _LIST_FOOTER.search(after):
                return i
    return None


def signature_start(lines: list[str], sender: str | None = None) -> int | None:
    """Index of the first signature line in `lines` (new text, no quote), or None."""
    lines = [_BOLD.sub(r"\1", line) if "*" in line else line for line in lines]
    content = [i for i, line in enumerate(lines) if line.strip()]
    if len(content) < 2:
        return None
    # A legal footer at the very bottom may be long; it goes with the signature above it, and the
    # signature is looked for in the lines above it.
    footer = disclaimer_start(lines, content)
    legal = footer is not None and is_legal(lines[footer:])
    tail = [i for i in content if not legal or i < footer][-_TAIL_LINES:]
    first_content = content[0]
    candidates: list[int] = []
    in_code = False
    code_lines: set[int] = set()
    for i, line in enumerate(lines):
        if is_fence(line):
            in_code = not in_code
            code_lines.add(i)
        elif in_code:
            code_lines.add(i)
    names = _name_tokens(sender)
    above_footer = [i for i in tail if footer is None or i < footer]
    # Per line from the bottom: is a P.S. or code at or below it, a sign-off at or below it.
    content_from, signoff_from = [False] * (len(above_footer) + 1), [False] * (len(above_footer) + 1)
    for pos in range(len(above_footer) - 1, -1, -1):
        line = lines[above_footer[pos]]
        content_from[pos] = content_from[pos + 1] or _content_line(line)
        signoff_from[pos] = signoff_from[pos + 1] or _sign_off_ok(line)
    answered = _last_answered_quote(lines, content)
    for pos, i in enumerate(above_footer):
        if candidates:
            break       # the first from the top is where the signature starts
        if i == first_content or i in code_lines or is_postscript(lines[i]) or i < answered:
            continue        # "P.S." alone over its words is no name's initials; "Thanks." over
                            # a ">" line that the person answers under it ends no mail
        s = lines[i].strip()
        below = [lines[j] for j in above_footer[pos + 1:]]
        if content_from[pos + 1]:
            continue
        delimiter = P.SIG_DELIMITER.match(s) is not None
        lower = s[1:].lstrip()[:1].islower()      # "-roman", "- roman"
        if not (delimiter or _sign_off_ok(s) or P.is_mobile_line(s)) and (
                signoff_from[pos + 1] or _introduced_paragraph(lines, i)):
            continue    # the sign-off below ends the words; an address announced ("send it to:")
        if delimiter and len(below) <= 12 and not _delimited_again(below) \
                and not _signed_after_words(below):
            candidates.append(i)
        elif (
            P.RULE_LINE.match(s)
            and 1 <= len(below) <= 8
            and not any(P.RULE_LINE.match(x) for x in below)
            and all(_is_sig_block_line(x) for x in below)
            and (_is_name_line(below[0]) or _has_contact(below[:1]))
        ):
            candidates.append(i)
        elif P.device_line_at(lines, i) and len(below) <= 2:
            candidates.append(i)
        elif _sign_off_ok(s) and _block_fits(below) and not _in_short_list(lines, i) \
                and not (below and (_sentence(below[0]) or P.prose(below[0]))) \
                and not any(_sentence(x) and P.lower_words(x) >= 2 for x in below) \
                and not _introduced_directly(lines, i) \
                and not any(x.rstrip().endswith((":", "：")) for x in below) and (
                not _bare_only(s) or below and len(below) <= 3 and _is_name_line(below[0])):
            candidates.append(i)    # a word that is also a greeting ("Pozdrav,") needs a name under it
        elif (
            P.DASH_NAME.match(s)
            and len(below) <= 4
            and not _is_list_item(lines, i)
            and all(_is_sig_block_line(x) for x in below)
            and (not below or (s[:1] not in "/" or _has_contact(below) and not lines[i - 1].strip())
                 and not lower)
            # "/Johan" last or set apart over a phone ("…under\n/Library" is a path), "-roman" last
            and not (s[1:2].islower() and sum(1 for x in lines if _LOWER_DASH.match(x)) > 1)  # -flags
            and not (s[1:2].isspace() and lower and not _dash_signed(lines, i))
            and (s[:1] in "-–—" and not lower or not names or _mentions(s.lstrip("/~- "), names))
        ):                       # "/Library", "-force": the sender's name only when we know it
            candidates.append(i)
        elif names and len([w for w in s.split() if w not in _SEPARATORS]) <= 5 and len(below) <= 6 \
                and _mentions(s, names) and all(_is_sig_block_line(x) for x in below) \
                and sum(P.prose(x) for x in below) < 2 \
                and not (_sentence(s) and P.lower_words(s)):    # "Facturación sigue sin acceso."
            candidates.append(i)
        elif (
            _is_name_line(s, titled=_mentions(s, names) if names           # "Maria Lopez, CFO" from
                          else _last_block(lines, i) and len(below) >= 2)    # Anna: a colleague's
            and below
            and (not _AFTER_NAME.search(s) or len(below) >= 2      # "John Smith, CFO\njohn@...",
                 and not any(_AFTER_NAME.search(x) and _is_name_line(x, True) for x in below))   # a list
            and i > 0
            and not lines[i - 1].strip()
            and _has_contact(below)
            and _block_fits(below)
            and not P.announced(lines, i)
        ):
            candidates.append(i)
    if not candidates:
        candidates = _long_contact_block(lines, [i for i in content if footer is None or i < footer],
                                         max(answered, first_content), code_lines)
    if not candidates:
        return None
    start = min(candidates)
    if not any(lines[j].strip() for j in range(start)):
        return None
    return start


def _long_contact_block(lines: list[str], content: list[int], after: int, code_lines: set[int]) -> list[int]:
    """A sign-off over a name and a company's long contact block (address, phones, mail, links,
    its register: German firms' run to twenty lines), too long for the tail looked at first.
    Every line under the sign-off a signature's but for one short slogan ("Example. Zusammen
    für eine bessere Welt."), at least two of them phone numbers or addresses."""
    for pos in range(max(0, len(content) - _LONG_BLOCK_MAX - 1), len(content) - _TAIL_LINES):
        i = content[pos]
        below = [lines[j].strip() for j in content[pos + 1:]]
        if i <= after or i in code_lines or not _sign_off_ok(lines[i].strip()) \
                or not _is_name_line(below[0]) or _introduced_directly(lines, i):
            continue
        others = [x for x in below if not _is_sig_block_line(x)]
        if len(others) <= 1 and all(len(x) <= 60 for x in others) \
                and not any(_content_line(x) or x.endswith("?") for x in below) \
                and sum(1 for x in below if _phone(x) or P.EMAIL.search(x)) >= 2:
            return [i]
    return []


def _last_answered_quote(lines: list[str], content: list[int]) -> int:
    """The last ">" line with words of the person's under it, or -1 (a signature's own ">"
    line, under its "--" rule, quotes no one)."""
    rule = next((i for i in content if P.SIG_DELIMITER.match(lines[i].strip())), len(lines))
    words_below = False
    for i in reversed(content):
        if i < rule and P.QUOTE_PREFIX.match(lines[i]):
            if words_below:
                return i
        else:
            words_below = True
    return -1


# A list's item: a bullet, a dash of any length or a number, and a space.
_ITEM = re.compile(r"^\s*(?:[-*•–—]|\d{1,2}[.)])\s")


def _dash_signed(lines: list[str], i: int) -> bool:
    """"- roman" (dash, space, one word in lower case) at line i signs the mail: set apart
    under the person's own sentence that it ends ("Hey!"), in mail with no list. Not an
    answer under a quoted question ("> Did it help?\n\n- no") nor the item a sentence leads
    to ("one thing is missing\n\n- cables", "Steps:\n\n- reboot")."""
    above = P.line_above(lines, i)
    return not lines[i - 1].strip() and above.endswith((".", "!")) \
        and not P.QUOTE_PREFIX.match(above) and not any(_ITEM.match(x) for x in lines[:i])


def _is_list_item(lines: list[str], i: int) -> bool:
    """A "- Name" line inside a bullet list is an item, not a sign-off."""
    for j in (i - 1, i + 1):
        if 0 <= j < len(lines) and lines[j].strip()[:1] in ("-", "*", "•", "–"):
            return True
    return False


def _mentions(line: str, names: set[str]) -> bool:
    words = {w.lower() for w in re.split(r"[\s,.<>()\"']+", line) if w}
    if not line.isascii() and len(words) >= 2:   # "Timo Schröder" writes from t.schroeder@
        words |= {_ascii(w) for w in words if all(ord(c) < 0x250 for c in w)}   # Latin only
    return bool(words & names)


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@functools.lru_cache(maxsize=4096)
def _ascii(word: str) -> str:
    """A name as an address spells it: umlauts written out, other accents dropped."""
    return unicodedata.normalize("NFKD", word.translate(_UMLAUTS)).encode("ascii", "ignore").decode()
