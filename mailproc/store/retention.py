"""Retention: stored mail kept only as long as `[retention]` says, applied by the sweep.

- `raw_mail_days`: the raw bytes of mail processed that long ago go; the row stays (its key
  keeps the mail from being fetched again) and so does the parsed message.
- `closed_case_days`: a case closed that long ago keeps its skeleton (times, priority, team,
  status, deadlines: the reports' figures) and loses its words: subjects, texts, names,
  attachments, raw mail and the outgoing mail's bytes.
- `quarantine_days`: quarantined mail that old goes, bytes and entry (the row stays, as for
  raw mail).

Each pass does at most `limit` of each, and records what it did as a `retention` event
(counted in `mailproc status`). 0 keeps for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.config import RetentionSettings
from mailproc.models import (
    Case, CaseStatus, Event, Message, OutboundMail, Quarantine, RawMessage, RawStatus,
)
from mailproc.store.forget import drop_raw_bytes, forget_messages


def apply_retention(session: Session, rules: RetentionSettings, now: datetime, *,
                    limit: int = 500) -> dict[str, int]:
    done = {"raw_mail": 0, "closed_cases": 0, "quarantined": 0}
    if rules.raw_mail_days:
        cutoff = now - timedelta(days=rules.raw_mail_days)
        for row in session.scalars(select(RawMessage).where(
                RawMessage.status == RawStatus.PROCESSED, RawMessage.processed_at < cutoff,
                or_(RawMessage.data.is_not(None), RawMessage.blob_path.is_not(None)))
                .order_by(RawMessage.id).limit(limit)):
            drop_raw_bytes(row)
            done["raw_mail"] += 1
    if rules.quarantine_days:
        cutoff = now - timedelta(days=rules.quarantine_days)
        for entry, row in session.execute(select(Quarantine, RawMessage).join(
                RawMessage, RawMessage.id == Quarantine.raw_id).where(Quarantine.at < cutoff)
                .order_by(Quarantine.id).limit(limit)).all():
            drop_raw_bytes(row)
            session.delete(entry)
            done["quarantined"] += 1
    if rules.closed_case_days:
        cutoff = now - timedelta(days=rules.closed_case_days)
        forgotten = select(Event.id).where(Event.case_id == Case.id,
                                           Event.kind == "retention_forgotten")
        for case in session.scalars(select(Case).where(
                Case.status == CaseStatus.CLOSED, Case.closed_at < cutoff, ~forgotten.exists())
                .order_by(Case.id).limit(limit)):
            _forget_case(session, case)
            record_event(session, case.id, actor="mailproc", kind="retention_forgotten",
                         detail=f"closed over {rules.closed_case_days} days: words and "
                                "files removed", now=now)
            done["closed_cases"] += 1
    if any(done.values()):
        record_event(session, None, actor="mailproc", kind="retention",
                     detail=", ".join(f"{k.replace('_', ' ')} {v}" for k, v in done.items()),
                     now=now, data=done)
    return done


def _forget_case(session: Session, case: Case) -> None:
    messages = list(session.scalars(select(Message).where(Message.case_id == case.id)))
    for row in session.scalars(select(RawMessage).where(
            RawMessage.id.in_([m.raw_id for m in messages if m.raw_id is not None]))):
        drop_raw_bytes(row)
    forget_messages(session, messages, addresses=False)
    for row in session.scalars(select(OutboundMail).where(OutboundMail.case_id == case.id)):
        row.raw, row.subject, row.context = None, "", {}
    case.subject = case.normalized_subject = ""
