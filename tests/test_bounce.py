"""Bounce analysis against flufl.bounce's expectations and the Sisimai collection."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from mailproc.classify.bounce import _typed_address, analyse_bounce
from mailproc.parse.message import parse_message

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
BOUNCES = CORPORA / "malformed" / "bounces"
SISIMAI = CORPORA / "malformed" / "sisimai-bounces"
# yale_01 names a bare user and a Yale-only address rewrite; no general detector knows it.
KNOWN_MISSES = {"yale_01.txt"}
MIN_HIT_RATE = 0.99

# The corpora live in ../shared beside the repo (CI checks it out there); a missing
# corpus is a failure, not a skip.


def expectations() -> dict[str, tuple[set[str], str]]:
    """File-level truth: the union of every detector row's addresses for the file."""
    merged: dict[str, list] = defaultdict(lambda: [set(), None])
    for line in (BOUNCES / "expected.jsonl").read_text().splitlines():
        row = json.loads(line)
        merged[row["file"]][0] |= {a.lower() for a in row["addresses"]}
        merged[row["file"]][1] = row["kind"]
    return {name: (addresses, kind) for name, (addresses, kind) in merged.items()}


def outcome(name: str) -> tuple[set[str], str | None]:
    raw = (BOUNCES / name).read_bytes()
    bounce = analyse_bounce(parse_message(raw), raw)
    if bounce is None:
        return set(), None
    return {a.lower() for a in bounce.addresses}, bounce.kind


def hit(expected: tuple[set[str], str], got: tuple[set[str], str | None]) -> bool:
    if not expected[0]:
        # "No address detectable": finding nothing (or no bounce) is right.
        return not got[0]
    return got == expected


def test_flufl_bounce_hit_rate_and_per_file():
    truth = expectations()
    results = {name: outcome(name) for name in truth}
    missed = {n: (truth[n], results[n]) for n in truth if not hit(truth[n], results[n])}
    rate = 1 - len(missed) / len(truth)
    print(f"bounce hit rate {rate:.1%} ({len(truth) - len(missed)}/{len(truth)})")
    regressions = {n: v for n, v in missed.items() if n not in KNOWN_MISSES}
    assert not regressions, f"files that used to be right: {regressions}"
    assert rate >= MIN_HIT_RATE


def test_dsn_gives_original_message_id_and_diagnostic():
    raw = (BOUNCES / "dsn_01.txt").read_bytes()
    bounce = analyse_bounce(parse_message(raw), raw)
    assert bounce is not None and bounce.detector == "dsn"
    assert bounce.addresses == ("userx@example.com",)
    assert bounce.original_message_id and "@" in bounce.original_message_id
    assert "<" not in bounce.original_message_id


def test_delivery_warnings_are_temporary():
    for name in ("simple_03.txt", "dsn_05.txt", "dsn_17.txt"):
        assert outcome(name)[1] == "temporary", name


def test_sisimai_bounces_mostly_yield_an_address():
    files = [p for p in sorted(SISIMAI.glob("*.eml")) if not p.name.startswith(("rfc3834-", "arf-"))]
    with_address = 0
    for path in files:
        raw = path.read_bytes()
        bounce = analyse_bounce(parse_message(raw), raw)
        with_address += bool(bounce and bounce.addresses)
    print(f"sisimai: {with_address}/{len(files)} bounces yield an address")
    assert with_address / len(files) >= 0.9


def test_auto_replies_and_negatives_are_not_bounces():
    paths = sorted(SISIMAI.glob("rfc3834-*.eml")) + sorted((SISIMAI / "not-bounce").glob("is-not-bounce-*.eml"))
    assert len(paths) == 8
    for path in paths:
        raw = path.read_bytes()
        assert analyse_bounce(parse_message(raw), raw) is None, path.name


def test_dsn_address_fields_keep_utf8_local_parts_whole():
    # RFC 6533: "utf-8;" fields with \x{HH} escapes; never an ASCII tail (jdöe@ is not e@).
    assert _typed_address("utf-8; jd\\x{F6}e@xn--mchine-bua.example") == "jdöe@xn--mchine-bua.example"
    assert _typed_address("rfc822; jdöe@mächine.example") == "jdöe@xn--mchine-bua.example"
    assert _typed_address("rfc822; <Kim@Customer.example>") == "Kim@Customer.example"
    assert _typed_address("rfc822; no address here") == ""
