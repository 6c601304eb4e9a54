"""Threading quality on the real list corpus: pairwise precision/recall/F1 of thread_message.

Usage: python bench/threading_quality.py [--json] [--corpus DIR]

Runs mailproc.thread.rules.thread_message over shared/corpora/threads/ in date order with an
in-memory lookup that does what the database does, in two modes: (a) headers kept,
(b) In-Reply-To and References stripped from every message (as broken clients do).
Parses with the stdlib `email` package (compat32) so it does not depend on our parser.
"""

from __future__ import annotations

import argparse
import email
import email.errors
import email.header
import email.utils
import json
import mailbox
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailproc.thread.rules import ThreadInput, ThreadMatch, message_ids_from_header, thread_message
from mailproc.thread.subjects import is_generic_subject, normalize_subject

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "threads"
WINDOWS = (timedelta(days=1), timedelta(days=3), timedelta(days=7), timedelta(days=14),
           timedelta(days=30), timedelta(days=90))
DEFAULT_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class CorpusMessage:
    """One corpus message: its truth thread, participants and what threading sees."""

    group: str
    thread: str
    position: int
    participants: frozenset[str]
    thread_input: ThreadInput


@dataclass(frozen=True)
class Score:
    """Pairwise scores of one run."""

    mode: str
    subject_match: str
    window_days: float
    ancestors: bool
    precision: float
    recall: float
    f1: float
    messages: int
    cases: int
    threads: int
    rules: dict[str, int] = field(default_factory=dict)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)


def _decode(value: object) -> str:
    if value is None:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except (LookupError, ValueError, email.errors.HeaderParseError):
        return str(value)


def _date(value: object) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _raw(path: Path, index: int | None, cache: dict[Path, tuple[mailbox.mbox, list]]) -> bytes:
    if index is None:
        return path.read_bytes()
    if path not in cache:
        box = mailbox.mbox(path, create=False)
        cache[path] = (box, list(box.keys()))
    box, keys = cache[path]
    return box.get_bytes(keys[index])


def load_corpus(root: Path = CORPUS) -> list[CorpusMessage]:
    """Parse every message named in truth.jsonl (compat32), in file order."""
    cache: dict[Path, tuple[mailbox.mbox, list]] = {}
    messages = []
    with open(root / "truth.jsonl", encoding="utf-8") as truth:
        for position, row in enumerate(map(json.loads, truth)):
            msg = email.message_from_bytes(_raw(root / row["file"], row.get("index"), cache))
            from_addr = email.utils.parseaddr(_decode(msg.get("From")))[1].lower()
            recipients = email.utils.getaddresses(
                [_decode(v) for h in ("To", "Cc") for v in msg.get_all(h, [])]
            )
            ids = message_ids_from_header(msg.get("Message-ID"))
            messages.append(CorpusMessage(
                group=row["group"],
                thread=row["thread"] or f"no-id-{position}",
                position=position,
                participants=frozenset({from_addr} | {a.lower() for _, a in recipients if a}),
                thread_input=ThreadInput(
                    message_id=ids[0] if ids else None,
                    in_reply_to=message_ids_from_header(msg.get("In-Reply-To")),
                    references=message_ids_from_header(msg.get("References")),
                    subject=_decode(msg.get("Subject")),
                    from_addr=from_addr,
                    signed_ref=None,
                    date_at=_date(msg.get("Date")),
                ),
            ))
    for cache_box, _ in cache.values():
        cache_box.close()
    return messages


class MemoryLookup:
    """What the database does for threading, in dicts: one instance per group."""

    def __init__(self, *, open_participation: bool = False) -> None:
        self._open = open_participation  # reference only: everyone counts as a participant
        self._next_case = 1
        self._by_message_id: dict[str, int] = {}
        self._by_referenced_id: dict[str, int] = {}
        self._participants: dict[int, set[str]] = defaultdict(set)
        self._by_sender_subject: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._by_subject: dict[str, dict[int, datetime]] = defaultdict(dict)

    def case_for_signed_ref(self, ref: str) -> int | None:
        return self.case_for_ref(ref)

    def case_for_message_ids(self, ids: Sequence[str]) -> int | None:
        for msgid in reversed(ids):
            if msgid in self._by_message_id:
                return self._by_message_id[msgid]
        return None

    def case_for_ref(self, ref: str) -> int | None:
        case_id = int(ref)
        return case_id if case_id in self._participants else None

    def is_participant(self, case_id: int, address: str) -> bool:
        return self._open or address in self._participants.get(case_id, ())

    def recent_case_for_subject(self, sender: str, normalized_subject: str, since_at: datetime) -> int | None:
        hit = self._by_sender_subject.get((sender, normalized_subject))
        return hit[0] if hit and hit[1] >= since_at else None

    def recent_cases_for_subject(self, normalized_subject: str, since_at: datetime) -> list[int]:
        hits = self._by_subject.get(normalized_subject, {})
        return sorted((c for c, at in hits.items() if at >= since_at), key=lambda c: hits[c], reverse=True)

    def record(self, message: CorpusMessage, match: ThreadMatch, at: datetime) -> int:
        """Store the message as the pipeline would; returns its case id."""
        case_id = match.case_id
        if case_id is None:
            case_id = self._next_case
            self._next_case += 1
        msg = message.thread_input
        if msg.message_id:
            self._by_message_id.setdefault(msg.message_id, case_id)
        for msgid in msg.in_reply_to + msg.references:
            self._by_referenced_id.setdefault(msgid, case_id)
        self._participants[case_id].update(message.participants)
        normalized = normalize_subject(msg.subject)
        if not is_generic_subject(normalized):
            self._by_sender_subject[(msg.from_addr, normalized)] = (case_id, at)
            self._by_subject[normalized][case_id] = at
        return case_id


