"""Mail health with a circuit breaker: a dead SMTP server is not hammered; status shows it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mailproc.config import OutgoingSettings
from mailproc.fallback.breaker import allows, retry_after
from mailproc.models import Health
from mailproc.ops.status import status_summary
from mailproc.runners.outbound import deliver_due
from tests.agent_helpers import feed, mail
from tests.helpers import MONDAY, make_app


def test_breaker_is_pure():
    assert retry_after(2) == timedelta(0)
    assert retry_after(3) == timedelta(seconds=30)
    assert retry_after(5) == timedelta(minutes=2)
    assert retry_after(40) == timedelta(minutes=10)
    assert allows("degraded", 2, MONDAY, MONDAY)
    assert not allows("down", 4, MONDAY, MONDAY + timedelta(seconds=59))
    assert allows("down", 4, MONDAY, MONDAY + timedelta(seconds=60))


def test_open_circuit_skips_delivery_until_the_backoff(db, tmp_path, smtp_sink):
    app = make_app(db, tmp_path, outgoing=OutgoingSettings(
        transport="smtp", host=smtp_sink.host, port=smtp_sink.port, tls="none",
        timeout_seconds=5.0, retry_base="1s", retry_cap="2s", max_attempts=50))
    smtp_sink.stop()
    feed(app, mail(frm="olga@kunde.example", subject="Keyboard", body="Keys stick."))

    def attempts():
        with app.db.transaction() as s:
            row = s.scalar(select(Health).where(Health.transport == "smtp"))
            return (row.consecutive_failures, row.state) if row else (0, "up")

    for _ in range(3):
        app.clock.advance(timedelta(seconds=5))
        deliver_due(app)
    assert attempts() == (3, "down")
    for _ in range(5):   # within the 30 s backoff: nothing is claimed, nothing is tried
        app.clock.advance(timedelta(seconds=5))
        assert deliver_due(app) == []
    assert attempts() == (3, "down")
    app.clock.advance(timedelta(seconds=10))   # half-open: one probe goes through
    assert deliver_due(app) != []
    assert attempts() == (4, "down")
    smtp_sink.start()
    app.clock.advance(timedelta(minutes=2))
    assert {d.result for d in deliver_due(app)} == {"sent"}
    assert attempts() == (0, "up")
    with app.db.transaction() as s:
        health = status_summary(s)["health"]
    assert health[0]["state"] == "up" and health[0]["transport"] == "smtp"


def test_status_shows_what_is_wrong_now_not_a_fixed_problem(db):
    from mailproc.fallback.health import record_attempt

    at = MONDAY
    with db.transaction() as s:
        row = record_attempt(s, "support", "imap", ok=False, error="connection refused", now=at)
        assert (row.state, row.last_error) == ("degraded", "connection refused")
        row = record_attempt(s, "support", "imap", ok=True, error="UID 7 unreadable", now=at)
        assert (row.state, row.last_error) == ("up", "UID 7 unreadable")   # a note, still up
        row = record_attempt(s, "support", "imap", ok=True, error=None, now=at)
        assert (row.state, row.last_error) == ("up", None)
