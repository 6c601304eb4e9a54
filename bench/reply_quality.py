"""Reply-extraction quality: exact match, token F1 and checks on a replies.jsonl corpus, beside two PyPI parsers."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from mailproc.parse.html_text import html_to_text
from mailproc.parse.reply import ReplyParts, extract, extract_from_message

DEFAULT_CASES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "replies" / "replies.jsonl"
_WS = re.compile(r"\s+")
_TOKENS = re.compile(r"\w+")


_QUOTE_PREFIX = re.compile(r"(?m)^(?:> ?)+")


def normalise(text: str, compare: str) -> str:
    """Whitespace normalisation as the corpus README defines it."""
    if compare == "nows":
        # nows rows are HTML whose expected markup lost its whitespace (so "<blockquoteclass=...>" no
        # longer parses as a blockquote); quote prefixes are rendering, not words, on both sides.
        text = _QUOTE_PREFIX.sub("", text)
    return _WS.sub("", text) if compare == "nows" else _WS.sub(" ", text).strip()


def token_f1(got: str, want: str) -> float:
    """Multiset F1 of lower-cased \\w+ tokens."""
    return _multiset_f1(_TOKENS.findall(got.lower()), _TOKENS.findall(want.lower()))


def _multiset_f1(a: list[str], b: list[str]) -> float:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    counts: dict[str, int] = defaultdict(int)
    for t in b:
        counts[t] += 1
    common = 0
    for t in a:
        if counts[t] > 0:
            counts[t] -= 1
            common += 1
    if not common:
        return 0.0
    p, r = common / len(a), common / len(b)
    return 2 * p * r / (p + r)


def char_bigram_f1(got: str, want: str) -> float:
    """Soft score for rows compared without whitespace, where word boundaries are gone."""
    return _multiset_f1([got[i:i + 2] for i in range(len(got) - 1)],
                        [want[i:i + 2] for i in range(len(want) - 1)])


def checks_pass(got: str, checks: dict) -> bool:
    norm = normalise(got, "ws")
    if checks.get("nonempty") and not norm:
        return False
    if any(normalise(s, "ws") not in norm for s in checks.get("contains", [])):
        return False
    return not any(normalise(s, "ws") in norm for s in checks.get("not_contains", []))


def case_input(case: dict, root: Path) -> tuple[str, str]:
    """(format, input) with .eml cases read from their file when present."""
    if case["format"] == "eml" and case.get("eml_file"):
        path = root / case["eml_file"]
        if path.exists():
            return "eml", path.read_bytes().decode("utf-8", errors="surrogateescape")
    return case["format"], case["input"]


def mailproc_parts(case: dict, root: Path) -> ReplyParts:
    """Our parts for a case; `subject` (our own cases) tells a reply from a forward."""
    fmt, data = case_input(case, root)
    sender = case.get("sender") or None
    if fmt == "eml":
        return extract_from_message(data.encode("utf-8", errors="surrogateescape"))
    if fmt == "html":
        return extract(html=data, sender=sender, subject=case.get("subject"))
    return extract(data, sender=sender, subject=case.get("subject"))


def mailproc_output(case: dict, root: Path) -> str:
    """Our answer for a case: text, or text_with_signature when the source keeps the signature."""
    return pick(mailproc_parts(case, root), case)


def parts_pass(parts: ReplyParts, case: dict) -> bool | None:
    """The checks our own cases make beyond the text (None when a case makes none): every
    `quoted_contains` in the quoted part, `answers` and `inline` of an inline reply, the signature."""
    keys = ("quoted_contains", "answers", "inline", "expected_signature")
    if not any(case.get(k) is not None for k in keys):
        return None
    quoted = normalise(parts.quoted, "ws")
    if any(normalise(s, "ws") not in quoted for s in case.get("quoted_contains", [])):
        return False
    if case.get("answers") is not None and normalise(parts.answers, "ws") != normalise(case["answers"], "ws"):
        return False
    if case.get("inline") is not None and parts.inline is not case["inline"]:
        return False
    want = case.get("expected_signature")
    return want is None or normalise(parts.signature, "ws") == normalise(want, "ws")


def pick(parts: ReplyParts, case: dict) -> str:
    return parts.text_with_signature if case.get("signature") == "kept" else parts.text


def expected_text(case: dict) -> str | None:
    want = case.get("expected")
    if want is None:
        return None
    return html_to_text(want) if case.get("expected_format") == "html" else want


def _plain_input(case: dict, root: Path) -> str:
    fmt, data = case_input(case, root)
    if fmt == "html":
        return html_to_text(data)
    if fmt == "eml":
        import email
        import email.policy

        msg = email.message_from_bytes(data.encode("utf-8", "surrogateescape"), policy=email.policy.default)
        body = msg.get_body(("plain", "html"))
        if body is None:
            return ""
        content = body.get_content()
        return html_to_text(content) if body.get_content_type() == "text/html" else content
    return data


def baseline_parsers() -> dict[str, Callable[[str], str]]:
    parsers: dict[str, Callable[[str], str]] = {}
    try:
        from email_reply_parser import EmailReplyParser

        parsers["email-reply-parser"] = EmailReplyParser.parse_reply
    except ImportError:
        pass
    try:
        from mailparser_reply import EmailReplyParser as MPR

        languages = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "no", "fi", "ru", "ja", "pt"]
        try:
            mpr = MPR(languages=languages)
        except Exception:
            mpr = MPR(languages=["en", "de"])
        parsers["mail-parser-reply"] = lambda text: mpr.parse_reply(text=text) or ""
    except ImportError:
        pass
    return parsers


def score(cases: list[dict], answer: Callable[[dict], str]) -> dict:
    """Per-case results and totals for one extractor."""
    rows = []
    start = time.perf_counter()
    for case in cases:
        try:
            got = answer(case)
        except Exception as exc:  # a baseline crashing on a case counts as a miss, not a stop
            got = ""
            print("error on %s: %s" % (case["id"], exc), file=sys.stderr)
        want = expected_text(case)
        row = {"case": case, "got": got}
        if want is not None:
            compare = case.get("compare", "ws")
            exact = normalise(got, compare) == normalise(want, compare)
            if compare == "nows":
                f1 = char_bigram_f1(normalise(got, compare), normalise(want, compare))
            else:
                f1 = token_f1(got, want)
            row.update(exact=exact, f1=1.0 if exact else f1)
        if case.get("checks"):
            row["checks"] = checks_pass(got, case["checks"])
        rows.append(row)
    elapsed = time.perf_counter() - start
    return {"rows": rows, "ms_per_case": 1000 * elapsed / max(1, len(cases))}


def totals(rows: list[dict]) -> dict:
    exact = [r["exact"] for r in rows if "exact" in r]
    f1 = [r["f1"] for r in rows if "f1" in r]
    checks = [r["checks"] for r in rows if "checks" in r and "exact" not in r]
    non_talon = [r["exact"] for r in rows if "exact" in r and "mailgun/talon" not in r["case"]["source"]]
    return {
        "cases": len(rows),
        "exact": round(sum(exact) / len(exact), 4) if exact else None,
        "f1": round(sum(f1) / len(f1), 4) if f1 else None,
        "checks": round(sum(checks) / len(checks), 4) if checks else None,
        "exact_non_talon": round(sum(non_talon) / len(non_talon), 4) if non_talon else None,
    }


def print_table(rows: list[dict], label: str) -> None:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        c = r["case"]
        groups["all"].append(r)
        groups["format=%s" % c["format"]].append(r)
        groups["lang=%s" % (c.get("lang") or "unknown")].append(r)
        groups["client=%s" % (c.get("client") or "unknown")].append(r)
        groups["signature=%s" % c.get("signature")].append(r)
    print("%s" % label)
    print("  %-28s %5s %7s %6s %7s" % ("group", "n", "exact", "f1", "checks"))
    for key in sorted(groups, key=lambda k: (k != "all", k)):
        t = totals(groups[key])
        fmt = lambda v: "   -  " if v is None else "%6.1f%%" % (100 * v)  # noqa: E731
        f1 = "  -  " if t["f1"] is None else "%.3f" % t["f1"]
        print("  %-28s %5d %7s %6s %7s" % (key, t["cases"], fmt(t["exact"]), f1, fmt(t["checks"])))
    t = totals(rows)
    if t["exact_non_talon"] is not None:
        print("  exact on cases not from mailgun/talon: %.1f%%" % (100 * t["exact_non_talon"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("cases", nargs="?", default=str(DEFAULT_CASES))
    ap.add_argument("--json", action="store_true", help="print one JSON summary line")
    ap.add_argument("--failures", action="store_true", help="list the cases mailproc gets wrong")
    args = ap.parse_args(argv)
    path = Path(args.cases)
    root = path.parent
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    ours = score(cases, lambda c: mailproc_output(c, root))
    checked = [r for r in (parts_pass(mailproc_parts(c, root), c) for c in cases) if r is not None]
    parts_rate = round(sum(checked) / len(checked), 4) if checked else None
    # Speed on text cases alone, repeated for a stable figure.
    text_cases = [c for c in cases if c["format"] == "text"] * 20
    t0 = time.perf_counter()
    for c in text_cases:
        extract(c["input"], sender=c.get("sender"))
    text_per_sec = len(text_cases) / max(1e-9, time.perf_counter() - t0)

    baselines = {}
    for name, parse in baseline_parsers().items():
        result = score(cases, lambda c, parse=parse: parse(_plain_input(c, root)))
        baselines[name] = dict(totals(result["rows"]), ms_per_case=round(result["ms_per_case"], 3))

    if args.json:
        summary = dict(totals(ours["rows"]), ms_per_case=round(ours["ms_per_case"], 3))
        summary["text_cases_per_second"] = round(text_per_sec)
        if checked:
            summary["parts"] = parts_rate
        summary["baselines"] = baselines
        print(json.dumps(summary))
        return 0
    print_table(ours["rows"], "mailproc (%s, %.2f ms/case, %d text cases/s)" % (path, ours["ms_per_case"], text_per_sec))
    if checked:
        print("  quoted part, answers, inline flag and signature as expected: %.1f%% of %d cases"
              % (100 * parts_rate, len(checked)))
    for name, t in baselines.items():
        print("%-20s exact %s  f1 %s  checks %s  non-talon exact %s  (%.2f ms/case)" % (
            name, t["exact"], t["f1"], t["checks"], t["exact_non_talon"], t["ms_per_case"]))
    if args.failures:
        for r in ours["rows"]:
            if r.get("exact") is False or r.get("checks") is False:
                print("--- FAIL %s\n got: %r\nwant: %r" % (
                    r["case"]["id"], r["got"][:500], (expected_text(r["case"]) or r["case"].get("checks"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
