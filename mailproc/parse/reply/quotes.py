"""Read the line marks: where the quoted history starts and ends, inline answers, and what is new."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailproc.parse.reply import patterns as P
from mailproc.parse.reply.headers import header_block
from mailproc.parse.reply.patterns import is_field
from mailproc.parse.reply.signature import only_ending
from mailproc.parse.reply.text import is_attribution, mark_lines, next_nonempty


@dataclass(frozen=True)
class QuoteSplit:
    """New lines, quoted lines, and whether the body forwards mail (then nothing is quoted).

    `inline`: the person answered between the quoted lines; `new` keeps the quotes it answers
    (an answer means little without its question) and `quoted` holds every quoted line.
    """

    new: list[str]
    quoted: list[str]
    forward: bool
    inline: bool = False


def _resolve(lines: list[str], marks: list[str]) -> list[str]:
    """Settle marks that depend on their neighbours: rules, HTML boundaries, re-wrapped quote lines."""
    marks = list(marks)
    n = len(marks)
    for i in range(n - 1, -1, -1):
        if marks[i] in ("r", "h"):
            j = next_nonempty(marks, lines, i + 1)
            if j is None:
                marks[i] = "e"
                continue
            following = marks[j]
            # The rule before Outlook's header, Gmail's quote div before "Forwarded message": the
            # mark joins whatever it introduces.
            if following == "t" and is_field(lines[j].strip()):
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
    if body.rstrip().endswith("?"):
        return False  # a question quoted whole, and its answer below it
    for line in run:
        s = line.strip()
        if "http" in s or s.startswith(("(", "_", "<", "[")) or s.endswith((">", ")", "]")):
            continue
        if (body.rstrip().endswith((",", ";")) or is_field(body.strip())) and len(s.split()) <= 3:
            continue  # "> Cc: A; b@example.org;" wrapped before "c@example.org;", or "> From: ... On Behalf Of"
        if len(body) >= 60 and s[:1].islower():
            continue
        return False
    return True


_INTERLEAVED = re.compile(r"m[me]*[tcM][tecM]*[sh]?e*m")


def _heads_history(line: str) -> bool:
    s = line.strip()
    return bool(is_field(s) or P.ORIGINAL_MESSAGE.match(s) or P.RULE_LINE.match(s) or P.FORWARD_MARKER.match(s))


def dequote(line: str) -> str:
    """`line` a level of quoting less."""
    return re.sub(r"^\s*>\s?", "", line)


def _headed_quote(lines: list[str], seq: str) -> tuple[int, int] | None:
    """A ">" block with no header above it that opens with a quoted one (">From: ...", "> On ... wrote:")."""
    m = re.search(r"m[me]*m", seq)
    if m is None:
        return None
    inner = [dequote(line) for line in lines[m.start():m.end()]]
    first = next((i for i, line in enumerate(inner) if line.strip()), None)
    if first is None:
        return None
    head = inner[first].strip()
    if header_block(inner, first) >= 2 or P.ORIGINAL_MESSAGE.match(head) or is_attribution(head, True):
        return m.start(), m.end()
    return None


def _inline_answers(lines: list[str], seq: str) -> QuoteSplit | None:
    """Answers written between quoted lines: new text up to the last answer, every quote quoted.

    The quote must start with ">" lines (after its attribution, if any): a header followed by
    unquoted text heads history pasted whole (Outlook), whatever that history holds.
    """
    if not _INTERLEAVED.search(seq):
        return None
    first = min(i for i in (seq.find("m"), seq.find("s"), seq.find("h")) if i >= 0)
    start = first
    while start < len(seq) and seq[start] in "she":
        if seq[start] == "s" and _heads_history(lines[start]):
            return None  # From:/Sent:/-----Original Message-----: someone else's mail, answers and all
        start += 1
    # The person's signature under the quote they left below their last answer is no answer.
    signed = _signature_under_quote(lines, seq)
    end = len(seq) if signed is None else signed
    if start >= end or seq[start] != "m" or not _INTERLEAVED.search(seq, start, end):
        return None
    last_new = max(i for i, k in enumerate(seq[:end]) if k in "tcM")
    quoted = [line for i, line in enumerate(lines[first:end], first) if i > last_new or seq[i] in "mshe"]
    return QuoteSplit(lines[: last_new + 1] + lines[end:], quoted, False, inline=True)


_SIGNATURE_UNDER = 15      # lines a "--" signature under the quote may have
# A name alone after a dash, signing: "-- Jan", "— Jan Smith" (not "- fourteen", an answer).
_DASHED_NAME = re.compile(r"^\s*(?:--?|[–—])\s*[A-ZÀ-Ý][\w.'-]*(?:\s+[A-ZÀ-Ý][\w.'-]*)?\s*$")


def _signature_under_quote(lines: list[str], seq: str) -> int | None:
    """Where the person's signature under the last ">" block starts: a "--" rule over a short
    block, their name alone after a dash ("-- Jan"), or a device's line alone ("Sent from my
    phone"); None when anything else is there."""
    last = seq.rfind("m")
    rest = [i for i in range(last + 1, len(seq)) if seq[i] != "e"] if last >= 0 else []
    if not rest or any(seq[i] not in "tM" for i in rest):
        return None
    if all(seq[i] == "M" for i in rest) \
            or (lines[rest[0]].strip() == "--" and len(rest) <= _SIGNATURE_UNDER) \
            or (len(rest) == 1 and _DASHED_NAME.match(lines[rest[0]])):
        return rest[0]
    return None


