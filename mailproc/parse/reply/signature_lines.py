"""What one line of a signature looks like: a sign-off, a name, a contact or title line, a phone
number (signature.py reads the blocks they make)."""

from __future__ import annotations

import functools
import re

from mailproc.parse.reply import patterns as P
from mailproc.parse.reply.legal import DISCLAIMER

_NAME_WORD = re.compile(r"^[^\W\d_][\w.'’-]*$")
SEPARATORS = ("|", "·", "•")
# A link a mail gateway rewrote (Outlook's safelinks, Proofpoint, Mimecast): long, and the company's;
# and the place of a signature's image: "[cid:image001.png@01D9...]", "[https://cdn.../logo.png]<...>",
# "[image: logo webridge]" (Gmail).
_BARE_URL = re.compile(r"^[<\[(]?https?://[\w.-]{0,40}?(?:safelinks\.protection\.outlook\.com|urldefense\.|mimecast\.com)"
                       r"\S*$|^\[(?:cid:|https?://)[^\]\s]+\](?:<[^<>\s]+>)?$|^\[image:[^\]]{0,80}\](?:\s*<[^<>\s]+>)?$")


def phone(line: str) -> bool:
    """A phone number: seven digits or more ("10 / 100" in a log line is not one)."""
    return any(sum(c.isdigit() for c in m.group()) >= 7 for m in P.PHONE.finditer(line))


def _is_signoff(line: str) -> bool:
    m = P.SIGN_OFF.match(line)
    if not m:
        return False
    rest = line[m.end():]
    word = m.group().strip()
    if word.lower() in BARE_ONLY:   # "LP Records", "Atte Korhonen", "UDV" (a code): not sign-offs
        return not rest.strip(" ,.!:;-") and not (len(word) > 1 and word.isupper())
    if P.SIGN_OFF_REST.match(rest) is not None:
        return True
    # Two languages: "Med venlig hilsen / Kind regards", "Mit freundlichen Grüßen | Best regards".
    parts = _BILINGUAL.split(line)
    return len(parts) == 2 and all(_is_signoff(part) for part in parts)


_BILINGUAL = re.compile(r"\s+[/|]\s+")
# Sign-offs that are also words, names or abbreviations: only alone on their line.
BARE_ONLY = frozenset("lp kh udv üdv att atte pozdrav selamlar".split())


@functools.lru_cache(maxsize=4096)     # asked of each line for every line above it
def sign_off_ok(line: str) -> bool:
    s = line.strip()
    if len(s) > 60 or s.endswith("?"):
        return False
    return _is_signoff(s)


AFTER_NAME = re.compile(r"\s*[,|·•]\s*")    # "John Smith, CPA", "Jean Dupont | Responsable support"


def is_name_line(line: str, titled: bool = False) -> bool:
    """A name ("Jane Doe", "J. Smith"); with `titled` (the sender's own line), also a name
    followed by a short title or credential ("John Smith, CPA", "Jean Dupont | Support")."""
    line = line.strip().strip(",")
    if not titled and AFTER_NAME.search(line):
        return False
    head, *rest = AFTER_NAME.split(line, maxsplit=1)
    words = head.split()
    # After a full name, a short credential or title (in two languages: "Teamleiter
    # Entwicklung / Team Lead Development"): not a clause, no date ("Thu, 29 Apr").
    if rest and (len(words) < 2 or any(len(title.split()) > 4 for title in rest[0].split(" / "))
                 or rest[0].endswith(".") and not DOTTED_END.match(rest[0])     # "Ph.D."
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
def is_sig_block_line(line: str) -> bool:
    s = line.strip()
    if not s or DISCLAIMER.search(s) or _BARE_URL.match(s):
        return True
    if _LINK_TARGET.search(s) and all(_LINK_WORDS.match(part.strip()) for part in
                                      re.split(r"[|·•]", _LINK_TARGET.sub("", s)) if part.strip()):
        # A signature's links ("LinkedIn (…) | Twitter (…)", "Chat with me on Teams (…)",
        # "www.acme.example (…)"): a few words each, no sentence.
        return True
    contact = phone(s) or P.EMAIL.search(s) or P.URL.search(s) or P.CONTACT_LABEL.match(s)
    # "Office: +44 20 7946 0958 | Mobile: +44 7700 900123 | Fax: +44 20 7946 0959" runs long.
    if contact and len(s) <= 120 and any(sep in s for sep in SEPARATORS):
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


def has_contact(lines: list[str]) -> bool:
    return any(phone(x) or P.EMAIL.search(x) or P.CONTACT_LABEL.match(x.strip()) for x in lines)


# Degrees and companies' legal forms written with dots, at a line's end.
DOTTED_END = re.compile(r"(?<![\w.])(?:Ph\.D|M\.D|M\.Sc|B\.Sc|Dr\.-Ing|s\.r\.o|Sp\. z o\.o|S\.A|S\.L"
                        r"|S\.p\.A|B\.V|N\.V|e\.V|S\.A\.S|S\.R\.L)\.$")
