"""The outbox table on SQLite and PostgreSQL: dedupe, claims with leases, retry plan, outcomes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from mailproc.config import OutgoingSettings
from mailproc.delivery.retry import RetryPlan, backoff, next_attempt_at
from mailproc.models import Event, OutboundMail, OutboxStatus
from mailproc.outbox.mime import make_message_id
from mailproc.outbox.table import (
    claim_due, confirm_lease, enqueue, mark_failed, mark_retry, mark_sent,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=10)
PLAN = RetryPlan(base=timedelta(seconds=30), cap=timedelta(hours=1), max_attempts=4)


def add(session, key: str, *, now=NOW, to=("kim@customer.example",), raw=b"raw"):
    return enqueue(session, case_id=None, kind="ack", dedupe_key=key, to=list(to),
                   from_addr="support@example.com", subject="s", raw=raw,
                   message_id=make_message_id("example.com", "ack", key), now=now)


def fill(db, n: int, *, now=NOW) -> list[int]:
    with db.transaction() as s:
        return [add(s, f"k{i}", now=now).id for i in range(n)]


def statuses(db) -> dict[int, OutboxStatus]:
    with db.transaction() as s:
        return dict(s.execute(select(OutboundMail.id, OutboundMail.status)).all())


# -- retry plan (pure) ------------------------------------------------------------------------

def test_backoff_grows_exponentially_up_to_the_cap():
    base, cap = timedelta(seconds=30), timedelta(hours=1)
    lows = [backoff(n, base=base, cap=cap, rand=0.0) for n in range(1, 12)]
    highs = [backoff(n, base=base, cap=cap, rand=0.999999) for n in range(1, 12)]
    assert lows[:4] == [timedelta(seconds=s) for s in (15, 30, 60, 120)]
    assert all(b >= a for a, b in zip(lows, lows[1:]))
    assert max(highs) <= cap and highs[-1] > cap * 0.99
    assert backoff(10_000, base=base, cap=cap, rand=0.5) == cap * 0.75
    assert next_attempt_at(1, NOW, base=base, cap=cap, rand=0.5) == NOW + timedelta(seconds=22.5)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError):
            backoff(1, base=base, cap=cap, rand=bad)


def test_retry_plan_from_settings():
    plan = RetryPlan.from_settings(OutgoingSettings(retry_base="10s", retry_cap="5m",
                                                    max_attempts=3))
    assert plan == RetryPlan(timedelta(seconds=10), timedelta(minutes=5), 3)
    assert not plan.exhausted(2) and plan.exhausted(3)


# -- enqueue ----------------------------------------------------------------------------------

def test_same_dedupe_key_twice_writes_one_row(db):
    with db.transaction() as s:
        first = add(s, "ack:case:1")
        assert first is not None and first.status == OutboxStatus.PENDING
        assert first.recipient == "kim@customer.example" and first.next_attempt_at == NOW
        assert add(s, "ack:case:1") is None
        # The caller's transaction is still good for more work.
        assert add(s, "ack:case:2") is not None
    with db.transaction() as s:
        assert add(s, "ack:case:1") is None
        keys = s.scalars(select(OutboundMail.dedupe_key).order_by(OutboundMail.id)).all()
    assert keys == ["ack:case:1", "ack:case:2"]


def test_a_racing_second_writer_gets_none_and_keeps_its_transaction(db_url_factory, caplog):
    """Writer B starts while A's row is uncommitted: PostgreSQL makes B's insert wait on the
    unique index until A commits and then do nothing, SQLite makes B wait for the write
    lock and find A's row; either way one row, and B's transaction goes on."""
    db = db_url_factory()
    caplog.set_level("INFO", logger="mailproc.outbox.table")
    a_inserted, results, errors = threading.Event(), {}, []

    def writer(name: str, hold: float) -> None:
        try:
            with db.transaction() as s:
                if name == "b":
                    a_inserted.wait(5)
                row = add(s, "ack:case:7")
                results[name] = row.id if row else None
                if name == "a":
                    a_inserted.set()
                    threading.Event().wait(hold)
                add(s, f"other:{name}")
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=("a", 0.4)),
               threading.Thread(target=writer, args=("b", 0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert results["a"] is not None and results["b"] is None
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(OutboundMail).where(
            OutboundMail.dedupe_key == "ack:case:7")) == 1
        assert s.scalar(select(func.count()).select_from(OutboundMail)) == 3
    assert "ack:case:7 (or" in caplog.text and "is queued already" in caplog.text


# -- claims -----------------------------------------------------------------------------------

def test_claim_takes_due_pending_rows_only(db):
    ids = fill(db, 3)
    with db.transaction() as s:
        s.execute(update(OutboundMail).where(OutboundMail.id == ids[1])
                  .values(next_attempt_at=NOW + timedelta(minutes=5)))
        s.execute(update(OutboundMail).where(OutboundMail.id == ids[2])
                  .values(status=OutboxStatus.SENT))
    assert claim_due(db, NOW, limit=10, lease=LEASE, worker="w1") == [ids[0]]
    with db.transaction() as s:
        row = s.get(OutboundMail, ids[0])
        assert row.status == OutboxStatus.SENDING and row.lease_until == NOW + LEASE
    assert claim_due(db, NOW, limit=10, lease=LEASE, worker="w2") == []
    later = NOW + timedelta(minutes=5)
    assert claim_due(db, later, limit=10, lease=LEASE, worker="w2") == [ids[1]]


def test_expired_lease_is_reclaimed_and_counts_as_an_attempt(db):
    [row_id] = fill(db, 1)
    assert claim_due(db, NOW, limit=5, lease=LEASE, worker="dead") == [row_id]
    assert claim_due(db, NOW + LEASE - timedelta(seconds=1), limit=5, lease=LEASE,
                     worker="w2") == []
    again = NOW + LEASE
    assert claim_due(db, again, limit=5, lease=LEASE, worker="w2") == [row_id]
    with db.transaction() as s:
        row = s.get(OutboundMail, row_id)
        assert row.lease_until == again + LEASE and row.attempts == 1
        assert "lease expired" in row.last_error


def test_a_row_that_kills_its_deliverer_runs_out_of_attempts(db):
    [row_id] = fill(db, 1)
    at, claims = NOW, 0
    while claim_due(db, at, limit=5, lease=LEASE, worker="dies", max_attempts=3):
        claims += 1                       # ... and the deliverer dies before any verdict
        at += LEASE
        assert claims < 10
    assert claims == 3
    with db.transaction() as s:
        row = s.get(OutboundMail, row_id)
        assert row.status == OutboxStatus.FAILED and row.attempts == 3
        assert "gave up" in row.last_error
        assert s.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "delivery_failed")) == 1


def test_limit_is_respected_in_due_order(db):
    ids = fill(db, 5)
    with db.transaction() as s:
        s.execute(update(OutboundMail).where(OutboundMail.id == ids[4])
                  .values(next_attempt_at=NOW - timedelta(hours=1)))
    assert claim_due(db, NOW, limit=2, lease=LEASE, worker="w") == [ids[4], ids[0]]


def test_two_concurrent_claimers_get_disjoint_rows(db):
    ids = fill(db, 120)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)
    errors = []

    def claimer(name: str) -> None:
        try:
            start.wait(5)
            while got := claim_due(db, NOW, limit=7, lease=LEASE, worker=name):
                claimed[name].extend(got)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    a, b = set(claimed["a"]), set(claimed["b"])
    assert not a & b
    assert len(claimed["a"]) + len(claimed["b"]) == len(ids) and a | b == set(ids)
    assert set(statuses(db).values()) == {OutboxStatus.SENDING}


def test_claim_skips_rows_another_claimer_holds_locked(pg_db):
    # SKIP LOCKED is PostgreSQL's; SQLite serialises claimers with BEGIN IMMEDIATE (see the
    # concurrent test above, which runs on both).
    db = pg_db
    ids = fill(db, 4)
    with db.transaction() as other:
        # Another claimer mid-transaction holds the first two rows.
        locked = other.scalars(select(OutboundMail.id).order_by(OutboundMail.id).limit(2)
                               .with_for_update()).all()
        assert locked == ids[:2]
        got = claim_due(db, NOW, limit=10, lease=LEASE, worker="w2")
        assert got == ids[2:]
    assert claim_due(db, NOW, limit=10, lease=LEASE, worker="w3") == ids[:2]


def test_confirm_lease_fences_a_worker_that_lost_its_row(db):
    [row_id] = fill(db, 1)
    claim_due(db, NOW, limit=1, lease=LEASE, worker="slow")
    with db.transaction() as s:
        renewed = confirm_lease(s, row_id, NOW + LEASE, now=NOW + timedelta(minutes=1),
                                lease=LEASE)
    assert renewed == NOW + timedelta(minutes=1) + LEASE
    # The slow worker stalls past its lease; another worker reclaims the row.
    assert claim_due(db, renewed, limit=1, lease=LEASE, worker="fast") == [row_id]
    with db.transaction() as s:
        assert confirm_lease(s, row_id, renewed, now=renewed, lease=LEASE) is None
        assert confirm_lease(s, row_id, renewed + LEASE, now=renewed, lease=LEASE) is not None


# -- outcomes ---------------------------------------------------------------------------------

def test_mark_retry_backs_off_then_fails_when_the_plan_is_exhausted(db):
    [row_id] = fill(db, 1)
    when = NOW
    for attempt in range(1, PLAN.max_attempts):
        claim_due(db, when, limit=1, lease=LEASE, worker="w")
        with db.transaction() as s:
            row = s.get(OutboundMail, row_id)
            assert mark_retry(s, row, "451 4.3.0 try later", now=when, plan=PLAN, rand=0.0)
            assert row.status == OutboxStatus.PENDING and row.attempts == attempt
            assert row.next_attempt_at == when + PLAN.base * 2 ** (attempt - 1) / 2
            assert row.lease_until is None and row.last_error == "451 4.3.0 try later"
            when = row.next_attempt_at
    claim_due(db, when, limit=1, lease=LEASE, worker="w")
    with db.transaction() as s:
        row = s.get(OutboundMail, row_id)
        assert not mark_retry(s, row, "451 again", now=when, plan=PLAN, rand=0.0)
        assert row.status == OutboxStatus.FAILED and "gave up after 4 attempts" in row.last_error
        kinds = s.scalars(select(Event.kind).order_by(Event.id)).all()
    assert kinds == ["delivery_retry"] * 3 + ["delivery_failed"]


def test_mark_failed_and_sent_record_events(db):
    a, b = fill(db, 2)
    with db.transaction() as s:
        mark_failed(s, s.get(OutboundMail, a), "550 5.1.1 no such user", now=NOW)
        mark_sent(s, s.get(OutboundMail, b), now=NOW, refused={"x@y.example": "550 gone"})
    with db.transaction() as s:
        failed, sent = s.get(OutboundMail, a), s.get(OutboundMail, b)
        assert failed.status == OutboxStatus.FAILED
        assert failed.last_error == "550 5.1.1 no such user"
        assert sent.status == OutboxStatus.SENT and sent.sent_at == NOW and sent.attempts == 1
        events = {e.kind: e for e in s.scalars(select(Event))}
    assert "550 5.1.1 no such user" in events["delivery_failed"].detail
    assert events["delivery_failed"].data["outbox_id"] == a
    assert events["mail_sent"].data["refused"] == {"x@y.example": "550 gone"}
    assert "x@y.example (550 gone)" in events["mail_sent"].detail
