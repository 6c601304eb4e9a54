"""The report against known truth: eight weeks played through Dovecot and the real pipeline.

Every expected figure is worked out here from the ledger of what was planted (and, where the
pipeline decides something the report only reads, such as a deadline or a priority, from
that column), never by calling the report code.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from mailproc.cli.report import as_csv, as_table
from mailproc.db import Database
from mailproc.models import Case, Escalation
from mailproc.reports.html import render_html
from mailproc.reports.period import Period
from mailproc.reports.report import build_report
from tests.agent_helpers import agent_app
from tests.browser import dom, pdf_pages, screenshot
from tests.fixtures_db import _drop_schema, _postgres_database, require_postgres
from tests.helpers import KB_CACHE, ROOT
from tests.report_history import AGENT_EMAILS, CURRENT, PREVIOUS, ZONE, Ledger, Player, plan
from tests.servers import ImapAccount

NAMES = {"alice": "Alice Adams", "bob": "Bob Brown", "carol": "Carol Chen"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history(request, dovecot, tmp_path_factory):
    user = f"history{uuid.uuid4().hex[:10]}"
    password = secrets.token_urlsafe(12)
    dovecot.add_user(user, password)
    account = ImapAccount(server=dovecot, user=user, password=password)
    tmp = tmp_path_factory.mktemp("history")
    schema = None
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp / 'history.sqlite3'}")
    else:
        require_postgres()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        db = _postgres_database(schema)
    db.upgrade()
    ledger = plan()
    app = agent_app(db, tmp, now=ledger.cases[0].at,
                    kb={"enabled": True, "dir": str(ROOT / "kb"), "semantic": False,
                        "cache_dir": str(KB_CACHE)})
    Player(app, account).play(ledger)
    yield app, ledger
    db.dispose()
    if schema:
        _drop_schema(schema)


def period(span) -> Period:
    return Period(span[0], span[1], "Europe/Berlin")


def bounds(span) -> tuple[datetime, datetime]:
    p = period(span)
    return p.since_at, p.until_at


@pytest.fixture(scope="module")
def report(history):
    app, _ = history
    with app.db.transaction() as s:
        return build_report(app, s, period(CURRENT))


def facts(app) -> dict:
    with app.db.transaction() as s:
        return {c.ref: c for c in s.scalars(select(Case)).all()}


def test_volume_per_local_day_matches_what_was_planted(history, report):
    _, ledger = history
    for key, span in (("current", CURRENT), ("before", PREVIOUS)):
        since, until = bounds(span)
        opened = [c for c in ledger.cases if since <= c.at < until]
        days = Counter(c.at.astimezone(ZONE).date().isoformat() for c in opened)
        got = report[key]["volume"]
        assert got["new_cases"] == len(opened)
        assert {d: n for d, n in got["cases_by_day"].items() if n} == dict(days)
        assert len(got["cases_by_day"]) == 28
    # The edges: 23:50 on the last day belongs to it, 00:10 on the next day does not.
    edge = {c.subject: c for c in ledger.by_topic("edge")}
    days = report["current"]["volume"]["cases_by_day"]
    assert days[CURRENT[0].isoformat()] >= 1 and days[CURRENT[1].isoformat()] >= 1
    assert edge["Edge at summer time's end"].at.astimezone(ZONE).date() == date(2026, 10, 25)
    assert report["before"]["volume"]["cases_by_day"]["2026-10-25"] == sum(
        1 for c in ledger.cases if c.at.astimezone(ZONE).date() == date(2026, 10, 25))


def test_customer_messages_and_when_people_write(history, report):
    _, ledger = history
    since, until = bounds(CURRENT)
    times = [c.at for c in ledger.cases]
    for c in ledger.cases:
        if c.thanks_after is not None:
            times.append(c.at + c.thanks_after)
        if c.customer_back_after is not None:
            times.append(c.at + c.reply_after + c.customer_back_after)
    times = [t.astimezone(ZONE) for t in times if since <= t < until]
    volume = report["current"]["volume"]
    assert volume["customer_messages"] == len(times)
    heat = Counter((t.weekday(), t.hour) for t in times)
    assert {(d, h): n for d, row in enumerate(volume["heatmap"]) for h, n in enumerate(row)
            if n} == dict(heat)


def _quantile(values, q):
    values = sorted(values)
    if not values:
        return None
    pos = (len(values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return round(values[low] + (values[high] - values[low]) * (pos - low), 2)


def test_first_response_times_in_business_and_calendar_hours(history, report):
    app, ledger = history
    cal = app.service_levels.calendar
    since, until = bounds(CURRENT)
    answered = [c for c in ledger.cases if since <= c.at < until and c.replied_at
                and c.replied_at < until]
    calendar_h = [(c.replied_at - c.at).total_seconds() / 3600 for c in answered]
    business_h = [cal.business_time_between(c.at, c.replied_at).total_seconds() / 3600
                  for c in answered]
    got = report["current"]["responsiveness"]["first_response_times"]["all"]
    assert got == {"answered": len(answered),
                   "median_business_hours": _quantile(business_h, 0.5),
                   "p90_business_hours": _quantile(business_h, 0.9),
                   "median_calendar_hours": _quantile(calendar_h, 0.5),
                   "p90_calendar_hours": _quantile(calendar_h, 0.9)}
    assert got["answered"] > 50


def _resolved_at(c, until):
    """When the planted case was resolved, as of `until` (None: open then)."""
    if c.thanks_after is not None:
        at = c.at + c.thanks_after
        return at if at < until else None
    if "#status resolved" in c.commands and c.replied_at and c.replied_at < until:
        back = c.at + c.reply_after + c.customer_back_after if c.customer_back_after else None
        return None if back is not None and back < until else c.replied_at
    return None


def test_sla_attainment_and_breaches(history, report):
    app, ledger = history
    rows = facts(app)
    since, until = bounds(CURRENT)
    fr, res, breached = Counter(), Counter(), set()
    for c in ledger.cases:
        if not since <= c.at < until:
            continue
        case = rows[c.ref]
        resolved = _resolved_at(c, until)
        replied = c.replied_at if c.replied_at and c.replied_at < until else None
        first = min([t for t in (replied, resolved) if t], default=None)
        for counter, done, due, target in ((fr, first, case.first_response_due_at,
                                            "first response"),
                                           (res, resolved, case.resolution_due_at,
                                            "resolution")):
            outcome = ("met" if done <= due else "breached") if done else \
                ("breached" if due < until else "open")
            counter[outcome] += 1
            if outcome == "breached":
                breached.add((c.ref, target))
    got = report["current"]["responsiveness"]
    assert {(b["ref"], b["target"]) for b in got["breaches"]} == breached
    for counter, key in ((fr, "sla_first_response"), (res, "sla_resolution")):
        assert {k: got[key]["all"][k] for k in ("met", "breached", "open")} == \
            {k: counter[k] for k in ("met", "breached", "open")}
        assert got[key]["all"]["attainment"] == round(
            counter["met"] / (counter["met"] + counter["breached"]), 4)
    assert fr["breached"] >= 10, "the history plants late answers"


def test_backlog_reopen_and_escalations(history, report):
    app, ledger = history
    since, until = bounds(CURRENT)
    waiting = [c for c in ledger.cases if c.at < until and _resolved_at(c, until) is None]
    ages = Counter()
    for c in waiting:
        age = until - c.at
        ages["under 1 day" if age < timedelta(days=1) else "1-3 days" if age < timedelta(days=3)
             else "3-7 days" if age < timedelta(days=7) else "1-2 weeks"
             if age < timedelta(days=14) else "over 2 weeks"] += 1
    got = report["current"]["responsiveness"]
    assert {k: v for k, v in got["backlog"].items() if v} == dict(ages)
    resolved = {c.key for c in ledger.cases
                if (c.thanks_after and since <= c.at + c.thanks_after < until)
                or ("#status resolved" in c.commands and since <= c.replied_at < until)}
    reopened = {c.key for c in ledger.cases if c.key in resolved and c.customer_back_after
                and "#status resolved" in c.commands
                and since <= c.at + c.reply_after + c.customer_back_after < until}
    assert got["reopen"] == {"resolved": len(resolved), "reopened": len(reopened),
                             "rate": round(len(reopened) / len(resolved), 4)}
    with app.db.transaction() as s:
        fired = Counter(step for step, at in s.execute(
            select(Escalation.step, Escalation.fired_at)) if since <= at < until)
    assert got["escalations"] == dict(fired) and fired


def test_knowledge_base_and_workload(history, report):
    _, ledger = history
    since, until = bounds(CURRENT)
    kb = report["current"]["knowledge_base"]
    thanked = [c for c in ledger.by_topic("password") if since <= c.at + c.thanks_after < until]
    assert kb["resolved_by_suggestion"] == len(thanked) == 9
    assert kb["articles"]["password-reset"]["resolved"] == 9
    sent = [c for c in ledger.by_topic("calendar") if since <= c.replied_at < until]
    assert kb["articles"]["shared-mailbox"]["sent_by_agents"] == len(sent) == 5
    replies = Counter(NAMES[c.agent] for c in ledger.cases
                      if c.replied_at and since <= c.replied_at < until)
    assert report["current"]["workload"]["replies_by_agent"] == dict(replies.most_common())
    opened = sum(1 for c in ledger.cases if since <= c.at < until)
    assert report["current"]["workload"]["cases_by_team"] == {"helpdesk": opened}
    assert set(AGENT_EMAILS) >= {c.agent for c in ledger.cases if c.agent}


def test_recurring_topics_rising_first_each_with_its_kind(history, report):
    _, ledger = history
    topics = report["topics"]["topics"]
    refs = {t["label"]: set(t["examples"]) for t in topics}

    def topic_of(name: str) -> dict:
        planted = {c.ref for c in ledger.by_topic(name) if c.at >= bounds(CURRENT)[0]}
        found = [t for t in topics if set(t["examples"]) & planted]
        assert found, f"{name}: not found among {refs}"
        return found[0]

    password = topic_of("password")
    assert topics[0] is password
    assert (password["cases"], password["previous"]) == (9, 2)
    assert password["kind"] == "answered by the KB"
    assert topic_of("calendar")["kind"] == "article exists but is not found"
    assert topic_of("calendar")["article"] == "shared-mailbox"
    canteen = topic_of("canteen")
    assert canteen["kind"] == "no article" and canteen["seed_replies"]
    assert topic_of("outage")["kind"] == "product problem"
    assert json.loads(json.dumps(report)) == report      # JSON all the way down


def test_an_empty_period_and_a_single_case(history):
    app, ledger = history
    per_day = Counter(c.at.astimezone(ZONE).date() for c in ledger.cases)
    lone = min(d for d, n in per_day.items() if n == 1)
    with app.db.transaction() as s:
        empty = build_report(app, s, Period(date(2025, 1, 1), date(2025, 1, 7), "Europe/Berlin"))
        one = build_report(app, s, Period(lone, lone, "Europe/Berlin"))
    assert empty["current"]["volume"]["new_cases"] == 0
    assert empty["current"]["responsiveness"]["sla_first_response"] == {}
    assert empty["topics"]["topics"] == []
    assert one["current"]["volume"]["new_cases"] == 1
    assert one["current"]["volume"]["cases_by_day"] == {lone.isoformat(): 1}
    previous = lone - timedelta(days=1)
    assert one["before"]["volume"]["cases_by_day"] == {previous.isoformat(): per_day[previous]}


def test_a_team_filter_keeps_only_that_team(history):
    app, _ = history
    with app.db.transaction() as s:
        billing = build_report(app, s, period(CURRENT), team="billing", topics=False)
    assert billing["current"]["volume"]["new_cases"] == 0
    assert billing["current"]["workload"]["replies_by_agent"] == {}
    assert "topics" not in billing


def test_ledger_is_a_few_hundred_cases(history):
    _, ledger = history
    assert isinstance(ledger, Ledger) and 220 <= len(ledger.cases) <= 400
    assert datetime(2026, 10, 5, tzinfo=timezone.utc) <= ledger.cases[0].at


def test_the_html_report_reads_in_a_browser_and_prints_on_a4(report, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    text = page.read_text()
    assert "<script" not in text                                   # no JavaScript
    assert not re.search(r"""(src|href)=["']?https?:|url\(\s*["']?https?:|@import""", text)
    shown = dom(page)
    for heading in ("Recurring topics", "Volume", "When people write", "Responsiveness and SLA",
                    "Breaches", "Knowledge base", "Workload"):
        assert f">{heading}</h2>" in shown
    assert shown.count("<svg") >= 4 and "Password reset" in shown
    laptop = screenshot(page, tmp_path / "laptop.png", 1280)
    phone = screenshot(page, tmp_path / "phone.png", 390)
    assert laptop.stat().st_size != phone.stat().st_size
    pages = pdf_pages(page, tmp_path / "report.pdf")
    assert pages and all(abs(w - 595.9) < 2 and abs(h - 842.9) < 2 for w, h in pages), pages


def test_the_terminal_table_and_csv_carry_the_same_sections(report):
    text = as_table(report)
    assert text.startswith("Support report 2026-11-02 to 2026-11-29 (28 days, Europe/Berlin)")
    assert "Recurring topics (rising first)" in text
    assert max(len(line) for line in text.splitlines()[1:]) <= 160
    assert " 1. password, reset" in text
    rows = list(csv.reader(io.StringIO(as_csv(report))))
    summary = {r[1]: r[2] for r in rows if r[0] == "Summary"}
    assert summary["new cases"] == str(report["current"]["volume"]["new_cases"])
    assert any(r[0] == "Breaches" for r in rows)
