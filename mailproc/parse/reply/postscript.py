"""Postscripts: the "P.S." a person writes under their signature, told from initials."""

from __future__ import annotations

import re

_PS = re.compile(r"^\s*(?:p\.\s?s\.|p\.\s?p\.\s?s\.|ps:|pps:|ps\s)", re.IGNORECASE)
# A postscript's own marker: "P.S." or "PS:" (not "P.S. Kumar", a name's initials, nor
# PowerShell's "PS C:\>"); Spanish "P.D.:", or "P.D." before a sentence ("P.D. Smith" and
# "P.D. Records Unit, City of Springfield" are a name and a police department).
_POSTSCRIPT = re.compile(r"^\s*(?:(?:p\.\s?p\.\s?s\.|p\.\s?s\.|pps|ps)\s*(?::|$|\s+(?![A-Z]:\\))"
                         r"|p\.\s?d\.\s*:|pd:|p\.\s?d\.\s+\S+\s+\S+\s.*[.!?]\s*$|ملاحظة\s*:)", re.IGNORECASE)
# "P.S. Kumar", "P. S. Raghavan": a name's initials; not "P.S. Happy Holidays", "PS: Call Me".
_INITIALS_NAME = re.compile(r"^\s*(?:[A-Za-z]\.\s?){2,3}\s*(?!(?:%s)\b)(?:[A-Z][\w'’-]*\s*){1,3}$" % "|".join(
    ("Thanks", "Thank", "Happy", "Merry", "Call", "Please", "See", "Have", "Good", "Great", "Nice",
     "Love", "Sorry", "Congrats", "Congratulations", "Also", "Note", "Welcome", "Cheers", "Enjoy",
     "Remember", "Let", "Looking", "Hope", "Best", "Ring", "Text", "Email", "Reply", "Gracias",
     "Feliz", "Saludos", "Danke", "Frohe", "Merci", "Bonne", "Joyeux", "Buon", "Grazie")))


# "PPS Logistics GmbH", "PS Tech": a company's name.
_BARE_NAME = re.compile(r"^\s*(?i:p?ps)\s+(?:[A-Z][\w'’&.-]*\s*){1,4}$")


def is_postscript(line: str) -> bool:
    """The line opens a postscript."""
    return _POSTSCRIPT.match(line) is not None and not _INITIALS_NAME.match(line) \
        and not _BARE_NAME.match(line)


def postscript_like(line: str) -> bool:
    """A postscript, or a line that opens like one and is no name ("PS C:\\> dir"): the
    person's words, under which no signature of theirs starts above."""
    return bool((_PS.match(line) or _POSTSCRIPT.match(line)) and not _INITIALS_NAME.match(line)
                and not _BARE_NAME.match(line))


def postscript_start(lines: list[str]) -> int | None:
    """Index of the first "P.S." that opens a paragraph, or None: from there down the words
    are the person's, written after the signature."""
    return next((i for i in range(1, len(lines))
                 if is_postscript(lines[i]) and not lines[i - 1].strip()), None)
