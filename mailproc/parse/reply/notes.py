"""Lotus Notes' classic reply header: a table that plain text shows one cell per line."""

from __future__ import annotations

import re

from mailproc.parse.reply import patterns as P

_NOTES_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\s+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?"
                         r"(?:\s*[AaPp]\.?[Mm]\.?)?")
_NOTES_NAME = re.compile(r"[^\W\d_][\w.'’ -]{1,40}(?:/[\w.&’ -]{1,30}){1,4}")   # Hans Müller/IT/Firma
_RESPOND_TO = re.compile(r"please respond to|bitte antworten an", re.IGNORECASE)


def _label_alone(line: str) -> str | None:
    """The header role of a line that is a field's label alone ("An", "Subject"), or None."""
    label = line.strip()
    if not label or len(label) > 12 or " " in label:
        return None
    return "subject" if label.lower() == "thema" else P.is_field(label + ": x")


def notes_table(lines: list[str], marks: list[str], i: int) -> tuple[int, int] | None:
    """Lotus Notes' classic reply header, a table in plain text: the sender with an address
    ("Name/Org@Org", "Name <a@b>"; "Sent by:" lines may follow), the date and time alone
    (line i), then "To"/"An" alone over an address, "cc"/"Kopie" alone, and "Subject"/"Thema"
    alone. Its first and last lines, or None. Labels alone are common words and forms use
    them too, so every part must be there, with addresses, and not announced with a colon."""
    if not _NOTES_DATE.fullmatch(lines[i].strip()):
        return None
    above = []                      # the sender's lines: up to three right above, no blank
    for j in range(i - 1, max(-1, i - 4), -1):
        if marks[j] != "t" or not lines[j].strip():
            break
        above.append(j)
    sender = next((j for j in reversed(above)
                   if "@" in lines[j] or _NOTES_NAME.fullmatch(lines[j].strip())), None)
    if sender is None:
        return None
    if P.announced(lines, sender):
        return None
    rows = [j for j in range(i + 1, min(len(lines), i + 16)) if lines[j].strip()]
    if rows and _RESPOND_TO.fullmatch(lines[rows[0]].strip()):
        rows = rows[2:]             # "Please respond to" over an address
    roles = [_label_alone(lines[j]) for j in rows]
    if len(rows) < 4 or roles[0] != "to" or "@" not in lines[rows[1]]:
        return None
    cc = next((k for k, role in enumerate(roles) if role == "cc"), None)
    subject = next((k for k, role in enumerate(roles) if role == "subject"), None)
    if cc is None or subject is None or not 1 < cc < subject:
        return None
    return sender, rows[subject]
