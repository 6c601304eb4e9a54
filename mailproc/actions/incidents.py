"""Incidents: a burst of similar new cases becomes one incident with one ack text and one update."""

from __future__ import annotations

import functools
import logging
import math
import re
from collections import Counter, OrderedDict
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from mailproc.actions.notify import notify_agents
from mailproc.cases.lifecycle import change_status
from mailproc.cases.records import record_event
from mailproc.db import core
from mailproc.errors import MailprocError
from mailproc.models import Case, CaseStatus, Event, Incident, Message, RawMessage
from mailproc.outbox.automatic import enqueue_templated
from mailproc.people.directory import resolve_people
from mailproc.templating.context import case_context

log = logging.getLogger(__name__)
DEFAULT_MESSAGE = ("We know about this problem and are working on it. You do not need to do "
                   "anything: we will write to you as soon as it is fixed.")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STOP = frozenset("""the and for are but not you all any can had her was one our out has have
him his how its may new now see two who did get let say she too use with this that from they
will would there their what about which when your into than then them these some could been
were more also just like very does since here hello dear thanks thank regards best please help
issue problem cannot can't dont don't today morning since hi hallo und der die das ist nicht ich
wir sie mit von für auf bitte danke grüße gruß seit heute""".split())
RECENT_LIMIT = 300
START_CHARS = 400  # of a case's first text: all the comparison reads (and fetches)


