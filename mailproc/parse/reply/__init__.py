"""Reply extraction: the new words of a message, apart from quoted history and signature."""

from __future__ import annotations

import email
import email.policy
import logging
import quopri
import re
from dataclasses import dataclass

from mailproc.errors import ParseError
from mailproc.parse.html_text import html_to_text
from mailproc.parse.reply.html_quotes import answer_style, marked_text
from mailproc.parse.reply.quotes import (
    QuoteSplit, answers_under_header, dequote, split_quote, strip_quotes,
)
from mailproc.parse.reply import patterns as P
from mailproc.parse.reply.banner import leading_banner
from mailproc.parse.reply.postscript import postscript_start
from mailproc.parse.reply.signature import (
    list_footer_start, only_signature, signature_alone, signature_start, signed_start,
)
from mailproc.parse.reply.text import (
    is_attribution, mark_lines, next_nonempty, split_inline_attribution,
)

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\x00\w*\x00")
_QUOTED_MARKER = re.compile(r"^[> ]*>[> ]*\x00\w*\x00\s*$")
_SIGNATURE_MARK = "\x00signature\x00"        # html_quotes: a client's signature element
_SIGNATURE_END = "\x00signature_end\x00"
_BLANKS = re.compile(r"\n{3,}")
_RULE = re.compile(r"^\s*(?:[-_=*~—–]\s*){3,}$")
# Fwd:, FW:, WG: (de), TR: (fr), RV:/RE: no, I: (it), Doorst: (nl), VS:/VB: (fi/nl), PD: (pl), ENC: (pt),
# Пересл: (ru), 转发: (zh), 転送: (ja)
_FORWARD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|wg|tr|rv|i|doorst|vs|vb|pd|enc|fw|vl|tov|пересл|转发|轉寄|転送)\s*[:：]",
    re.IGNORECASE
)
# Re:, AW: (de), SV: (sv/da/no), Antw: (nl), Odp: (pl), Vá: (hu), Ynt: (tr), ΑΠ: (el), R:/RIF: (it), RES: (pt),
# Отв: (ru), Відп: (uk), 回复/答复 (zh), 回覆 (zh-tw), 返信 (ja), 회신/답장 (ko), השב (he), رد (ar),
# Atb: (lv), Odg: (hr, sr), Svar: (sv, no, da), Bls:/Balas: (id, ms), Trả lời: (vi), ตอบ (th)
_REPLY_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:re|aw|sv|antw|odp|vá|ynt|απ|r|rif|res|отв|відп|回复|答复|回覆|返信|회신|답장|השב|رد"
    r"|atb|odg|svar|bls|balas|trả\s+lời|ตอบ)"
    r"\s*(?:\[\d+\])?\s*[:：]",
    re.IGNORECASE,
)
_EITHER_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?vs\s*:", re.IGNORECASE)
# Outlook's header in the languages whose "VS:" is a reply's (fi "Vastaus", et "Vastus", hu
# "Válasz"), not a forward's (no, da "Videresendt"): under "VS:", "Lähettäjä:", "Saatja:" or
# "Feladó:" heads a reply.
_REPLYING_LANGUAGE = re.compile(r"^\W*(?:lähettäjä|saatja|feladó)\W*[:：]", re.IGNORECASE)
_FORWARD_NOTE_LINES = 15


@dataclass(frozen=True)
class ReplyParts:
    """What a person wrote in one message, and what was taken away from it."""

    text: str  # new text, no quote, no signature
    quoted: str  # quoted history removed ("" if none), and mailing-list footers
    signature: str  # signature block removed ("" if none)
    # The person answered between quoted lines: `text` keeps the quotes it answers, as written,
    # and `quoted` holds every quoted line.
    inline: bool = False

    @property
    def answers(self) -> str:
        """The person's own words alone: `text` without the quoted lines an inline reply answers."""
        return strip_quotes(self.text) if self.inline else self.text

    @property
    def text_with_signature(self) -> str:
        """New text with the signature kept."""
        if self.text and self.signature:
            return self.text + "\n\n" + self.signature
        return self.text or self.signature