def answers_under_header(lines: list[str]) -> QuoteSplit | None:
    """History headed by a mail's header (From:/Sent:, "-----Original Message-----") whose
    ">" lines have answers between them, for a reply that says it answers inline: the
    questions and answers, and the rest (header, quotes, what follows the last answer)."""
    seq = "".join(_resolve(lines, mark_lines(lines)))
    first = seq.find("m")
    if first < 0 or any(k in "tcM" for k in seq[:first]) or not _INTERLEAVED.search(seq, first):
        return None
    last_new = max(i for i, k in enumerate(seq) if k in "tcM")
    quoted = [line for i, line in enumerate(lines) if i < first or i > last_new or seq[i] in "mshe"]
    return QuoteSplit(lines[first:last_new + 1], quoted, False, inline=True)


def _quoted_ending(lines: list[str], seq: str) -> int | None:
    """Where the last ">" block starts when it holds only the quoted mail's ending (its
    writer's name, sign-off, signature or list footer) under the person's answer to one quote
    above: a bottom-poster who left it, not answers between quoted lines. `seq`: the marks as
    read, before a short line between ">" lines is taken for a re-wrapped quote's tail (an
    answer: "> your preferred day,\nFriday\n> and whether ...")."""
    m = re.search(r"m[me]*$", seq)
    if m is None or not re.fullmatch(r"[^m]*m[me]*[^m]*[tcM][^m]*", seq[:m.start()]):
        return None
    start, end = _block_above(lines, seq.find("m"))
    if any(_heads_history(line) for line in lines[start:end]) \
            and any(k in "tcM" for k in seq[:start]):
        return None     # words over From:/Sent: and ">" lines: someone else's mail, answers and all
    return m.start() if only_ending([dequote(line) for line in lines[m.start():]]) else None


def _block_above(lines: list[str], i: int) -> tuple[int, int]:
    """Where the paragraph right above line i starts and ends (blank lines between them
    skipped): a quote's header, not a warning framed by rules further up."""
    end = i
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].strip():
        start -= 1
    return start, end


