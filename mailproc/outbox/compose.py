"""Render a template kind into MIME bytes and write the outbox row, in the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.errors import TemplateError
from mailproc.models import Case, Message, OutboundMail, OutboxStatus
from mailproc.outbox.mime import build_message, make_message_id, transport_address
from mailproc.outbox.table import enqueue
from mailproc.store.messages import message_attachments
from mailproc.templating.render import renderer_for

log = logging.getLogger(__name__)


def compose(app, session: Session, *, case: Case, kind: str, to: Sequence[str],
            dedupe_key: str, context: dict, in_reply_to: str | None, references: Sequence[str],
            reply_to: str | None, from_name: str, auto_submitted: str | None,
            attachments_of: Message | None = None, attachment_budget: int | None = None,
            now: datetime) -> OutboundMail | None:
    """Render `kind` and queue it; None when `dedupe_key` was queued before.

    `attachments_of`: the stored message whose attachments go along (a relayed reply, a
    notification), those that fit in `attachment_budget` bytes when it is given. A template
    error holds the row with the error instead of losing the mail; `render_held` retries it
    each round. `_mail` in the stored context carries what a re-render needs, the
    attachments by their message's id.
    """
    message_id = make_message_id(app.message_id_domain, kind, dedupe_key, app.secret_key)
    sendable = [a for a in (transport_address(x) for x in to) if a]
    if len(sendable) < len(to):
        bad = [x for x in to if transport_address(x) is None]
        why = f"{', '.join(bad)}: not a valid email address"
        log.warning("%s for #%s not sent to %s", kind, case.ref, why)
        if not sendable:
            # A failed row, not silence: it shows in `status` and puts the customer on the
            # phone list, and deciding again finds it by its dedupe key.
            row = enqueue(session, case_id=case.id, kind=kind, dedupe_key=dedupe_key,
                          to=list(to), from_addr=app.settings.support.address,
                          subject=context.get("case", {}).get("subject", ""), raw=None,
                          message_id=message_id, template=kind, now=now, status="failed")
            if row is not None:
                row.last_error = f"cannot send to {why}"
                record_event(session, case.id, actor="mailproc", kind=f"{kind}_failed",
                             detail=f"{kind} cannot be sent to {why}", now=now,
                             data={"outbox_id": row.id})
            return row
        record_event(session, case.id, actor="mailproc", kind="undeliverable_address",
                     detail=f"{kind} not sent to {why}", now=now,
                     data={"kind": kind, "addresses": bad})
    to = sendable
    context = dict(context)
    context["_mail"] = {"in_reply_to": in_reply_to, "references": list(references),
                        "to": list(to), "reply_to": reply_to, "from_name": from_name,
                        "auto_submitted": auto_submitted,
                        "attachments_of": attachments_of.id if attachments_of else None,
                        "attachment_budget": attachment_budget}
    raw, subject, error = None, context.get("case", {}).get("subject", ""), None
    try:
        raw, subject = render_raw(app, kind, context, message_id, now,
                                  _attachments(session, context["_mail"]))
    except TemplateError as exc:
        error = f"template error: {exc}"
    except Exception as exc:  # noqa: BLE001 - a mail we cannot build is held, never lost
        error = f"could not build the mail: {type(exc).__name__}: {exc}"
        log.exception("%s for #%s could not be built", kind, case.ref)
    row = enqueue(session, case_id=case.id, kind=kind, dedupe_key=dedupe_key, to=list(to),
                  from_addr=app.settings.support.address, subject=subject, raw=raw,
                  message_id=message_id, template=kind, context=context, now=now,
                  status="held" if error else "pending")
    if row is None:
        return None
    if error:
        row.last_error = error
        record_event(session, case.id, actor="mailproc", kind="template_error",
                     detail=f"{kind} for #{case.ref} is held: {error}", now=now,
                     data={"outbox_id": row.id})
        log.error("template %s failed for case %s: %s", kind, case.ref, error)
    else:
        record_event(session, case.id, actor="mailproc", kind=f"{kind}_queued",
                     detail=f"{kind} to {', '.join(to)} queued as {message_id}", now=now,
                     data={"outbox_id": row.id})
    return row


def _attachments(session: Session, meta: dict) -> list[tuple[str, str, bytes]]:
    return message_attachments(session, meta.get("attachments_of"),
                               budget=meta.get("attachment_budget"))


def render_raw(app, kind: str, context: dict, message_id: str, now: datetime,
               attachments: Sequence[tuple[str, str, bytes]] = ()) -> tuple[bytes, str]:
    mail = renderer_for(app).render(kind, context)
    meta = context["_mail"]
    raw = build_message(
        from_addr=app.settings.support.address,
        from_name=meta.get("from_name") or app.settings.support.name, to=meta["to"],
        subject=mail.subject, text=mail.text, html=mail.html, message_id=message_id,
        in_reply_to=meta["in_reply_to"], references=meta["references"],
        reply_to=meta["reply_to"], auto_submitted=meta.get("auto_submitted", "auto-replied"),
        loop_token=app.settings.support.address, attachments=attachments, date_at=now)
    return raw, mail.subject


def render_held(app, now: datetime, limit: int = 100) -> int:
    """Retry rendering rows held by a template error (an admin may have fixed the template).

    The attachments come again from the stored message they belong to.
    """
    fixed = 0
    with app.db.transaction() as session:
        rows = session.scalars(select(OutboundMail).where(
            OutboundMail.status == OutboxStatus.HELD, OutboundMail.raw.is_(None),
            OutboundMail.template != "").limit(limit)).all()
        for row in rows:
            try:
                attachments = _attachments(session, row.context.get("_mail") or {})
                row.raw, row.subject = render_raw(app, row.template, row.context, row.message_id,
                                                  now, attachments)
            except TemplateError as exc:
                row.last_error = f"template error: {exc}"
                continue
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the round
                row.last_error = f"could not build the mail: {type(exc).__name__}: {exc}"
                log.exception("outbox %s could not be built", row.id)
                continue
            row.status, row.last_error, row.next_attempt_at = OutboxStatus.PENDING, None, now
            record_event(session, row.case_id, actor="mailproc", kind="template_fixed",
                         detail=f"{row.template} rendered after a fix; queued", now=now)
            fixed += 1
    return fixed
