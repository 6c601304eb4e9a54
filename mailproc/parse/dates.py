"""Choose a message's date: the Date header when plausible, else Received, else a fallback."""

from __future__ import annotations

import email.message
import email.utils
import logging
import re
from datetime import datetime, timedelta, timezone

log = logging.getLogger(__name__)

EARLIEST_AT = datetime(1990, 1, 1, tzinfo=timezone.utc)
# Clocks drift and time zones get mislabelled; a day of slack keeps honest
# mail while refusing the spam that dates itself years ahead to stay on top.
FUTURE_SLACK = timedelta(days=1)
_WS = re.compile(r"\s+")


def parse_date(value: str) -> datetime | None:
    """An aware UTC datetime from an RFC 5322 date string, or None when unparseable."""
    value = _WS.sub(" ", value or "").strip()
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        # RFC 5322 "-0000" means "no zone information": UTC is the honest reading.
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def plausible(at: datetime | None, now: datetime | None) -> bool:
    """True when a date is neither before 1990 nor more than a day after now."""
    if at is None or at < EARLIEST_AT:
        return False
    return now is None or at <= now + FUTURE_SLACK


def received_date(value: str) -> datetime | None:
    """The timestamp of one Received header: the text after its last ';'."""
    _, sep, tail = (value or "").rpartition(";")
    return parse_date(tail) if sep else None


def choose_date(
    date_values: list[str],
    received_values: list[str],
    *,
    fallback_at: datetime | None,
    now: datetime | None,
    defects: list[str],
) -> tuple[datetime | None, str]:
    """(date_at, source) with source "date", "received" or "fallback"."""
    raw = date_values[0] if date_values else ""
    at = parse_date(raw)
    if plausible(at, now):
        return at, "date"
    if raw.strip():
        why = "unparseable" if at is None else "implausible"
        defects.append(f"{why} Date header {raw.strip()[:60]!r}")
    else:
        defects.append("no Date header")
    # Received headers are prepended by each hop, so the first one is the newest
    # and was written by the server closest to us.
    for value in received_values:
        at = received_date(value)
        if plausible(at, now):
            return at, "received"
    if fallback_at is not None:
        return fallback_at.astimezone(timezone.utc), "fallback"
    return None, "fallback"


def date_header_notes(msg: email.message.Message) -> list[dict]:
    """mail-parser's date diagnostics (MailParser.date_header_defects), in its order, without
    the rest of its parse: Date and Resent-Date, then each Received stamp, last hop first."""
    from mailparser.dates import date_diagnostics, parse_mail_date
    from mailparser.exceptions import MailParserReceivedParsingError

    notes: list[dict] = []
    seen: dict[str, int] = {}
    received: list[str] = []
    for name, raw in msg.raw_items():
        header = name.lower()
        if header == "received":
            received.append(raw)
        elif header in ("date", "resent-date"):
            occurrence = seen.get(header, 0)
            seen[header] = occurrence + 1
            notes.extend(date_diagnostics(parse_mail_date(raw), raw, header, occurrence))
    stamps: list[str | None] = []
    for raw in received:
        try:
            value = raw.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            value = raw
        try:
            stamp = received_stamp(value)
        except MailParserReceivedParsingError:
            stamp = None  # mail-parser keeps such a hop raw, without a date
        # As mail-parser stores clause values before it reads the date back.
        if stamp is not None:
            stamp = stamp.encode("utf-8", "backslashreplace").decode("utf-8")
        stamps.append(stamp)
    # mail-parser formats hops from the last Received header to the first.
    for occurrence in range(len(received) - 1, -1, -1):
        if stamps[occurrence] is not None:
            result = parse_mail_date(stamps[occurrence])
            notes.extend(date_diagnostics(result, received[occurrence], "received", occurrence))
    return notes


_TRACE_SPECIAL = re.compile(r'[\\()"\[\]<>;]')
_FWS = " \t\r\n"


def received_stamp(value: str) -> str | None:
    """The date stamp of a Received field body as mail-parser's split_received reads it
    (its second value), raising its MailParserReceivedParsingError alike.

    split_received walks every character in Python; a field has a few dozen that matter
    (comments, quotes, literals, angle brackets, the ';'). This jumps from one to the next
    with the same states, and hands split_received the fields it would read differently
    from a plain "clauses; date": no ';' (a SendGrid stamp) or several (a misplaced
    separator), and the malformed ones it raises on."""
    from mailparser.received import split_received

    comment, quote, literal, angle = 0, False, False, False
    separator = -1
    position = 0
    search = _TRACE_SPECIAL.search
    while (found := search(value, position)) is not None:
        index = found.start()
        char = value[index]
        position = index + 1
        if comment:
            if char == "\\":
                position += 1          # a quoted pair: the next character is taken as is
            elif char == "(":
                comment += 1
            elif char == ")":
                comment -= 1
        elif quote or literal:
            if char == "\\":
                position += 1
            elif quote and char == '"':
                quote = False
            elif literal and char == "]":
                literal = False
        elif char == "(":
            comment = 1
        elif char == '"':
            quote = True
        elif char == "[":
            literal = True
        elif char == "<":
            if angle:
                break                  # nested angle address: split_received raises
            angle = True
        elif char == ">":
            angle = False
        elif char == ";" and not angle:
            if separator >= 0:
                break                  # a second separator: split_received decides
            separator = index
        elif char == ")":
            break                      # a comment closed that was never opened: it raises
    else:
        if separator >= 0 and not (comment or quote or literal or angle):
            return value[separator + 1:].strip(_FWS)
    return split_received(value, defects=[])[1]
