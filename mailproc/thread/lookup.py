"""The ThreadLookup the threading rules ask, answered from the database."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm import Session

from mailproc.models import (
    Case, Contact, Direction, Message, MessagePrint, MessageRef, OutboundMail, Participant,
)
from mailproc.store.messages import bare_id
from mailproc.thread.nearby import RecentCase, domain_of


def _nearest(ids: Sequence[str], found: dict[str, int]) -> int | None:
    for mid in reversed(list(ids)):  # nearest parent first
        if mid in found:
            return found[mid]
    return None


class DbThreadLookup:
    """The ThreadLookup the threading rules ask, answered from the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def case_for_signed_ref(self, ref: str) -> int | None:
        return self.case_for_ref(ref)

    def case_for_ref(self, ref: str) -> int | None:
        return self._live(self.session.scalar(select(Case.id).where(Case.ref == ref)))

    def _live(self, case_id: int | None) -> int | None:
        """The case that mail for `case_id` belongs in now: a merged case's target."""
        seen: set[int] = set()
        while case_id and case_id not in seen:   # merges chain: A into B, B into C
            seen.add(case_id)
            merged_into = self.session.scalar(
                select(Case.merged_into_id).where(Case.id == case_id))
            if not merged_into:
                break
            case_id = merged_into
        return case_id

    def case_for_message_ids(self, ids: Sequence[str]) -> int | None:
        ids = [bare_id(i) for i in ids]
        if not ids:
            return None
        found: dict[str, int] = {}
        rows = self.session.execute(select(Message.message_id, Message.case_id).where(
            Message.message_id.in_(ids), Message.case_id.is_not(None))).all()
        found.update({mid: cid for mid, cid in rows})
        rows = self.session.execute(select(OutboundMail.message_id, OutboundMail.case_id).where(
            OutboundMail.message_id.in_(ids + [f"<{i}>" for i in ids]),
            OutboundMail.case_id.is_not(None))).all()
        for mid, cid in rows:
            found.setdefault(bare_id(mid), cid)
        return self._live(_nearest(ids, found))

    def case_for_copy(self, message_id: str, sender: str, subject: str) -> int | None:
        return self._live(self.session.scalar(
            select(Message.case_id).where(
                Message.message_id == bare_id(message_id), Message.from_addr == sender,
                Message.subject == subject, Message.direction == Direction.IN,
                Message.case_id.is_not(None)).order_by(Message.id).limit(1)))

    def case_for_referenced_ids(self, ids: Sequence[str]) -> int | None:
        ids = [bare_id(i) for i in ids]
        if not ids:
            return None
        rows = self.session.execute(select(MessageRef.ref_id, MessageRef.case_id).where(
            MessageRef.ref_id.in_(ids), MessageRef.case_id.is_not(None))
            .order_by(MessageRef.id)).all()
        return self._live(_nearest(ids, {rid: cid for rid, cid in rows}))

    def is_participant(self, case_id: int, address: str) -> bool:
        return self.session.scalar(
            select(Participant.id).join(Contact, Contact.id == Participant.contact_id)
            .where(Participant.case_id == case_id, Contact.email == address.lower())) is not None

    def recent_case_for_subject(self, sender: str, normalized_subject: str,
                                since_at: datetime) -> int | None:
        return self.session.scalar(
            select(Message.case_id).join(Case, Case.id == Message.case_id)
            .where(Message.from_addr == sender.lower(), Case.normalized_subject == normalized_subject,
                   Message.date_at >= since_at)
            .order_by(Message.date_at.desc()).limit(1))

    def recent_cases_near(self, sender: str, domain: str | None,
                          since_at: datetime, limit: int = 40) -> list[RecentCase]:
        """By index: the sender's contact, its cases as customer or participant; with
        `domain`, the cases of the contacts at that domain (a scan of contacts, asked only
        for a colleague's reply that no header placed)."""
        contacts = select(Contact.id).where(Contact.email == sender.lower())
        if domain:
            contacts = contacts.union(select(Contact.id).where(
                Contact.email.like(f"%@{_like(domain)}", escape="\\")))
        contact_ids = list(self.session.scalars(contacts))
        if not contact_ids:
            return []
        ids = set(self.session.scalars(select(Case.id).where(Case.customer_id.in_(contact_ids))))
        ids |= set(self.session.scalars(select(Participant.case_id).where(
            Participant.contact_id.in_(contact_ids))))
        if not ids:
            return []
        return self._describe(ids, since_at, limit)

    def cases_quoting(self, prints, least: int, shared: int = 2) -> list[tuple[RecentCase, int]]:
        """By the prints' index: per stored message the prints it shares, the best per case.
        A print found in more than `shared` cases is boilerplate (a disclaimer, a template,
        a newsletter) and says nothing about which case is quoted: it is not counted."""
        if not prints:
            return []
        spread = self.session.execute(
            select(MessagePrint.print, func.count(func.distinct(Message.case_id)))
            .join(Message, Message.id == MessagePrint.message_pk)
            .where(MessagePrint.print.in_(list(prints)), Message.case_id.is_not(None))
            .group_by(MessagePrint.print)).all()
        telling = [p for p, cases in spread if cases <= shared]
        if len(telling) < least:
            return []
        rows = self.session.execute(
            select(Message.case_id, func.count(MessagePrint.id))
            .join(Message, Message.id == MessagePrint.message_pk)
            .where(MessagePrint.print.in_(telling), Message.case_id.is_not(None))
            .group_by(Message.id, Message.case_id)).all()
        best: dict[int, int] = {}
        for case_id, hits in rows:
            case_id = self._live(case_id)
            if hits >= least and case_id is not None:
                best[case_id] = max(best.get(case_id, 0), hits)
        if not best:
            return []
        return [(case, best[case.case_id]) for case in self._describe(set(best), None, 20)]

    def _describe(self, ids, since_at: datetime | None, limit: int) -> list[RecentCase]:
        customer = aliased(Contact)
        where = [Case.id.in_(ids), Case.merged_into_id.is_(None)]
        if since_at is not None:
            where.append(Case.updated_at >= since_at)
        rows = self.session.execute(
            select(Case.id, Case.normalized_subject, Case.updated_at, customer.email)
            .outerjoin(customer, customer.id == Case.customer_id)
            .where(*where).order_by(Case.updated_at.desc()).limit(limit)).all()
        people: dict[int, set[str]] = {r[0]: {r[3]} if r[3] else set() for r in rows}
        for case_id, email in self.session.execute(
                select(Participant.case_id, Contact.email)
                .join(Contact, Contact.id == Participant.contact_id)
                .where(Participant.case_id.in_(people))):
            people[case_id].add(email)
        return [RecentCase(case_id, subject or "", at, domain_of(email or ""),
                           frozenset(people[case_id]))
                for case_id, subject, at, email in rows]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
