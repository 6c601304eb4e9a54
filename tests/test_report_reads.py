"""The report's large reads: groups with arrays of numbers (the same on SQLite and
PostgreSQL, where they travel in the binary format), and reads run two at a time on one
PostgreSQL snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import case, func, select, text

from mailproc.models import Case, Event
from mailproc.reports.grouped import Key, Numbers, grouped
from mailproc.reports.snapshot import run_together

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
TEAMS = ["helpdesk", "billing", "Kundendienst Süd", ""]


def seed(db, count: int = 40) -> None:
    with db.transaction() as s:
        for n in range(count):
            s.add(Case(ref=str(1000 + n), team=TEAMS[n % 4], priority="high" if n % 3 else "low",
                       created_at=T0 + timedelta(minutes=n), updated_at=T0,
                       first_responded_at=T0 + timedelta(hours=n) if n % 5 else None))


def test_groups_and_their_arrays_are_the_same_on_both_databases(db):
    seed(db)
    with db.transaction() as s:
        answered = Case.first_responded_at.is_not(None)
        groups = grouped(s, [Key(Case.team, text=True), Key(func.length(Case.ref))],
                         [Numbers(Case.id), Numbers(Case.id, answered),
                          Numbers(case((Case.first_responded_at.is_(None),
                                        func.length(Case.priority))), null=-7)],
                         where=[Case.created_at >= T0])
        rows = s.execute(select(Case.id, Case.team, Case.first_responded_at, Case.priority)
                         .order_by(Case.id)).all()
    found = {key: (count, *(sorted(a.tolist()) for a in arrays))
             for key, count, arrays in groups}
    expected = {}
    for team in TEAMS:
        mine = [r for r in rows if r.team == team]
        expected[(team, 4)] = (len(mine), [r.id for r in mine],
                               [r.id for r in mine if r.first_responded_at is not None],
                               sorted(len(r.priority) if r.first_responded_at is None else -7
                                      for r in mine))
    assert found == expected
    assert set(found) == {(t, 4) for t in TEAMS}      # text keys, non-ASCII and empty too


def test_a_group_without_rows_for_an_array_gives_an_empty_one(db):
    seed(db, 4)
    with db.transaction() as s:
        [(key, count, (ids,))] = grouped(s, [Key(Case.priority, text=True)],
                                        [Numbers(Case.id, Case.team == "nobody")],
                                        where=[Case.priority == "low"])
    assert (key, count, ids.tolist()) == (("low",), 2, [])


def test_events_joined_to_their_cases_as_the_source(db):
    seed(db, 8)
    with db.transaction() as s:
        for case_id in s.scalars(select(Case.id)):
            s.add(Event(case_id=case_id, at=T0, actor="alice@example.com", kind="relayed",
                        detail="", data={}))
        groups = grouped(s, [Key(Case.team, text=True)], [Numbers(Event.case_id)],
                         where=[Event.kind == "relayed"],
                         source=Event.__table__.join(Case.__table__, Case.id == Event.case_id))
    assert sorted((k[0], n) for k, n, _ in groups) == sorted((t, 2) for t in TEAMS)


def test_reads_run_together_see_one_snapshot(pg_db):
    """Two at a time, each in a read-only REPEATABLE READ transaction on the snapshot the
    caller's transaction exported: what one read sees, every read sees."""
    seed(pg_db, 3)

    def look(s):
        return (s.execute(text("SELECT pg_current_snapshot()::text")).scalar_one(),
                s.execute(text("SHOW transaction_isolation")).scalar_one(),
                s.execute(text("SHOW transaction_read_only")).scalar_one(),
                s.scalar(select(func.count()).select_from(Case)))

    with pg_db.transaction() as s:
        seen = run_together(s, [look] * 5)
    assert len(set(seen)) == 1
    assert seen[0][1:] == ("repeatable read", "on", 3)


def test_a_failing_read_fails_the_whole(db):
    def broken(s):
        raise RuntimeError("read failed")
    with db.transaction() as s, pytest.raises(RuntimeError, match="read failed"):
        run_together(s, [lambda s: 1, broken])


def test_results_come_back_in_the_order_of_the_reads(db):
    seed(db, 3)
    with db.transaction() as s:
        assert run_together(s, [lambda s, n=n: (n, s.scalar(select(func.count())
                                                            .select_from(Case)))
                                for n in range(6)]) == [(n, 3) for n in range(6)]
