"""The periodic round: escalation and reminder sweep, then mail-health alerts."""

from __future__ import annotations

from datetime import datetime

from mailproc.app import App
from mailproc.escalation.executor import sweep as sweep_escalations
from mailproc.escalation.steps import SweepAction
from mailproc.fallback.alerts import check_alerts


def sweep(app: App, *, now: datetime | None = None, limit: int = 1000) -> list[SweepAction]:
    """One sweep: plan changed cases, fire what is due, then check mail health for alerts."""
    now = now or app.clock.now()
    actions = sweep_escalations(app, now=now, limit=limit)
    check_alerts(app, now)
    return actions
