"""Where each millisecond of a message goes: the real pipeline, timed per stage (issue #18).

N messages of the shared corpus (the copies bench/ingest.py makes) are stored the way a
source stores them (`RawStore.store_batch`, batches of 200, no IMAP server) and processed by
`runners.inbound.process_pending` with the `make run` configuration (config/mailproc.toml:
hybrid KB with the MiniLM stage on), on SQLite and on PostgreSQL. The stage functions are
wrapped with timers in this process only (module attributes replaced wherever the function
was imported with `from x import f`; methods on their classes); each stage is charged its
own time, without the wrapped stages it calls, so the rows add up to the wall time.
A SQLAlchemy `before/after_cursor_execute` listener charges each statement, its count and
its database time to the stage that runs it. Beside it, on the same bytes in the same run:
stdlib `email.message_from_bytes` + header access alone, mail-parser alone, and our own
`parse_message` alone. With them, the CPU a message of the ordered step (this process) and of
the prepare pool (its processes, from /proc): when the pool's share is well under one core, the
ordered step is the bound.

    .venv/bin/python bench/profile_pipeline.py                      # N=1000, both databases
    .venv/bin/python bench/profile_pipeline.py --n 300 --db sqlite --stages
    .venv/bin/python bench/profile_pipeline.py --db postgresql --cprofile var/pipeline.prof

`--stages` lists the wrapped functions and exits. `--cprofile PATH` writes cProfile stats of
the processing to PATH.<db> instead of timing stages (to look inside a stage).
`--no-timers` wraps nothing and times process_pending alone: the timers' own cost.

Reading the table: "DB ms" is time inside cursor.execute only; PostgreSQL's pool pre-ping and
the DBAPI COMMIT are not statements, they show in the ms of "DB: begin, checkout, pre-ping"
and "DB: commit". A flush (explicit or autoflush before a query) is charged to "ORM: flush",
whichever stage asked for it. A bounce's embedded original parsed by parse_message is charged
to the parse rows. Incident grouping looks at cases whose mail arrived within its window: all
mail here is stored at once, as after a backlog, so that is every case (its worst case).
"""

from __future__ import annotations

import argparse
import cProfile
import email
import functools
import importlib
import itertools
import json
import logging
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailparser  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from _corpus import load_corpus, repeated  # noqa: E402
from ingest import drop_schema, make_database  # noqa: E402
from mailproc import config  # noqa: E402
from mailproc.app import App  # noqa: E402
from mailproc.config import MailboxSettings  # noqa: E402
from mailproc.db import Database  # noqa: E402
from mailproc.errors import ParseError  # noqa: E402
from mailproc.models import Case, Event, OutboundMail, RawMessage, RawStatus  # noqa: E402
from mailproc.parse.message import parse_message  # noqa: E402
from mailproc.source.base import Checkpoint, FetchedMessage, imap_source_key  # noqa: E402
import mailproc.runners.inbound  # noqa: E402,F401 - imports every stage module of the path

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 200           # messages per store_batch: the IMAP source's default batch_size
MAILBOX, FOLDER, UIDVALIDITY = "support", "INBOX", 1
PASSWORD_ENV = "MAILPROC_BENCH_IMAP_PW"

