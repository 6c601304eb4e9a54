"""Acknowledge a customer's mail or not (the policy decides), and queue the mail."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from mailproc.actions.incidents import incident_context
from mailproc.cases.records import record_event
from mailproc.classify.rules import is_system_sender
from mailproc.db import core
from mailproc.models import Case, Contact, Incident, Message, OutboundMail
from mailproc.outbox.automatic import enqueue_templated
from mailproc.outbox.mime import transport_address
from mailproc.policy.ack import AckHistory, decide_ack
from mailproc.templating.context import case_context

_ACKS = OutboundMail.kind.in_(("ack", "incident"))
_COUNT = select(func.count()).select_from(OutboundMail)
_FORMS = bindparam("forms", expanding=True)
# One read for the three answers of AckHistory.
_HISTORY = select(
    _COUNT.where(OutboundMail.case_id == bindparam("case_id"), _ACKS).scalar_subquery(),
    _COUNT.where(_ACKS, OutboundMail.recipient.in_(_FORMS),
                 OutboundMail.created_at >= bindparam("since")).scalar_subquery(),
    select(func.max(Contact.undeliverable_until)).where(Contact.email.in_(_FORMS))
    .scalar_subquery())


def maybe_acknowledge(app, session: Session, case: Case, message: Message, verdict,
                      is_new_case: bool, now: datetime, *, is_agent: bool = False,
                      incident=None) -> None:
    sender = message.from_addr

    def history() -> AckHistory:
        # Rows and bounces know an internationalised domain in its IDNA form: ask for both.
        forms = list({sender, transport_address(sender) or sender})
        with session.no_autoflush:  # outbox rows and contacts: none changed unwritten here
            row = core(session).execute(_HISTORY, {"case_id": case.id, "forms": forms,
                                                   "since": now - timedelta(hours=1)}).one()
        return AckHistory(acks_for_case=row[0], acks_to_sender_last_hour=row[1],
                          undeliverable_until=row[2])

    decision = decide_ack(
        kind=verdict.kind, sender=sender, is_new_case=is_new_case,
        is_system_sender=is_system_sender(sender or ""), is_own_address=app.is_own(sender or ""),
        is_agent=is_agent, enabled=app.settings.ack.enabled, history=history,
        per_sender_per_hour=app.settings.ack.per_sender_per_hour, now=now)
    record_event(session, case.id, actor="mailproc", kind="ack_decision",
                 detail=f"{decision.rule}: {decision.reason}", now=now,
                 data={"send": decision.send, "message_id": message.message_id})
    if decision.send and incident is not None:
        enqueue_incident_ack(app, session, case, message, incident, now)
    elif decision.send:
        enqueue_ack(app, session, case, message, now)


def enqueue_ack(app, session: Session, case: Case, message: Message, now: datetime) -> None:
    context = case_context(app, session, case, message)
    enqueue_templated(app, session, case=case, kind="ack", to=[message.from_addr],
                      dedupe_key=f"ack:case:{case.id}", context=context,
                      reply_to_message=message, now=now)


def enqueue_incident_ack(app, session: Session, case: Case, message: Message,
                         incident: Incident, now: datetime):
    """The acknowledgement for a case in an incident: the `incident` template, and the same
    dedupe key as a plain ack, so a case never gets both."""
    context = case_context(app, session, case, message)
    context["incident"] = incident_context(incident)
    return enqueue_templated(app, session, case=case, kind="incident", to=[message.from_addr],
                             dedupe_key=f"ack:case:{case.id}", context=context,
                             reply_to_message=message, now=now)
