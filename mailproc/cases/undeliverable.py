"""Bounces: link them to the mail they report on and stop writing to dead addresses."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailproc.cases.records import get_contact, record_event
from mailproc.classify.bounce import Bounce, analyse_bounce
from mailproc.config import parse_timedelta
from mailproc.db import core
from mailproc.models import OutboundMail
from mailproc.parse.message import ParsedMessage
from mailproc.store.messages import bare_id
from mailproc.thread.rules import ThreadMatch

if TYPE_CHECKING:
    from mailproc.app import App

log = logging.getLogger(__name__)


class Reported(NamedTuple):
    """The outgoing mail a bounce reports on: what the bounce's handling reads of it."""

    message_id: str
    to_addrs: tuple[str, ...]


_REPORTED = (select(OutboundMail.case_id, OutboundMail.message_id, OutboundMail.to_addrs)
             .where(OutboundMail.message_id.in_(bindparam("ids", expanding=True))).limit(1))
_WROTE_TO = select(OutboundMail.recipient).where(
    OutboundMail.recipient.in_(bindparam("addresses", expanding=True)))


def case_for_bounce(session: Session, bounce: Bounce) -> tuple[int | None, Reported | None]:
    """The case of the outgoing mail a bounce reports on, through its original Message-ID,
    and that mail's Message-ID and recipients."""
    if not bounce.original_message_id:
        return None, None
    mid = bare_id(bounce.original_message_id)
    row = core(session).execute(_REPORTED, {"ids": [mid, f"<{mid}>"]}).first()
    return (row.case_id, Reported(row.message_id, tuple(row.to_addrs or ()))) if row \
        else (None, None)


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


NOT_ANALYSED = Bounce((), "", None, "", "")    # link_bounce's analysed: not computed yet


def link_bounce(app: App, session: Session, msg: ParsedMessage, raw: bytes,
                now: datetime, analysed: Bounce | None = NOT_ANALYSED) -> ThreadMatch | None:
    """Link a bounce to the outgoing mail it reports on; hard bounces mark addresses dead.
    `analysed`: analyse_bounce(msg, raw) computed ahead (runners/prepare.py)."""
    bounce = analyse_bounce(msg, raw) if analysed is NOT_ANALYSED else analysed
    if bounce is None:
        return None
    case_id, outgoing = case_for_bounce(session, bounce)
    # Anyone can send a "bounce": it may only silence addresses we wrote to (the reported
    # mail's recipients when it is found), never an agent's.
    wrote_to = ({a.lower() for a in outgoing.to_addrs} if outgoing is not None
                else set(core(session).scalars(_WROTE_TO, {
                    "addresses": [a.lower() for a in bounce.addresses]})))
    agents = app.agents
    believable = tuple(a for a in bounce.addresses
                       if a.lower() in wrote_to and agents.by_address(a) is None)
    if believable != tuple(bounce.addresses):
        log.warning("bounce %s: ignoring addresses we did not write to: %s", msg.message_id,
                    sorted(set(bounce.addresses) - set(believable)))
    apply_bounce(session, replace(bounce, addresses=believable), case_id=case_id, now=now,
                 hold_for=parse_timedelta(app.settings.ack.undeliverable_for))
    if case_id is None:
        return None
    return ThreadMatch("bounce", case_id, f"bounce of our message {outgoing.message_id} "
                                          f"({bounce.kind}: {', '.join(bounce.addresses)})")