# -- the stages ------------------------------------------------------------------------------
# (group, label, targets): a target is "module:function" (replaced in that module and in every
# mailproc module that imported it by name), "module:Class.method" (on the class) or
# "module:Class.*" (every method the class defines). Order = report order.
STAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("runner", "runner: loop, batches, process_raw, _attempt", (
        "mailproc.runners.inbound:process_pending", "mailproc.runners.inbound:process_many",
        "mailproc.runners.inbound:_batch", "mailproc.runners.inbound:_rows_or_rollback",
        "mailproc.runners.inbound:process_raw", "mailproc.runners.inbound:_attempt")),
    ("runner", "prepare pool: feed, wait, unpickle", ("mailproc.runners.prepare_pool:Ahead.*",)),
    ("runner", "prepare: checks of a result (use)", ("mailproc.runners.prepare:use",)),
    ("runner", "runner: pending ids query", ("mailproc.runners.inbound:pending_raw_ids",)),
    ("runner", "runner: count attempt (own tx)", ("mailproc.runners.inbound:_start_attempt",)),
    ("runner", "runner: _process glue (row get)", ("mailproc.runners.inbound:_process",)),
    ("runner", "runner: failure / quarantine", (
        "mailproc.runners.inbound:_record_failure", "mailproc.runners.inbound:_quarantine")),
    ("runner", "runner: advisory lock (PG)", ("mailproc.runners.inbound:_serialise_copies",)),
    ("store", "store: load raw bytes", ("mailproc.store.raw:load_raw",)),
    ("parse", "parse: other (ids, hashing)", ("mailproc.parse.message:parse_message",)),
    ("parse", "parse: MIME tree + mail-parser checks", ("mailproc.parse.message:_load",)),
    ("parse", "parse: header decoding", ("mailproc.parse.message:_collect_headers",)),
    ("parse", "parse: addresses", ("mailproc.parse.message:_addresses",)),
    ("parse", "parse: dates", ("mailproc.parse.message:choose_date",)),
    ("parse", "parse: MIME walk, body decoding", ("mailproc.parse.message:_walk",)),
    ("parse", "parse: HTML to text", ("mailproc.parse.html_text:html_to_text",)),
    ("parse", "parse: reply extraction", ("mailproc.parse.reply:extract",)),
    ("classify", "classify (+ signed ref)", (
        "mailproc.classify.inbound:classify_inbound", "mailproc.signing:find_signed_ref")),
    ("classify", "bounce: link", ("mailproc.cases.undeliverable:link_bounce",)),
    ("thread", "thread: input, quoted fingerprints", ("mailproc.thread.input:thread_input",)),
    ("thread", "thread: rules (pure)", ("mailproc.thread.rules:thread_message",)),
    ("thread", "thread: DbThreadLookup queries", ("mailproc.thread.lookup:DbThreadLookup.*",)),
    ("cases", "cases: placement (open/join, people)", ("mailproc.cases.placement:place",)),
    ("cases", "cases: learn phones", ("mailproc.cases.placement:learn_phones",)),
    ("cases", "cases: customer turn", ("mailproc.cases.customer_turn:on_customer_message",)),
    ("store", "store: message rows (refs, prints, files)", ("mailproc.store.messages:store_message",)),
    ("actions", "actions: after_message glue", ("mailproc.actions.after_message:after_message",)),
    ("actions", "triage: priority + SLA deadlines",
     ("mailproc.actions.triage:set_priority_and_deadlines",)),
    ("actions", "triage: team + assignee", ("mailproc.actions.triage:assign",)),
    ("actions", "incidents: grouping", ("mailproc.actions.incidents:on_new_case",)),
    ("kb", "KB: suggest glue (+ excerpt)", (
        "mailproc.actions.triage:suggest_articles", "mailproc.policy.kb:suggest_for_case",
        "mailproc.kb.search:KnowledgeBase.suggest", "mailproc.policy.kb:thanks_resolves",
        "mailproc.actions.triage:resolve_by_kb")),
    ("kb", "KB: freshness check (kb/ stat, edits poll)",
     ("mailproc.kb.search:KnowledgeBase.refresh",)),
    ("kb", "KB: lexical BM25F + fusion", ("mailproc.kb.index:SearchIndex.score",)),
    ("kb", "KB: query tokenize + truncate", ("mailproc.kb.index:SearchIndex.query_vector",)),
    ("kb", "KB: MiniLM forward pass (query)", ("mailproc.kb.semantic:MiniLMEncoder._forward",)),
    ("ack", "ack: policy + history queries", ("mailproc.actions.acknowledge:maybe_acknowledge",)),
    ("ack", "templating: case context", (
        "mailproc.templating.context:case_context", "mailproc.templating.context:history")),
    ("ack", "templating: Jinja render", ("mailproc.templating.render:TemplateRenderer.render",)),
    ("ack", "outbox: compose glue (ids, signing)", (
        "mailproc.outbox.automatic:enqueue_templated", "mailproc.outbox.compose:compose",
        "mailproc.actions.acknowledge:enqueue_ack",
        "mailproc.actions.acknowledge:enqueue_incident_ack")),
    ("ack", "outbox: MIME build", ("mailproc.outbox.mime:build_message",)),
    ("ack", "outbox: row write", ("mailproc.outbox.table:enqueue",)),
    ("ack", "notify agents", ("mailproc.actions.notify:notify_agents",)),
    ("events", "events: record_event", ("mailproc.cases.records:record_event",)),
    ("orm", "ORM: flush (INSERT/UPDATE)", ("sqlalchemy.orm.session:Session.flush",)),
    ("orm", "DB: begin, checkout, pre-ping", (
        "sqlalchemy.orm.session:Session._connection_for_bind",)),
    ("orm", "DB: commit", ("sqlalchemy.orm.session:SessionTransaction.commit",)),
    ("orm", "ORM: session close", ("sqlalchemy.orm.session:Session.close",)),
]
GROUPS = {
    "runner": "runner and transactions of its own", "store": "store (raw load, message rows)",
    "parse": "parse (parse_message, reply extraction inside)", "classify": "classify",
    "thread": "threading (rules + DbThreadLookup)", "cases": "cases (placement, turn)",
    "actions": "triage and incidents", "kb": "knowledge base (semantic + lexical)",
    "ack": "acknowledgement (context, Jinja, MIME, outbox), notify", "events": "events",
    "orm": "ORM flush, transactions, commit",
}
ROOT_LABEL = STAGES[0][1]


