"""Threading through the real pipeline on the threads corpus: pairwise precision and recall.

Each corpus group goes into its own fresh SQLite database, messages in date order, through
store -> parse -> classify -> thread exactly as `mailproc run` does. Mode "kept" uses the
original headers; mode "stripped" removes In-Reply-To and References first (as broken
clients do). Usage: python bench/threading_pipeline.py [--json] [--groups a,b]
"""

from __future__ import annotations

import argparse
import email.utils
import json
import mailbox
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from mailproc.db import Database  # noqa: E402
from mailproc.models import Message, RawMessage  # noqa: E402
from mailproc.runners.inbound import process_pending  # noqa: E402
from tests.helpers import CORPORA, ingest, make_app  # noqa: E402

THREADS = CORPORA / "threads"
_REFS = re.compile(rb"^(in-reply-to|references):.*(\r?\n[ \t].*)*\r?\n", re.I | re.M)


def load(groups: set[str] | None) -> dict[str, list[tuple[bytes, str]]]:
    """group -> [(raw, truth thread)] sorted by Date."""
    boxes: dict[Path, list] = {}
    out: dict[str, list[tuple[float, bytes, str]]] = defaultdict(list)
    for line in (THREADS / "truth.jsonl").read_text().splitlines():
        row = json.loads(line)
        if groups and row["group"] not in groups:
            continue
        path = THREADS / row["file"]
        if "index" in row:
            if path not in boxes:
                box = mailbox.mbox(str(path))
                boxes[path] = [box.get_bytes(k) for k in box.keys()]
            raw = boxes[path][row["index"]]
        else:
            raw = path.read_bytes()
        msg = email.message_from_bytes(raw)
        try:
            when = email.utils.parsedate_to_datetime(msg["Date"]).timestamp()
        except (TypeError, ValueError):
            when = 0.0
        out[row["group"]].append((when, raw, row["thread"]))
    return {g: [(raw, t) for _, raw, t in sorted(rows, key=lambda r: r[0])]
            for g, rows in out.items()}


def strip_refs(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\n\n")
    return _REFS.sub(b"", head + b"\n") .rstrip(b"\n") + sep + body


def pairs(counts) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def run_group(rows, mode: str, workdir: Path) -> tuple[int, int, int, Counter]:
    db = Database(f"sqlite:///{workdir / f'{mode}.sqlite3'}")
    db.upgrade()
    app = make_app(db, workdir)
    raws = [strip_refs(r) if mode == "stripped" else r for r, _ in rows]
    ids = ingest(app, raws, mailbox="corpus")
    process_pending(app)
    with db.transaction() as s:
        case_of = dict(s.execute(select(Message.raw_id, Message.case_id)).all())
        rules = Counter(s.scalars(select(Message.thread_rule)).all())
        dupes = dict(s.execute(select(RawMessage.id, RawMessage.duplicate_of_id)).all())
    db.dispose()
    cells, cases, threads = Counter(), Counter(), Counter()
    for raw_id, (_, thread) in zip(ids, rows):
        raw_id = dupes.get(raw_id) or raw_id
        case = case_of.get(raw_id) or f"single-{raw_id}"
        cells[(case, thread)] += 1
        cases[case] += 1
        threads[thread] += 1
    return pairs(cells.values()), pairs(cases.values()), pairs(threads.values()), rules


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--groups", help="comma-separated corpus groups (default: all)")
    args = parser.parse_args(argv)
    data = load(set(args.groups.split(",")) if args.groups else None)
    results = []
    for mode in ("kept", "stripped"):
        together = predicted = truth = 0
        rules: Counter = Counter()
        started = time.perf_counter()
        for group, rows in data.items():
            with tempfile.TemporaryDirectory() as tmp:
                t, p, r, used = run_group(rows, mode, Path(tmp))
            together, predicted, truth = together + t, predicted + p, truth + r
            rules += used
        precision = together / predicted if predicted else 1.0
        recall = together / truth if truth else 1.0
        results.append({"mode": mode, "messages": sum(len(r) for r in data.values()),
                        "precision": round(precision, 4), "recall": round(recall, 4),
                        "seconds": round(time.perf_counter() - started, 1),
                        "rules": dict(rules.most_common())})
    for r in results:
        print(json.dumps(r) if args.json else
              f"{r['mode']:9} messages {r['messages']:5}  precision {r['precision']:.3f}  "
              f"recall {r['recall']:.3f}  ({r['seconds']} s)  rules {r['rules']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
