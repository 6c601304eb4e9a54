"""Find where the signature starts at the bottom of new text: delimiter, mobile line, sign-off, contact block."""

from __future__ import annotations

import functools
import re
import unicodedata
from email.utils import parseaddr

from mailproc.parse.reply import patterns as P
from mailproc.parse.reply.legal import disclaimer_start, is_legal
from mailproc.parse.reply.postscript import is_postscript, postscript_like
from mailproc.parse.reply.signature_lines import (
    AFTER_NAME, BARE_ONLY, DOTTED_END, SEPARATORS, has_contact, is_name_line, is_sig_block_line, phone,
    sign_off_ok,
)
from mailproc.parse.reply.text import is_fence

_TAIL_LINES = 14  # a signature is a short block; anything longer above the bottom is content
_LIST_FOOTER = re.compile(r"mailing list|listinfo|unsubscribe|abmelden|se désinscrire|darse de baja", re.I)
_BLOCK_MAX = 7  # lines under a sign-off or a name
_CONTACT_BLOCK_MAX = 11  # ... when phone numbers or addresses show it is a contact block
_LONG_BLOCK_MAX = 30  # ... under a sign-off and a name, with phones and addresses (_long_contact_block)
_LOWER_DASH = re.compile(r"^\s*-[a-z]")      # "-force": a command's flag
# A patch's trailer, the person's own ack: "Acked-by: Mel Gorman <mel@…>", "Reviewed-by: …".
_TRAILER = re.compile(r"^[A-Z][a-z]+(?:-[a-z]+)*-by:\s", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _name_tokens(sender: str | None) -> frozenset[str]:
    """The words of the sender's name and address (a thread's senders come again and again)."""
    if not sender:
        return frozenset()
    name, addr = parseaddr(sender)
    tokens = {t.lower() for t in re.split(r"[\s,.\"']+", name) if len(t) > 1}
    local = addr.split("@")[0] if "@" in addr else ""
    tokens |= {t.lower() for t in re.split(r"[._+-]+", local) if len(t) > 2}
    if addr:
        tokens.add(addr.lower())
    return frozenset(tokens)


def _block_fits(below: list[str]) -> bool:
    """A short block, or a longer one that carries contact lines (title, company, phones, links)."""
    limit = _CONTACT_BLOCK_MAX if len(below) > _BLOCK_MAX and has_contact(below) else _BLOCK_MAX
    return len(below) <= limit and all(is_sig_block_line(x) for x in below)


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
    return start if sign_off_ok(s) or s in ("--", "-- ") or P.is_mobile_line(s) else None


def only_signature(lines: list[str]) -> bool:
    """Nothing but a signature: a device's line, or a sign-off over a short block."""
    content = [line.strip() for line in lines if line.strip()]
    if not content:
        return False
    return all(P.is_mobile_line(line) for line in content) \
        or sign_off_ok(content[0]) and _block_fits(content[1:])


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
        P.DASH_NAME.match(first) or is_name_line(first) or sign_off_ok(first)
        or P.is_mobile_line(first)) and all(is_sig_block_line(line) for line in content[1:])


def _named_block(lines: list[str]) -> bool:
    """A full name, with a title after it or not, over a signature's short block ("Max Muster
    | Support Lead\nmax@…\n+49 …"); not an answer ("Yes please", "Thank you!")."""
    content = [line.strip() for line in lines if line.strip()]
    return bool(content) and len(content) <= _CONTACT_BLOCK_MAX and len(content[0].split()) >= 2 \
        and is_name_line(content[0], titled=True) and all(is_sig_block_line(line) for line in content[1:])


def signature_alone(new: list[str]) -> bool:
    """Only a "--" rule, alone or over a name's signature block or over lines of phone numbers
    and addresses alone: a signature and no words (the client's, put above the quote of a
    reply, or a mail of nothing else); "--\nYes please" is an answer."""
    content = [line.strip() for line in new if line.strip()]
    return bool(content) and P.SIG_DELIMITER.match(content[0]) is not None and (
        len(content) == 1 or _named_block(content[1:]) or len(content) <= _CONTACT_BLOCK_MAX
        and all(_contact_alone(line) for line in content[1:]))


def _contact_alone(line: str) -> bool:
    """A phone number or an address with at most a label beside it ("Tel: 202-555-1212",
    "mobile 0171 …"), not a sentence that gives one ("Call me at 202-555-1212 tomorrow")."""
    rest = P.EMAIL.sub(" ", P.PHONE.sub(" ", line)) if has_contact([line]) else line
    return rest != line and len(re.findall(r"[^\W\d_]+", rest)) <= 1