# -- the stage timer -------------------------------------------------------------------------

class StageClock:
    """Exclusive time per stage: between two stage boundaries the time goes to the innermost
    open stage, so the stages add up to the wall time of the outermost one."""

    def __init__(self) -> None:
        self.active = False
        self.reset()

    def reset(self) -> None:
        self.stack: list[str] = []
        self.mark = 0.0
        self.time: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self.sql_n: Counter = Counter()
        self.sql_t: dict[str, float] = defaultdict(float)
        self.shape_n: Counter = Counter()
        self.shape_t: dict[tuple[str, str], float] = defaultdict(float)
        self.commits = 0
        self.outside = 0.0      # SQL run outside any stage (must stay 0)

    def enter(self, label: str) -> None:
        now = time.perf_counter()
        if self.stack:
            self.time[self.stack[-1]] += now - self.mark
        self.stack.append(label)
        self.calls[label] += 1
        self.mark = now

    def leave(self) -> None:
        now = time.perf_counter()
        self.time[self.stack.pop()] += now - self.mark
        self.mark = now

    def statement(self, statement: str, seconds: float) -> None:
        stage = self.stack[-1] if self.stack else "(outside stages)"
        shape = sql_shape(statement)
        self.sql_n[stage] += 1
        self.sql_t[stage] += seconds
        self.shape_n[(stage, shape)] += 1
        self.shape_t[(stage, shape)] += seconds


CLOCK = StageClock()
_FROM = re.compile(r"\bFROM\s+\"?(\w+)", re.I)
_WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", re.I)


def sql_shape(statement: str) -> str:
    """A statement's kind and table: "INSERT events", "SELECT cases", "BEGIN IMMEDIATE"."""
    m = _WRITE.match(statement)
    if m:
        return f"{m.group(1).split()[0].upper()} {m.group(2)}"
    head = statement.lstrip()[:40].upper()
    if head.startswith("SELECT PG_ADVISORY"):
        return "SELECT pg_advisory_xact_lock"
    if head.startswith("SELECT"):
        m = _FROM.search(statement)
        return f"SELECT {m.group(1)}" if m else "SELECT (no table)"
    return " ".join(head.split()[:2])