class AncestorMemoryLookup(MemoryLookup):
    """MemoryLookup that also answers the optional AncestorLookup question."""

    def case_for_referenced_ids(self, ids: Sequence[str]) -> int | None:
        for msgid in reversed(ids):
            if msgid in self._by_referenced_id:
                return self._by_referenced_id[msgid]
        return None


def _pairs(counts: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def _prf(together: int, predicted: int, truth: int) -> tuple[float, float, float]:
    precision = together / predicted if predicted else 1.0
    recall = together / truth if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _group_scores(
    cells: Counter[tuple[str, int, str]], cases: Counter[tuple[str, int]], threads: Counter[tuple[str, str]]
) -> dict[str, dict[str, float]]:
    scores = {}
    for group in sorted({key[0] for key in threads}):
        p, r, f = _prf(
            _pairs(n for key, n in cells.items() if key[0] == group),
            _pairs(n for key, n in cases.items() if key[0] == group),
            _pairs(n for key, n in threads.items() if key[0] == group),
        )
        scores[group] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}
    return scores


def evaluate(
    messages: Sequence[CorpusMessage],
    *,
    strip_references: bool,
    subject_window: timedelta = DEFAULT_WINDOW,
    subject_match: str = "sender",
    open_participation: bool = False,
    ancestors: bool = True,
) -> Score:
    """Thread every group in date order and score message pairs against the truth threads."""
    by_group: dict[str, list[CorpusMessage]] = defaultdict(list)
    for message in messages:
        by_group[message.group].append(message)
    rules: Counter[str] = Counter()
    cells: Counter[tuple[str, int, str]] = Counter()
    cases: Counter[tuple[str, int]] = Counter()
    threads: Counter[tuple[str, str]] = Counter()
    for group, members in by_group.items():
        lookup_class = AncestorMemoryLookup if ancestors else MemoryLookup
        lookup = lookup_class(open_participation=open_participation)
        fallback_at = datetime(1970, 1, 1, tzinfo=UTC)
        dated = []
        for message in members:  # a message without a Date sorts after its predecessor in the file
            fallback_at = message.thread_input.date_at or fallback_at
            dated.append((fallback_at, message.position, message))
        for at, _, message in sorted(dated, key=lambda item: item[:2]):
            msg = message.thread_input
            if strip_references:
                msg = replace(msg, in_reply_to=(), references=())
            match = thread_message(msg, lookup, now=at, subject_window=subject_window,
                                   subject_match=subject_match)  # type: ignore[arg-type]
            rules[match.rule] += 1
            case_id = lookup.record(replace(message, thread_input=msg), match, at)
            cells[(group, case_id, message.thread)] += 1
            cases[(group, case_id)] += 1
            threads[(group, message.thread)] += 1
    precision, recall, f1 = _prf(
        _pairs(cells.values()), _pairs(cases.values()), _pairs(threads.values())
    )
    return Score(
        mode="b: refs stripped" if strip_references else "a: headers kept",
        subject_match="any (reference)" if open_participation else subject_match,
        window_days=subject_window / timedelta(days=1),
        ancestors=ancestors,
        precision=precision, recall=recall, f1=f1,
        messages=len(messages), cases=len(cases), threads=len(threads), rules=dict(rules),
        groups=_group_scores(cells, cases, threads),
    )


def run(messages: Sequence[CorpusMessage]) -> list[Score]:
    """Mode (a) with and without ghost ancestors, then mode (b) over subject variants and windows."""
    scores = [
        evaluate(messages, strip_references=False),
        evaluate(messages, strip_references=False, ancestors=False),
    ]
    for window in WINDOWS:
        for subject_match in ("sender", "participant"):
            scores.append(evaluate(messages, strip_references=True, subject_window=window,
                                   subject_match=subject_match))
        scores.append(evaluate(messages, strip_references=True, subject_window=window,
                               subject_match="participant", open_participation=True))
    return scores


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="also print one JSON object per run")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="threads corpus folder")
    args = parser.parse_args(argv)
    messages = load_corpus(args.corpus)
    scores = run(messages)
    header = (f"{'mode':<18} {'ghosts':<6} {'subject_match':<16} {'window':>7} "
              f"{'P':>6} {'R':>6} {'F1':>6} {'cases':>6} {'threads':>7}")
    print(header)
    print("-" * len(header))
    for s in scores:
        ghosts = "-" if s.mode.startswith("b") else "yes" if s.ancestors else "no"
        print(f"{s.mode:<18} {ghosts:<6} {s.subject_match:<16} {s.window_days:>6g}d "
              f"{s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f} {s.cases:>6} {s.threads:>7}")
    default_days = DEFAULT_WINDOW / timedelta(days=1)
    for s in scores:
        if s.window_days != default_days or s.subject_match.startswith("any"):
            continue
        hist = ", ".join(f"{rule} {n}" for rule, n in sorted(s.rules.items(), key=lambda kv: -kv[1]))
        print(f"rules ({s.mode}, ghosts {'yes' if s.ancestors else 'no'}, {s.subject_match}): {hist}")
    for s in scores:
        if s.window_days == default_days and s.mode.startswith("b"):
            per_group = "; ".join(
                f"{g} P {v['precision']:.3f} R {v['recall']:.3f}" for g, v in s.groups.items()
            )
            print(f"per group ({s.mode}, {s.subject_match}): {per_group}")
    if args.json:
        for s in scores:
            print(json.dumps(s.__dict__, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