def split_quote(lines: list[str], marks: list[str]) -> QuoteSplit:
    """Read the marks: where the quoted history starts and ends, and what around it is new."""
    ending = _quoted_ending(lines, "".join(marks))
    marks = _resolve(lines, marks)
    seq = "".join(marks)
    if ending is not None:
        head = split_quote(lines[:ending], marks[:ending])
        return QuoteSplit(head.new, head.quoted + lines[ending:], head.forward, head.inline)
    n = len(lines)
    first_s = next((i for i, k in enumerate(seq) if k in "sh"), None)
    first_f = seq.find("f")
    first_mobile = seq.find("M")
    # A device's line over a forward ("Sent from my iPhone" and nothing else) does not make it history.
    if first_f >= 0 and (first_s is None or first_f < first_s) and (
            first_mobile < 0 or first_mobile > first_f or not any(k in "tc" for k in seq[:first_f])):
        return QuoteSplit(lines, [], True)
    inline = _inline_answers(lines, seq)
    if inline is not None:
        return inline
    if first_s is not None and not any(k in "tcM" for k in seq[:first_s]):
        end = first_s
        while end < n and seq[end] in "sh":
            end += 1
        nxt = next_nonempty(marks, lines, end)
        while nxt is not None and seq[nxt] == "e":     # an HTML marker line ("\x00indent\x00")
            nxt = next_nonempty(marks, lines, nxt + 1)
        if nxt is not None and seq[nxt] == "m":
            # Quote on top, reply below it (bottom-posting).
            stop = nxt
            while stop < n and seq[stop] in "me":
                stop += 1
            rest = split_quote(lines[stop:], mark_lines(lines[stop:]))
            return QuoteSplit(rest.new, lines[:stop] + rest.quoted, rest.forward, rest.inline)
        # A header with nothing above it is pasted or forwarded content, not history.
        seq = seq[:first_s] + "t" * (end - first_s) + seq[end:]
        marks = list(seq)
        first_s = next((i for i, k in enumerate(seq) if k in "sh"), None)
        first_f = seq.find("f")
        if first_f >= 0 and (first_s is None or first_f < first_s):
            return QuoteSplit(lines, [], True)
    inline = _inline_answers(lines, seq)
    if inline is not None:
        return inline
    cut = None
    if first_mobile >= 0 and (first_s is None or first_mobile < first_s) \
            and not _over_the_words(lines, marks, seq, first_mobile):
        last = first_mobile      # the device's line in two languages (Bell's BlackBerry) is one
        below = next_nonempty(marks, lines, last + 1)
        while below is not None and seq[below] == "M":
            last, below = below, next_nonempty(marks, lines, below + 1)
        if below is not None:
            return QuoteSplit(lines[: last + 1], lines[last + 1:], False)
    if first_s is not None:
        cut = first_s
        last_q = max(i for i, k in enumerate(seq) if k in "mshf")
        between = seq[cut:last_q + 1]
        tail = seq[last_q + 1:]
        if "m" in between and not any(k in "tcM" for k in between) and any(k in "tc" for k in tail):
            return QuoteSplit(lines[:cut] + lines[last_q + 1:], lines[cut:last_q + 1], False)
        return QuoteSplit(lines[:cut], lines[cut:], False)
    # No header at all: a ">" block that opens with a quoted header is history, whatever follows it
    # (the Hotmail-style ">From: ... >Date:" quote above a web-mail advertisement).
    headed = _headed_quote(lines, seq)
    if headed is not None and "m" not in seq[headed[1]:] and any(k in "tcM" for k in seq[: headed[0]]):
        return QuoteSplit(lines[: headed[0]] + lines[headed[1]:], lines[headed[0]:headed[1]], False)
    # Otherwise only a trailing or leading block of several ">" lines is history, or of ">"
    # alone (a client's empty quote under a short reply).
    m = re.search(r"m[me]*$", seq)
    if m and seq[: m.start()].strip("e") and (seq.count("m", m.start()) >= 2 or not any(
            dequote(line).strip() for line in lines[m.start():])):
        return QuoteSplit(lines[: m.start()], lines[m.start():], False)
    # ... or one under the words with the person's "-- " signature below it (Thunderbird's
    # "start my reply above the quote" with "place my signature below the quote").
    signed = _signed_below(lines, seq)
    if signed is not None:
        return QuoteSplit(lines[: signed[0]] + lines[signed[1]:], lines[signed[0]:signed[1]], False)
    m = re.match(r"^e*m[me]*", seq)
    if m and seq.count("m", 0, m.end()) >= 2 and "m" not in seq[m.end():]:
        return QuoteSplit(lines[m.end():], lines[: m.end()], False)
    return QuoteSplit(lines, [], False)


def _signed_below(lines: list[str], seq: str) -> tuple[int, int] | None:
    """A block of several ">" lines under the words, not announced by them, then only a "--"
    rule and a short block under it: the block's start and end."""
    m = re.search(r"(?<=[tc])e*(m[me]*?)e*(?=t[te]*$)", seq)
    if m is None or seq.count("m", m.start(1), m.end(1)) < 2 or P.leads_into(lines, m.start(1)):
        return None     # "The sync fails with this message:" over the ">" lines: pasted, theirs
    below = [line.strip() for line in lines[m.end():] if line.strip()]
    if not P.SIG_DELIMITER.match(below[0]) or len(below) > 7:
        return None
    return m.start(1), m.end(1)


def _over_the_words(lines: list[str], marks: list[str], seq: str, i: int) -> bool:
    """The device's line at i comes first, over the person's words: a client's that puts it
    on top ("Sent from iPhone\n\nHi, …"), not the end of the words."""
    below = next_nonempty(marks, lines, i + 1)
    return not any(k in "tc" for k in seq[:i]) and below is not None and seq[below] in "tc"


def strip_quotes(text: str) -> str:
    """`text` without its quoted lines and their attributions (the answers of an inline reply)."""
    lines = text.split("\n")
    marks = mark_lines(lines)
    kept = [line for line, mark in zip(lines, marks) if mark not in "msh"]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
