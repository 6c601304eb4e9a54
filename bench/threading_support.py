"""Threading of support conversations through the real pipeline, threading headers kept and
stripped: pairwise precision and recall of cases against the conversations they came from.

Conversations are generated (seeded): customers at company domains and at free-mail
providers open a problem; they write again days later with the subject as their client
makes it (`Re:`, `AW:`, `RE: AW:`, `[EXT] Re:`) or extended ("(still broken)"), and
colleagues at their domain chime in; most replies quote the first mail. With a dozen
subjects among many conversations, the same subject comes from strangers at other domains,
at gmail.com and from other people at the same company: those must stay apart.
Mode "kept" sends In-Reply-To and References as clients do; "stripped" removes them
(webmail forwards, ticket gateways, some mobile clients).

    python bench/threading_support.py [--conversations 60] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from mailproc.db import Database  # noqa: E402
from mailproc.models import Message  # noqa: E402
from tests.agent_helpers import MONDAY, agent_app, feed, mail  # noqa: E402

PROBLEMS = ["VPN drops every hour", "Password reset link expired", "Printer on floor 3 jams",
            "Outlook does not sync the calendar", "Laptop fan is very loud",
            "Invoice 2026-118 shows the wrong VAT", "Cannot open the shared drive",
            "Teams meeting audio echoes", "New employee needs an account",
            "Badge does not open the garage", "Monitor flickers after docking",
            "Scanner sends empty PDFs"]
PREFIXES = ["Re: ", "RE: ", "AW: ", "RE: AW: ", "[EXT] Re: ", "Antw: ", "SV: "]
EXTENSIONS = [" (still broken)", " - still not working", " (again)", ": any news?"]
COMPANIES = ["kunde.example", "acme-logistik.example", "stadtwerke.example", "praxis-kern.example"]
PLACES = ["in the office on floor 2", "at home over the fibre line", "in the warehouse",
          "in meeting room Elbe", "on the train with the hotspot", "at the branch in Kiel"]
SINCE = ["since the update on Monday", "since yesterday afternoon", "after the new laptop came",
         "for about a week now", "since the network change last night"]


def opening(subject: str, rng: random.Random, i: int) -> str:
    """A first mail as people write it: the problem, where, since when, what they tried."""
    return (f"Hello, {subject.lower()} {rng.choice(PLACES)} {rng.choice(SINCE)}. "
            f"I restarted the device {rng.randint(2, 5)} times and logged out and in again, "
            f"but it did not help. My asset number is {rng.randint(10000, 99999)} and "
            f"the error code on screen is {rng.randint(100, 999)}. Could you please have a "
            f"look? Regards, user {i}")


def quoted(text: str, who: str) -> str:
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    return f"\n\nOn Monday, {who} wrote:\n" + "\n".join("> " + line for line in lines)


def conversations(n: int, rng: random.Random) -> list[list[dict]]:
    """Each conversation: its messages as (sender, subject, body, day) in order."""
    out = []
    for i in range(n):
        domain = rng.choice(COMPANIES + ["gmail.com"])
        person = f"user{i}@{domain}"
        subject = rng.choice(PROBLEMS)
        day = rng.uniform(0, 40)
        first = opening(subject, rng, i)
        msgs = [{"frm": person, "subject": subject, "day": day, "body": first}]
        for k in range(rng.randint(1, 4)):
            day += rng.uniform(0.5, 6)
            kind = rng.random()
            if kind < 0.2 and domain != "gmail.com":
                frm = f"colleague{i}-{k}@{domain}"
                subj = rng.choice(PREFIXES) + subject
            elif kind < 0.4:
                frm, subj = person, subject + rng.choice(EXTENSIONS)
            else:
                frm, subj = person, rng.choice(PREFIXES) + subject
            body = f"Follow-up {k}: it still happens."
            if rng.random() < 0.6:                    # most clients quote what they answer
                body += quoted(first, person)
            msgs.append({"frm": frm, "subject": subj, "day": day, "body": body})
        out.append(msgs)
    return out


def run(convs: list[list[dict]], keep_headers: bool) -> dict:
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'bench.sqlite3'}")
    db.upgrade()
    app = agent_app(db, tmp, now=MONDAY)
    events = sorted(((m["day"], c, n, m) for c, msgs in enumerate(convs)
                     for n, m in enumerate(msgs)), key=lambda e: e[0])
    ids: dict[tuple[int, int], str] = {}
    t0 = time.perf_counter()
    for day, c, n, m in events:
        app.clock.at = MONDAY + timedelta(days=day)
        msgid = f"<c{c}-m{n}@{m['frm'].split('@')[1]}>"
        ids[(c, n)] = msgid
        parents = [ids[(c, k)] for k in range(n)] if keep_headers and n else []
        feed(app, mail(frm=m["frm"], subject=m["subject"], body=m["body"], msgid=msgid,
                       in_reply_to=parents[-1] if parents else "",
                       references=" ".join(parents), date=app.clock.at))
    elapsed = time.perf_counter() - t0
    with db.transaction() as s:
        placed = dict(s.execute(select(Message.message_id, Message.case_id)).all())
    db.dispose()
    truth = {msgid.strip("<>"): c for (c, _), msgid in ids.items()}
    return {**pairwise(truth, placed), "messages": len(truth),
            "ms_per_message": round(elapsed / len(truth) * 1000, 1)}


def pairwise(truth: dict[str, int], placed: dict[str, int | None]) -> dict:
    same_truth = same_placed = both = 0
    for a, b in itertools.combinations(sorted(truth), 2):
        t = truth[a] == truth[b]
        p = placed.get(a) is not None and placed.get(a) == placed.get(b)
        same_truth += t
        same_placed += p
        both += t and p
    precision = both / same_placed if same_placed else 1.0
    recall = both / same_truth if same_truth else 1.0
    return {"precision": round(precision, 3), "recall": round(recall, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    convs = conversations(args.conversations, random.Random(args.seed))
    results = {mode: run(convs, keep) for mode, keep in (("kept", True), ("stripped", False))}
    if args.json:
        print(json.dumps(results))
        return 0
    total = sum(len(c) for c in convs)
    print(f"{len(convs)} support conversations, {total} messages (seed {args.seed})")
    for mode, r in results.items():
        print(f"  headers {mode:8s}  precision {r['precision']:.3f}  recall {r['recall']:.3f}"
              f"  ({r['ms_per_message']} ms per message through the pipeline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