def _delimited_again(below: list[str]) -> bool:
    """Another "--" further down, after words that are no signature's: rules between paragraphs
    (Markdown), not a signature's own rule ("--\nRegards, Petar\n---\nPGP key: ...")."""
    words = False
    for line in below:
        if P.SIG_DELIMITER.match(line.strip()):
            if words:
                return True
        elif line.strip() and not is_sig_block_line(line):
            words = True
    return False


def _signed_after_words(below: list[str]) -> bool:
    """Words that are no signature's, then a sign-off: the rule above them was the text's own
    ("---\n\nIssue 3: ...\n\nThanks,\nJane")."""
    words = False
    for line in below:
        if words and sign_off_ok(line):
            return True
        words = words or bool(line.strip()) and not is_sig_block_line(line)
    return False


def _last_block(lines: list[str], i: int) -> bool:
    """Line i starts the last paragraph: no blank line between it and the end."""
    rest = [line.strip() for line in lines[i:]]
    while rest and not rest[-1]:
        rest.pop()
    return all(rest)


def _bare_only(line: str) -> bool:
    m = P.SIGN_OFF.match(line)
    return m is not None and m.group().strip().lower() in BARE_ONLY


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
    form = DOTTED_END.search(s)     # a name's or a company's: every word before it capitalised,
    head = s[:form.start()] if form else ""      # no label ("Nabywca: Kowalski Sp. z o.o.")
    return not (form and len(words) <= 5 and ":" not in head and P.capitalised(head))


# A postal address ending in its house number: "1117 Budapest, Október huszonharmadika u. 8."
_ADDRESS = re.compile(r"^\d{4,5}\s+[A-ZÀ-ÝĀ-ſ][\w-]*,\s[^\n]{0,60}\s\d{1,4}[a-z]?\.$")


def _introduced_paragraph(lines: list[str], i: int) -> bool:
    """The paragraph holding line i is announced by a line ending in a colon."""
    while i > 0 and lines[i - 1].strip():
        i -= 1
    return P.announced(lines, i)