def is_forward(subject: str | None) -> bool:
    """Does the subject say the mail forwards another ("Fwd:", "WG:", "TR:", ...)?"""
    return bool(subject and _FORWARD_SUBJECT.match(subject))


def _clean(lines: list[str]) -> str:
    text = "\n".join(_MARKER.sub("", line).rstrip() for line in lines
                     if not _QUOTED_MARKER.match(line))     # a container's start inside a quote
    return _BLANKS.sub("\n\n", text).strip().strip("\u200b\ufeff").strip()


def _cut_lone_blockquote(lines: list[str]) -> tuple[list[str], list[str]]:
    """HTML with no attribution: its one top-level blockquote is the quote (mail clients quote that way)."""
    starts = [i for i, line in enumerate(lines) if line.startswith(("\x00cite\x00", "\x00indent\x00"))]
    if len(starts) != 1:
        return lines, []
    start = end = starts[0]
    while end + 1 < len(lines) and (lines[end + 1].startswith(">") or not lines[end + 1].strip()):
        end += 1
    if not any(line.strip() for line in lines[start + 1:end + 1]):
        return lines, []
    return lines[:start] + lines[end + 1:], lines[start:end + 1]


def _forward_marks(lines: list[str], marks: list[str], either: bool) -> list[str]:
    """In a message whose subject says it forwards mail, its first header starts the forwarded
    mail; unless the subject may say reply as well (`either`) and that header is a reply's
    "<name> wrote:" over ">" lines, with no forward's marker anywhere. A device's line above
    the forwarded mail ends the note, not the mail."""
    first = next((i for i, k in enumerate(marks) if k in "sfh"), None)
    if first is None or sum(k in "tc" for k in marks[:first]) > _FORWARD_NOTE_LINES:
        return marks
    if marks[first] == "f":     # a device's line over it ends the note: the forwarder's signature
        return [("t" if k == "M" and i < first else k) for i, k in enumerate(marks)]
    end = first
    while end < len(marks) and marks[end] in "sh":
        end += 1
    below = next_nonempty(marks, lines, end)
    if either and "f" not in marks and (
            below is not None and marks[below] == "m"
            and is_attribution(" ".join(x.strip() for x in lines[first:end]), True)
            or any(_REPLYING_LANGUAGE.match(line)
                   for line in _header_lines(lines, marks, first, end, below))):
        return marks
    return marks[:first] + ["f"] * (end - first) + marks[end:]


def _header_lines(lines: list[str], marks: list[str], first: int, end: int, below: int | None) -> list[str]:
    """The lines of the header at lines[first:end]; the line below when those are only HTML's
    quote marker (a rule, divRplyFwdMsg), over the header's first line."""
    if any(marks[k] != "h" for k in range(first, end)) or below is None:
        return lines[first:end]
    return [lines[below]]


def _forwarders_signature(lines: list[str], marks: list[str], sender: str | None
                          ) -> tuple[list[str], list[str]]:
    """A forward's lines without the signature of the person forwarding, which ends their note
    above the forwarded mail; and that signature."""
    at = next((i for i, k in enumerate(marks) if k == "f"), None)
    while at and (not lines[at - 1].strip() or _RULE.match(lines[at - 1])):
        at -= 1
    start = signed_start(lines[:at], sender) if at else None
    if start is None and at and only_signature(lines[:at]):
        start = 0       # no note, only "Best regards, Anna" or "Sent from my iPhone"
    if start is None:
        return lines, []
    return lines[:start] + lines[at:], lines[start:at]


def _reply_marks(marks: list[str]) -> list[str]:
    """In a reply, a forwarded mail below the person's words is what they pass on, not what they wrote."""
    first = next((i for i, k in enumerate(marks) if k in "tcM"), None)
    if first is None or "f" not in marks[first:]:
        return marks
    return [("s" if k == "f" and i > first else k) for i, k in enumerate(marks)]


def _inline_note(new: list[str]) -> str | None:
    """The line where the person says their answers are in the history: not in a file ("inline
    in the attached Word file", "unten im PDF"), not someone else's ("thanks for your answers
    inline")."""
    note = next((line for line in new if P.INLINE_NOTE.search(line)), None)
    return note if note is not None and not _ELSEWHERE.search(note) \
        and not _THEIRS.search(note) else None


