"""Threading look-ups at a million stored messages: each question DbThreadLookup answers for
one new message, timed (p50, p95, max over the sample) beside a primary-key read.

The history is generated inside the database (PostgreSQL: generate_series in a schema of its
own; SQLite: a recursive series in a file): contacts at company domains of a few people, at
one large customer of some 800 and at free-mail providers; four messages per case over two
years (the customer, an agent, the customer twice), every case's customer a participant and
every fourth case with a colleague copied; the references of each reply; ten fingerprints per
message, a tenth of the messages with one of a hundred common phrases and the large
customer's with its five-print disclaimer. Then, for `--samples` recent cases, the questions
a new message about them asks: its In-Reply-To and References (stored and ghost ids), the
sender's subject, the sender's recent cases, a colleague's (a small company and the large
one), the quoted part (a plain quote, and one with the disclaimer), what the quote holds of a
few candidates, the recent cases a new case's incident check compares itself with, and
the whole of thread_message for three kinds of reply. Each is timed as
migrated and again with the indexes PROPOSED below (created for the run, dropped after).

    python bench/threading_lookup.py [--db postgresql|sqlite|both] [--messages 1000000]
                                     [--samples 500] [--keep SCHEMA|FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import bindparam, select, text  # noqa: E402

from ingest import drop_schema, open_schema  # noqa: E402
from mailproc.actions.incidents import recent_case_words  # noqa: E402
from mailproc.db import Database  # noqa: E402
from mailproc.models import Case  # noqa: E402
from mailproc.thread.lookup import DbThreadLookup  # noqa: E402
from mailproc.thread.rules import ThreadInput, thread_message  # noqa: E402

# An address's domain as SQL, as migration 0006 fills cases.customer_domain with.
DOMAIN_OF_EMAIL = {"postgresql": "split_part({0}, '@', 2)",
                   "sqlite": "substr({0}, instr({0}, '@') + 1)"}
URL = os.environ.get("MAILPROC_TEST_POSTGRES_URL",
                     "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
SPAN_DAYS = 730
NOW = T0 + timedelta(days=SPAN_DAYS + 10)
WINDOW = timedelta(days=14)
INCIDENT_MINUTES = 15         # the incidents window's default
PRINTS = 10                     # fingerprints per stored message
DISCLAIMER = 5                  # prints of the large customer's disclaimer
FREE = ("gmail.com", "web.de", "outlook.com", "gmx.de", "yahoo.com")
BIG = "bigcorp.example"

# {series(n)}: rows x = 1..n; {at(seconds)}: T0 plus seconds; {json}: an empty JSON list.
DOMAIN = (f"CASE WHEN x % 5 = 0 THEN (CASE (x / 5) % 5 "
          + " ".join(f"WHEN {i} THEN '{d}'" for i, d in enumerate(FREE))
          + f" END) WHEN x % 97 = 1 THEN '{BIG}' ELSE 'co' || (x % :domains) || '.example' END")
GENERATE = [
    "INSERT INTO mailboxes (id, name, kind, created_at) VALUES (1, 'bench', 'imap', {at(0)})",
    "INSERT INTO contacts (id, email, name, phones, created_at) "
    "SELECT x, 'p' || x || '@' || " + DOMAIN + ", '', {json}, {at(0)} FROM {series(:contacts)}",
    "INSERT INTO cases (id, ref, status, priority, subject, normalized_subject, mailbox_id, "
    "customer_id, team, assignee, created_at, updated_at, kb_suggestions, resolved_by_kb) "
    "SELECT x, CAST(100000 + x AS VARCHAR(32)), CASE WHEN x % 3 = 0 THEN 'open' ELSE 'resolved' "
    "END, 'normal', s, s, 1, 1 + (x * 7919) % :contacts, '', '', {at(x * :step)}, "
    "{at(x * :step + (x % 10) * 86400)}, {json}, false FROM (SELECT x, CASE WHEN x % 10 < 6 "
    "THEN 'topic ' || (x % 400) || ' is broken' ELSE 'request ' || x END AS s "
    "FROM {series(:cases)}) t",
    "UPDATE cases SET customer_domain = (SELECT {domain} FROM contacts "
    "WHERE contacts.id = cases.customer_id)",
    "INSERT INTO participants (case_id, contact_id, role) "
    "SELECT id, customer_id, 'customer' FROM cases",
    "INSERT INTO participants (case_id, contact_id, role) SELECT id, "
    "1 + (customer_id + 1) % :contacts, 'customer' FROM cases WHERE id % 4 = 0",
    # message x: case (x - 1) / 4 + 1, its k = (x - 1) % 4th; k = 1 is an agent's answer
    "INSERT INTO messages (id, case_id, direction, kind, kind_reason, message_id, in_reply_to, "
    '"references", subject, from_addr, from_name, to_addrs, cc_addrs, date_at, body_text, '
    "new_text, signature, thread_rule, thread_reason, internal, created_at) "
    "SELECT x, c.id, 'in', CASE WHEN (x - 1) % 4 = 1 THEN 'agent' ELSE 'human' END, '', "
    "'m' || x || '@client.example', {json}, {json}, c.subject, CASE WHEN (x - 1) % 4 = 1 "
    "THEN 'agent' || (x % 3) || '@example.com' ELSE p.email END, '', {json}, {json}, "
    "{at(c.id * :step + ((x - 1) % 4) * 86400)}, '', '', '', 'bench', '', false, "
    "{at(c.id * :step + ((x - 1) % 4) * 86400)} FROM {series(:messages)} "
    "JOIN cases c ON c.id = (x - 1) / 4 + 1 JOIN contacts p ON p.id = c.customer_id",
    "INSERT INTO message_refs (message_pk, ref_id, case_id) SELECT id, "
    "'m' || (id - 1) || '@client.example', case_id FROM messages WHERE (id - 1) % 4 > 0",
    "INSERT INTO message_refs (message_pk, ref_id, case_id) SELECT id, "
    "'m' || (id - (id - 1) % 4) || '@client.example', case_id FROM messages "
    "WHERE (id - 1) % 4 > 1",
    # own prints: message x holds x * 16 + j; one in ten a common phrase (-1000 - x % 100)
    "INSERT INTO message_prints (message_pk, print) SELECT m.id, CASE WHEN j = 0 AND "
    "m.id % 10 = 0 THEN -1000 - m.id % 100 ELSE m.id * 16 + j END "
    "FROM messages m CROSS JOIN (SELECT x - 1 AS j FROM {series(" + str(PRINTS) + ")}) js",
    "INSERT INTO message_prints (message_pk, print) SELECT m.id, -d FROM messages m "
    "CROSS JOIN (SELECT x AS d FROM {series(" + str(DISCLAIMER) + ")}) ds "
    f"WHERE m.kind = 'human' AND m.from_addr LIKE '%@{BIG}'",
]


def dialect_sql(statement: str, dialect: str) -> str:
    """The statement with the series, times and JSON of `dialect`."""
    out = statement
    while "{series(" in out:
        start = out.index("{series(")
        end = out.index(")}", start)
        n = out[start + 8:end]
        series = (f"generate_series(1, CAST({n} AS integer)) AS g(x)" if dialect == "postgresql"
                  else f"(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s "
                       f"WHERE x < {n}) SELECT x FROM s) AS g")
        out = out[:start] + series + out[end + 2:]
    while "{at(" in out:
        start = out.index("{at(")
        end = out.index(")}", start)
        seconds = out[start + 4:end]
        at = (f"(CAST(:t0 AS timestamp) + ({seconds}) * interval '1 second')"
              if dialect == "postgresql" else
              f"strftime('%Y-%m-%d %H:%M:%S.000000', :t0, '+' || ({seconds}) || ' seconds')")
        out = out[:start] + at + out[end + 2:]
    out = out.replace("{domain}", DOMAIN_OF_EMAIL[dialect].format("contacts.email"))
    return out.replace("{json}", "CAST('[]' AS json)" if dialect == "postgresql" else "'[]'")


def sizes(messages: int) -> dict:
    cases = messages // 4
    contacts = max(100, messages // 10)
    return {"messages": cases * 4, "cases": cases, "contacts": contacts,
            "domains": max(10, contacts // 10), "step": SPAN_DAYS * 86400 // cases,
            "t0": T0.replace(tzinfo=None).isoformat(sep=" ")}


def generate(db: Database, messages: int) -> float:
    dialect = db.engine.dialect.name
    params = sizes(messages)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        for statement in GENERATE:
            sql = dialect_sql(statement, dialect)
            conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
        if dialect == "postgresql":
            for table in ("contacts", "cases", "participants", "messages"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - t0


PRIMARY_KEY = select(Case.id).where(Case.id == bindparam("id"))   # built once, as lookup.py's
PROPOSED = {   # the indexes migrations 0004 and 0006 add for these look-ups (dropped for "before")
    "ix_cases_domain_updated": ("cases", "(customer_domain, updated_at)"),   # colleagues
    "ix_messages_from_date": ("messages", "(from_addr, date_at)"),   # the subject rule
    "ix_cases_customer_updated": ("cases", "(customer_id, updated_at)"),  # large customers
}


def proposed_indexes(db: Database, present: bool) -> None:
    with db.engine.begin() as conn:     # SQLite's connections begin every transaction
        for name, (table, columns) in PROPOSED.items():
            if present:
                conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}")
            else:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        for table in sorted({table for table, _ in PROPOSED.values()}):
            conn.exec_driver_sql(f"ANALYZE {table}")


def email_of(contact: int, domains: int) -> str:
    """The address the generator gave contact `contact` (DOMAIN in Python)."""
    if contact % 5 == 0:
        return f"p{contact}@{FREE[(contact // 5) % 5]}"
    return f"p{contact}@{BIG if contact % 97 == 1 else f'co{contact % domains}.example'}"


def samples(n: int, params: dict, rng: random.Random) -> list[dict]:
    """New messages about recent cases: the stored facts each question is asked with."""
    out = []
    cases, contacts, domains = params["cases"], params["contacts"], params["domains"]
    recent = range(cases - cases // 50, cases + 1)        # the last two weeks or so
    big = [c for c in recent if (1 + (c * 7919) % contacts) % 97 == 1
           and (1 + (c * 7919) % contacts) % 5] or list(recent)
    while len(out) < n:
        case = rng.choice(recent) if len(out) % 10 else rng.choice(big)
        customer = 1 + (case * 7919) % contacts
        sender = email_of(customer, domains)
        first, last = (case - 1) * 4 + 1, case * 4
        at = T0 + timedelta(seconds=case * params["step"] + 4 * 86400)
        subject = f"topic {case % 400} is broken" if case % 10 < 6 else f"request {case}"
        out.append({"case": case, "sender": sender, "domain": sender.rpartition("@")[2],
                    "ids": [f"<m{first}@client.example>", f"<m{last}@client.example>"],
                    "ghost": [f"<m{last}@client.example>", f"<g{case}@elsewhere.example>"],
                    "subject": subject, "at": min(at, NOW),
                    "prints": [first * 16 + j for j in range(1, PRINTS)]
                              + [(first + 2) * 16 + j for j in range(1, PRINTS)] + [-1042],
                    "big": sender.endswith("@" + BIG)})
    return out


def threads(s: dict, colleague: str) -> dict[str, ThreadInput]:
    """The new message in three kinds: the customer's reply with its headers, a colleague's
    without headers quoting the case, and a colleague's without headers or quote (the one
    that asks every rule, the colleague's among them)."""
    base = ThreadInput(message_id=f"<new{s['case']}@client.example>", in_reply_to=(),
                       references=(), subject="Re: " + s["subject"], from_addr=s["sender"],
                       signed_ref=None, date_at=s["at"])
    return {"a reply with headers": replace(base, in_reply_to=tuple(s["ids"][-1:]),
                                            references=tuple(s["ids"])),
            "a colleague's reply quoting, no headers": replace(
                base, from_addr=colleague, quoted_prints=tuple(s["prints"])),
            "a colleague's reply, no headers, no quote": replace(base, from_addr=colleague)}