def words(text: str) -> frozenset[str]:
    """Pure: the content words of a subject and text, lower-case, without stop words."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Pure: cosine similarity of two word sets (0..1)."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


# A case's words: its subject's and its first text's start's (a word boundary falls at the
# space between them, so each is cached on its own). The start of the text is enough: people
# name the outage first, then their details.
@functools.lru_cache(maxsize=2048)
def _subject_words(subject: str) -> frozenset[str]:
    return words(subject)


def _start_words(text: str) -> frozenset[str]:
    return _cut_words(text[:START_CHARS])


@functools.lru_cache(maxsize=2048)
def _cut_words(start: str) -> frozenset[str]:
    return words(start)


@functools.lru_cache(maxsize=4096)
def _case_words(subject: str, start: frozenset[str]) -> frozenset[str]:
    return _subject_words(subject) | start


class _FirstWords:
    """The words of the start of each recent case's first message: a new case compares itself
    with up to RECENT_LIMIT of them, each a new case's own a moment before. Keyed by message
    id and raw id together: a rolled-back row's id can come back for another mail on SQLite,
    its raw row's id cannot (it was committed first). Per process, the newest `size`, and
    only while they can be compared: an entry goes once mail that arrived a window after it
    is checked (so a text redacted meanwhile is not compared in its old words for long)."""

    def __init__(self, size: int = 4 * RECENT_LIMIT) -> None:
        self.size = size
        self._known: OrderedDict[tuple[int, int], tuple[datetime, frozenset[str]]] = \
            OrderedDict()

    def put(self, message: Message, arrived: datetime, start: frozenset[str]) -> None:
        if message.id is not None and message.raw_id is not None:
            self._remember((message.id, message.raw_id), (arrived, start))

    def _remember(self, key: tuple[int, int], value: tuple[datetime, frozenset[str]]) -> None:
        self._known[key] = value
        self._known.move_to_end(key)
        while len(self._known) > self.size:
            self._known.popitem(last=False)

    def forget_before(self, moment: datetime) -> None:
        """Drop the entries, oldest first, of mail that arrived before `moment`."""
        while self._known and next(iter(self._known.values()))[0] < moment:
            self._known.popitem(last=False)

    def of(self, session: Session, rows: list[tuple[int, int]]
           ) -> dict[tuple[int, int], tuple[datetime, frozenset[str]]]:
        """When the mail of each (message id, raw id) arrived and the words of its start,
        reading only those not remembered; a message without its raw row is left out."""
        found = {key: self._known[key] for key in rows if key in self._known}
        missing = {m: r for m, r in rows if (m, r) not in found}
        if missing:
            for message_id, arrived, new, body in core(session).execute(
                    _STARTS, {"ids": list(missing)}):
                key = (message_id, missing[message_id])
                found[key] = value = (arrived, _start_words(new or body or ""))
                self._remember(key, value)
        return found


_FIRST_WORDS = _FirstWords()
_STARTS = (select(Message.id, RawMessage.received_at,
                  func.substr(Message.new_text, 1, START_CHARS),
                  func.substr(Message.body_text, 1, START_CHARS))
           .join(RawMessage, RawMessage.id == Message.raw_id)
           .where(Message.id.in_(bindparam("ids", expanding=True))))
# The open cases without an incident opened since `start`, newest first, with their first
# message; built once (building it cost as much as SQLite takes to run it). When that mail
# arrived is asked of _FIRST_WORDS: SQLite keeps it behind the raw mail's bytes, and reading
# it with each of 300 rows doubled the cost of the check.
_RECENT = (
    select(Case.id, Case.subject, Message.id, Message.raw_id)
    .join(Message, Message.id == select(func.min(Message.id)).where(Message.case_id == Case.id)
          .correlate(Case).scalar_subquery())
    .where(Case.created_at >= bindparam("start"),
           Case.id != bindparam("case_id"), func.coalesce(Case.incident_id, 0) == 0,
           func.coalesce(Case.status, "").in_((CaseStatus.NEW, CaseStatus.OPEN)))
    .order_by(Case.created_at.desc(), Case.id.desc())
    .limit(bindparam("limit")).offset(bindparam("offset")))
_RECEIVED = select(RawMessage.received_at).where(RawMessage.id == bindparam("raw_id"))
_OPEN_INCIDENTS = (select(Incident).where(Incident.status == "open")
                   .order_by(Incident.id.desc()).limit(50))


def _arrival(session: Session, message: Message) -> datetime:
    """When the mail reached our server (IMAP INTERNALDATE, the file's time, else when we
    stored it); the Date header when there is no raw row."""
    if message.raw_id is not None:
        received = core(session).scalar(_RECEIVED, {"raw_id": message.raw_id})
        if received is not None:
            return received
    return message.date_at


def recent_case_words(session: Session, case: Case, arrived: datetime,
                      window_minutes: int) -> list[tuple[int, frozenset[str]]]:
    """The newest RECENT_LIMIT open cases without an incident whose first mail arrived within
    the window of `arrived`, with their words.

    The window is measured on when mail reached our server, not when we processed it: after
    a backlog (an outage, a first import), days of mail are processed in a minute. The scan
    walks the index of when cases were opened from the newest down to the window's start (a
    case is opened after its mail arrives), so it stops there however many cases are older;
    the incident and status columns are wrapped so that their indexes, which hold every
    case, are not the ones walked."""
    window = timedelta(minutes=window_minutes)
    start, end = arrived - window, arrived + window
    _FIRST_WORDS.forget_before(start)
    found: list[tuple[int, frozenset[str]]] = []
    offset = 0
    while len(found) < RECENT_LIMIT:
        rows = core(session).execute(_RECENT, {"start": start, "case_id": case.id,
                                               "limit": RECENT_LIMIT, "offset": offset}).all()
        known = _FIRST_WORDS.of(session, [(m, r) for _, _, m, r in rows if r is not None])
        for case_id, subject, message_id, raw_id in rows:
            at, start_words = known.get((message_id, raw_id), (None, None))
            if at is not None and start <= at <= end:
                found.append((case_id, _case_words(subject or "", start_words)))
        if len(rows) < RECENT_LIMIT:
            break
        offset += RECENT_LIMIT      # opened in the window, their mail arrived before it
    return found[:RECENT_LIMIT]


def incident_context(incident: Incident) -> dict:
    return {"id": f"INC-{incident.id}", "title": incident.title,
            "message": incident.message or DEFAULT_MESSAGE}


def on_new_case(app, session: Session, case: Case, message: Message,
                now: datetime) -> Incident | None:
    """Group a new case into an open incident, or open one when enough similar cases came in
    within the window; None when the case stands alone. Called in the pipeline's transaction."""
    settings = app.ladder.incidents
    if not settings.enabled:
        return None
    start = _start_words(message.new_text or message.body_text)
    mine = _case_words(case.subject or message.subject, start)
    if not mine:
        return None
    # Incidents and other cases, each written when it changed: this case's changes can wait.
    with session.no_autoflush:
        for incident in session.scalars(_OPEN_INCIDENTS):
            if similarity(mine, frozenset(incident.keywords.split())) >= settings.similarity:
                _link(session, incident, case, now, "matches the incident")
                return incident
        arrived = _arrival(session, message)
        _FIRST_WORDS.put(message, arrived, start)     # the next new cases compare with it
        similar = [(case_id, w) for case_id, w
                   in recent_case_words(session, case, arrived, settings.window_minutes)
                   if similarity(mine, w) >= settings.similarity]
    if len(similar) + 1 < settings.min_cases:
        return None
    group = [(session.get(Case, case_id), w) for case_id, w in similar]
    counts = Counter(word for _, w in group for word in w)
    counts.update(mine)
    size = len(group) + 1
    keywords = sorted(w for w, n in counts.items() if n * 2 >= size) or sorted(mine)
    title = Counter(c.subject for c, _ in group).most_common(1)[0][0] or case.subject
    incident = Incident(title=title[:500], status="open", created_at=now, keywords=" ".join(keywords),
                        message="")
    session.add(incident)
    session.flush()
    for other, _ in group:
        _link(session, incident, other, now, "part of the burst that opened the incident")
    _link(session, incident, case, now, f"{size} similar cases arrived within "
                                        f"{settings.window_minutes} minutes of this one "
                                        f"({arrived:%Y-%m-%d %H:%M} UTC) and opened the incident")
    log.warning("incident INC-%s opened from %d similar cases: %s", incident.id, size, title)
    _notify_agents_once(app, session, incident, case, message, size, now)
    return incident


