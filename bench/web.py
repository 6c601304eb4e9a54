"""The web console at 100,000 cases: server time of the case list and the case page.

A year of synthetic history (the same rows on both databases, from one seeded generator):
customers, cases with a realistic spread of statuses, priorities, teams, assignees and
deadlines, incidents, merged cases, two to three messages a case with the new text of each,
events, and outbox rows (acknowledgements and relayed replies); every 500th case is a long one
(seven messages, 15 events, seven outbox rows) and is the one whose page is asked for.
bench/report.py's generator is PostgreSQL SQL (generate_series, arrays, intervals) and has no
outbox rows, pending or closed cases, incidents or long cases, so this one is written in
Python and bulk-loaded (COPY on PostgreSQL, executemany on SQLite), as bench/sweep.py does.
PostgreSQL is then ANALYZEd, as autovacuum would after such a load; SQLite is not, as
mailproc never runs ANALYZE there (its planner then goes by its built-in guesses).

Each request kind is asked --requests times (after one warm-up) through Starlette's
TestClient, signed in as an admin (sees every case) and as an agent of the helpdesk team (sees
their team's cases and their own). Filter values rotate over the choices the form offers, and
search terms over random refs, customer addresses, subject words, ticket numbers that occur in
one message each, and words that occur in every other message, so p95 covers the slow
variants. The list is searched as the form sends it (open cases) and with any status.
The SERVER time is measured by a small ASGI middleware wrapped around the console app: from
the moment the app is called until it has sent the last body chunk (session check, query,
template, the thread hop of the page decorator); the test client's own overhead is not in it.
Baselines from the same run: a bare `SELECT <the list's columns> FROM cases LIMIT 50` through
the same engine, and a list request whose filter matches nothing by index (INC-999999), which
is the console's fixed cost (session, layout, template) with no rows.

    .venv/bin/python bench/web.py [--cases 100000] [--db sqlite|postgresql|both]
                                  [--requests 50] [--explain]

Run on demand, not in the tests. A PostgreSQL run gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from mailproc import config  # noqa: E402
from mailproc.app import App  # noqa: E402
from mailproc.clock import FixedClock  # noqa: E402
from mailproc.db import Database  # noqa: E402
from mailproc.models import User  # noqa: E402
from mailproc.web.accounts import Viewer, acting_agent, add_user  # noqa: E402
from mailproc.web.app import create_app  # noqa: E402
from mailproc.web.case_query import Filters, list_cases  # noqa: E402

PG_URL = os.environ.get("MAILPROC_BENCH_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)    # a Wednesday, 11:00 in Berlin
DAYS = 365
TARGET_MS = 100
PASSWORD = "bench password 1"
AGENTS = (
    {"name": "Alice Adams", "key": "alice", "addresses": ["alice@example.com"], "team": "helpdesk"},
    {"name": "Bob Brown", "key": "bob", "addresses": ["bob@example.com"], "team": "helpdesk"},
    {"name": "Carol Chen", "key": "carol", "addresses": ["carol@example.com"], "team": "billing"},
    {"name": "Dan Dietz", "key": "dan", "addresses": ["dan@example.com"], "team": "billing"},
    {"name": "Eve Engel", "key": "eve", "addresses": ["eve@example.com"], "team": "field"},
    {"name": "Finn Fox", "key": "finn", "addresses": ["finn@example.com"], "team": "field"},
)
TEAMS = ({"name": "helpdesk", "assignment": "round_robin"}, {"name": "billing"},
         {"name": "field"})
MEMBERS = {t["name"]: [a["name"] for a in AGENTS if a["team"] == t["name"]] for t in TEAMS}
USERS = (("admin@example.com", "admin"), ("alice@example.com", "agent"))
PRIORITIES = (("normal", 60), ("high", 20), ("low", 12), ("urgent", 8))
FIRST_RESPONSE = {"urgent": 1, "high": 2, "normal": 4, "low": 8}         # hours, roughly
RESOLUTION = {"urgent": 8, "high": 24, "normal": 72, "low": 120}
INCIDENTS = 30
THINGS = ("printer", "VPN", "laptop", "invoice", "password", "calendar", "headset", "monitor",
          "badge", "scanner", "wifi", "mailbox", "account", "licence", "docking station",
          "keyboard", "desk phone", "projector", "shared drive", "video call", "refund",
          "contract", "delivery", "order", "subscription", "backup", "server room", "tablet",
          "web shop", "login page", "payment", "parcel", "warranty", "spare part", "quote",
          "direct debit", "roaming", "firmware", "router", "timesheet")
PROBLEMS = ("offline", "broken", "very slow", "missing", "locked", "not working",
            "keeps crashing", "charged twice", "wrong address", "cannot connect", "overdue",
            "not arrived", "shows an error", "needs renewal", "damaged", "out of stock",
            "cancelled", "too expensive", "lost", "asks for a code")
FIRST = ("Maria", "Tom", "Olga", "Piet", "Jana", "Lukas", "Sofia", "Ahmed", "Emma", "Noah",
         "Mia", "Ben", "Lea", "Paul", "Hanna", "Felix", "Lina", "Jonas", "Ella", "Elias",
         "Clara", "Leon", "Ida", "Max", "Nora", "Anton", "Greta", "Emil", "Frieda", "Oskar")
LAST = ("Muster", "Schmidt", "Novak", "de Vries", "Meyer", "Wagner", "Becker", "Hoffmann",
        "Kaya", "Rossi", "Schulz", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Braun",
        "Zimmermann", "Kruger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Schmitt")
WORDS = ("since", "yesterday", "morning", "again", "please", "help", "urgent", "colleague",
         "office", "home", "update", "restart", "tried", "error", "message", "screen", "cable",
         "support", "thanks", "regards", "customer", "number", "today", "week", "before",
         "working", "network", "settings", "reinstalled", "manager", "team", "meeting",
         "deadline", "invoice", "payment", "delivery", "address", "account", "access", "code")


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _sentence(rng: random.Random, subject: str) -> str:
    words = rng.sample(WORDS, 7)
    return (f"The {subject.lower()} {words[0]} {words[1]}; {words[2]} {words[3]} "
            f"{words[4]} {words[5]} {words[6]}.")


class Plan:
    """The synthetic history: one tuple per row, in each table's column order."""

    def __init__(self, n: int, seed: int = 16) -> None:
        rng = random.Random(seed)
        naive = NOW.replace(tzinfo=None)
        self.n = n
        self.customers = max(10, n // 4)
        self.contacts = []
        for i in range(1, self.customers + 1):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            email = (f"{first}.{last}{i}".lower().replace(" ", "") +
                     f"@kunde{i % 997}.example")
            self.contacts.append((i, email, f"{first} {last}", "[]", naive - timedelta(days=DAYS)))
        self.incidents = [(i, f"Outage {i}: {THINGS[i % len(THINGS)]} down",
                           "open" if i > INCIDENTS - 3 else "resolved", naive, "", "")
                          for i in range(1, INCIDENTS + 1)]
        self.cases, self.messages, self.events, self.outbox = [], [], [], []
        self.rich: list[tuple[str, str]] = []          # (ref, team) of the long cases
        self.tickets: list[str] = []                   # a number in each first message
        message_id = event_id = outbox_id = 0
        for i in range(1, n + 1):
            age = timedelta(days=DAYS) * (1 - i / n) + timedelta(minutes=rng.uniform(5, 60))
            created = naive - age
            days = age.total_seconds() / 86400
            if days < 2:
                status = _weighted(rng, (("new", 25), ("open", 45), ("pending", 15),
                                         ("resolved", 15)))
            elif days < 14:
                status = _weighted(rng, (("new", 3), ("open", 25), ("pending", 17),
                                         ("resolved", 40), ("closed", 15)))
            else:
                status = _weighted(rng, (("open", 1), ("pending", 1), ("resolved", 8),
                                         ("closed", 90)))
            priority = _weighted(rng, PRIORITIES)
            team = _weighted(rng, (("helpdesk", 50), ("billing", 30), ("field", 20)))
            unassigned = rng.random() < (0.7 if status == "new" else 0.05)
            assignee = "" if unassigned else rng.choice(MEMBERS[team])
            subject = f"{rng.choice(THINGS).capitalize()} {rng.choice(PROBLEMS)}"
            if rng.random() < 0.3:
                subject += f" (order {rng.randrange(100000, 999999)})"
            customer = 1 + rng.randrange(self.customers)
            email = self.contacts[customer - 1][1]
            fr_due = created + timedelta(hours=FIRST_RESPONSE[priority])
            res_due = created + timedelta(hours=RESOLUTION[priority])
            answered = None if status == "new" else \
                created + timedelta(minutes=rng.uniform(10, 60 * FIRST_RESPONSE[priority] * 1.3))
            resolved = closed = None
            if status in ("resolved", "closed"):
                resolved = min(naive, (answered or created) + timedelta(hours=rng.uniform(1, 96)))
                if status == "closed":
                    closed = min(naive, resolved + timedelta(days=7))
            long = i % 500 == 250
            replies = 6 if long else {"new": 0, "open": 1, "pending": 1}.get(
                status, rng.choice((1, 1, 2, 2, 3)))
            last = closed or resolved or answered or created
            if status in ("open", "pending"):
                last = min(naive, last + timedelta(hours=rng.uniform(0, 30)))
            merged_into = i - 1 if i > 1 and rng.random() < 0.005 else None
            if merged_into:
                status, closed = "closed", closed or last
            incident = 1 + (i * INCIDENTS // n) % INCIDENTS if rng.random() < 0.015 else None
            ref = str(1000 + i)
            self.cases.append((
                i, ref, status, priority, subject, subject.lower(), 1, customer, team, assignee,
                created, last, created, fr_due, res_due, answered, resolved, closed,
                merged_into, incident, "[]", False))
            if long:
                self.rich.append((ref, team))
            # The conversation: the customer's mail, then agent replies and customer answers.
            stamps = [created] + sorted(created + (last - created) * rng.random()
                                        for _ in range(replies))
            for k, at in enumerate(stamps):
                message_id += 1
                customer_turn = k % 2 == 0
                sender = email if customer_turn else f"{assignee.split()[0].lower()}@example.com" \
                    if assignee else "support@example.com"
                new = " ".join(_sentence(rng, subject) for _ in range(rng.randint(2, 5)))
                if k == 0:
                    self.tickets.append(str(rng.randrange(10**7, 10**8)))
                    new = f"Hello,\n\n{new}\n\nTicket {self.tickets[-1]}."
                body = new if k == 0 else new + "\n\n> " + _sentence(rng, subject)
                self.messages.append((
                    message_id, i, "in", "human" if customer_turn else "agent",
                    "from the customer" if customer_turn else "agent mail",
                    f"bench-{message_id}@kunde.example", "[]", "[]",
                    ("Re: " if k else "") + subject, sender, "",
                    '["support@example.com"]', "[]", at, body, new, "", "new" if k == 0 else
                    "in_reply_to", "bench", False, at))
            kinds = ["opened", "triaged", "ack_queued"] + (["assigned"] if assignee else [])
            kinds += ["relayed"] * replies + (["status"] if status != "new" else [])
            if long:
                kinds += ["note", "priority", "kb_suggested", "escalated"]
            for k, kind in enumerate(kinds):
                event_id += 1
                at = min(last, created + timedelta(minutes=k))
                self.events.append((event_id, i, at, "mailproc" if k < 3 else (assignee or "x"),
                                    kind, f"{kind} by the bench", "{}"))
            mails = [("ack", email)] + [("reply", email)] * (replies if long else replies // 2)
            for k, (kind, to) in enumerate(mails):
                outbox_id += 1
                sent = status != "new" or kind == "ack"
                self.outbox.append((
                    outbox_id, i, kind, f"{kind}:case:{i}:{k}", "sent" if sent else "pending",
                    f"<out-{outbox_id}@example.com>", "support@example.com", json.dumps([to]), to,
                    f"[#{ref}] {subject}", kind, "{}", b"From: support@example.com\r\n" * 20,
                    1, created, created, created if sent else None))

    TABLES = {
        "mailboxes": ("id", "name", "kind", "created_at"),
        "contacts": ("id", "email", "name", "phones", "created_at"),
        "incidents": ("id", "title", "status", "created_at", "keywords", "message"),
        "cases": ("id", "ref", "status", "priority", "subject", "normalized_subject",
                  "mailbox_id", "customer_id", "team", "assignee", "created_at", "updated_at",
                  "last_customer_message_at", "first_response_due_at", "resolution_due_at",
                  "first_responded_at", "resolved_at", "closed_at", "merged_into_id",
                  "incident_id", "kb_suggestions", "resolved_by_kb"),
        "messages": ("id", "case_id", "direction", "kind", "kind_reason", "message_id",
                     "in_reply_to", "references", "subject", "from_addr", "from_name",
                     "to_addrs", "cc_addrs", "date_at", "body_text", "new_text", "signature",
                     "thread_rule", "thread_reason", "internal", "created_at"),
        "events": ("id", "case_id", "at", "actor", "kind", "detail", "data"),
        "outbox": ("id", "case_id", "kind", "dedupe_key", "status", "message_id", "from_addr",
                   "to_addrs", "recipient", "subject", "template", "context", "raw", "attempts",
                   "next_attempt_at", "created_at", "sent_at"),
    }

    def rows(self, table: str) -> list[tuple]:
        if table == "mailboxes":
            return [(1, "bench", "imap", NOW.replace(tzinfo=None))]
        return getattr(self, table)


def fill_postgres(db: Database, plan: Plan) -> None:
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, cols in Plan.TABLES.items():
            quoted = ", ".join(f'"{c}"' for c in cols)
            with cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in plan.rows(table):
                    copy.write_row(row)
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def fill_sqlite(db: Database, plan: Plan) -> None:
    def value(v):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v

    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        for table, cols in Plan.TABLES.items():
            quoted = ", ".join(f'"{c}"' for c in cols)
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(cols))})"
            rows = plan.rows(table)
            for start in range(0, len(rows), 20_000):
                cur.executemany(sql, [tuple(value(v) for v in row)
                                      for row in rows[start:start + 20_000]])
        cur.execute("COMMIT")
    finally:
        raw.close()


