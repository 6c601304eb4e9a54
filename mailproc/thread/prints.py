"""Fingerprints of what people wrote, to recognise it when it comes back quoted.

A reply whose headers are gone still quotes the conversation: the colleague who answers
with the whole history below, the webmail forward. The words of each stored message's new
text become overlapping runs of SHINGLE words, hashed; a deterministic quarter of them is
kept (the same quarter on both sides, so nothing is lost by sampling). The quoted part of
an incoming mail gives its own; where enough of them meet, the quote is that message.
Quote markers, line breaks (re-wrapping), case, punctuation and the attribution lines
clients put above a quote ("On ... wrote:", Outlook's From:/Sent: block) do not count.
"""

from __future__ import annotations

import hashlib
import re

from mailproc.parse.message import ParsedMessage
from mailproc.parse.reply import is_forward

SHINGLE = 6             # words per run: long enough to be this message, short enough to
                        # survive a re-wrapped or partly trimmed quote
SAMPLE = 4              # keep a print when its hash is a multiple of this
MAX_PRINTS = 200
MIN_MATCH = 3           # prints of one stored message a quote must hold to be it
_WORD = re.compile(r"\w+", re.UNICODE)
_ATTRIBUTION = re.compile(
    r"^\s*(?:>\s*)*(?:(?:on|am|le|el|il|op|den|dne)\b.{0,200}(?:wrote|schrieb|écrit|escribió"
    r"|scritto|geschreven|skrev|napsal)\s*:?\s*$"
    r"|(?:from|von|de|sent|gesendet|envoyé|to|an|à|cc|subject|betreff|objet|date|datum)\s*:.*$)",
    re.IGNORECASE | re.MULTILINE)


def fingerprints(text: str | None) -> tuple[int, ...]:
    """The sampled prints of `text` (signed 64-bit, as a database column holds them)."""
    if not text:
        return ()
    # Each word encoded once: the UTF-8 of the words joined by spaces is their UTF-8 joined
    # by b" " (the same digests as hashing each run's text).
    words = [w.encode() for w in _WORD.findall(_ATTRIBUTION.sub(" ", text).casefold())]
    prints: dict[int, None] = {}
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    for i in range(len(words) - SHINGLE + 1):
        value = from_bytes(blake2b(b" ".join(words[i:i + SHINGLE]), digest_size=8).digest(),
                           "big", signed=True)
        if value % SAMPLE == 0:
            prints[value] = None
            if len(prints) >= MAX_PRINTS:
                break
    return tuple(prints)


def history(msg: ParsedMessage) -> str:
    """What a message quotes of earlier mail: its quoted part, and for a forward also its
    content (a forwarded history is the content of a "Fwd:" mail, not its quoted part)."""
    return f"{msg.new_text}\n\n{msg.quoted_text}" if is_forward(msg.subject) \
        else msg.quoted_text
