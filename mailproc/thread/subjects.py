"""Subject lines: normalise for threading, find and add our `[#ref]` case tags."""

from __future__ import annotations

import logging
import re
import unicodedata

log = logging.getLogger(__name__)

# Reply/forward markers written by mail clients, by language. Matched case-insensitively
# after NFKC (which turns the full-width colon of CJK clients into ':').
REPLY_FORWARD_PREFIXES: tuple[str, ...] = (
    # English, generic
    "re", "fwd", "fw", "fwrd",
    # German, Dutch
    "aw", "wg", "antw", "antwort", "doorst", "wtr",
    # Scandinavian, Finnish
    "sv", "vs", "vb", "vl", "vid",
    # French, Spanish, Portuguese, Italian
    "tr", "réf", "ref", "rv", "res", "enc", "r", "i", "rif",
    # Polish, Czech, Slovak, Hungarian, Croatian
    "odp", "pd", "fwd", "odg", "proslijedi", "továbbítás", "válasz", "tov",
    # Baltic: lv, lt, et
    "atb", "pārs", "pers", "edasi", "svar",
    # Turkish, Greek, Russian/Ukrainian, Hebrew, Arabic, Persian
    "ynt", "ilt", "i̇lt", "απ", "σχετ", "πρθ", "ответ", "отв", "пер", "переслать",
    "הועבר", "השב", "تحويل", "رد", "پاسخ", "ارسال",
    # Vietnamese, Thai, Indonesian and Malay
    "trả lời", "chuyển tiếp", "ตอบกลับ", "ตอบ", "ส่งต่อ", "balas", "bls", "teruskan",
    # Chinese (simplified, traditional), Japanese, Korean
    "答复", "回复", "转发", "回覆", "答覆", "轉寄", "轉發", "返信", "転送", "답장", "전달", "회신",
)

_PREFIX_ALTERNATION = "|".join(
    re.escape(p) for p in sorted(set(REPLY_FORWARD_PREFIXES), key=len, reverse=True)
)
# "Re:", "RE :", "Re[2]:", "Re(2):", "Re^2:", "Re*2:"; a colon is required so that words
# such as "Regarding" or "I am" are never mistaken for a marker.
_REPLY_PREFIX_RE = re.compile(
    rf"^(?:{_PREFIX_ALTERNATION})\s*(?:\[\d+\]|\(\d+\)|\^\d+|\*\d+)?\s*:", re.IGNORECASE
)
# A leading "[dev-list]" or "[#1042]" style tag (no nesting; at most 80 chars so a
# subject that merely starts with '[' and a long text is left alone).
_LEADING_BRACKET_RE = re.compile(r"^\[[^\[\]]{0,80}\]")
_TRAILING_FWD_RE = re.compile(r"\((?:fwd|fw)\)\s*$", re.IGNORECASE)
_CASE_TAG_RE = re.compile(r"\[\s*#\s*(\d{1,18})\s*\]")
_REF_RE = re.compile(r"\d{1,18}")
_WS_RE = re.compile(r"\s+")

# Subjects that say nothing about the topic: matching on them would glue unrelated
# conversations of one sender together.
GENERIC_SUBJECTS: frozenset[str] = frozenset({
    "", "(no subject)", "no subject", "(none)", "none", "(kein betreff)", "(sans objet)",
    "(sin asunto)", "untitled", "hi", "hi there", "hello", "hey", "hallo", "bonjour",
    "hola", "question", "questions", "quick question", "help", "help!", "help me",
    "urgent", "important", "problem", "issue", "support", "request", "info",
    "information", "inquiry", "enquiry", "test", "testing", "fyi", "thanks",
    "thank you", "update", "follow up", "follow-up", "-", ".", "?",
})


def _clean(text: str) -> str:
    """NFKC, control characters (CR/LF, NUL, U+2028...) to spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text)
    return _WS_RE.sub(" ", text).strip()


def normalize_subject(subject: str | None) -> str:
    """Comparison key of a subject: markers, list tags and case tags removed, case-folded."""
    text = _clean(subject or "")
    text = _CASE_TAG_RE.sub(" ", text)
    while True:
        before = text
        text = text.strip()
        text = _REPLY_PREFIX_RE.sub("", text, count=1)
        text = _LEADING_BRACKET_RE.sub("", text, count=1)
        text = _TRAILING_FWD_RE.sub("", text)
        if text == before:
            break
    return _WS_RE.sub(" ", text).strip().casefold()


def is_reply_subject(subject: str | None) -> bool:
    """True when the subject starts (after list or case tags) with a reply marker: Re:, AW:..."""
    text = _CASE_TAG_RE.sub(" ", _clean(subject or ""))
    while True:
        text = text.strip()
        if _REPLY_PREFIX_RE.match(text):
            return True
        stripped = _LEADING_BRACKET_RE.sub("", text, count=1)
        if stripped == text:
            return False
        text = stripped


def is_generic_subject(normalized: str) -> bool:
    """True when a normalised subject is too empty or common to identify a conversation."""
    return normalized.strip(" !?.:-_*") == "" or normalized in GENERIC_SUBJECTS


def find_case_tags(subject: str | None) -> tuple[str, ...]:
    """Refs of our `[#1042]` tags in a subject, in order of appearance, without repeats."""
    text = unicodedata.normalize("NFKC", subject or "")
    refs: list[str] = []
    for match in _CASE_TAG_RE.finditer(text):
        ref = str(int(match.group(1)))  # "[#01042]" names the same case as "[#1042]"
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def tag_subject(subject: str | None, ref: str) -> str:
    """`[#ref] subject`, header-safe (no CR/LF or control characters), never tagged twice."""
    ref = str(ref).strip()
    if not _REF_RE.fullmatch(ref):
        raise ValueError(f"case ref must be 1-18 digits, got {ref!r}")
    ref = str(int(ref))
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in subject or ""
    )
    text = _WS_RE.sub(" ", text).strip()
    if ref in find_case_tags(text):
        return text
    return f"[#{ref}] {text}" if text else f"[#{ref}]"
