"""Which cases a viewer may see, and the case list's filters, search and keyset pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Mapping
from urllib.parse import quote

from sqlalchemy import and_, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from mailproc.models import MESSAGE_WORDS, SIMPLE, Case, CaseStatus, Contact, Message
from mailproc.web.accounts import Viewer

if TYPE_CHECKING:
    from mailproc.app import App

OPEN = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING)
PAGE_SIZE = 50
BREACH_HORIZON = timedelta(hours=4)       # business hours
WORD = re.compile(r"[^\W_]+")


def visible(viewer: Viewer):
    """Admins and leads see every case; an agent the cases of their team and their own."""
    if viewer.sees_all:
        return None
    mine = [Case.assignee.in_(_names(viewer))]
    if viewer.agent.team:
        mine.append(Case.team == viewer.agent.team)
    return or_(*mine)


def _names(viewer: Viewer) -> tuple[str, ...]:
    return (viewer.agent.name, viewer.agent.key, viewer.email)


def live(session: Session):
    """Cases not merged into another one.

    SQLite's statistics average over the few merged ids, so that it takes "IS NULL" for a
    selective index lookup although it matches nearly every case; the unary + keeps the
    condition a plain filter there. PostgreSQL knows better from its own statistics."""
    if session.get_bind().dialect.name == "sqlite":
        return literal_column("+cases.merged_into_id").is_(None)
    return Case.merged_into_id.is_(None)


def may_see(viewer: Viewer, case: Case) -> bool:
    return viewer.sees_all or case.assignee in _names(viewer) \
        or (bool(viewer.agent.team) and case.team == viewer.agent.team)


def breach_cutoff(app: "App", now: datetime) -> datetime:
    """The end of the next four business hours."""
    return app.service_levels.calendar.add_business_time(now, BREACH_HORIZON)


def breaching(cutoff: datetime):
    """Open cases whose next deadline (first response, then resolution) falls before cutoff."""
    return and_(Case.status.in_(OPEN), or_(
        and_(Case.first_responded_at.is_(None), Case.first_response_due_at <= cutoff),
        and_(Case.resolved_at.is_(None), Case.resolution_due_at <= cutoff)))


@dataclass(frozen=True)
class Filters:
    status: str = ""          # a status, "open" = new+open+pending (default), or "all"
    priority: str = ""
    team: str = ""
    assignee: str = ""
    breach: bool = False
    incident: str = ""        # "any" or an incident id
    q: str = ""
    after: str = ""           # keyset: "<updated_at iso>|<id>" of the last row shown

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> "Filters":
        def get(name: str) -> str:
            return str(params.get(name, "")).strip()[:200]
        return cls(status=get("status") or "active", priority=get("priority"), team=get("team"),
                   assignee=get("assignee"), breach=get("breach") == "1",
                   incident=get("incident"), q=get("q"), after=get("after"))

    def query_string(self, **changes) -> str:
        values = {**self.__dict__, **changes}
        values["breach"] = "1" if values["breach"] else ""
        return "&".join(f"{k}={quote(str(v), safe='')}" for k, v in values.items() if v)


def list_cases(app: "App", session: Session, viewer: Viewer, f: Filters,
               now: datetime) -> tuple[list, str]:
    """One page of cases, newest activity first, and the keyset token of the next page."""
    query = (select(Case.id, Case.ref, Case.subject, Case.status, Case.priority, Case.team,
                    Case.assignee, Case.updated_at, Case.first_response_due_at,
                    Case.first_responded_at, Case.resolution_due_at, Case.incident_id,
                    Contact.email, Contact.name)
             .outerjoin(Contact, Contact.id == Case.customer_id)
             .where(live(session)))
    scope = visible(viewer)
    if scope is not None:
        query = query.where(scope)
    if f.status == "active":
        query = query.where(Case.status.in_(OPEN))
    elif f.status in {s.value for s in CaseStatus}:
        query = query.where(Case.status == CaseStatus(f.status))
    for column, value in ((Case.priority, f.priority), (Case.team, f.team),
                          (Case.assignee, f.assignee)):
        if value:
            query = query.where(column == ("" if value == "-" else value))
    if f.breach:
        query = query.where(breaching(breach_cutoff(app, now)))
    if f.incident == "any":
        query = query.where(Case.incident_id.is_not(None))
    elif f.incident.removeprefix("INC-").isdigit():
        query = query.where(Case.incident_id == int(f.incident.removeprefix("INC-")))
    if f.q:
        few = f.status in ("active", *(s.value for s in OPEN))
        query = query.where(_search(f.q, session.get_bind().dialect.name, few))
    if f.after:
        stamp, _, last_id = f.after.partition("|")
        try:
            at, last = datetime.fromisoformat(stamp), int(last_id)
        except ValueError:
            at, last = None, 0
        if at is not None:
            query = query.where(or_(Case.updated_at < at,
                                    and_(Case.updated_at == at, Case.id < last)))
    rows = session.execute(query.order_by(Case.updated_at.desc(), Case.id.desc())
                           .limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    token = f"{rows[-1].updated_at.isoformat()}|{rows[-1].id}" if more else ""
    return rows, token


def _search(q: str, dialect: str, few: bool):
    """A ref (#1042 or 1042), a customer's address or name, words of the subject or text.

    The cases are found by each way apart (a union of ids, each read by an index or one scan
    of its table) rather than by trying every way on every case. The text of the messages is
    searched for three characters or more, but not for a ref (#1042) or an address (an @ in
    it): those name a case or a customer outright."""
    ref = q.lstrip("#")
    like = f"%{q.lower().replace('%', '').replace('_', '')}%"
    folded = f"%{q.casefold().replace('%', '').replace('_', '')}%"
    # Addresses are kept in lower case and subjects also case-folded (without Re: and tags):
    # no lower() to compute for every row.
    customers = select(Contact.id).where(or_(Contact.email.like(like),
                                             func.lower(Contact.name).like(like)))
    ways = [select(Case.id).where(Case.ref == ref),
            select(Case.id).where(Case.normalized_subject.like(folded)),
            select(Case.id).where(Case.customer_id.in_(customers))]
    text = len(q) >= 3 and not q.startswith("#") and "@" not in q
    words = WORD.findall(q.lower())[:8]
    if text and words and dialect == "postgresql":
        # Its full-text index (models.MESSAGE_WORDS): words that start with each word typed
        # (whole words under three letters).
        terms = " & ".join(f"{w}:*" if len(w) >= 3 else w for w in words)
        ways.append(select(Message.case_id).where(
            MESSAGE_WORDS.op("@@")(func.to_tsquery(SIMPLE, terms))))
    # SQLite has no such index: the text as typed, anywhere in a message (LIKE ignores ASCII
    # case there, as lower() does), looked for in the messages of each case that the other
    # filters leave when they are few (open cases), else in one scan of all messages.
    in_text = Message.new_text.like(like)
    if text and dialect != "postgresql" and not few:
        ways.append(select(Message.case_id).where(in_text))
    found = Case.id.in_(union_all(*ways))
    if text and dialect != "postgresql" and few:
        found = or_(found, exists().where(Message.case_id == Case.id, in_text))
    return found


def counts(session: Session, viewer: Viewer, *conditions) -> int:
    query = select(func.count()).select_from(Case).where(live(session), *conditions)
    scope = visible(viewer)
    return session.scalar(query.where(scope) if scope is not None else query) or 0