def list_footer_start(lines: list[str]) -> int | None:
    """Where a mailing-list footer ("__\\nfoo mailing list\\n...") starts, if the text ends with one
    (blank lines under it do not count)."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    for i in range(max(0, end - 8), end):
        if P.SIG_DELIMITER.match(lines[i].strip()) or P.RULE_LINE.match(lines[i]):
            after = " ".join(lines[i + 1:])
            if _LIST_FOOTER.search(after):
                return i
    return None


def signature_start(lines: list[str], sender: str | None = None) -> int | None:
    """Index of the first signature line in `lines` (new text, no quote), or None."""
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
        signoff_from[pos] = signoff_from[pos + 1] or sign_off_ok(line)
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
        if not (delimiter or sign_off_ok(s) or P.is_mobile_line(s)) and (
                signoff_from[pos + 1] or _introduced_paragraph(lines, i)):
            continue    # the sign-off below ends the words; an address announced ("send it to:")
        if delimiter and len(below) <= 12 and not _delimited_again(below) \
                and not _signed_after_words(below):
            candidates.append(i)
        elif (
            P.RULE_LINE.match(s)
            and 1 <= len(below) <= 8
            and not any(P.RULE_LINE.match(x) for x in below)
            and all(is_sig_block_line(x) for x in below)
            and (is_name_line(below[0]) or has_contact(below[:1]))
        ):
            candidates.append(i)
        elif P.device_line_at(lines, i) and len(below) <= 2:
            candidates.append(i)
        elif sign_off_ok(s) and _block_fits(below) and not _in_short_list(lines, i) \
                and not (below and (_sentence(below[0]) or P.prose(below[0]))) \
                and not any(_sentence(x) and P.lower_words(x) >= 2 for x in below) \
                and not _introduced_directly(lines, i) \
                and not any(x.rstrip().endswith((":", "：")) for x in below) and (
                not _bare_only(s) or below and len(below) <= 3 and is_name_line(below[0])):
            candidates.append(i)    # a word that is also a greeting ("Pozdrav,") needs a name under it
        elif (
            P.DASH_NAME.match(s)
            and len(below) <= 4
            and not _is_list_item(lines, i)
            and all(is_sig_block_line(x) for x in below)
            and (not below or (s[:1] not in "/" or has_contact(below) and not lines[i - 1].strip())
                 and not lower)
            # "/Johan" last or set apart over a phone ("…under\n/Library" is a path), "-roman" last
            and not (s[1:2].islower() and sum(1 for x in lines if _LOWER_DASH.match(x)) > 1)  # -flags
            and not (s[1:2].isspace() and lower and not _dash_signed(lines, i))
            and (s[:1] in "-–—" and not lower or not names or _mentions(s.lstrip("/~- "), names))
        ):                       # "/Library", "-force": the sender's name only when we know it
            candidates.append(i)
        elif names and len([w for w in s.split() if w not in SEPARATORS]) <= 5 and len(below) <= 6 \
                and _mentions(s, names) and not _TRAILER.match(s) \
                and all(is_sig_block_line(x) for x in below) \
                and sum(P.prose(x) for x in below) < 2 \
                and not (_sentence(s) and P.lower_words(s)):    # "Facturación sigue sin acceso."
            candidates.append(i)
        elif (
            is_name_line(s, titled=_mentions(s, names) if names           # "Maria Lopez, CFO" from
                          else _last_block(lines, i) and len(below) >= 2)    # Anna: a colleague's
            and below
            and (not AFTER_NAME.search(s) or len(below) >= 2      # "John Smith, CFO\njohn@...",
                 and not any(AFTER_NAME.search(x) and is_name_line(x, True) for x in below))   # a list
            and i > 0
            and not lines[i - 1].strip()
            and has_contact(below)
            and _block_fits(below)
            and not P.announced(lines, i)
        ):
            candidates.append(i)
    candidates += _long_contact_block(lines, content, max(answered, first_content), code_lines,
                                      min(candidates, default=len(lines)))
    if not candidates:
        return None
    start = min(candidates)
    if not any(lines[j].strip() for j in range(start)):
        return None
    return start


def _long_contact_block(lines: list[str], content: list[int], after: int, code_lines: set[int],
                        below_start: int) -> list[int]:
    """A sign-off over a name and a company's long contact block (address, phones, mail, links,
    a rule, its register: German firms' run to twenty lines and more), above the tail looked
    at first or above the start found there (the company's name over its own short block).
    Every line under the sign-off a signature's but for one short slogan ("Example. Zusammen
    für eine bessere Welt.", not the last line: a note under the signature is the person's),
    two of them phone numbers or addresses, one a rule or a register line ("Sitz der AG: …,
    HRB …", "KvK …"): a list of contacts or orders has neither; at most three "Label: value"
    lines besides phones and the register (master data the customer sends has more:
    "Firma: …", "Ansprechpartner: …", "Bank: …", "Zahlungsziel: …")."""
    for pos in range(max(0, len(content) - _LONG_BLOCK_MAX - 1), len(content) - 1):
        i = content[pos]
        if i >= below_start or pos >= len(content) - _TAIL_LINES and below_start == len(lines):
            break
        if i <= after or i in code_lines or not sign_off_ok(lines[i].strip()) \
                or not is_name_line(lines[content[pos + 1]]) or _introduced_directly(lines, i):
            continue
        below = [lines[j].strip() for j in content[pos + 1:]]
        others = [x for x in below if not is_sig_block_line(x)]
        if len(others) <= 1 and all(len(x) <= 60 for x in others) and below[-1] not in others \
                and not any(_content_line(x) or x.endswith(("?", ":")) for x in below) \
                and sum(1 for x in below if _LABELLED.match(x) and not _REGISTER.search(x)
                        and not P.CONTACT_LABEL.match(x)) <= 3 \
                and any(P.RULE_LINE.match(x) or _REGISTER.search(x) for x in below) \
                and sum(1 for x in below if phone(x) or P.EMAIL.search(x)) >= 2:
            return [i]
    return []


# "Firma: …", "Zahlungsziel: …": a form's line.
_LABELLED = re.compile(r"^[^\W\d_][\w./ -]{0,24}:\s")
# A company's register and tax lines under its signature.
_REGISTER = re.compile(r"\b(?:HRB|HRA|USt\.?-?Id(?:Nr)?|UID|Sitz|Vorstand|Aufsichtsrat|Registergericht"
                       r"|Amtsgericht|Geschäftsführ\w*|Handelsregister|KvK|BTW|IBAN|VAT|SIRET|SIREN|RCS"
                       r"|Registered\s+(?:office|in)|Company\s+(?:No|number))\b", re.IGNORECASE)


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


def _mentions(line: str, names: frozenset[str]) -> bool:
    words = {w.lower() for w in re.split(r"[\s,.<>()\"']+", line) if w}
    if not line.isascii() and len(words) >= 2:   # "Timo Schröder" writes from t.schroeder@
        words |= {_ascii(w) for w in words if all(ord(c) < 0x250 for c in w)}   # Latin only
    return bool(words & names)


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@functools.lru_cache(maxsize=4096)
def _ascii(word: str) -> str:
    """A name as an address spells it: umlauts written out, other accents dropped."""
    return unicodedata.normalize("NFKD", word.translate(_UMLAUTS)).encode("ascii", "ignore").decode()
