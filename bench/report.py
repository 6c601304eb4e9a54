"""`mailproc report` at a million cases: eight weeks of history on PostgreSQL, timed.

The history is generated inside PostgreSQL (generate_series) into a schema of its own: cases
with deadlines, answers and resolutions, their opening messages (50 recurring topics and
noise), KB suggestions, agent replies, `#kb` sends, status changes and escalations. Then the
report for the last 28 days (half of the cases) beside the 28 before is built three times,
and the best time is kept: figures alone, and the whole report with topics (grouped on a
sample, as the output says). Then each read of the figures alone, one after another (the
report runs them two at a time). Baselines from the same run: counting the period's cases in
SQL, and fetching one timestamp per case into Python (what any report that aggregates in
Python pays first).

    python bench/report.py [--cases 1000000] [--keep SCHEMA] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select, text  # noqa: E402

from ingest import drop_schema, open_schema  # noqa: E402
from mailproc import config  # noqa: E402
from mailproc.app import App  # noqa: E402
from mailproc.clock import FixedClock  # noqa: E402
from mailproc.models import Case  # noqa: E402
from mailproc.reports.case_scan import case_groups  # noqa: E402
from mailproc.reports.figures import customer_messages, relayed  # noqa: E402
from mailproc.reports.knowledge import knowledge_base  # noqa: E402
from mailproc.reports.period import Period  # noqa: E402
from mailproc.reports.report import build_report  # noqa: E402
from mailproc.reports.responsiveness import (  # noqa: E402
    escalations, reopen, response_figures,
)
from mailproc.reports.scope import Scope  # noqa: E402

URL = os.environ.get("MAILPROC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = date(2026, 10, 5)
DAYS = 56

GENERATE = """
INSERT INTO mailboxes (id, name, kind, created_at) VALUES (1, 'bench', 'imap', now());
INSERT INTO contacts (id, email, name, phones, created_at)
  SELECT g, 'customer' || g || '@kunde' || (g % 997) || '.example', '', CAST('[]' AS json), now()
  FROM generate_series(1, :customers) g;
CREATE TEMP TABLE plan AS
  SELECT g, t0, topic,
         CASE WHEN topic < 50 THEN 'Topic ' || topic || ': ' || (ARRAY['printer','vpn','laptop',
           'invoice','password','calendar','headset','monitor','badge','scanner'])[1 + topic % 10]
           || ' ' || (ARRAY['offline','broken','slow','missing','locked'])[1 + topic / 10]
         ELSE 'Request ' || g END AS subject,
         (ARRAY['normal','normal','normal','high','urgent','low'])[1 + (g * 7) % 6] AS priority,
         (ARRAY['helpdesk','billing','field'])[1 + g % 3] AS team,
         (ARRAY['alice@example.com','bob@example.com','carol@example.com'])[1 + g % 3] AS agent,
         CASE WHEN random() < 0.85 THEN t0 + random() * interval '10 hours' END AS answered,
         CASE WHEN random() < 0.6 THEN t0 + random() * interval '5 days' END AS resolved
  FROM (SELECT g, :start + (g::float / :cases) * interval '56 days' AS t0,
               CASE WHEN random() < 0.7 THEN (g % 50) ELSE 50 + g % 1000 END AS topic
        FROM generate_series(1, :cases) g) s;
INSERT INTO cases (id, ref, status, priority, subject, normalized_subject, mailbox_id,
                   customer_id, team, assignee, created_at, updated_at, last_customer_message_at,
                   first_response_due_at, resolution_due_at, first_responded_at, resolved_at,
                   kb_suggestions, resolved_by_kb)
  SELECT g, (1000 + g)::text, CASE WHEN resolved IS NOT NULL THEN 'resolved'
                                   WHEN answered IS NOT NULL THEN 'open' ELSE 'new' END,
         priority, subject, lower(subject), 1, 1 + g % :customers, team, agent, t0, t0, t0,
         t0 + interval '4 hours', t0 + interval '3 days', answered, resolved,
         CAST(CASE WHEN topic % 5 = 0 THEN '[{"id": "password-reset", "score": 0.7}]'
                   ELSE '[]' END AS json),
         topic % 25 = 0 AND resolved IS NOT NULL
  FROM plan;
INSERT INTO messages (case_id, direction, kind, message_id, subject, from_addr, date_at,
                      body_text, new_text, created_at, in_reply_to, "references", to_addrs,
                      cc_addrs, kind_reason, from_name, signature, thread_rule, thread_reason,
                      internal)
  SELECT g, 'in', 'human', 'bench-' || g || '@kunde.example', subject,
         'customer' || (1 + g % :customers) || '@kunde.example', t0,
         subject || ' since this morning, please help.',
         'Hello, the ' || subject || ' since this morning. Ticket ' || g || '. Please help.',
         t0, CAST('[]' AS json), CAST('[]' AS json), CAST('[]' AS json), CAST('[]' AS json),
         'human', '', '', 'new', 'bench', false
  FROM plan;
INSERT INTO events (case_id, at, actor, kind, detail, data)
  SELECT g, t0, 'mailproc', 'kb_suggested', '',
         json_build_object('suggestions', json_build_array(json_build_object(
           'id', (ARRAY['password-reset','vpn-connect','printer-problems'])[1 + topic % 3],
           'score', 0.6)))
  FROM plan WHERE topic % 5 = 0;