def _link(session: Session, incident: Incident, case: Case, now: datetime, why: str) -> None:
    case.incident_id = incident.id
    record_event(session, case.id, actor="mailproc", kind="incident_linked",
                 detail=f"INC-{incident.id} {incident.title!r}: {why}", now=now,
                 data={"incident_id": incident.id})


def _notify_agents_once(app, session, incident: Incident, case: Case, message: Message,
                        size: int, now: datetime) -> None:
    people = resolve_people(app, app.ladder.incidents.notify, team=case.team,
                            assignee=case.assignee, now=now)
    agents = app.agents
    only = [a for a in (agents.by_address(p.email) for p in people) if a is not None]
    notify_agents(app, session, case, message, reason=f"incident INC-{incident.id}: {size} "
                  f"similar cases", now=now, only=only or None)


def update_incident(app, incident_id: int, text: str, *, actor: str, now: datetime,
                    resolve: bool) -> tuple[Incident, int]:
    """Send one `incident_update` to the customer of every linked case through the outbox
    (undeliverable ones land on the phone list); resolve the cases if asked. One transaction."""
    with app.db.transaction() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise MailprocError(f"no incident INC-{incident_id}")
        if incident.status != "open":
            raise MailprocError(f"INC-{incident_id} is {incident.status} already")
        incident.message = text
        cases = session.scalars(select(Case).where(Case.incident_id == incident_id)
                                .order_by(Case.id)).all()
        # Updates are numbered by what the first case saw: each update mails everyone once.
        n = session.scalar(select(func.count()).select_from(Event).where(
            Event.case_id == cases[0].id, Event.kind == "incident_update")) if cases else 0
        sent = 0
        for case in cases:
            to = [case.customer.email] if case.customer and case.customer.email else []
            if to and case.status not in (CaseStatus.CLOSED,):
                context = case_context(app, session, case)
                context["incident"] = incident_context(incident)
                last = session.scalar(select(Message).where(Message.case_id == case.id)
                                      .order_by(Message.id.desc()).limit(1))
                row = enqueue_templated(app, session, case=case, kind="incident_update", to=to,
                                        dedupe_key=f"incident:{incident_id}:{n}:{case.id}",
                                        context=context, reply_to_message=last, now=now)
                sent += row is not None
            record_event(session, case.id, actor=actor, kind="incident_update",
                         detail=f"INC-{incident_id}: {text[:300]}", now=now,
                         data={"incident_id": incident_id, "update": n, "resolve": resolve})
            if resolve and case.status in (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING):
                change_status(app, session, case, CaseStatus.RESOLVED, actor=actor,
                              reason=f"incident INC-{incident_id} resolved", now=now)
        if resolve:
            incident.status, incident.resolved_at = "resolved", now
        log.warning("INC-%s %s: %d customers written to", incident_id,
                    "resolved" if resolve else "updated", sent)
        session.flush()
        session.expunge(incident)
        return incident, sent


def list_incidents(app) -> list[dict]:
    with app.db.transaction() as session:
        rows = session.execute(
            select(Incident, func.count(Case.id)).outerjoin(Case, Case.incident_id == Incident.id)
            .group_by(Incident.id).order_by(Incident.id.desc()).limit(100)).all()
        return [{"id": i.id, "ref": f"INC-{i.id}", "title": i.title, "status": i.status,
                 "cases": n, "created_at": i.created_at, "resolved_at": i.resolved_at,
                 "message": i.message} for i, n in rows]
