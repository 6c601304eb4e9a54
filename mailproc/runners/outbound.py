"""Deliver due outbox rows: claim, hold or send, and commit each verdict the moment it is known."""

from __future__ import annotations

import logging
import os
import signal
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from mailproc.app import App
from mailproc.cases.undeliverable import mark_undeliverable
from mailproc.config import parse_timedelta
from mailproc.delivery.factory import make_transport
from mailproc.delivery.files import Outgoing, SendOutcome
from mailproc.delivery.retry import RetryPlan
from mailproc.errors import PermanentDeliveryError
from mailproc.fallback.breaker import allow_attempt, smtp_target
from mailproc.fallback.health import record_attempt
from mailproc.models import Contact, OutboundMail
from mailproc.outbox.table import (
    claim_due, confirm_lease, mark_failed, mark_held, mark_partly_sent, mark_retry, mark_sent,
    pending_recipients, release_holds,
)

log = logging.getLogger(__name__)
MIN_LEASE = timedelta(minutes=10)
# Test hook for the crash tests: SIGKILL ourselves at a named point ("before_send" or
# "after_send", the latter between the server's 250 and our commit).
CRASH_ENV = "MAILPROC_TEST_CRASH_AT"


@dataclass(frozen=True)
class DeliveryResult:
    outbox_id: int
    kind: str
    to: str
    result: str  # sent | retry | failed | held
    detail: str = ""
    # Recipients the server refused for good while others accepted (or all, on a 5xx):
    # candidates for Contact.undeliverable_until.
    refused: tuple[str, ...] = ()


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def deliver_due(app: App, *, limit: int = 100, worker: str | None = None,
                lease: timedelta | None = None) -> list[DeliveryResult]:
    """One delivery round: claim due rows, send them, commit each outcome right after it.

    The transport is built before claiming, so a configuration error leaves rows pending
    rather than leased.
    """
    transport = make_transport(app)
    target = smtp_target(app)
    if target is not None:
        with app.db.transaction() as session:
            if not allow_attempt(session, target, "smtp", app.clock.now()):
                # Circuit open: leave the rows queued rather than hammer a dead server.
                log.info("SMTP %s is down; delivery waits for the next probe", target)
                return []
    out = app.settings.outgoing
    plan = RetryPlan.from_settings(out)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    lease = lease or max(MIN_LEASE, timedelta(seconds=out.timeout_seconds * 4))
    now = app.clock.now()
    with app.db.transaction() as session:
        release_holds(session, now)
    ids = claim_due(app.db, now, limit=limit, lease=lease, worker=worker,
                    max_attempts=out.max_attempts)
    if not ids:
        return []
    results: list[DeliveryResult] = []
    items = _prepare(app, ids, results)
    tokens = {item.outbox_id: now + lease for item in items}

    def before(item: Outgoing) -> bool:
        _crash_point("before_send")
        with app.db.transaction() as session:
            token = confirm_lease(session, item.outbox_id, tokens[item.outbox_id],
                                  now=app.clock.now(), lease=lease)
        if token is None:
            log.warning("outbox %s: lease lost to another worker; not sending", item.outbox_id)
            return False
        tokens[item.outbox_id] = token
        return True

    def after(item: Outgoing, outcome: SendOutcome) -> None:
        if outcome.ok:
            _crash_point("after_send")
        # The verdict commits alone and first: between the server's 250 and this commit a
        # crash means a second copy, so nothing that can wait on a lock (the shared health
        # row) belongs in this transaction.
        with app.db.transaction() as session:
            result = _record(app, session, item, outcome, plan)
            if result.refused:
                _hold_refused(app, session, item.outbox_id, result)
        results.append(result)
        if transport.name == "smtp" and outcome.attempted:
            # A 5xx verdict is an answer from a working server; only transient failures say
            # that mail itself is in trouble.
            error = outcome.error
            healthy = error is None or isinstance(error, PermanentDeliveryError)
            try:
                with app.db.transaction() as session:
                    record_attempt(session, target=transport.target, transport="smtp",
                                   ok=healthy, error=None if healthy else str(error),
                                   now=app.clock.now())
            except Exception:  # noqa: BLE001 - bookkeeping; the verdict above is committed
                log.exception("SMTP %s: could not record the attempt in mail health",
                              transport.target)

    transport.deliver(items, before=before, after=after)
    return results


