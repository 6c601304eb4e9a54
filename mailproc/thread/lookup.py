"""The ThreadLookup the threading rules ask, answered from the database.

Each question is one read by index (a quote's two), whatever the history holds
(bench/threading_lookup.py times them at a million messages): by Message-ID, by reference,
by sender and subject, by the sender's contact, by the customer's domain (cases'
ix_cases_domain_updated), by fingerprint. The statements
are built once: building one costs more than PostgreSQL takes to answer it.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Sequence

from sqlalchemy import (
    BigInteger, bindparam, func, literal, null, select, text, union, union_all,
)
from sqlalchemy.orm import Session, aliased

from mailproc.db import core
from mailproc.models import (
    Case, Contact, Direction, Message, MessagePrint, MessageRef, OutboundMail,
    Participant, RawMessage,
)
from mailproc.store.messages import bare_id
from mailproc.thread.nearby import RecentCase, domain_of

# Messages looked at per print to tell boilerplate (in more than a few cases) from a passage
# of one conversation: a print that thousands of messages hold (a disclaimer) costs no more.
SPREAD_PROBE = 32
QUOTED_CASES = 20       # cases described for a quote, the best first
RECENT_CASES = 40       # cases described for the nearby rules, the most recently active first
PREFETCH_IDS = 4        # ids a message names read ahead with its own: the nearest (parents)


def _in(name: str):
    return bindparam(name, expanding=True)


_ids = _in("ids")
# Stored mail (rank 0) and our own outgoing mail (rank 1) by Message-ID, with what the copy
# rule compares (sender, subject, direction; NULL for ours).
_MESSAGE_CASES = union_all(
    select(literal(0).label("rank"), Message.message_id, Message.case_id, Case.merged_into_id,
           Message.id, Message.from_addr, Message.subject, Message.direction)
    .join(Case, Case.id == Message.case_id).where(Message.message_id.in_(_ids)),
    select(literal(1), OutboundMail.message_id, OutboundMail.case_id, Case.merged_into_id,
           null(), null(), null(), null())
    .join(Case, Case.id == OutboundMail.case_id).where(OutboundMail.message_id.in_(_in("both"))))
_REFERENCED_CASES = (select(MessageRef.ref_id, MessageRef.case_id, Case.merged_into_id)
                     .join(Case, Case.id == MessageRef.case_id)
                     .where(MessageRef.ref_id.in_(_ids)).order_by(MessageRef.id))
_REF = select(Case.id, Case.merged_into_id).where(Case.ref == bindparam("ref"))
_MERGED_INTO = select(Case.merged_into_id).where(Case.id == bindparam("case_id"))
_PARTICIPANT = (select(Participant.id).join(Contact, Contact.id == Participant.contact_id)
                .where(Participant.case_id == bindparam("case_id"),
                       Contact.email == bindparam("address")).limit(1))
_SENDER_SUBJECT = (select(Message.case_id).join(Case, Case.id == Message.case_id)
                   .where(Message.from_addr == bindparam("sender"),
                          Case.normalized_subject == bindparam("subject"),
                          Message.date_at >= bindparam("since"))
                   .order_by(Message.date_at.desc()).limit(1))
_HELD = (select(MessagePrint.print, Message.case_id).distinct()
         .join(Message, Message.id == MessagePrint.message_pk)
         .where(MessagePrint.print.in_(_in("prints")), Message.case_id.in_(_in("cases"))))


# Any of the ids mail mailproc holds or sent, or a stored message names: a raw message not yet
# processed counts (its case will be there when the ordered step reaches the mail naming it).
_KNOWN = union_all(
    select(RawMessage.id).where(RawMessage.header_message_id.in_(_ids)),
    select(OutboundMail.id).where(OutboundMail.message_id.in_(_in("both"))),
    select(MessageRef.id).where(MessageRef.ref_id.in_(_ids))).limit(1)
# The cases of _MESSAGE_CASES's rows, whole: the ORM objects placement asks for.
_NAMED_CASES = select(Case).where(Case.id.in_(select(_MESSAGE_CASES.subquery().c.case_id)))


def _message_ids(ids: list[str]) -> dict:
    """_MESSAGE_CASES's parameters for bare ids: outgoing rows may hold them in brackets."""
    return {"ids": ids, "both": ids + [f"<{i}>" for i in ids]}


def named_cases(session: Session, named: Sequence[str]) -> list[Case]:
    """The cases the Message-IDs in `named` (those a batch's mail replies to) belong to, read
    in one statement: a reply's case is then in the session when it is placed, instead of one
    read per reply. A read ahead only: threading still decides."""
    ids = list(dict.fromkeys(bare_id(i) for i in named))
    if not ids:
        return []
    return list(session.scalars(_NAMED_CASES, _message_ids(ids)))