_THEIRS = re.compile(r"\b(?:your|his|her|their|deine|ihre|vos|tes|sus|tus)\s+(?:\w+\s+)?(?:answers?|responses?"
                     r"|replies|comments?|antworten|anmerkungen|kommentare|réponses?|commentaires"
                     r"|respuestas?|comentarios)\b", re.IGNORECASE)
_ELSEWHERE = re.compile(r"attach|file|pdf|word|excel|spreadsheet|sheet|form\b|document|anhang|datei|dokument"
                        r"|formular|tabelle|fichier|pièce|documento|archivo|adjunto|bestand|bijlage", re.IGNORECASE)


def _signature_element(lines: list[str]) -> tuple[list[str], int | None]:
    """`lines` without the marker lines of a client's signature element (Gmail's
    gmail_signature, ...), and where that element starts when it holds the signature: the
    person's words above it, none below it, and it opens as a signature does (a name, not a
    sentence), with no P.S. and no question in it."""
    marked = [i for i, line in enumerate(lines) if line.startswith((_SIGNATURE_MARK, _SIGNATURE_END))]
    if not marked:
        return lines, None
    kept = [line for i, line in enumerate(lines) if i not in marked]
    at = marked[0] if lines[marked[0]].startswith(_SIGNATURE_MARK) else None
    end = next((i for i in marked if lines[i].startswith(_SIGNATURE_END)), len(lines))
    if at is None or end < at:
        return kept, None
    held = [line.strip() for line in lines[at + 1:end] if line.strip()]
    after = [line for line in lines[end + 1:] if _MARKER.sub("", line).strip()]
    if not any(_MARKER.sub("", line).strip() for line in lines[:at]) or not held or after \
            or P.prose(held[0]) or postscript_start(held) is not None \
            or any(line.endswith("?") for line in held):
        return kept, None
    return kept, at - sum(1 for i in marked if i < at)


def _history_under(new: list[str]) -> int:
    """Where the ">" lines at the end of an inline reply's words start when they hold an
    earlier mail's attribution ("> On … Tim wrote:", "> -----Original Message-----"): history
    under the last answer (the person's signature under it made it look answered), no
    answer's question; else len(new). Not a "> From:" line: a shell's continuation lines
    ("$ sendmail -t <<EOF\n> From: …") are the person's."""
    i = len(new)
    while i and (not new[i - 1].strip() or P.QUOTE_PREFIX.match(new[i - 1])):
        i -= 1
    tail = [dequote(line).strip() for line in new[i:]]
    return i if any(is_attribution(line, True) or P.ORIGINAL_MESSAGE.match(line)
                    for line in tail) else len(new)


