"""The periodic round: escalation and reminder sweep, mail-health alerts, retention."""

from __future__ import annotations

import logging
from datetime import datetime

from mailproc.app import App
from mailproc.escalation.executor import candidate_ids, mark_planned, plan_cases, planned_since
from mailproc.escalation.steps import SweepAction
from mailproc.fallback.alerts import check_alerts
from mailproc.store.messages import fingerprint_unprinted
from mailproc.store.retention import apply_retention

log = logging.getLogger(__name__)
SWEEP_CHUNK = 50  # cases planned in one transaction


def sweep(app: App, *, now: datetime | None = None, limit: int = 1000) -> list[SweepAction]:
    """One sweep: plan changed cases, fire what is due, check mail health for alerts, and
    forget what `[retention]` says is due."""
    now = now or app.clock.now()
    actions = sweep_escalations(app, now=now, limit=limit)
    check_alerts(app, now)
    with app.db.transaction() as session:
        apply_retention(session, app.settings.retention, now, limit=limit)
    return actions


def sweep_escalations(app: App, *, now: datetime, limit: int = 1000) -> list[SweepAction]:
    """Plan the cases changed since the last sweep and those due, and fire what is due.

    SWEEP_CHUNK cases are one transaction (a backlog's new cases each cost a transaction and
    four queries before). A chunk that fails is done again one case at a time, so a case
    that keeps failing holds back no other: it is logged, and the mark stays where it was so
    that the next sweep plans it again.
    """
    with app.db.transaction() as session:
        ids = candidate_ids(session, now, planned_since(session), limit)
    actions: list[SweepAction] = []
    complete = True
    for start in range(0, len(ids), SWEEP_CHUNK):
        chunk = ids[start:start + SWEEP_CHUNK]
        try:
            actions += _plan(app, chunk, now)
        except Exception:  # noqa: BLE001 - the chunk is done again case by case
            for case_id in chunk:
                try:
                    actions += _plan(app, [case_id], now)
                except Exception:  # noqa: BLE001 - one case must not stop the sweep
                    log.exception("case id %s: escalation planning failed; tried again next sweep",
                                  case_id)
                    complete = False
    if complete:
        with app.db.transaction() as session:
            mark_planned(session, now)
    if actions:
        log.info("sweep at %s: %d actions on %d cases", now, len(actions), len(ids))
    return actions


def _plan(app: App, case_ids: list[int], now: datetime) -> list[SweepAction]:
    with app.db.transaction() as session:
        return plan_cases(app, session, case_ids, now)


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