class ServerTimer:
    """ASGI middleware: the time from the app's call to the last body chunk it sends."""

    def __init__(self, app) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope, receive, send) -> None:
        t0 = time.perf_counter()

        async def timed(message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - t0

        await self.app(scope, receive, timed)


def make_app(db: Database, var: Path) -> App:
    settings = config.load(ROOT / "config" / "mailproc.toml",
                           env={"MAILPROC_SECRET_KEY": "bench-" + "x" * 30})
    settings = replace(settings, database_url=db.url,
                       storage=replace(settings.storage, var_dir=str(var)),
                       kb={**settings.kb, "cache_dir": str(var / "kb-cache")},
                       agents=tuple(MappingProxyType(a) for a in AGENTS),
                       teams=tuple(MappingProxyType(t) for t in TEAMS))
    return App.create(settings, db=db, clock=FixedClock(NOW))


def sign_in(timer: ServerTimer, email: str) -> TestClient:
    c = TestClient(timer, base_url="http://testserver", follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"csrf": token, "email": email, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return c


def kinds(app: App, plan: Plan, role: str, rng: random.Random,
          requests: int) -> dict[str, list[str]]:
    """Request kind -> the URLs to ask, one per request (values rotate)."""
    def lists(**params) -> str:
        return "/cases?" + urlencode(params) if params else "/cases"

    def cycle(values, make) -> list[str]:
        return [make(values[k % len(values)]) for k in range(requests)]

    refs = [c[1] for c in plan.cases]
    customers = [c[1] for c in plan.contacts]
    agent_team = "helpdesk"
    rich = [ref for ref, team in plan.rich if role == "admin" or team == agent_team]
    words = [f"{t} {p}" for t in THINGS for p in PROBLEMS]
    rng.shuffle(words)
    with app.db.transaction() as s:
        viewer = _viewer(app, s, role)
        tokens = {}
        for name, f in (("page 2", Filters(status="active")), ("page 2, any status",
                                                              Filters(status="all"))):
            _, tokens[name] = list_cases(app, s, viewer, f, NOW)
    assignees = [a["name"] for a in AGENTS] + ["-"]
    return {
        "list, default (active)": [lists()] * requests,
        "list, any status": [lists(status="all")] * requests,
        "status (each)": cycle(["new", "open", "pending", "resolved", "closed"],
                               lambda v: lists(status=v)),
        "priority (each)": cycle([p for p, _ in PRIORITIES], lambda v: lists(priority=v)),
        "team (each)": cycle(list(MEMBERS), lambda v: lists(team=v)),
        "assignee (each, nobody)": cycle(assignees, lambda v: lists(assignee=v)),
        "breach soon": [lists(breach="1")] * requests,
        "incident any / INC-n": cycle(["any"] + [f"INC-{i}" for i in range(1, INCIDENTS + 1)],
                                      lambda v: lists(incident=v)),
        "search #ref": cycle(rng.sample(refs, requests), lambda v: lists(q=f"#{v}")),
        "search #ref, any status": cycle(rng.sample(refs, requests),
                                         lambda v: lists(q=f"#{v}", status="all")),
        "search customer address": cycle(rng.sample(customers, requests),
                                         lambda v: lists(q=v)),
        "search customer, any status": cycle(rng.sample(customers, requests),
                                             lambda v: lists(q=v, status="all")),
        "search subject words": cycle(words, lambda v: lists(q=v)),
        "search subject words, any st.": cycle(words[::-1], lambda v: lists(q=v, status="all")),
        "search rare text word, any st.": cycle(
            rng.sample(plan.tickets, requests),
            lambda v: lists(q=v, status="all")),
        "search frequent word, any st.": cycle(WORDS, lambda v: lists(q=v, status="all")),
        "page 2 (keyset)": [lists(status="active", after=tokens["page 2"])] * requests,
        "page 2, any status": [lists(status="all", after=tokens["page 2, any status"])]
        * requests,
        "case page": cycle(rich, lambda v: f"/cases/{v}"),
    }


def _viewer(app: App, session, role: str) -> Viewer:
    email = dict((r, e) for e, r in USERS)[role]
    user = session.scalar(select(User).where(User.email == email))
    return Viewer(user_id=user.id, email=user.email, name=user.name, role=user.role,
                  agent=acting_agent(app, user), session_id="", csrf="")


def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank percentile, in milliseconds."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


def measure(c: TestClient, timer: ServerTimer, urls: list[str]) -> tuple[float, float, float]:
    """(p50 ms, p95 ms, mean rows on the page) of the server time over the URLs."""
    c.get(urls[0])                                      # warm-up, not counted
    times, rows = [], []
    for url in urls:
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code)
        times.append(timer.last)
        rows.append(r.text.count('data-label="Case"') or r.text.count('class="msg'))
    return percentile(times, 0.5), percentile(times, 0.95), statistics.mean(rows)


def baseline_select(db: Database, requests: int) -> tuple[float, float]:
    sql = text("SELECT id, ref, subject, status, priority, team, assignee, updated_at, "
               "first_response_due_at, first_responded_at, resolution_due_at, incident_id "
               "FROM cases LIMIT 50")
    times = []
    for _ in range(requests + 1):
        t0 = time.perf_counter()
        with db.engine.connect() as conn:
            conn.execute(sql).all()
        times.append(time.perf_counter() - t0)
    return percentile(times[1:], 0.5), percentile(times[1:], 0.95)


def explain(db: Database, app: App, role: str, url: str) -> list[str]:
    """The plan of the list query a URL runs (the case page's reads are by index)."""
    captured = []
    params = dict(parse_qsl(urlsplit(url).query))
    with app.db.transaction() as s:
        viewer = _viewer(app, s, role)
        original = s.execute

        def capture(statement, *a, **k):
            captured.append(statement)
            return original(statement, *a, **k)
        s.execute = capture
        list_cases(app, s, viewer, Filters.from_query(params), NOW)
        s.execute = original
        stmt = captured[-1].compile(dialect=db.engine.dialect,
                                    compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN ANALYZE " if db.engine.dialect.name == "postgresql" \
            else "EXPLAIN QUERY PLAN "
        return [" | ".join(str(c) for c in row)
                for row in s.execute(text(prefix + str(stmt))).all()]


def run(backend: str, n: int, requests: int, show_plans: bool) -> dict:
    schema = admin = None
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "postgresql":
            schema = f"bench_web_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            db = Database(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        else:
            db = Database(f"sqlite:///{tmp}/bench.sqlite3")
        try:
            db.upgrade()
            t0 = time.perf_counter()
            plan = Plan(n)
            made = time.perf_counter() - t0
            t0 = time.perf_counter()
            (fill_postgres if backend == "postgresql" else fill_sqlite)(db, plan)
            filled = time.perf_counter() - t0
            app = make_app(db, Path(tmp) / "var")
            with db.transaction() as s:
                for email, role in USERS:
                    add_user(s, email, role=role, password=PASSWORD, actor="bench", now=NOW)
            print(f"{backend}: {n:,} cases, {len(plan.messages):,} messages, "
                  f"{len(plan.events):,} events, {len(plan.outbox):,} outbox rows, "
                  f"{plan.customers:,} customers; generated in {made:.1f} s, loaded in "
                  f"{filled:.1f} s")
            timer = ServerTimer(create_app(app))
            base = baseline_select(db, requests)
            results = {"baseline: bare SELECT ... LIMIT 50": {"*": base + (50,)}}
            for role in ("admin", "agent"):
                email = dict((r, e) for e, r in USERS)[role]
                c = sign_in(timer, email)
                urls = {"baseline: list, no rows (INC-999999)":
                        ["/cases?incident=INC-999999"] * requests}
                urls.update(kinds(app, plan, role, random.Random(7), requests))
                for kind, kind_urls in urls.items():
                    results.setdefault(kind, {})[role] = measure(c, timer, kind_urls)
                    if show_plans and kind_urls[0].startswith("/cases?"):
                        print(f"  plan of {kind} ({role}): {kind_urls[0]}")
                        for line in explain(db, app, role, kind_urls[0]):
                            print(f"    {line}")
                c.close()
            return results
        finally:
            db.dispose()
            if schema:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


def report(results: dict[str, dict]) -> None:
    backends = list(results)
    head = f"{'server time, ms':<40}"
    for b in backends:
        head += f" | {b + ' admin':>21} | {b + ' agent':>21}"
    print()
    print(head)
    sub = f"{'':<40}" + " | {:>6} {:>6} {:>7}".format("p50", "p95", "rows") * 2 * len(backends)
    print(sub)
    slow = []
    for kind in results[backends[0]]:
        line = f"{kind:<40}"
        for b in backends:
            for role in ("admin", "agent"):
                figures = results[b][kind].get(role) or results[b][kind].get("*")
                p50, p95, rows = figures
                mark = "!" if p95 >= TARGET_MS and not kind.startswith("baseline") else " "
                if mark == "!":
                    slow.append(f"{kind} ({b}, {role})")
                line += f" | {p50:6.1f} {p95:6.1f}{mark}{rows:6.1f}"
        print(line)
    print(f"\ntarget: p95 < {TARGET_MS} ms for every kind; "
          + ("all met." if not slow else f"missed (!) by: {', '.join(slow)}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=50, help="requests per kind and viewer")
    parser.add_argument("--explain", action="store_true", help="print each list query's plan")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {b: run(b, args.cases, args.requests, args.explain) for b in backends}
    report(results)


if __name__ == "__main__":
    main()