def timed(fn, runs: list[float]):
    t0 = time.perf_counter()
    out = fn()
    runs.append((time.perf_counter() - t0) * 1000)
    return out


def measure(db: Database, params: dict, n: int, seed: int = 1) -> dict[str, list[float]]:
    rng = random.Random(seed)
    questions: dict[str, list[float]] = {}
    newest = T0 + timedelta(seconds=params["cases"] * params["step"])   # the last case's mail
    for warm in (True, False):          # a first pass brings the indexes into memory
        runs: dict[str, list[float]] = {}
        for s in samples(n, params, rng):
            with db.transaction() as session:
                session.execute(text("SELECT 1"))      # the transaction is under way
                lookup = DbThreadLookup(session)
                case = session.get(Case, s["case"])
                since = s["at"] - WINDOW
                colleague = "colleague-" + s["sender"]
                kind = "big" if s["big"] else "small"
                ask = {
                    "baseline: a case by primary key":
                        lambda: session.scalar(PRIMARY_KEY, {"id": s["case"]}),
                    "case_for_message_ids (In-Reply-To, References)":
                        lambda: lookup.case_for_message_ids(s["ids"]),
                    "case_for_referenced_ids (a ghost parent)":
                        lambda: lookup.case_for_referenced_ids(s["ghost"]),
                    "recent_case_for_subject (the sender's subject)":
                        lambda: lookup.recent_case_for_subject(s["sender"], s["subject"], since),
                    "recent_cases_near (the sender's cases)":
                        lambda: lookup.recent_cases_near(s["sender"], None, since),
                    f"recent_cases_near (a colleague, {kind} company)":
                        lambda: lookup.recent_cases_near(colleague, s["domain"], since),
                    f"cases_quoting (a quote{', with the disclaimer' if s['big'] else ''})":
                        lambda: lookup.cases_quoting(
                            s["prints"] + ([-1, -2, -3] if s["big"] else []), 3),
                    "incidents: recent cases (a new case's burst check)":
                        lambda: recent_case_words(session, case, newest, INCIDENT_MINUTES),
                    "prints_held (the quote in 10 candidate cases)":
                        lambda: lookup.prints_held(s["prints"], list(range(
                            s["case"] - 9, s["case"] + 1))),
                }
                for name, fn in ask.items():
                    if "colleague" in name and s["domain"] in FREE:
                        continue
                    timed(fn, runs.setdefault(name, []))
                for name, mail in threads(s, colleague).items():
                    timed(lambda: thread_message(mail, lookup, now=s["at"], subject_window=WINDOW,
                                                 own_domains=frozenset({"example.com"})),
                          runs.setdefault(f"thread_message ({name})", []))
        if not warm:
            questions = runs
    return questions