def _extract_lines(
    lines: list[str], sender: str | None, html: bool = False, forward: bool = False, reply: bool = False
) -> ReplyParts:
    lines = split_inline_attribution(lines)
    # An external-sender warning above the words is the mail system's, like a list's footer: it
    # goes with the quoted part (never relayed, never read for a signature's phone numbers).
    banner = leading_banner(lines)
    warning, lines = lines[:banner], lines[banner:]
    # A mailing-list footer under everything is nobody's words; set it aside before reading the quote.
    footer_at = list_footer_start(lines)
    list_footer: list[str] = []
    if footer_at is not None and any(line.strip() for line in lines[:footer_at]):
        lines, list_footer = lines[:footer_at], lines[footer_at:]
    marks = mark_lines(lines)
    if forward:
        marks = _forward_marks(lines, marks, either=reply)
    elif reply:
        marks = _reply_marks(marks)
    split = split_quote(lines, marks)
    inline = split.inline
    said = not inline and bool(split.quoted) and _inline_note(split.new) is not None
    note_signature: list[str] = []
    if said and not any(P.QUOTE_PREFIX.match(line) for line in split.quoted):
        # "See my answers below in blue" over history with no ">": the answers are in it, and only
        # the person can tell them apart (colours, capitals): keep it all, lose none of them.
        split = QuoteSplit(list(split.new) + list(split.quoted), [], False)
        inline = True
    elif said and (inner := answers_under_header(list(split.quoted))) is not None:
        # Outlook's header over ">" lines with the answers between them; the note's signature
        # (above the header) is set aside first, or it would take the answers under it along.
        note = list(split.new)
        cut = signature_start(note, sender)
        if cut is not None:
            note, note_signature = note[:cut], note[cut:]
        split, inline = QuoteSplit(note + inner.new, inner.quoted, False), True
    new, quoted = split.new, list(split.quoted) + list_footer + warning
    if split.forward:
        new, signature = _forwarders_signature(new, marks, sender)
        return ReplyParts(_clean(new), _clean(list_footer + warning), _clean(signature))
    if html and not quoted:
        new, quoted = _cut_lone_blockquote(new)
    footer = list_footer_start(new)
    if footer is not None:
        quoted = new[footer:] + quoted
        new = new[:footer]
    # A bare rule left at the bottom (list software, notification mail) separates nothing any more.
    while new and (not new[-1].strip() or _RULE.match(new[-1])):
        if new[-1].strip():
            quoted.insert(0, new[-1])
        new = new[:-1]
    if signature_alone(new):      # "-- \nMax" over the quote, or "--\n202-555-1212" alone
        new, note_signature = [], note_signature + new
    new, element = _signature_element(new)
    if new and all(P.is_mobile_line(line) for line in new if line.strip()):
        # "Sent from my iPhone" over the quote (or two devices' lines): no words of their own
        return ReplyParts("", _clean(quoted), _clean(note_signature + new), inline=inline)
    lead = next((i for i, line in enumerate(new) if line.strip()), 0)
    if new and P.is_mobile_line(new[lead]):   # a client's line over the words: its signature
        note_signature, new = note_signature + [new[lead]], new[lead + 1:]
        element = None if element is None else element - lead - 1
    start = signature_start(new, sender)
    if element is not None:
        start = element if start is None else min(element, start)
    signature: list[str] = []
    if start is not None:
        new, signature = new[:start], new[start:]
        if inline:
            new = new[:_history_under(new)]
    elif (ps := postscript_start(new)) is not None \
            and (start := signed_start(new[:ps], sender)) is not None:
        new, signature = new[:start] + new[ps:], new[start:ps]     # a P.S. under the signature
    return ReplyParts(_clean(new), _clean(quoted), _clean(note_signature + signature), inline=inline)


def extract(
    text: str | None = None, html: str | None = None, *, sender: str | None = None, subject: str | None = None
) -> ReplyParts:
    """Split a text body (preferred) or an HTML body into new text, quoted history and signature.

    `subject`, when known, tells a forward ("Fwd:": the forwarded mail is content) from a reply
    ("Re:": a forwarded mail below the person's words is set aside with the quoted part).
    """
    forward = is_forward(subject)
    # "VS:" is Finnish Outlook's reply and Norwegian and Danish Outlook's forward: either.
    reply = bool(subject and (_EITHER_SUBJECT.match(subject)
                              or not forward and _REPLY_SUBJECT.match(subject)))
    return _extract(text, html, sender, forward=forward, reply=reply)


