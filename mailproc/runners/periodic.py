"""The periodic round: escalation and reminder sweep, mail-health alerts, retention."""

from __future__ import annotations

from datetime import datetime

from mailproc.app import App
from mailproc.escalation.executor import sweep as sweep_escalations
from mailproc.escalation.steps import SweepAction
from mailproc.fallback.alerts import check_alerts
from mailproc.store.messages import fingerprint_unprinted
from mailproc.store.retention import apply_retention


def sweep(app: App, *, now: datetime | None = None, limit: int = 1000) -> list[SweepAction]:
    """One sweep: plan changed cases, fire what is due, check mail health for alerts, and
    forget what `[retention]` says is due."""
    now = now or app.clock.now()
    actions = sweep_escalations(app, now=now, limit=limit)
    check_alerts(app, now)
    with app.db.transaction() as session:
        apply_retention(session, app.settings.retention, now, limit=limit)
    return actions


def backfill_prints(app: App, *, batch: int = 500, progress=None) -> int:
    """Fingerprint every stored message that has none, a batch per transaction; returns how
    many were done. Safe to stop and run again."""
    done = 0
    while True:
        with app.db.transaction() as session:
            n = fingerprint_unprinted(session, batch)
        done += n
        if progress is not None:
            progress(n)
        if n < batch:
            return done
