"""What mailproc holds on one person, found by their mail addresses: for a copy (`export`)
and, in `ops/erase.py`, for erasure.

A person is one or more addresses. What they wrote is every stored message from one of
them; what concerns them is every case they opened or took part in (CC'd), with its
messages, events, deadlines, KB suggestions and outgoing mail; plus their contact records,
the phone numbers learnt from their signatures, and quarantined mail that names them.
Internal notes are the team's, not the person's: the export leaves them out and says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.models import (
    Case, Contact, Event, Message, OutboundMail, Participant, Quarantine, RawMessage,
)
from mailproc.people.phones import extract_phones
from mailproc.store.raw import load_raw

README = """What this archive holds: everything mailproc keeps about {addresses},
exported {at}.

person.json    the contact record of each address: name, phone numbers and the message
               each number was learnt from, and whether mail to it bounced
cases.json     each case the person opened or was copied on: its status, priority, team,
               deadlines, knowledge-base suggestions, every message (headers and text),
               the events (what happened and who did it, phone calls included) and the
               outgoing mail with its delivery state
mail/          every stored message from or to the person, as received (.eml)
outgoing/      every mail mailproc wrote to the person, as sent (.eml)
quarantine/    mail that could not be processed and names the person (.eml)

Left out: the support team's internal notes ({notes} on these cases).
"""


@dataclass
class Person:
    """What is held on one person: the rows, found once, for export and erasure alike."""

    addresses: tuple[str, ...]
    contacts: list[Contact] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)        # from or to them
    outgoing: list[OutboundMail] = field(default_factory=list)   # to them
    quarantined: list[RawMessage] = field(default_factory=list)  # naming them

    def wrote(self, message: Message) -> bool:
        return message.from_addr.lower() in self.addresses


def normalise(addresses) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))
    bad = [a for a in out if not re.fullmatch(r"[^@\s]+@[^@\s]+", a)]
    if bad or not out:
        raise ValueError(f"not a mail address: {', '.join(bad) or '(none given)'}")
    return out


def find_person(session: Session, addresses) -> Person:
    person = Person(normalise(addresses))
    mine = person.addresses
    person.contacts = list(session.scalars(select(Contact).where(
        func.lower(Contact.email).in_(mine)).order_by(Contact.id)))
    contact_ids = [c.id for c in person.contacts]
    case_ids = set(session.scalars(select(Message.case_id).where(
        func.lower(Message.from_addr).in_(mine), Message.case_id.is_not(None))))
    if contact_ids:
        case_ids |= set(session.scalars(select(Case.id).where(Case.customer_id.in_(contact_ids))))
        case_ids |= set(session.scalars(select(Participant.case_id).where(
            Participant.contact_id.in_(contact_ids))))
    person.cases = list(session.scalars(select(Case).where(Case.id.in_(case_ids))
                                        .order_by(Case.id))) if case_ids else []
    candidates = session.scalars(select(Message).where(or_(
        Message.case_id.in_(case_ids) if case_ids else False,
        func.lower(Message.from_addr).in_(mine))).order_by(Message.id))
    person.messages = [m for m in candidates if person.wrote(m) or any(
        a.lower() in mine for a in [*(m.to_addrs or []), *(m.cc_addrs or [])])]
    person.outgoing = [o for o in session.scalars(select(OutboundMail).where(or_(
        func.lower(OutboundMail.recipient).in_(mine),
        OutboundMail.case_id.in_(case_ids) if case_ids else False)).order_by(OutboundMail.id))
        if any(a.lower() in mine for a in o.to_addrs or [])]
    pattern = [a.encode() for a in mine]
    person.quarantined = [r for r in session.scalars(
        select(RawMessage).join(Quarantine, Quarantine.raw_id == RawMessage.id)
        .order_by(RawMessage.id)) if any(p in _raw(r).lower() for p in pattern)]
    return person


def _raw(row: RawMessage) -> bytes:
    try:
        return load_raw(row)
    except FileNotFoundError:
        return b""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _phones(person: Person, contact: Contact, region: str) -> list[dict]:
    """Each number with the messages whose signature (or text) it was learnt from."""
    out = []
    for number in contact.phones or []:
        found = [{"message_id": m.message_id, "date": _iso(m.date_at)}
                 for m in person.messages
                 if m.from_addr.lower() == contact.email.lower()
                 and number in extract_phones(m.signature or m.body_text or "", region)]
        out.append({"number": number, "learnt_from": found})
    return out


def _case(session: Session, case: Case, person: Person) -> dict:
    messages = [m for m in case.messages if not m.internal]
    events = session.scalars(select(Event).where(Event.case_id == case.id, Event.kind != "note")
                             .order_by(Event.id)).all()
    outgoing = session.scalars(select(OutboundMail).where(OutboundMail.case_id == case.id)
                               .order_by(OutboundMail.id)).all()
    return {
        "ref": case.ref, "subject": case.subject, "status": case.status.value,
        "priority": case.priority, "team": case.team, "created_at": _iso(case.created_at),
        "first_response_due_at": _iso(case.first_response_due_at),
        "resolution_due_at": _iso(case.resolution_due_at),
        "first_responded_at": _iso(case.first_responded_at),
        "resolved_at": _iso(case.resolved_at), "closed_at": _iso(case.closed_at),
        "kb_suggestions": case.kb_suggestions or [], "resolved_by_kb": case.resolved_by_kb,
        "role": "customer" if case.customer_id in {c.id for c in person.contacts} else "copied",
        "messages": [{"message_id": m.message_id, "direction": m.direction.value,
                      "from": m.from_addr, "from_name": m.from_name, "to": m.to_addrs,
                      "cc": m.cc_addrs, "date": _iso(m.date_at), "subject": m.subject,
                      "text": m.body_text, "new_text": m.new_text,
                      "attachments": [{"filename": a.filename, "type": a.content_type,
                                       "size": a.size} for a in m.attachments]}
                     for m in messages],
        "events": [{"at": _iso(e.at), "actor": e.actor, "kind": e.kind, "detail": e.detail}
                   for e in events],
        "outgoing": [{"kind": o.kind, "to": o.to_addrs, "subject": o.subject,
                      "status": o.status.value, "attempts": o.attempts,
                      "created_at": _iso(o.created_at), "sent_at": _iso(o.sent_at),
                      "last_error": o.last_error} for o in outgoing],
    }


def export_person(app, session: Session, addresses, out: Path, *, actor: str) -> dict:
    """Write the zip; returns what went in, counted. The export is an event with its actor
    that names the person only by a salted hash."""
    person = find_person(session, addresses)
    region = app.settings.support.phone_region
    notes = session.scalar(select(func.count()).select_from(Event).where(
        Event.case_id.in_([c.id for c in person.cases]), Event.kind == "note")) \
        if person.cases else 0
    people = [{"email": c.email, "name": c.name, "phones": _phones(person, c, region),
               "undeliverable_until": _iso(c.undeliverable_until),
               "undeliverable_reason": c.undeliverable_reason,
               "first_seen": _iso(c.created_at)} for c in person.contacts]
    raws = {m.raw_id: m for m in person.messages if m.raw_id is not None}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(
            addresses=", ".join(person.addresses), at=app.clock.now().isoformat(), notes=notes))
        archive.writestr("person.json", json.dumps(
            {"addresses": person.addresses, "contacts": people}, indent=2, ensure_ascii=False))
        archive.writestr("cases.json", json.dumps(
            [_case(session, c, person) for c in person.cases], indent=2, ensure_ascii=False))
        for raw_id in sorted(raws):
            row = session.get(RawMessage, raw_id)
            archive.writestr(f"mail/{raw_id:06d}.eml", _raw(row))
        for row in person.outgoing:
            if row.raw:
                archive.writestr(f"outgoing/{row.id:06d}-{row.kind}.eml", row.raw)
        for row in person.quarantined:
            archive.writestr(f"quarantine/{row.id:06d}.eml", _raw(row))
    summary = {"addresses": list(person.addresses), "contacts": len(person.contacts),
               "cases": len(person.cases), "mail": len(raws), "outgoing": len(person.outgoing),
               "quarantined": len(person.quarantined), "internal_notes_left_out": notes,
               "file": str(out)}
    record_event(session, None, actor=actor, kind="privacy_exported",
                 detail=f"a person's data was exported: {len(person.cases)} case(s), "
                        f"{len(raws)} mail", now=app.clock.now(),
                 data={"address_hashes": [address_hash(app, a) for a in person.addresses]})
    return summary


def address_hash(app, address: str) -> str:
    """The salted hash privacy events keep: the same address always gives the same value,
    and nobody without the secret key can test an address against it."""
    return hmac.new(app.secret_key, b"privacy:" + address.lower().encode(),
                    hashlib.sha256).hexdigest()
