"""Cases, contacts, participants and the event trail: the case record and its history."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, bindparam, event, insert, select
from sqlalchemy.orm import Session

from mailproc.models import Case, CaseStatus, Contact, Event, Participant
from mailproc.thread.nearby import domain_of

log = logging.getLogger(__name__)
# Built once: building a statement costs more than SQLite takes to run it.
_INSERT_EVENT = insert(Event.__table__)
_HELD = "mailproc_held_events"     # session.info: events not written yet (hold_events)
_INSERT_PARTICIPANTS = insert(Participant.__table__)
_CONTACT = select(Contact).where(Contact.email == bindparam("email"))
_INSERT_CONTACTS = insert(Contact.__table__).returning(Contact.__table__.c.id,
                                                       Contact.__table__.c.email)
_PEOPLE = (select(Contact.id, Contact.email, Contact.name, Participant.id)
           .outerjoin(Participant, and_(Participant.contact_id == Contact.id,
                                        Participant.case_id == bindparam("case_id")))
           .where(Contact.email.in_(bindparam("emails", expanding=True))))


def record_event(session: Session, case_id: int | None, *, actor: str, kind: str, detail: str,
                 now: datetime, data: dict | None = None) -> None:
    """Append to the trail: a Core insert on the session's connection (no ORM object, no
    autoflush: the trail is only appended to, and the unit of work cost four times the
    statement on the inbound path). In a session that holds events back (hold_events), kept
    until the commit or until a reader of the trail asks (write_events)."""
    row = {"case_id": case_id, "at": now, "actor": actor, "kind": kind, "detail": detail,
           "data": dict(data or {})}       # as it is now, whatever the caller does later
    held = session.info.get(_HELD)
    if held is None:
        session.connection().execute(_INSERT_EVENT, row)
    else:
        held.append(row)


def hold_events(session: Session) -> None:
    """From now on this session's events are written together: one statement at the commit
    (or before a read of the trail) instead of one round trip each. The inbound batch asks
    for it: a batch of 32 messages records about a hundred events."""
    session.info.setdefault(_HELD, [])


@event.listens_for(Session, "before_commit")
def write_events(session: Session) -> None:
    """Write the events this session holds back. A reader of the trail that runs in the
    inbound batch (after_message's forged copies, templating's history) calls it before it
    reads, so the transaction sees its own events; the commit calls it last."""
    held = session.info.get(_HELD)
    if held:
        session.connection().execute(_INSERT_EVENT, held)
        held.clear()


def get_contact(session: Session, email: str, name: str, now: datetime, *,
                flush: bool = True) -> Contact:
    """The contact of `email`, added when new; written at once unless `flush` is False (its
    id then comes with the caller's next flush: a new case's, in one unit of work)."""
    email = email.strip().lower()
    contact = session.scalar(_CONTACT, {"email": email})
    if contact is None:
        contact = Contact(email=email, name=name or "", phones=[], created_at=now)
        session.add(contact)
        if flush:
            session.flush()
    elif name and not contact.name:
        contact.name = name
    return contact


def add_participants(session: Session, case: Case, people: Iterable[tuple[str, str]], *,
                     role: str, now: datetime) -> list[str]:
    """Make each (name, address) a participant of `case` once; returns the addresses added.
    A constant number of statements however many people a message names (lists Cc dozens):
    one read of the contacts with their place on the case, one insert of the new contacts,
    one of the new participants (Core: no ORM object for any of them)."""
    wanted: dict[str, str] = {}
    for name, address in people:
        address = (address or "").strip().lower()
        if address and address not in wanted:
            wanted[address] = name or ""
    if not wanted:
        return []
    rows = session.connection().execute(     # no flush: nothing pending is read here
        _PEOPLE, {"case_id": case.id, "emails": list(wanted)}).all()
    ids = {email: contact_id for contact_id, email, _, _ in rows}
    present = {email for _, email, _, participant in rows if participant is not None}
    for contact_id, email, name, _ in rows:
        if wanted[email] and not name:    # rare: through the ORM, whose copy may be in hand
            session.get(Contact, contact_id).name = wanted[email]
    new = [{"email": a, "name": n, "phones": [], "created_at": now}
           for a, n in wanted.items() if a not in ids]
    if new:
        ids.update((email, contact_id) for contact_id, email in session.connection().execute(
            _INSERT_CONTACTS, new))
    added = [a for a in wanted if a not in present]
    if added:
        session.connection().execute(_INSERT_PARTICIPANTS, [
            {"case_id": case.id, "contact_id": ids[a], "role": role} for a in added])
    return added


def merged_refs(session: Session, case_id: int) -> list[str]:
    """Refs of the cases merged into `case_id`, directly or through other merges."""
    refs: list[str] = []
    seen, frontier = {case_id}, [case_id]
    while frontier:
        rows = session.execute(select(Case.id, Case.ref).where(
            Case.merged_into_id.in_(frontier))).all()
        frontier = [cid for cid, _ in rows if cid not in seen]
        seen.update(frontier)
        refs += [ref for cid, ref in rows if cid in frontier]
    return refs


def open_case(session: Session, *, subject: str, normalized_subject: str, customer: Contact,
              mailbox_id: int | None, priority: str, team: str, ref_base: int, now: datetime,
              linked_case_id: int | None = None) -> Case:
    case = Case(subject=subject, normalized_subject=normalized_subject[:300],
                customer=customer, customer_domain=domain_of(customer.email) or None,
                mailbox_id=mailbox_id, priority=priority, team=team,
                status=CaseStatus.NEW, created_at=now, updated_at=now,
                last_customer_message_at=now, linked_case_id=linked_case_id, kb_suggestions=[])
    session.add(case)
    session.flush()     # the customer too, when new: one unit of work for both
    # The public reference follows the row id: unique without a sequence of its own (written
    # by the next flush, with the message's other changes to the case).
    case.ref = str(ref_base + case.id)
    return case