def _near(colleagues: bool):
    """Ids of the cases the sender takes part in (as customer or participant) and, with
    `colleagues`, of those active since `since` whose customer is at `domain`."""
    contact = select(Contact.id).where(Contact.email == bindparam("sender")).scalar_subquery()
    parts = [select(Case.id).where(Case.customer_id == contact),
             select(Participant.case_id).where(Participant.contact_id == contact)]
    if colleagues:
        parts.append(select(Case.id).where(Case.customer_domain == bindparam("domain"),
                                           Case.updated_at >= bindparam("since")))
    return union(*parts)


def _described(ids, windowed: bool):
    """(case, subject, last active, customer's address, a participant's address) rows of the
    `limit` most recently active live cases among `ids`, one per participant."""
    where = [Case.id.in_(ids), Case.merged_into_id.is_(None)]
    if windowed:
        where.append(Case.updated_at >= bindparam("since"))
    chosen = (select(Case.id, Case.normalized_subject, Case.updated_at, Case.customer_id)
              .where(*where).order_by(Case.updated_at.desc()).limit(bindparam("limit"))
              .subquery("chosen"))
    customer, person = aliased(Contact), aliased(Contact)
    return (select(chosen.c.id, chosen.c.normalized_subject, chosen.c.updated_at,
                   customer.email, person.email)
            .outerjoin(customer, customer.id == chosen.c.customer_id)
            .outerjoin(Participant, Participant.case_id == chosen.c.id)
            .outerjoin(person, person.id == Participant.contact_id)
            .order_by(chosen.c.updated_at.desc(), chosen.c.id))


_NEAR = {colleagues: _described(_near(colleagues), True) for colleagues in (False, True)}
_QUOTED = _described(_in("ids"), False)


@cache
def _quoting(dialect: str):
    """Per stored message holding at least `least` of the telling prints: its case, where
    that case was merged, and how many it holds. A print is telling when the first
    SPREAD_PROBE messages holding it are in 1 to `shared` cases."""
    given = (text("SELECT unnest(CAST(:prints AS bigint[])) AS v") if dialect == "postgresql"
             else text("SELECT CAST(value AS INTEGER) AS v FROM json_each(:prints)"))
    given = given.columns(v=BigInteger).subquery("given")
    holder, holding = aliased(MessagePrint), aliased(Message)   # apart from the outer read
    first = (select(holder.message_pk).where(holder.print == given.c.v)
             .limit(SPREAD_PROBE).correlate(given))
    spread = (select(func.count(func.distinct(holding.case_id)))
              .where(holding.id.in_(first), holding.case_id.is_not(None))
              .correlate(given).scalar_subquery())
    telling = select(given.c.v).where(spread.between(1, bindparam("shared")))
    return (select(Message.case_id, Case.merged_into_id, func.count(MessagePrint.id))
            .join(Message, Message.id == MessagePrint.message_pk)
            .join(Case, Case.id == Message.case_id)
            .where(MessagePrint.print.in_(telling))
            .group_by(Message.id, Message.case_id, Case.merged_into_id)
            .having(func.count(MessagePrint.id) >= bindparam("least")))


def _nearest(ids: Sequence[str], found: dict[str, int]) -> int | None:
    for mid in reversed(list(ids)):  # nearest parent first
        if mid in found:
            return found[mid]
    return None


