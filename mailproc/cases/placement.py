"""Place a classified, threaded message: join its case or open one, with its people."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailproc.cases.records import add_participants, get_contact, open_case, record_event
from mailproc.classify.rules import NO_CASE_KINDS, Classification
from mailproc.models import Case, RawMessage
from mailproc.parse.message import ParsedMessage
from mailproc.people.phones import extract_phones, merge_phones
from mailproc.store.raw import mailbox_name
from mailproc.thread.rules import ThreadMatch
from mailproc.thread.subjects import normalize_subject

if TYPE_CHECKING:
    from mailproc.app import App

MAX_PEOPLE = 100     # participants one message can add to a case


def learn_phones(app: App, session: Session, msg: ParsedMessage, now: datetime) -> None:
    """Numbers in a signature go on the contact: the phone list calls them when mail fails."""
    phones = extract_phones(msg.signature, app.settings.support.phone_region)
    if phones:
        contact = get_contact(session, msg.from_addr, msg.from_name, now)
        contact.phones = merge_phones(list(contact.phones or []), phones)


def place(app: App, session: Session, row: RawMessage, msg: ParsedMessage,
          verdict: Classification, match: ThreadMatch, now: datetime) -> Case | None:
    if match.case_id is not None:
        case = session.get(Case, match.case_id)
        case.updated_at = now
        if verdict.kind not in NO_CASE_KINDS:
            _add_people(app, session, case, msg, now)
        return case
    if verdict.kind in NO_CASE_KINDS:
        record_event(session, None, actor=msg.from_addr or "unknown", kind="unthreaded",
                     detail=f"{verdict.kind} {msg.message_id} matched no case ({verdict.reason})",
                     now=now, data={"raw_id": row.id})
        return None
    name = mailbox_name(session, row.mailbox_id)
    customer = get_contact(session, msg.from_addr or "unknown@invalid", msg.from_name, now,
                           flush=False)
    mailbox = next((m for m in app.settings.mailboxes if m.name == name), None)
    case = open_case(session, subject=msg.subject, normalized_subject=normalize_subject(msg.subject),
                     customer=customer, mailbox_id=row.mailbox_id,
                     priority=mailbox.default_priority if mailbox else "normal",
                     team=mailbox.team if mailbox else "", ref_base=app.settings.support.ref_base,
                     now=now, linked_case_id=match.linked_case_id)
    record_event(session, case.id, actor=msg.from_addr, kind="case_opened",
                 detail=f"opened by {msg.message_id} ({match.reason})", now=now,
                 data={"rule": match.rule, "linked_case_id": match.linked_case_id})
    _add_people(app, session, case, msg, now)
    return case


def _add_people(app: App, session: Session, case: Case, msg: ParsedMessage, now: datetime) -> None:
    people = [(msg.from_name, msg.from_addr)] + list(msg.to) + list(msg.cc)
    agents = app.agents
    # Agents are never customer participants: relays to customers must not reach them.
    unique: dict[str, tuple[str, str]] = {}
    for name, address in people:
        if address and not app.is_own(address) and agents.by_address(address) is None:
            unique.setdefault(address.lower(), (name, address.lower()))
    people = list(unique.values())
    if len(people) > MAX_PEOPLE:
        # A mail to a whole company is not a conversation with all of it: an agent's reply
        # goes to the sender and the first addressees; the message keeps every address.
        record_event(session, case.id, actor="mailproc", kind="participants_capped",
                     detail=f"{msg.message_id} names {len(people)} people: the first "
                            f"{MAX_PEOPLE} became participants", now=now,
                     data={"named": len(people)})
        people = people[:MAX_PEOPLE]
    add_participants(session, case, people, role="customer", now=now)