def timed(label: str, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def stage(*args, **kwargs):
        if not CLOCK.active:
            return fn(*args, **kwargs)
        CLOCK.enter(label)
        try:
            return fn(*args, **kwargs)
        finally:
            CLOCK.leave()
    stage.__wrapped_stage__ = fn
    return stage


def install_stage_timers() -> list[tuple[str, str, list[str]]]:
    """Wrap every target of STAGES; returns (label, target, where it was replaced)."""
    done = []
    for _group, label, targets in STAGES:
        for target in targets:
            module_name, _, attr = target.partition(":")
            module = importlib.import_module(module_name)
            if "." in attr:                                   # Class.method: patch the class
                cls_name, method = attr.split(".")
                cls = getattr(module, cls_name)
                names = [method] if method != "*" else [
                    k for k, v in vars(cls).items() if callable(v) and not k.startswith("__")]
                for name in names:
                    setattr(cls, name, timed(label, vars(cls)[name]))
                done.append((label, target, [f"{module_name}.{cls_name}.{k}" for k in names]))
                continue
            original = getattr(module, attr)
            wrapper = timed(label, original)
            where = []
            # `from x import f` made a second name for f in each importing module: the name
            # the caller looks up is the one that must be replaced.
            for name, mod in list(sys.modules.items()):
                if not (name == module_name or name.startswith("mailproc")) or mod is None:
                    continue
                for key, value in list(vars(mod).items()):
                    if value is original:
                        setattr(mod, key, wrapper)
                        where.append(f"{name}.{key}")
            done.append((label, target, sorted(where)))
    return done


def _before_execute(conn, cursor, statement, parameters, context, executemany):
    conn.info.setdefault("_bench_t0", []).append(time.perf_counter())


def _after_execute(conn, cursor, statement, parameters, context, executemany):
    t0 = conn.info["_bench_t0"].pop()
    if CLOCK.active:
        CLOCK.statement(statement, time.perf_counter() - t0)


def _on_commit(conn):
    if CLOCK.active:
        CLOCK.commits += 1


def install_sql_listeners() -> None:
    event.listen(Engine, "before_cursor_execute", _before_execute)
    event.listen(Engine, "after_cursor_execute", _after_execute)
    event.listen(Engine, "commit", _on_commit)


# -- baselines -------------------------------------------------------------------------------

def rate(fn: Callable[[bytes], object], raws: Sequence[bytes]) -> float:
    t0 = time.perf_counter()
    for raw in raws:
        fn(raw)
    return len(raws) / (time.perf_counter() - t0)


def stdlib_headers(raw: bytes) -> None:
    msg = email.message_from_bytes(raw)
    for name in ("subject", "from", "to", "cc", "date", "message-id", "in-reply-to", "references"):
        msg.get(name)


def mailparser_alone(raw: bytes) -> None:
    try:
        parsed = mailparser.parse_from_bytes(raw)
        parsed.subject, parsed.from_, parsed.body  # noqa: B018 - reading is the work measured
    except Exception:  # noqa: BLE001 - a few corpus files break mail-parser; count them anyway
        pass


def parse_message_alone(raw: bytes) -> None:
    try:
        parse_message(raw)
    except ParseError:
        pass


def baselines(raws: Sequence[bytes]) -> dict[str, float]:
    return {"stdlib_email_headers": round(rate(stdlib_headers, raws), 1),
            "mailparser_alone": round(rate(mailparser_alone, raws), 1),
            "parse_message_alone": round(rate(parse_message_alone, raws), 1)}


# -- one database ------------------------------------------------------------------------------

# make_database and drop_schema: bench/ingest.py's, imported above.


def support_mail(n: int, seed: int = 7) -> list[bytes]:
    """The first `n` messages, in arrival order, of generated support conversations (threading
    headers kept, as clients send them): customers at companies and at gmail.com, replies and
    colleagues days later, most quoting the first mail."""
    from threading_support import arrivals, conversations

    convs = conversations(max(1, n // 3), random.Random(seed))
    return [raw for _, _, _, raw in itertools.islice(arrivals(convs), n)]


def make_app(db: Database, workdir: Path) -> App:
    """config/mailproc.toml as `make run` reads it (KB hybrid, semantic on), with a private
    var dir, this database and the IMAP mailbox bench/ingest.py uses (never polled here)."""
    os.environ.setdefault(PASSWORD_ENV, "unused")
    settings = config.load(ROOT / "config" / "mailproc.toml",
                           env={"MAILPROC_SECRET_KEY": "bench-key-" + "x" * 24})
    box = MailboxSettings(name=MAILBOX, type="imap", host="127.0.0.1", port=143, user="bench",
                          security="plain", password_env=PASSWORD_ENV, use_idle=False,
                          batch_size=BATCH)
    settings = replace(settings, storage=replace(settings.storage, var_dir=str(workdir / "var")),
                       database_url=db.url, mailboxes=(box,))
    return App.create(settings, db=db)


def warm_up(app: App) -> float:
    """What a running process has done before mail arrives: KB index and model loaded."""
    t0 = time.perf_counter()
    app.prepare()
    kb = app.knowledge_base
    if kb is not None:
        if not kb.uses_semantic:
            raise SystemExit("the KB's semantic stage is off: install '.[semantic]' and the model")
        kb.suggest("warm up", "my printer does not print", "customer")
    return time.perf_counter() - t0


def store_raws(app: App, raws: Sequence[bytes]) -> float:
    """What the IMAP source hands the store, batch by batch, with its checkpoint."""
    store = app.raw_store()
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    for start in range(0, len(raws), BATCH):
        batch = [FetchedMessage(mailbox=MAILBOX, folder=FOLDER,
                                source_key=imap_source_key(FOLDER, UIDVALIDITY, uid),
                                uidvalidity=UIDVALIDITY, uid=uid, raw=raw, internal_date_at=now)
                 for uid, raw in enumerate(raws[start:start + BATCH], start=start + 1)]
        store.store_batch(MAILBOX, FOLDER, Checkpoint(UIDVALIDITY, start + len(batch)), batch)
    return time.perf_counter() - t0


def children_cpu() -> float | None:
    """CPU seconds used so far by this process's live children (the prepare pool), read from
    /proc; None where there is no /proc."""
    try:
        pids = os.listdir("/proc")
    except OSError:
        return None
    me, tick, total = os.getpid(), os.sysconf("SC_CLK_TCK"), 0.0
    for pid in filter(str.isdigit, pids):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue            # gone meanwhile
        if int(fields[1]) == me:                     # ppid; then utime, stime
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def run_db(db_name: str, raws: Sequence[bytes], args, workroot: Path) -> dict:
    from mailproc.runners.inbound import process_pending   # the wrapped one

    workdir = workroot / db_name
    workdir.mkdir(parents=True)
    db, schema = make_database(db_name, workdir, args.pg_url)
    try:
        db.upgrade()
        app = make_app(db, workdir)
        warm = warm_up(app)
        store_s = store_raws(app, raws)
        CLOCK.reset()
        profiler = cProfile.Profile() if args.cprofile else None
        outcomes = Counter()
        cpu0, t0, pool0 = time.process_time(), time.perf_counter(), children_cpu()
        if profiler:
            profiler.enable()
        else:
            CLOCK.active = True
        try:
            results = process_pending(app)
        finally:
            CLOCK.active = False
            if profiler:
                profiler.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        pool1 = children_cpu()      # the pool's processes outlive process_pending
        pool_cpu = pool1 - pool0 if pool0 is not None and pool1 is not None else None
        if profiler:
            profiler.dump_stats(f"{args.cprofile}.{db_name}")
        outcomes.update(o.result for o in results)
        kinds = Counter(o.kind or o.result for o in results)
        rules = Counter(o.rule for o in results if o.result == "processed")
        with app.db.transaction() as session:
            pending = session.scalar(select(func.count()).select_from(RawMessage)
                                     .where(RawMessage.status == RawStatus.PENDING))
            stored = session.scalar(select(func.count()).select_from(RawMessage))
            counts = {"cases": session.scalar(select(func.count()).select_from(Case)),
                      "outbox_rows": session.scalar(select(func.count()).select_from(OutboundMail)),
                      "events": session.scalar(select(func.count()).select_from(Event))}
        if pending:
            raise SystemExit(f"{db_name}: {pending} raw messages still pending: {dict(outcomes)}")
    finally:
        db.dispose()
        if schema:
            drop_schema(args.pg_url, schema)
    processed = len(results)
    return {
        "db": db_name, "messages": len(raws), "stored_raw_rows": stored,
        "processed_by_pipeline": processed, "outcomes": dict(outcomes), **counts,
        "kinds": dict(kinds.most_common()), "thread_rules": dict(rules.most_common()),
        "warm_up_s": round(warm, 2), "store_raw_s": round(store_s, 3),
        "process_s": round(wall, 3), "process_cpu_s": round(cpu, 3),
        "pool_cpu_s": None if pool_cpu is None else round(pool_cpu, 3),
        "process_msg_s": round(processed / wall, 1),
        "end_to_end_msg_s": round(len(raws) / (store_s + wall), 1),
        "store_raw_ms_per_msg": round(store_s * 1000 / len(raws), 3),
        "stages": None if args.cprofile or args.no_timers else stage_rows(wall, processed),
        "sql_shapes": None if args.cprofile or args.no_timers else shape_rows(processed),
        "commits_per_msg": round(CLOCK.commits / max(processed, 1), 2),
        "sql_outside_stages": CLOCK.sql_n.get("(outside stages)", 0),
    }


def stage_rows(wall: float, n: int) -> list[dict]:
    rows = []
    for group, label, _targets in STAGES:
        t = CLOCK.time.get(label, 0.0)
        rows.append({"group": group, "stage": label, "ms": t * 1000 / n, "pct": 100 * t / wall,
                     "calls": CLOCK.calls[label] / n, "sql": CLOCK.sql_n[label] / n,
                     "db_ms": CLOCK.sql_t.get(label, 0.0) * 1000 / n})
    return rows


def shape_rows(n: int, top: int = 18) -> list[dict]:
    keys = sorted(CLOCK.shape_t, key=CLOCK.shape_t.get, reverse=True)[:top]
    return [{"stage": stage, "sql": shape, "per_msg": CLOCK.shape_n[(stage, shape)] / n,
             "db_ms": CLOCK.shape_t[(stage, shape)] * 1000 / n} for stage, shape in keys]


# -- report ----------------------------------------------------------------------------------

def show(report: dict) -> None:
    base = report["baselines_msg_s"]
    source = (f"{report['corpus_messages']} corpus messages" if report["mail"] == "corpus"
              else "generated support conversations")
    print(f"{report['n']} messages ({report['mbytes']} MB) from {source}; OPENBLAS_NUM_THREADS={report['openblas_threads']}; {os.cpu_count()} CPUs")
    print("baselines on the same bytes:")
    print(f"  stdlib email.message_from_bytes + headers {base['stdlib_email_headers']:8.1f} msg/s")
    print(f"  mail-parser alone                         {base['mailparser_alone']:8.1f} msg/s")
    print(f"  parse_message alone (ours)                {base['parse_message_alone']:8.1f} msg/s")
    half = base["mailparser_alone"] / 2
    for db_name in ("sqlite", "postgresql"):
        r = report.get(db_name)
        if not r:
            continue
        print()
        print(f"== {db_name}: {r['processed_by_pipeline']} through the pipeline {r['outcomes']} "
              f"({r['messages'] - r['processed_by_pipeline']} of {r['messages']} were byte-identical "
              f"copies, set aside by store_batch); {r['cases']} cases, {r['outbox_rows']} outbox rows, "
              f"{r['events']} events; per-message figures are per message through the pipeline")
        print(f"   kinds {r['kinds']}; thread rules {r['thread_rules']}")
        print(f"   store_batch (source side) {r['store_raw_ms_per_msg']:.2f} ms/msg; "
              f"process_pending {r['process_s']:.2f} s wall, {r['process_cpu_s']:.2f} s CPU")
        if r["pool_cpu_s"] is not None:
            n = r["processed_by_pipeline"]
            print(f"   CPU a message: ordered step (main process) {r['process_cpu_s'] * 1000 / n:.2f} ms, "
                  f"prepare pool {r['pool_cpu_s'] * 1000 / n:.2f} ms "
                  f"({100 * r['pool_cpu_s'] / r['process_s']:.0f} % of one core over the wall time)")
        print(f"   process_pending alone {r['process_msg_s']:.1f} msg/s; with store_batch "
              f"(end to end) {r['end_to_end_msg_s']:.1f} msg/s; target >= {half:.0f} msg/s "
              f"(half mail-parser alone): {'meets' if r['end_to_end_msg_s'] >= half else 'misses'}")
        if not r["stages"]:
            print(f"   (cProfile run: stats in {report['cprofile']}.{db_name})" if report["cprofile"]
                  else "   (--no-timers: nothing wrapped)")
            continue
        total_ms = r["process_s"] * 1000 / r["processed_by_pipeline"]
        print(f"   {'stage':46} {'ms/msg':>7} {'%':>6} {'calls/msg':>9} {'ms/call':>8} "
              f"{'SQL/msg':>8} {'DB ms/msg':>9}")
        by_group: dict[str, list[dict]] = defaultdict(list)
        for row in r["stages"]:
            by_group[row["group"]].append(row)
        for group, rows in by_group.items():
            g = {k: sum(x[k] for x in rows) for k in ("ms", "pct", "sql", "db_ms")}
            print(f"   {GROUPS[group]:46.46} {g['ms']:7.2f} {g['pct']:6.1f} {'':>9} {'':>8} "
                  f"{g['sql']:8.2f} {g['db_ms']:9.2f}")
            for x in rows:
                if x["calls"] == 0 and x["ms"] < 0.005:
                    continue
                per_call = x["ms"] / x["calls"] if x["calls"] else 0.0
                print(f"     {x['stage']:44.44} {x['ms']:7.2f} {x['pct']:6.1f} {x['calls']:9.2f} "
                      f"{per_call:8.2f} {x['sql']:8.2f} {x['db_ms']:9.2f}")
        tot_sql = sum(x["sql"] for x in r["stages"])
        tot_db = sum(x["db_ms"] for x in r["stages"])
        print(f"   {'total (process_pending wall / message)':46} {total_ms:7.2f} {100.0:6.1f} {'':>9} "
              f"{'':>8} {tot_sql:8.2f} {tot_db:9.2f}")
        print(f"   commits/msg {r['commits_per_msg']}; SQL outside any stage: {r['sql_outside_stages']}")
        print("   statements by stage and table (top by DB time):")
        for s in r["sql_shapes"]:
            print(f"     {s['stage']:40.40} {s['sql']:34.34} {s['per_msg']:6.2f}/msg "
                  f"{s['db_ms']:7.3f} ms/msg")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=os.environ.get("MAILPROC_TEST_POSTGRES_URL", POSTGRES_URL))
    ap.add_argument("--mail", choices=("corpus", "support"), default="corpus",
                    help="corpus: the shared corpus (list mail, mostly replies); support: "
                         "generated support conversations (bench/threading_support.py), "
                         "a third of them new cases that are acknowledged and asked of the KB")
    ap.add_argument("--distinct-copies", action="store_true",
                    help="tag each repetition's subjects so no copy joins another copy's cases")
    ap.add_argument("--cprofile", metavar="PATH",
                    help="write cProfile stats to PATH.<db> instead of timing stages")
    ap.add_argument("--stages", action="store_true", help="list the wrapped functions and exit")
    ap.add_argument("--no-timers", action="store_true",
                    help="time process_pending only, nothing wrapped: the timers' own cost")
    ap.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # The pipeline logs one INFO line per message; a bench measures work, not log volume.
    logging.getLogger("mailproc").setLevel(logging.WARNING)
    logging.getLogger("mailparser").setLevel(logging.ERROR)

    if args.no_timers:
        args.cprofile = None
    installed = [] if args.no_timers else install_stage_timers()
    if args.stages:
        for label, target, where in installed:
            print(f"{label:44} {target}\n{'':44}   replaced: {', '.join(where)}")
        return 0
    if not args.no_timers:
        install_sql_listeners()

    corpus = load_corpus()
    raws = (support_mail(args.n) if args.mail == "support"
            else repeated(corpus, args.n, distinct_subjects=args.distinct_copies))
    report: dict = {"n": len(raws), "mail": args.mail, "corpus_messages": len(corpus),
                    "mbytes": round(sum(map(len, raws)) / 1e6, 1),
                    "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                    "cprofile": args.cprofile, "baselines_msg_s": baselines(raws)}
    work = Path(tempfile.mkdtemp(prefix="mailproc-profile-"))
    try:
        for db_name in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            report[db_name] = run_db(db_name, raws, args, work)
            print(f"{db_name}: done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    show(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