INSERT INTO events (case_id, at, actor, kind, detail, data)
  SELECT g, answered, agent, 'relayed', '', CAST('{}' AS json) FROM plan WHERE answered IS NOT NULL;
INSERT INTO events (case_id, at, actor, kind, detail, data)
  SELECT g, answered, agent, 'kb_sent', '', json_build_object('article', 'shared-mailbox')
  FROM plan WHERE answered IS NOT NULL AND topic = 7;
INSERT INTO events (case_id, at, actor, kind, detail, data)
  SELECT g, resolved, agent, 'status', '', CAST('{"from": "open", "to": "resolved"}' AS json)
  FROM plan WHERE resolved IS NOT NULL;
INSERT INTO events (case_id, at, actor, kind, detail, data)
  SELECT g, resolved, 'customer', 'resolved_by_kb', '',
         json_build_object('suggestions', json_build_array('password-reset'))
  FROM plan WHERE topic % 25 = 0 AND resolved IS NOT NULL;
INSERT INTO escalations (case_id, step, breach_key, fired_at)
  SELECT g, 'remind_assignee', 'fr', t0 + interval '3 hours' FROM plan
  WHERE answered IS NULL OR answered > t0 + interval '3 hours';
ANALYZE;
"""


def generate(engine, cases: int) -> float:
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"cases": cases, "customers": max(1, cases // 20),
                                               "start": START})
    return time.perf_counter() - t0


def best(fn, runs: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--keep", metavar="SCHEMA", help="reuse (or keep) this schema")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    schema = args.keep or f"bench_report_{uuid.uuid4().hex[:8]}"
    db, exists = open_schema(URL, schema)
    generated = None
    try:
        if not exists:
            db.upgrade()
            generated = generate(db.engine, args.cases)
        settings = config.load(ROOT / "config" / "mailproc.toml",
                               env={"MAILPROC_SECRET_KEY": "bench-" + "x" * 26})
        app = App.create(settings, db=db, clock=FixedClock())
        last = START + timedelta(days=DAYS - 1)
        period = Period(last - timedelta(days=27), last, "Europe/Berlin")
        with db.transaction() as s:
            total = s.scalar(select(func.count()).select_from(Case))

        def run(topics: bool):
            with db.transaction() as s:
                return build_report(app, s, period, topics=topics)

        def count_only():
            with db.transaction() as s:
                return s.scalar(select(func.count()).select_from(Case).where(
                    Case.created_at >= period.since_at, Case.created_at < period.until_at))

        def fetch_times():
            with db.transaction() as s:
                return len(s.execute(select(Case.created_at).where(
                    Case.created_at >= period.since_at,
                    Case.created_at < period.until_at)).all())

        def parts() -> dict[str, float]:
            """Where the figures' time goes: each part for both periods at once."""
            scope = Scope((period, period.previous()), app.service_levels.calendar, "postgresql")
            out = {}
            with db.transaction() as s:
                groups = case_groups(s, scope)
                for name, fn in (
                        ("case scan", lambda: case_groups(s, scope)),
                        ("customer messages", lambda: customer_messages(s, scope)),
                        ("response figures", lambda: response_figures(s, groups, scope)),
                        ("reopen", lambda: reopen(s, scope)),
                        ("escalations", lambda: escalations(s, scope)),
                        ("knowledge_base", lambda: knowledge_base(s, scope)),
                        ("relayed replies", lambda: relayed(s, scope))):
                    t0 = time.perf_counter()
                    fn()
                    out[name] = round(time.perf_counter() - t0, 3)
            return out

        count_s, in_period = best(count_only)
        per_part = parts()
        fetch_s, _ = best(fetch_times)
        figures_s, _ = best(lambda: run(False))
        whole_s, report = best(lambda: run(True))
        out = {"cases": total, "cases_in_period": in_period, "generate_s": generated,
               "baseline_count_s": round(count_s, 3), "baseline_fetch_timestamps_s": round(fetch_s, 3),
               "figures_s": round(figures_s, 3), "whole_report_s": round(whole_s, 3),
               "topics_sampled": report["topics"]["sampled"],
               "topics_grouped_cases": report["topics"]["cases_grouped"],
               "topics": len(report["topics"]["topics"]),
               "new_cases": report["current"]["volume"]["new_cases"], "parts_s": per_part}
        if args.json:
            print(json.dumps(out))
        else:
            print(f"{total:,} cases on PostgreSQL ({in_period:,} in the 28-day period)"
                  + (f", generated in {generated:.1f} s" if generated else ""))
            print(f"  baseline: count the period's cases in SQL    {count_s:7.3f} s")
            print(f"  baseline: fetch one timestamp per case       {fetch_s:7.3f} s")
            print(f"  figures (both periods, no topics)            {figures_s:7.3f} s  (target < 2 s)")
            print(f"  whole report with topics                     {whole_s:7.3f} s  (target < 10 s)")
            print("  both periods' figures, by part: " + ", ".join(
                f"{k} {v:.2f} s" for k, v in per_part.items()))
            print(f"  topics: {out['topics']} found, grouped on {out['topics_grouped_cases']:,} "
                  f"cases of the period" + (" (a sample: the newest of each period)"
                                            if out["topics_sampled"] else ""))
    finally:
        db.dispose()
        if not args.keep:
            drop_schema(URL, schema)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
