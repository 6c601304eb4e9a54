"""The report's pure rules: SLA outcomes at the period's end, quantiles, business time."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

from mailproc.models import Case
from mailproc.reports.case_scan import BREACHED, MET, NONE, OPEN, US, case_groups
from mailproc.reports.period import Period
from mailproc.reports.scope import Scope, quantile
from mailproc.sla.calendar import BusinessCalendar

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)      # Monday, inside the period
PERIOD = Period(date(2026, 11, 2), date(2026, 11, 8), "UTC")
UNTIL_H = (PERIOD.until_at - T0).total_seconds() / 3600     # the period ends 160 h after T0
WAITING = 2                                                  # BACKLOG_AGES: "3-7 days"

# (responded, first response due, resolved, closed, paused) in hours after T0; then the
# first-response outcome at the period's end and, for a breach, how many hours late.
CASES = {
    "in time": ((1, 4, None, None, None), MET, None),
    "late": ((6, 4, None, None, None), BREACHED, 2),
    "never answered, due passed": ((None, 4, None, None, None), BREACHED, UNTIL_H - 4),
    "never answered, due after the end": ((None, 200, None, None, None), OPEN, None),
    "waiting on the customer before the due": ((None, 10, None, None, 5), OPEN, None),
    "paused after the due had passed": ((None, 10, None, None, 12), BREACHED, UNTIL_H - 10),
    "resolved by the KB before an answer": ((None, 4, 2, None, None), MET, None),
    "closed, never resolved, in time": ((None, 4, None, 3, None), MET, None),
    "answered after the period's end": ((170, 4, None, None, None), BREACHED, UNTIL_H - 4),
    "no deadline": ((None, None, None, None, None), NONE, None),
}


def test_sla_outcomes_lateness_and_backlog_at_the_periods_end(db):
    """The rule lives once, in SQL: SQLite and PostgreSQL must agree with it case by case."""
    def at(hours):
        return None if hours is None else T0 + timedelta(hours=hours)
    with db.transaction() as s:
        for n, (name, (times, _, _)) in enumerate(CASES.items()):
            responded, due, resolved, closed, paused = (at(x) for x in times)
            s.add(Case(ref=str(100 + n), subject=name, assignee=name, created_at=T0,
                       updated_at=T0, first_responded_at=responded, first_response_due_at=due,
                       resolved_at=resolved, closed_at=closed, paused_at=paused,
                       resolution_due_at=at(24) if n == 0 else None))
    scope = Scope((PERIOD,), BusinessCalendar.always_open(), db.engine.dialect.name)
    with db.transaction() as s:
        groups = {g.assignee: g for g in case_groups(s, scope)}
    assert set(groups) == set(CASES)
    for name, (times, fr, late) in CASES.items():
        g = groups[name]
        assert (g.period, g.count, g.fr) == (0, 1, fr), name
        assert g.fr_late.tolist() == ([] if late is None else [round(late * 3600 * US)]), name
        done = times[2] is not None or times[3] is not None
        assert g.ages == ((None,) if done else (WAITING,)), name
        answered = times[0] is not None and times[0] < UNTIL_H
        assert np.isnan(g.responded).tolist() == [not answered], name
    # resolution: due after a day, never resolved: breached at the end, by the rest of it
    first = groups["in time"]
    assert (first.res, first.res_late.tolist()) == (BREACHED, [round((UNTIL_H - 24) * 3600 * US)])
    assert all(g.res == NONE for name, g in groups.items() if name != "in time")


def test_quantile_interpolates_like_percentile_cont():
    assert quantile([], 0.5) is None
    assert quantile([4.0], 0.9) == 4.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert abs(quantile([1.0, 2.0, 3.0, 4.0, 10.0], 0.9) - 7.6) < 1e-9
