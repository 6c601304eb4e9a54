"""Erase a person: their mail, words, files, numbers and addresses go; the skeleton of their
cases stays, so counts, response times and SLA figures do not change.

On a case the person opened, every message's words go (replies quote them), with the
case's raw mail, attachments and outgoing mail; times, priority, team, status and deadlines
stay. On a case they were only copied on, their own messages go, and their name, address
and numbers are blanked wherever the others' messages and the events mention them. Their
contact records and participant rows are deleted, pending mail to them is cancelled, the
files the file transport wrote for that mail are deleted, and so is anything Redis keeps
under their address. The erase itself is an event that names them only by a salted hash.
SQLite is vacuumed afterwards (`secure_delete` on), so nothing stays in the file's free
pages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.delivery.files import file_name
from mailproc.models import (
    Attachment, Case, Event, OutboundMail, OutboxStatus, Participant, RawMessage,
)
from mailproc.ops.privacy import Person, address_hash, find_person
from mailproc.runners.jobs import redis_for
from mailproc.store.forget import ERASED, delete_raw, forget_messages

log = logging.getLogger(__name__)


@dataclass
class Erasure:
    """What an erase removes (or, in a dry run, would remove), counted."""

    cases_blanked: list[str] = field(default_factory=list)
    cases_mentioned: list[str] = field(default_factory=list)
    messages: int = 0
    raw_mail: int = 0
    attachments: int = 0
    outgoing: int = 0
    cancelled: int = 0
    contacts: int = 0
    quarantined: int = 0
    files: list[Path] = field(default_factory=list)

    def summary(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k != "files"},
                "outbox_files": len(self.files)}


class Redactor:
    """Blanks a person's addresses, names and phone numbers in text and JSON values."""

    def __init__(self, person: Person) -> None:
        terms = set(person.addresses)
        for contact in person.contacts:
            if len(contact.name.strip()) >= 3:
                terms.add(contact.name.strip())
            terms.update(p for p in contact.phones or [] if p)
        ordered = sorted(terms, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(t) for t in ordered), re.IGNORECASE) \
            if ordered else None

    def text(self, value: str | None) -> str | None:
        return self.pattern.sub(ERASED, value) if value and self.pattern else value

    def json(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value


def erase_person(app, session: Session, addresses, *, actor: str, dry_run: bool = False
                 ) -> Erasure:
    person = find_person(session, addresses)
    ours = {a.lower() for agent in app.agents.agents for a in agent.addresses}
    ours |= {app.settings.support.address.lower(), *(a.lower() for a in
                                                     app.settings.support.aliases)}
    refused = [a for a in person.addresses if a in ours]
    if refused:
        raise ValueError(f"{', '.join(refused)} is an agent's or the support address: "
                         "not erased")
    owner_ids = {c.id for c in person.contacts}
    owned = [c for c in person.cases if c.customer_id in owner_ids]
    copied = [c for c in person.cases if c.customer_id not in owner_ids]
    owned_ids = {c.id for c in owned}
    wiped = {m.id: m for m in person.messages if person.wrote(m)}
    for case in owned:
        wiped.update((m.id, m) for m in case.messages)
    result = Erasure(cases_blanked=[c.ref for c in owned], cases_mentioned=[c.ref for c in copied],
                     messages=len(wiped), contacts=len(person.contacts),
                     quarantined=len(person.quarantined))
    outgoing = {o.id: o for o in person.outgoing}
    if owned_ids:
        outgoing.update((o.id, o) for o in session.scalars(
            select(OutboundMail).where(OutboundMail.case_id.in_(owned_ids))))
    raw_ids = {m.raw_id for m in wiped.values() if m.raw_id is not None}
    raw_ids |= {r.id for r in person.quarantined}
    raws = list(session.scalars(select(RawMessage).where(
        RawMessage.id.in_(raw_ids) | RawMessage.duplicate_of_id.in_(raw_ids)))) if raw_ids else []
    result.attachments = session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.message_id.in_(wiped))) if wiped else 0
    result.raw_mail, result.outgoing = len(raws), len(outgoing)
    result.cancelled = sum(o.status == OutboxStatus.PENDING for o in outgoing.values())
    result.files = [p for p in (_outbox_file(app, o) for o in outgoing.values()) if p]
    if dry_run:
        return result
    redact = Redactor(person)
    forget_messages(session, list(wiped.values()))
    delete_raw(session, raws)
    for o in outgoing.values():
        if o.status in (OutboxStatus.PENDING, OutboxStatus.HELD, OutboxStatus.SENDING):
            o.status, o.last_error = OutboxStatus.CANCELLED, "cancelled: the recipient was erased"
        o.raw, o.subject, o.context = None, "", {}
        o.to_addrs = [ERASED if a.lower() in person.addresses else a for a in o.to_addrs or []]
        o.recipient = redact.text(o.recipient) or ""
    for case in copied:
        for m in case.messages:
            if m.id not in wiped:
                m.subject, m.body_text, m.new_text = (redact.text(m.subject),
                                                      redact.text(m.body_text),
                                                      redact.text(m.new_text))
                m.to_addrs, m.cc_addrs = redact.json(m.to_addrs), redact.json(m.cc_addrs)
    for case in owned:
        case.subject = case.normalized_subject = ""
    # the events of their cases, and those of no case (a bounce, a forgery) naming them
    case_ids = [c.id for c in person.cases]
    mentioned = Event.case_id.is_(None)
    if case_ids:
        mentioned = mentioned | Event.case_id.in_(case_ids)
    for event in session.scalars(select(Event).where(mentioned)):
        event.actor = redact.text(event.actor) or ""
        event.detail = redact.text(event.detail) or ""
        event.data = redact.json(event.data)
    if owner_ids:
        session.execute(update(Case).where(Case.customer_id.in_(owner_ids))
                        .values(customer_id=None, customer_domain=None))
        session.execute(delete(Participant).where(Participant.contact_id.in_(owner_ids)))
        for contact in person.contacts:
            session.delete(contact)
    for path in result.files:
        path.unlink(missing_ok=True)
    _forget_in_redis(app, person)
    record_event(session, None, actor=actor, kind="privacy_erased",
                 detail=f"a person was erased: {len(owned)} case(s) blanked, "
                        f"{len(copied)} redacted, {len(wiped)} message(s)",
                 now=app.clock.now(),
                 data={"address_hashes": [address_hash(app, a) for a in person.addresses],
                       **result.summary(), "cases_blanked": len(owned),
                       "cases_mentioned": len(copied)})
    log.info("privacy erase: %d case(s) blanked, %d redacted, %d message(s), %d raw mail",
             len(owned), len(copied), len(wiped), len(raws))
    return result


def _outbox_file(app, row: OutboundMail) -> Path | None:
    """The .eml the file transport wrote for an outbox row, if it is there."""
    if app.settings.outgoing.transport != "file":
        return None
    path = app.settings.var_path / app.settings.outgoing.file_dir / file_name(row.message_id)
    return path if path.exists() else None


def _forget_in_redis(app, person: Person) -> None:
    """Keys that name the person (nothing of ours does today; a plugin's cache might)."""
    conn = redis_for(app)
    if conn is None:
        return
    try:
        for address in person.addresses:
            for key in conn.scan_iter(match=f"*{_glob(address)}*", count=1000):
                conn.delete(key)
    finally:
        conn.close()


def _glob(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def vacuum_sqlite(db) -> None:
    """Rewrite a SQLite file after an erase: no freed page or WAL frame keeps a deleted byte."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA secure_delete = ON")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.execute("VACUUM")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