def summary(runs: dict[str, list[float]]) -> dict[str, dict]:
    """Per question, in the order asked (the thread_message rows last): n, p50, p95, max."""
    order = sorted(runs, key=lambda name: (name.startswith("thread_message"),
                                           name.replace("small", "a").replace("big", "b")))
    order.insert(0, order.pop(order.index(next(n for n in order if n.startswith("baseline")))))
    return {name: {"n": len(runs[name]), "p50_ms": round(statistics.median(runs[name]), 3),
                   "p95_ms": round(sorted(runs[name])[math.ceil(len(runs[name]) * 0.95) - 1], 3),
                   "max_ms": round(max(runs[name]), 3)} for name in order}


def run_backend(backend: str, messages: int, n: int, keep: str | None) -> dict:
    params = sizes(messages)
    schema = None
    if backend == "postgresql":
        schema = keep or f"bench_thread_{uuid.uuid4().hex[:8]}"
        db, exists = open_schema(URL, schema)
    else:
        path = Path(keep) if keep else Path(tempfile.mkdtemp()) / "lookup.sqlite3"
        exists = path.exists()
        db = Database(f"sqlite:///{path}")
    generated = None
    try:
        if not exists:
            db.upgrade()
            generated = round(generate(db, messages), 1)
        proposed_indexes(db, False)
        runs = measure(db, params, n)
        proposed_indexes(db, True)
        indexed = measure(db, params, n)
        proposed_indexes(db, False)
    finally:
        db.dispose()
        if schema is not None:
            if not keep:
                drop_schema(URL, schema)
        elif not keep:
            path.unlink(missing_ok=True)
    return {"backend": backend, "messages": params["messages"], "cases": params["cases"],
            "contacts": params["contacts"], "generate_s": generated,
            "questions": summary(runs), "with_proposed_indexes": summary(indexed)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=("postgresql", "sqlite", "both"), default="both")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--keep", metavar="SCHEMA|FILE",
                    help="reuse (or keep) this PostgreSQL schema or SQLite file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    backends = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    for backend in backends:
        out = run_backend(backend, args.messages, args.samples, args.keep)
        if args.json:
            print(json.dumps(out))
            continue
        print(f"{backend}: {out['messages']:,} messages in {out['cases']:,} cases, "
              f"{out['contacts']:,} contacts" + (f" (generated in {out['generate_s']} s)"
                                                  if out["generate_s"] else ""))
        print(f"  {'':58s} {'as migrated':>26s}   {'with the proposed indexes':>26s}")
        print(f"  {'question':58s}" + f" {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}  " * 2)
        for name, q in out["questions"].items():
            i = out["with_proposed_indexes"][name]
            print(f"  {name:58s} {q['p50_ms']:8.3f} {q['p95_ms']:8.3f} {q['max_ms']:8.3f}"
                  f"   {i['p50_ms']:8.3f} {i['p95_ms']:8.3f} {i['max_ms']:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