class DbThreadLookup:
    """The ThreadLookup the threading rules ask, answered from the database."""

    def __init__(self, session: Session, message_id: str | None = None,
                 named: Sequence[str] = ()) -> None:
        """`message_id` and `named` (the ids it names, the nearest last): the copy rule and
        the reference rules are answered from one read of these ids."""
        self.session = session
        self._ahead = ([bare_id(message_id)] if message_id else []) + \
            [bare_id(i) for i in named][-PREFETCH_IDS:]
        self._asked: set[str] = set()
        self._rows: list = []

    def _read(self, statement, params: dict):
        """Columns only: on the session's connection, without the ORM's execution path."""
        return core(self.session).execute(statement, params)

    def case_for_signed_ref(self, ref: str) -> int | None:
        return self.case_for_ref(ref)

    def case_for_ref(self, ref: str) -> int | None:
        row = self._read(_REF, {"ref": ref}).first()
        return self._live(*row) if row else None

    def _live(self, case_id: int | None, merged_into: int | None) -> int | None:
        """The case that mail for `case_id` belongs in now: a merged case's target. Callers
        that read the case's merged_into_id with it pass it: most cases were never merged."""
        seen: set[int] = set()
        while case_id and merged_into and case_id not in seen:  # merges chain: A into B into C
            seen.add(case_id)
            case_id = merged_into
            merged_into = self._read(_MERGED_INTO, {"case_id": case_id}).scalar()
        return case_id

    def _message_rows(self, ids: list[str]) -> list:
        """The _MESSAGE_CASES rows of `ids`, read once per id (with those given ahead)."""
        missing = [i for i in dict.fromkeys([*ids, *self._ahead]) if i not in self._asked]
        if missing:
            self._rows += self._read(_MESSAGE_CASES, _message_ids(missing)).all()
            self._asked.update(missing)
        wanted = set(ids)
        return [row for row in self._rows if bare_id(row[1]) in wanted]

    def case_for_message_ids(self, ids: Sequence[str]) -> int | None:
        ids = [bare_id(i) for i in ids]
        if not ids:
            return None
        found: dict[str, tuple[int, int | None]] = {}
        for _, mid, case_id, merged_into, *_ in sorted(self._message_rows(ids),
                                                       key=lambda r: r[0]):
            found.setdefault(bare_id(mid), (case_id, merged_into))   # ours after stored mail
        nearest = _nearest(ids, found)
        return self._live(*nearest) if nearest else None

    def case_for_copy(self, message_id: str, sender: str, subject: str) -> int | None:
        """The first stored inbound mail with this Message-ID, sender and subject."""
        own = bare_id(message_id)
        copies = sorted((pk, case_id, merged_into)
                        for rank, mid, case_id, merged_into, pk, from_addr, subj, direction
                        in self._message_rows([own])
                        if rank == 0 and mid == own and from_addr == sender
                        and subj == subject and direction == Direction.IN)
        return self._live(*copies[0][1:]) if copies else None

    def names_known_mail(self, ids: Sequence[str]) -> bool:
        """Whether any of `ids` is mail received (processed or not), mail sent, or named by
        stored mail: a reply to it is threaded, not a new case."""
        ids = [bare_id(i) for i in ids]
        return bool(ids) and self._read(_KNOWN, _message_ids(ids)).first() is not None

    def case_for_referenced_ids(self, ids: Sequence[str]) -> int | None:
        ids = [bare_id(i) for i in ids]
        if not ids:
            return None
        rows = self._read(_REFERENCED_CASES, {"ids": ids}).all()
        nearest = _nearest(ids, {rid: (case_id, merged) for rid, case_id, merged in rows})
        return self._live(*nearest) if nearest else None

    def is_participant(self, case_id: int, address: str) -> bool:
        return self._read(_PARTICIPANT, {"case_id": case_id,
                                         "address": address.lower()}).scalar() is not None

    def recent_case_for_subject(self, sender: str, normalized_subject: str,
                                since_at: datetime) -> int | None:
        return self._read(_SENDER_SUBJECT, {"sender": sender.lower(),
                                            "subject": normalized_subject,
                                            "since": since_at}).scalar()

    def recent_cases_near(self, sender: str, domain: str | None,
                          since_at: datetime, limit: int = RECENT_CASES) -> list[RecentCase]:
        """The cases of the sender's contact, as customer or participant, and with `domain`
        those active since `since_at` whose customer is at that domain (the colleague rules
        look at no other): one read."""
        params = {"sender": sender.lower(), "since": since_at, "limit": limit}
        if domain:
            params["domain"] = domain.lower()
        return self._describe(_NEAR[bool(domain)], params)

    def cases_quoting(self, prints, least: int, shared: int = 2) -> list[tuple[RecentCase, int]]:
        """By the prints' index: per stored message the prints it shares, the best per case.
        A print found in more than `shared` cases is boilerplate (a disclaimer, a template,
        a newsletter) and says nothing about which case is quoted: it is not counted. Its
        cases are counted among the first SPREAD_PROBE messages holding it."""
        prints = list(dict.fromkeys(int(p) for p in prints))
        if len(prints) < least:
            return []
        dialect = self.session.get_bind().dialect.name
        given = prints if dialect == "postgresql" else json.dumps(prints)
        best: dict[int, int] = {}
        for case_id, merged_into, hits in self._read(
                _quoting(dialect), {"prints": given, "shared": shared, "least": least}):
            case_id = self._live(case_id, merged_into)
            if case_id is not None:
                best[case_id] = max(best.get(case_id, 0), hits)
        if not best:
            return []
        ids = sorted(best, key=best.__getitem__, reverse=True)[:QUOTED_CASES]
        cases = self._describe(_QUOTED, {"ids": ids, "limit": QUOTED_CASES})
        return [(case, best[case.case_id]) for case in cases]

    def prints_held(self, prints, case_ids) -> dict[int, frozenset[int]]:
        """By the prints' index, kept to the few candidate cases."""
        if not prints or not case_ids:
            return {}
        held: dict[int, set[int]] = {}
        for value, case_id in self._read(_HELD, {"prints": list(prints),
                                                 "cases": list(case_ids)}):
            held.setdefault(case_id, set()).add(value)
        return {case_id: frozenset(values) for case_id, values in held.items()}

    def _describe(self, statement, params: dict) -> list[RecentCase]:
        cases: dict[int, tuple[str, datetime, str, set[str]]] = {}
        for case_id, subject, at, customer, person in self._read(statement, params):
            if case_id not in cases:
                cases[case_id] = (subject or "", at, customer or "",
                                  {customer} if customer else set())
            if person:
                cases[case_id][3].add(person)
        return [RecentCase(case_id, subject, at, domain_of(customer), frozenset(people))
                for case_id, (subject, at, customer, people) in cases.items()]
