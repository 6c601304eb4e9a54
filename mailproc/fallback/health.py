"""Mail health per target and transport (up / degraded / down), from every attempt."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.models import Health

log = logging.getLogger(__name__)
DOWN_AFTER = 3  # consecutive failures


def state_after(failures: int) -> str:
    """Pure: the health state after `failures` consecutive failed attempts."""
    if failures <= 0:
        return "up"
    return "down" if failures >= DOWN_AFTER else "degraded"


def record_attempt(session: Session, target: str, transport: str, *, ok: bool,
                   error: str | None, now: datetime, fatal: bool = False) -> Health:
    """Count one attempt; a `fatal` failure (one that trying again cannot mend, such as a
    revoked sign-in) is down at once."""
    row = session.scalar(select(Health).where(Health.target == target,
                                              Health.transport == transport))
    if row is None:
        row = Health(target=target, transport=transport, state="up", since_at=now,
                     last_attempt_at=now, consecutive_failures=0)
        session.add(row)
    row.consecutive_failures = 0 if ok else max(row.consecutive_failures + 1,
                                                DOWN_AFTER if fatal else 0)
    state = state_after(row.consecutive_failures)
    if state != row.state:
        log.warning("mail health %s/%s: %s -> %s (%s)", target, transport, row.state, state,
                    error or "ok")
        row.state, row.since_at = state, now
    row.last_attempt_at = now
    if error or ok:
        # A working attempt clears the old error: status shows what is wrong now (outages
        # stay in the alerts and the log). `ok` with an error is a note on a working
        # server, such as mail it keeps failing to hand out.
        row.last_error = error[:2000] if error else None
    return row
