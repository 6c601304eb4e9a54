"""Circuit breaker over mail health: a target that is down is tried again only after a backoff."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.fallback.health import DOWN_AFTER
from mailproc.models import Health

log = logging.getLogger(__name__)
BASE = timedelta(seconds=30)
CAP = timedelta(minutes=10)


def retry_after(failures: int, *, base: timedelta = BASE, cap: timedelta = CAP) -> timedelta:
    """Pure: how long an open circuit stays shut after `failures` consecutive failures."""
    if failures < DOWN_AFTER:
        return timedelta(0)
    return min(cap, base * (2 ** min(failures - DOWN_AFTER, 16)))


def allows(state: str, failures: int, last_attempt_at: datetime | None, now: datetime, *,
           base: timedelta = BASE, cap: timedelta = CAP) -> bool:
    """Pure: closed (up/degraded) lets every attempt through; open (down) lets one probe
    through per backoff interval (half-open), so a dead server is not hammered."""
    if state != "down" or last_attempt_at is None:
        return True
    return now >= last_attempt_at + retry_after(failures, base=base, cap=cap)


def allow_attempt(session: Session, target: str, transport: str, now: datetime) -> bool:
    """Whether to try `target` now; callers skip the attempt (and leave work queued) if not."""
    row = session.scalar(select(Health).where(Health.target == target,
                                              Health.transport == transport))
    if row is None:
        return True
    ok = allows(row.state, row.consecutive_failures, row.last_attempt_at, now)
    if not ok:
        log.info("circuit open for %s/%s: %d failures, next try after %s", target, transport,
                 row.consecutive_failures,
                 row.last_attempt_at + retry_after(row.consecutive_failures))
    return ok


def smtp_target(app) -> str | None:
    """The health target name outbox delivery records for the configured SMTP server."""
    out = app.settings.outgoing
    return f"{out.host}:{out.port}" if out.transport == "smtp" else None
