"""Bounces: link them to the mail they report on and stop writing to dead addresses."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.bounce import Bounce
from mailproc.cases import bare_id, get_contact, record_event
from mailproc.models import OutboundMail

log = logging.getLogger(__name__)


def case_for_bounce(session: Session, bounce: Bounce) -> tuple[int | None, OutboundMail | None]:
    """The case of the outgoing mail a bounce reports on, through its original Message-ID."""
    if not bounce.original_message_id:
        return None, None
    mid = bare_id(bounce.original_message_id)
    row = session.scalar(select(OutboundMail).where(
        OutboundMail.message_id.in_([mid, f"<{mid}>"])))
    return (row.case_id, row) if row else (None, None)


def apply_bounce(session: Session, bounce: Bounce, *, case_id: int | None, hold_for: timedelta,
                 now: datetime) -> list[str]:
    """A permanent failure marks each address undeliverable for `hold_for`; returns them."""
    if bounce.kind != "permanent":
        if case_id:
            record_event(session, case_id, actor="mailproc", kind="delivery_delayed",
                         detail=f"delivery to {', '.join(bounce.addresses)} is delayed: "
                                f"{bounce.diagnostic[:300]}", now=now)
        return []
    return mark_undeliverable(session, bounce.addresses, case_id=case_id, hold_for=hold_for,
                              reason=f"bounced ({bounce.detector}): "
                                     f"{bounce.diagnostic or 'hard bounce'}", now=now)


def mark_undeliverable(session: Session, addresses, *, case_id: int | None, hold_for: timedelta,
                       reason: str, now: datetime) -> list[str]:
    """No mail to these addresses until `hold_for` has passed; the phone list picks them up."""
    marked = []
    for address in addresses:
        contact = get_contact(session, address, "", now)
        contact.undeliverable_until = now + hold_for
        contact.undeliverable_reason = reason[:1000]
        marked.append(contact.email)
        record_event(session, case_id, actor="mailproc", kind="undeliverable",
                     detail=f"{contact.email} {reason[:300]}; no mail until "
                            f"{contact.undeliverable_until:%Y-%m-%d}",
                     now=now, data={"address": contact.email})
        log.warning("address %s marked undeliverable: %s", contact.email, reason[:200])
    return marked

