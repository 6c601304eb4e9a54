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

    python bench/threading_support.py [--conversations 60] [--seed 7 11 23] [--misses]
                                      [--wrap words|chars] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import textwrap
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
WINDOW_DAYS = 14.0           # threading.subject_window in the bench's settings
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


def quoted(text: str, who: str, wrap: str = "words") -> str:
    """The quote below a reply. Clients wrap it between words (or not at all); "chars" cuts
    every 70 characters, through words, as this bench did before (its figures to compare)."""
    lines = (textwrap.wrap(text, 70) if wrap == "words"
             else [text[i:i + 70] for i in range(0, len(text), 70)])
    return f"\n\nOn Monday, {who} wrote:\n" + "\n".join("> " + line for line in lines)


def conversations(n: int, rng: random.Random, wrap: str = "words") -> list[list[dict]]:
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
                body += quoted(first, person, wrap)
            msgs.append({"frm": frm, "subject": subj, "day": day, "body": body})
        out.append(msgs)
    return out


def arrivals(convs: list[list[dict]], keep_headers: bool = True):
    """Every message of `convs` in arrival order: ((conversation, position), its Message-ID,
    when it arrives, its bytes), In-Reply-To and References set only with `keep_headers`."""
    events = sorted(((m["day"], c, n, m) for c, msgs in enumerate(convs)
                     for n, m in enumerate(msgs)), key=lambda e: e[0])
    ids: dict[tuple[int, int], str] = {}
    for day, c, n, m in events:
        at = MONDAY + timedelta(days=day)
        msgid = f"<c{c}-m{n}@{m['frm'].split('@')[1]}>"
        ids[(c, n)] = msgid
        parents = [ids[(c, k)] for k in range(n)] if keep_headers and n else []
        yield (c, n), msgid, at, mail(frm=m["frm"], subject=m["subject"], body=m["body"],
                                      msgid=msgid, in_reply_to=parents[-1] if parents else "",
                                      references=" ".join(parents), date=at)


def run(convs: list[list[dict]], keep_headers: bool) -> dict:
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'bench.sqlite3'}")
    db.upgrade()
    app = agent_app(db, tmp, now=MONDAY)
    ids: dict[tuple[int, int], str] = {}
    t0 = time.perf_counter()
    for key, msgid, at, raw in arrivals(convs, keep_headers):
        app.clock.at = at
        ids[key] = msgid
        feed(app, raw)
    elapsed = time.perf_counter() - t0
    with db.transaction() as s:
        rows = s.execute(select(Message.message_id, Message.case_id, Message.thread_rule)).all()
    db.dispose()
    placed = {mid: case_id for mid, case_id, _ in rows}
    truth = {msgid.strip("<>"): c for (c, _), msgid in ids.items()}
    by_id = {mid: (case_id, rule) for mid, case_id, rule in rows}
    found = {key: by_id.get(msgid.strip("<>"), (None, "")) for key, msgid in ids.items()}
    return {**pairwise(truth, placed), "messages": len(truth),
            "ms_per_message": round(elapsed / len(truth) * 1000, 1),
            "misses": misses(convs, found)}


def rivals(convs: list[list[dict]], c: int, n: int, window: float = WINDOW_DAYS) -> int:
    """Other conversations at the domain of message n of conversation c, with its problem,
    active in the window before it: the cases its subject and domain fit as well."""
    m, subject = convs[c][n], convs[c][0]["subject"]
    domain = "@" + m["frm"].split("@")[1]
    return sum(1 for o, other in enumerate(convs) if o != c and other[0]["subject"] == subject
               and other[0]["frm"].endswith(domain)
               and any(m["day"] - window <= x["day"] < m["day"] for x in other))


def unplaceable(convs: list[list[dict]]) -> set[tuple[int, int]]:
    """Messages no reader could place without headers: a colleague's reply that neither
    quotes nor is copied to anyone (the generator writes no Cc), whose subject other cases
    at the domain share. Real colleagues reply to mail they were sent: Cc'd, they take part
    in the case; forwarded, they quote it."""
    return {(c, n) for c, msgs in enumerate(convs) for n, m in enumerate(msgs)
            if n and m["frm"] != msgs[0]["frm"] and "wrote:" not in m["body"]
            and rivals(convs, c, n)}


def ceiling(convs: list[list[dict]]) -> dict:
    """Precision and recall of a reader who places every other message rightly and the
    unplaceable ones in cases of their own."""
    alone = unplaceable(convs)
    truth = {f"c{c}-m{n}": c for c, msgs in enumerate(convs) for n in range(len(msgs))}
    placed = {f"c{c}-m{n}": (-1 - len(truth) * c - n if (c, n) in alone else c)
              for c, msgs in enumerate(convs) for n in range(len(msgs))}
    return {**pairwise(truth, placed), "unplaceable": len(alone)}


def misses(convs: list[list[dict]],
           found: dict[tuple[int, int], tuple[int | None, str]]) -> list[dict]:
    """Each message not in the case of its conversation's first, with the evidence a reader
    had: who wrote it, whether it quotes, its rivals, and the cases earlier misses of its
    own conversation opened (strays, which a later colleague's reply fits as well)."""
    out = []
    for c, msgs in enumerate(convs):
        home, strays = found[(c, 0)][0], 0
        for n, m in enumerate(msgs):
            case_id, rule = found[(c, n)]
            if n == 0 or case_id == home:
                continue
            out.append({"conversation": c, "message": n, "from": m["frm"],
                        "customer": m["frm"] == msgs[0]["frm"], "quotes": "wrote:" in m["body"],
                        "subject": m["subject"], "rule": rule, "rivals": rivals(convs, c, n),
                        "stray_cases": strays})
            strays += rule == "new"
    return out


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
    ap.add_argument("--seed", type=int, nargs="+", default=[7])
    ap.add_argument("--wrap", choices=("words", "chars"), default="words",
                    help="how replies wrap their quote: between words, as clients do, or "
                         "every 70 characters through words (the figures before 2026-12)")
    ap.add_argument("--misses", action="store_true", help="list the messages not placed "
                    "with their conversation, headers stripped, with the evidence they had")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    for seed in args.seed:
        convs = conversations(args.conversations, random.Random(seed), args.wrap)
        results = {mode: run(convs, keep) for mode, keep in (("kept", True), ("stripped", False))}
        results["reader"] = ceiling(convs)
        if args.json:
            print(json.dumps({"seed": seed, **results}))
            continue
        total = sum(len(c) for c in convs)
        print(f"{len(convs)} support conversations, {total} messages (seed {seed})")
        for mode in ("kept", "stripped"):
            r = results[mode]
            print(f"  headers {mode:8s}  precision {r['precision']:.3f}  recall {r['recall']:.3f}"
                  f"  ({r['ms_per_message']} ms per message through the pipeline)")
        r = results["reader"]
        print(f"  a reader, stripped  precision {r['precision']:.3f}  recall {r['recall']:.3f}"
              f"  ({r['unplaceable']} colleagues' replies without quote or Cc fit other "
              f"cases at their domain as well)")
        for miss in results["stripped"]["misses"] if args.misses else ():
            print("    missed c{conversation}-m{message} {from:36s} {who:9s} quote {q:3s} "
                  "rivals {rivals} strays {stray_cases}  {rule:14s} {subject}".format(
                      **miss, who="customer" if miss["customer"] else "colleague",
                      q="yes" if miss["quotes"] else "no"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