def _hold_refused(app: App, session, outbox_id: int, result: DeliveryResult) -> None:
    """Recipients the server refused for good get no more mail for a while (like a bounce)."""
    row = session.get(OutboundMail, outbox_id)
    mark_undeliverable(session, result.refused, case_id=row.case_id if row else None,
                       hold_for=parse_timedelta(app.settings.ack.undeliverable_for),
                       reason=f"refused by the SMTP server: {result.detail}",
                       now=app.clock.now())


def _prepare(app: App, ids: list[int], results: list[DeliveryResult]) -> list[Outgoing]:
    """Settle rows that must not be sent (nothing to send, recipient undeliverable); the rest
    become transport items, minus recipients that are on hold."""
    items = []
    now = app.clock.now()
    with app.db.transaction() as session:
        rows = session.scalars(select(OutboundMail).where(OutboundMail.id.in_(ids))
                               .order_by(OutboundMail.next_attempt_at, OutboundMail.id)).all()
        wanted = {a.strip().lower() for row in rows for a in pending_recipients(row)}
        blocked = dict(session.execute(
            select(Contact.email, Contact.undeliverable_reason).where(
                Contact.email.in_(wanted), Contact.undeliverable_until > now)).all())
        for row in rows:
            to = ", ".join(row.to_addrs)
            if row.raw is None:
                mark_failed(session, row, "nothing to send (no rendered message)", now=now)
                results.append(DeliveryResult(row.id, row.kind, to, "failed", "nothing to send"))
                continue
            owed = pending_recipients(row)
            live = tuple(a for a in owed if a.strip().lower() not in blocked)
            if not live:
                reason = "; ".join(
                    f"{a} is undeliverable ({blocked[a.strip().lower()] or 'bounced'})"
                    for a in owed)[:1000] or "no recipients"
                mark_held(session, row, reason, now=now)
                results.append(DeliveryResult(row.id, row.kind, to, "held", reason))
                continue
            if len(live) < len(owed):
                log.warning("outbox %s: skipping undeliverable recipients %s", row.id,
                            [a for a in owed if a not in live])
            items.append(Outgoing(outbox_id=row.id, mail_from=row.from_addr, recipients=live,
                                  raw=row.raw, message_id=row.message_id))
    return items


def _record(app: App, session, item: Outgoing, outcome: SendOutcome,
            plan: RetryPlan) -> DeliveryResult:
    now = app.clock.now()
    row = session.get(OutboundMail, item.outbox_id)
    to = ", ".join(row.to_addrs)
    error = outcome.error
    skipped = [a for a in pending_recipients(row) if a not in item.recipients]
    if error is None:
        notes = {**outcome.refused, **{a: "undeliverable, skipped" for a in skipped}}
        if outcome.deferred:
            accepted = list(outcome.accepted)
            again = mark_partly_sent(session, row, accepted, dict(outcome.deferred), now=now,
                                     plan=plan, notes=notes or None)
            detail = (f"sent as {row.message_id} to {', '.join(accepted)}; deferred "
                      f"{', '.join(outcome.deferred)}" + ("" if again else ", given up"))
            return DeliveryResult(row.id, row.kind, to, "retry" if again else "failed",
                                  detail, tuple(outcome.refused))
        mark_sent(session, row, now=now, refused=notes or None)
        detail = f"sent as {row.message_id}" + (f"; refused {', '.join(notes)}" if notes else "")
        return DeliveryResult(row.id, row.kind, to, "sent", detail, tuple(outcome.refused))
    if isinstance(error, PermanentDeliveryError):
        mark_failed(session, row, str(error), now=now)
        return DeliveryResult(row.id, row.kind, to, "failed", str(error), tuple(outcome.refused))
    if mark_retry(session, row, str(error), now=now, plan=plan):
        return DeliveryResult(row.id, row.kind, to, "retry", str(error))
    return DeliveryResult(row.id, row.kind, to, "failed", row.last_error or str(error))
