"""Every reply-extraction case of the shared corpus and of our own cases, one test each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailproc.parse.html_text import html_to_text
from mailproc.parse.reply import ReplyParts, extract, extract_from_message

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "replies"
OWN = Path(__file__).resolve().parent / "data" / "replies" / "cases.jsonl"
# Issue 21 item 4: inline answers, contact signatures, forwards inside replies, wrapped and more headers.
GAPS = Path(__file__).resolve().parent / "data" / "replies" / "gaps.jsonl"
_WS = re.compile(r"\s+")
_QUOTE_PREFIX = re.compile(r"(?m)^(?:> ?)+")


def _load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


CORPUS_CASES = _load(CORPUS / "replies.jsonl")
OWN_CASES = _load(OWN)
GAP_CASES = _load(GAPS)


def _normalise(text: str, compare: str) -> str:
    if compare == "nows":
        # Expected HTML lost its whitespace, so its blockquote tags no longer parse; compare words only.
        return _WS.sub("", _QUOTE_PREFIX.sub("", text))
    return _WS.sub(" ", text).strip()


def _parts(case: dict) -> ReplyParts:
    sender = case.get("sender") or None
    subject = case.get("subject")
    if case["format"] == "eml":
        raw_path = CORPUS / case["eml_file"] if case.get("eml_file") else None
        raw = raw_path.read_bytes() if raw_path and raw_path.exists() else case["input"].encode("utf-8")
        return extract_from_message(raw)
    if case["format"] == "html":
        return extract(html=case["input"], sender=sender, subject=subject)
    return extract(case["input"], sender=sender, subject=subject)


def _answer(case: dict) -> str:
    parts = _parts(case)
    if (case.get("checks") or {}).get("field") == "answers":
        return parts.answers        # an inline reply's own words, without what they answer
    return parts.text_with_signature if case.get("signature") == "kept" else parts.text


def _check(case: dict) -> None:
    got = _answer(case)
    want = case.get("expected")
    if want is not None:
        if case.get("expected_format") == "html":
            want = html_to_text(want)
        compare = case.get("compare", "ws")
        assert _normalise(got, compare) == _normalise(want, compare), got
    checks = case.get("checks") or {}
    norm = _normalise(got, "ws")
    if checks.get("nonempty"):
        assert norm
    for needle in checks.get("contains", []):
        assert _normalise(needle, "ws") in norm, got
    for needle in checks.get("not_contains", []):
        assert _normalise(needle, "ws") not in norm, got
    if any(key in case for key in ("quoted_contains", "answers", "inline")):
        parts = _parts(case)
        for needle in case.get("quoted_contains", []):
            assert _normalise(needle, "ws") in _normalise(parts.quoted, "ws"), parts.quoted
        if "answers" in case:
            assert _normalise(parts.answers, "ws") == _normalise(case["answers"], "ws"), parts.answers
        if "inline" in case:
            assert parts.inline is case["inline"]


def test_corpus_is_present():
    assert len(CORPUS_CASES) >= 80, "shared corpus replies.jsonl missing beside the repository"
    assert len(OWN_CASES) >= 100
    assert len(GAP_CASES) >= 200


@pytest.mark.parametrize("case", CORPUS_CASES, ids=[c["id"] for c in CORPUS_CASES])
def test_corpus_case(case):
    _check(case)


@pytest.mark.parametrize("case", OWN_CASES, ids=[c["id"] for c in OWN_CASES])
def test_own_case(case):
    _check(case)


@pytest.mark.parametrize("case", GAP_CASES, ids=[c["id"] for c in GAP_CASES])
def test_gap_case(case):
    _check(case)


@pytest.mark.parametrize(
    "case", [c for c in OWN_CASES + GAP_CASES if c.get("expected_signature")], ids=lambda c: c["id"]
)
def test_own_case_signature(case):
    parts = _parts(case)
    assert _normalise(parts.signature, "ws") == _normalise(case["expected_signature"], "ws")


@pytest.mark.parametrize(
    "case", [c for c in CORPUS_CASES if c.get("expected_signature") is not None], ids=lambda c: c["id"]
)
def test_corpus_signature(case):
    parts = extract(case["input"], sender=case.get("sender") or None)
    assert _normalise(parts.signature, "ws") == _normalise(case["expected_signature"], "ws")
