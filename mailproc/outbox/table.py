"""The outbox table: add rows in the caller's transaction, claim with a lease, mark outcomes."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from mailproc.cases.records import record_event
from mailproc.db import Database, is_postgres
from mailproc.delivery.retry import RetryPlan
from mailproc.models import Contact, OutboundMail, OutboxStatus

log = logging.getLogger(__name__)
ACTOR = "mailproc"
PENDING_KEY = "_pending_to"  # in OutboundMail.context: recipients a split send still owes
# A new row unless one with its dedupe key or Message-ID exists (or is being written), per
# dialect; its id, or nothing.
_NEW_ROW = {dialect.dialect.name: dialect.insert(OutboundMail.__table__).on_conflict_do_nothing()
            .returning(OutboundMail.__table__.c.id) for dialect in (postgresql, sqlite)}


def enqueue(session: Session, *, case_id: int | None, kind: str, dedupe_key: str,
            to: Sequence[str], from_addr: str, subject: str, raw: bytes | None, message_id: str,
            template: str = "", context: dict | None = None, now: datetime,
            status: str = "pending") -> OutboundMail | None:
    """Add one outgoing mail in the caller's transaction; None when `dedupe_key` (or the
    Message-ID) exists already.

    A decision taken twice (a reprocessed message, two workers racing) writes one row: one
    INSERT ... ON CONFLICT DO NOTHING settles it, a racing writer waiting for the other's
    commit (PostgreSQL) or write lock (SQLite); no read first, no savepoint, and the caller's
    transaction stays good.
    """
    values = dict(
        case_id=case_id, kind=kind, dedupe_key=dedupe_key, status=OutboxStatus(status),
        message_id=message_id, from_addr=from_addr, to_addrs=list(to),
        recipient=(to[0].strip().lower() if to else ""), subject=subject, template=template,
        context=context or {}, raw=raw, attempts=0, next_attempt_at=now, lease_until=None,
        last_error=None, created_at=now, sent_at=None)
    if session.new:     # a row it may refer to (a new case) is written first; changes to
        session.flush()  # rows written before can wait for the caller's next flush
    new_id = session.connection().execute(_NEW_ROW[session.get_bind().dialect.name],
                                          values).scalar()
    if new_id is None:
        log.info("outbox: %s (or %s) is queued already, not queued again", dedupe_key,
                 message_id)
        return None
    row = OutboundMail(id=new_id, **values)
    make_transient_to_detached(row)     # as if loaded: persistent once added, no INSERT
    session.add(row)
    # No addresses in the log: a person's erasure cannot reach log files already written.
    log.info("outbox: queued %s %s to %d recipient(s) as %s", kind, row.id, len(to), message_id)
    return row


def claim_due(db: Database, now: datetime, *, limit: int, lease: timedelta,
              worker: str, max_attempts: int | None = None) -> list[int]:
    """Claim up to `limit` due rows for this worker: status sending, lease_until = now + lease.

    Due means pending with next_attempt_at <= now, or sending with an expired lease (its
    deliverer died). PostgreSQL skips rows another claimer holds locked; SQLite's BEGIN
    IMMEDIATE (see db.py) serialises claimers. Either way two claimers get disjoint rows.
    """
    due = or_(
        and_(OutboundMail.status == OutboxStatus.PENDING, OutboundMail.next_attempt_at <= now),
        and_(OutboundMail.status == OutboxStatus.SENDING, OutboundMail.lease_until <= now))
    query = (select(OutboundMail.id, OutboundMail.status, OutboundMail.attempts,
                    OutboundMail.case_id).where(due)
             .order_by(OutboundMail.next_attempt_at, OutboundMail.id).limit(limit))
    with db.transaction() as session:
        if is_postgres(db.engine):
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows:
            return []
        # A row whose deliverer died on it max_attempts times (it may crash the process, or
        # its commit may fail after every send) is failed, not sent once more.
        spent = [r for r in rows if r.status == OutboxStatus.SENDING and max_attempts
                 and r.attempts + 1 >= max_attempts]
        for r in spent:
            reason = (f"gave up: the deliverer stopped mid-send {r.attempts + 1} times "
                      f"(limit {max_attempts}); it may have been sent")
            session.execute(update(OutboundMail).where(OutboundMail.id == r.id).values(
                status=OutboxStatus.FAILED, lease_until=None, attempts=r.attempts + 1,
                last_error=reason).execution_options(synchronize_session=False))
            record_event(session, r.case_id, actor=ACTOR, kind="delivery_failed",
                         detail=f"outbox {r.id}: {reason}", now=now, data={"outbox_id": r.id})
            log.error("outbox %s: %s", r.id, reason)
        rows = [r for r in rows if r not in spent]
        if not rows:
            return []
        ids = [r.id for r in rows]
        reclaimed = [r.id for r in rows if r.status == OutboxStatus.SENDING]
        session.execute(update(OutboundMail).where(OutboundMail.id.in_(ids))
                        .values(status=OutboxStatus.SENDING, lease_until=now + lease)
                        .execution_options(synchronize_session=False))
        if reclaimed:
            # A reclaimed row counts as an attempt: a row that kills its deliverer every time
            # must run out of attempts instead of looping forever.
            session.execute(
                update(OutboundMail).where(OutboundMail.id.in_(reclaimed))
                .values(attempts=OutboundMail.attempts + 1,
                        last_error="lease expired: the deliverer stopped mid-send")
                .execution_options(synchronize_session=False))
            log.warning("outbox: worker %s reclaimed rows %s whose lease expired", worker,
                        reclaimed)
    log.info("outbox: worker %s claimed %d rows until %s", worker, len(ids), now + lease)
    return ids


def confirm_lease(session: Session, outbox_id: int, held_until: datetime, *, now: datetime,
                  lease: timedelta) -> datetime | None:
    """Renew our lease on one row right before sending it; None when it is no longer ours.

    The lease time is the fencing token: a worker slower than its lease finds that another
    worker reclaimed the row (new lease_until) or finished it, and does not send a second copy.
    """
    new_until = max(held_until, now + lease)
    result = session.execute(
        update(OutboundMail)
        .where(OutboundMail.id == outbox_id, OutboundMail.status == OutboxStatus.SENDING,
               OutboundMail.lease_until == held_until)
        .values(lease_until=new_until).execution_options(synchronize_session=False))
    return new_until if result.rowcount == 1 else None


def mark_sent(session: Session, row: OutboundMail, *, now: datetime,
              refused: dict[str, str] | None = None) -> None:
    """Sent (to every accepted recipient); refused recipients, if any, go into the event."""
    row.status, row.sent_at, row.lease_until = OutboxStatus.SENT, now, None
    row.attempts += 1
    row.last_error = None
    detail = f"{row.kind} to {', '.join(row.to_addrs)} sent as {row.message_id}"
    if refused:
        detail += "; refused: " + "; ".join(f"{a} ({why})" for a, why in refused.items())
        row.last_error = f"refused: {', '.join(refused)}"[:2000]
    record_event(session, row.case_id, actor=ACTOR, kind="mail_sent", detail=detail[:4000],
                 now=now, data={"outbox_id": row.id, "message_id": row.message_id,
                                "refused": refused or {}})


def pending_recipients(row: OutboundMail) -> list[str]:
    """Who still has to get this row: all of to_addrs, or the deferred rest of a split send."""
    pending = (row.context or {}).get(PENDING_KEY)
    return list(pending) if pending else list(row.to_addrs)


def mark_partly_sent(session: Session, row: OutboundMail, accepted: Sequence[str],
                     deferred: dict[str, str], *, now: datetime, plan: RetryPlan,
                     notes: dict[str, str] | None = None) -> bool:
    """The server took the mail for some recipients and deferred others (4xx at RCPT): the
    accepted ones are recorded as sent, and the row stays queued for the deferred ones alone,
    with the same bytes and Message-ID. True when it will be tried again."""
    detail = (f"{row.kind} to {', '.join(accepted)} sent as {row.message_id}; deferred: "
              + "; ".join(f"{a} ({why})" for a, why in deferred.items()))
    if notes:
        detail += "; refused: " + "; ".join(f"{a} ({why})" for a, why in notes.items())
    record_event(session, row.case_id, actor=ACTOR, kind="mail_sent", detail=detail[:4000],
                 now=now, data={"outbox_id": row.id, "message_id": row.message_id,
                                "accepted": list(accepted), "deferred": deferred,
                                "refused": notes or {}})
    # to_addrs stays what was sent (a later bounce from an accepted recipient must still be
    # believed); the recipients still owed the mail are kept beside it.
    row.context = {**(row.context or {}), PENDING_KEY: list(deferred)}
    error = "deferred: " + "; ".join(f"{a} ({why})" for a, why in deferred.items())
    return mark_retry(session, row, error, now=now, plan=plan)


def mark_retry(session: Session, row: OutboundMail, error: str, *, now: datetime,
               plan: RetryPlan, rand: float | None = None) -> bool:
    """One more failed attempt: back to pending at the plan's next time, or failed when the
    plan is exhausted. True when the row will be tried again."""
    row.attempts += 1
    if plan.exhausted(row.attempts):
        mark_failed(session, row, f"gave up after {row.attempts} attempts: {error}", now=now)
        return False
    row.status, row.lease_until, row.last_error = OutboxStatus.PENDING, None, error[:2000]
    row.next_attempt_at = plan.next_attempt_at(
        row.attempts, now, random.random() if rand is None else rand)
    record_event(session, row.case_id, actor=ACTOR, kind="delivery_retry",
                 detail=f"{row.kind} to {', '.join(row.to_addrs)}: attempt {row.attempts} "
                        f"failed ({error[:300]}); "
                        f"next try {row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC",
                 now=now, data={"outbox_id": row.id, "attempts": row.attempts})
    log.warning("outbox %s: attempt %d failed (%s); retry at %s", row.id, row.attempts,
                error[:200], row.next_attempt_at)
    return True


def mark_failed(session: Session, row: OutboundMail, reason: str, *, now: datetime) -> None:
    row.status, row.lease_until, row.last_error = OutboxStatus.FAILED, None, reason[:2000]
    record_event(session, row.case_id, actor=ACTOR, kind="delivery_failed",
                 detail=f"{row.kind} to {', '.join(row.to_addrs)} failed: {reason[:500]}",
                 now=now, data={"outbox_id": row.id, "message_id": row.message_id})
    log.error("outbox %s: %s to %s failed: %s", row.id, row.kind, row.to_addrs, reason[:200])


def mark_held(session: Session, row: OutboundMail, reason: str, *, now: datetime) -> None:
    """Not sent and not retried by itself: an admin or a later event releases it."""
    row.status, row.lease_until, row.last_error = OutboxStatus.HELD, None, reason[:2000]
    record_event(session, row.case_id, actor=ACTOR, kind="delivery_held",
                 detail=f"{row.kind} to {', '.join(row.to_addrs)} held: {reason[:500]}",
                 now=now, data={"outbox_id": row.id})
    log.warning("outbox %s: held: %s", row.id, reason[:200])


def release_holds(session: Session, now: datetime, limit: int = 200) -> int:
    """Rows held because every recipient was undeliverable go back to the queue once the hold
    on one of them has expired (`[ack] undeliverable_for`)."""
    rows = session.scalars(select(OutboundMail).where(
        OutboundMail.status == OutboxStatus.HELD, OutboundMail.raw.is_not(None))
        .order_by(OutboundMail.id).limit(limit)).all()
    released = 0
    for row in rows:
        wanted = [a.strip().lower() for a in pending_recipients(row)]
        blocked = set(session.scalars(select(Contact.email).where(
            Contact.email.in_(wanted), Contact.undeliverable_until > now)))
        if not wanted or set(wanted) <= blocked:
            continue
        row.status, row.next_attempt_at = OutboxStatus.PENDING, now
        record_event(session, row.case_id, actor=ACTOR, kind="delivery_released",
                     detail=f"{row.kind} to {', '.join(row.to_addrs)} released: the hold "
                            f"on the address is over", now=now, data={"outbox_id": row.id})
        released += 1
    return released