def _extract(
    text: str | None, html: str | None, sender: str | None, forward: bool, reply: bool = False
) -> ReplyParts:
    if text is not None and text.strip():
        body = _qp_undone(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
        return _extract_lines(body.split("\n"), sender, forward=forward, reply=reply)
    if html is not None and html.strip():
        lines = marked_text(html).split("\n")
        if forward:
            lines = _forwarded_quote(lines)
        parts = _extract_lines(lines, sender, html=True, forward=forward, reply=reply)
        while not (parts.text or parts.signature) and (inside := _indented_body(lines)):
            lines = inside          # indented twice: a level at a time
            parts = _extract_lines(lines, sender, html=True, forward=forward, reply=reply)
        note = _inline_note(parts.text.split("\n")) if parts.quoted and not parts.inline else None
        if note is not None:
            # "My answers are in blue below": the words in that colour inside the quote are theirs.
            answered = _extract_lines(marked_text(html, answers=answer_style(note)).split("\n"),
                                      sender, html=True, forward=forward, reply=reply)
            if answered.inline:
                return answered
        return parts
    return ReplyParts("", "", "")


# A UTF-8 character quoted-printable writes ("=E2=80=AF"): with soft line breaks ("w=\nrote:"),
# the mark of a body whose encoding was declared wrong or not at all, and left undecoded.
_QP_UTF8 = re.compile(r"=[C-F][0-9A-F]=[89AB][0-9A-F]", re.IGNORECASE)   # some write "=c3=a9"
_NOT_QP = re.compile(r"=(?![0-9A-F]{2}|\n)", re.IGNORECASE)   # it writes "=" as "=3D"
QP_LINE = 100   # quoted-printable writes lines of 76 characters at most (RFC 2045); quoted
                # again in a reply ("> > "), and with addresses a client rewrote, longer


def _qp_undone(body: str) -> str:
    """`body` decoded when it is quoted-printable left undecoded: ASCII only, an escaped UTF-8
    character, soft line breaks only where an encoder breaks (long lines, not "KEY=\n"),
    no "=" of another kind (a config file's "KEY=", a URL's "?a=1"), and UTF-8 once decoded;
    else `body` as it is."""
    if "=\n" not in body or not _QP_UTF8.search(body) or not body.isascii() \
            or _NOT_QP.search(body):
        return body
    lines = body.split("\n")
    if any(len(line) > QP_LINE or line.endswith("=") and len(line) < 50 for line in lines):
        return body
    try:
        return quopri.decodestring(body.encode("ascii")).decode("utf-8")
    except (UnicodeError, ValueError):
        return body


def _forwarded_quote(lines: list[str]) -> list[str]:
    """A forward that Apple Mail wrote inside a quote ("> Begin forwarded message:"): from its
    marker down, a level of quoting less, so that the forwarded mail is read as content."""
    at = next((i for i, line in enumerate(lines) if P.QUOTE_PREFIX.match(line)
               and P.FORWARD_MARKER.match(dequote(line))), None)
    if at is None or any(P.QUOTE_PREFIX.match(line) for line in lines[:at]):
        return lines
    return lines[:at] + [dequote(line) for line in lines[at:]]


def _indented_body(lines: list[str]) -> list[str] | None:
    """The lines of an HTML body that is one blockquote and nothing else, a level of quoting
    taken off; None for any other body. A blockquote that is not a client's quote (no
    type="cite", no cite=) with nothing outside it is an editor's indent ("Increase indent")
    or a reply written inside it; a client's quote alone is an empty reply (a file sent back).
    An attribution or a header on top makes it quoted history after all; read again, one
    further down still starts the history."""
    words = [i for i, line in enumerate(lines) if line.strip()]
    if not words or lines[words[0]] != "\x00indent\x00" or len(words) < 2:
        return None
    body = lines[words[0] + 1:]
    if not all(line.startswith(">") for line in body if line.strip()):
        return None
    inside = [line[2:] if line.startswith("> ") else line[1:] for line in body]
    first = next(mark for line, mark in zip(inside, mark_lines(inside)) if line.strip())
    return None if first in "shf" else inside


def _part_text(part: email.message.Message) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        try:
            return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        except LookupError:  # a charset name Python does not know
            return payload.decode("utf-8", errors="replace")


def extract_from_message(raw: bytes) -> ReplyParts:
    """Reply parts of a whole RFC 5322 message: its first text/plain part, else its first text/html."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the stdlib parser rarely raises, but garbage in must not crash a worker
        raise ParseError("cannot parse message: %s" % exc) from exc
    plain = html = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _part_text(part)
        elif ctype == "text/html" and html is None:
            html = _part_text(part)
    sender = str(msg.get("From", "")) or None
    if plain is None and html is None:
        log.debug("message has no text part")
    return extract(plain, html, sender=sender, subject=str(msg.get("Subject", "")))


__all__ = ["ReplyParts", "extract", "extract_from_message", "html_to_text", "is_forward"]
