"""One path per stored message: parse, classify, thread into a case, decide; one transaction."""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import (
    DisconnectionError, IntegrityError, InterfaceError, OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mailproc.actions.after_message import after_message
from mailproc.app import App
from mailproc.cases.placement import learn_phones, place
from mailproc.cases.records import hold_events, record_event
from mailproc.cases.undeliverable import NOT_ANALYSED, link_bounce
from mailproc.classify.inbound import classify_inbound
from mailproc.db import advisory_xact_locks, is_postgres
from mailproc.errors import ParseError
from mailproc.models import Quarantine, RawMessage, RawStatus
from mailproc.parse.message import parse_message, recipient_addresses
from mailproc.runners.isolation import run_alone
from mailproc.runners.prepare import Prepared, asked_once, replied_to, use
from mailproc.runners.prepare_pool import Ahead
from mailproc.signing import find_signed_ref
from mailproc.store.messages import store_message
from mailproc.store.raw import load_raw
from mailproc.thread.input import thread_input
from mailproc.thread.lookup import DbThreadLookup, named_cases
from mailproc.thread.prints import fingerprints, history
from mailproc.thread.rules import thread_message

log = logging.getLogger(__name__)
# Errors of the machinery, not of the message: the same bytes go through once the database,
# the disk or the network is back. They hold the mailbox (later mail may thread to this one).
INFRASTRUCTURE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout,
                  ConnectionError, TimeoutError)
# An OSError is the machinery's only for these: a missing or unreadable file is the message's.
INFRASTRUCTURE_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EAGAIN, errno.ENOMEM,
                                   errno.EMFILE, errno.ENFILE, errno.EDQUOT})
# PostgreSQL reports some of the message's own problems as operational errors: an index row
# too large for its page (54000), a statement cancelled for taking too long (57014).
DETERMINISTIC_SQLSTATES = frozenset({"54000", "57014"})
# May pass on another try (two workers inserting the same contact): retried MAX_ATTEMPTS times.
RACES = (IntegrityError,)
MAX_ATTEMPTS = 3   # tries of a message that keeps meeting a race before it is quarantined
# Starts that never finished: the process died (OOM, SIGKILL, segfault) or hung on this mail.
# Workers get killed for other reasons too (deploys, scaling), hence more than MAX_ATTEMPTS.
MAX_STARTS = 6
# Starts that never finished before a message is handled alone, in a child process.
SUSPECT_AFTER = 2
# Messages of the ordered step to a transaction (process_many): a commit per message was a
# fifth of its time on PostgreSQL; a batch holds SQLite's write lock for well under a second.
BATCH_SIZE = 32
# Objects a transaction holds on to: the session's identity map keeps only objects referred
# to, and a batch's rows and the cases its mail went to are asked for again (a thread's
# replies arrive together); held, session.get finds them without a read.
KEPT = "mailproc_kept"
_RAW = RawMessage.__table__
_STATE = select(_RAW.c.id, _RAW.c.status, _RAW.c.attempts).where(
    _RAW.c.id.in_(bindparam("ids", expanding=True)))
_COUNT_START = (update(_RAW).where(_RAW.c.id.in_(bindparam("ids", expanding=True)))
                .values(attempts=1))
_PROCESSED = (update(_RAW).where(_RAW.c.id == bindparam("raw_id"))
              .values(status=RawStatus.PROCESSED, processed_at=bindparam("at")))


@dataclass(frozen=True)
class Outcome:
    raw_id: int
    result: str            # "processed" | "quarantined" | "skipped" | "retry"
    case_ref: str | None = None
    rule: str = ""
    kind: str = ""
    reason: str = ""


def pending_raw_ids(app: App, limit: int = 1000, *, after: int = 0,
                    ) -> list[tuple[int, int | None]]:
    """(raw id, mailbox id) of pending rows after `after`, in arrival order."""
    query = (select(RawMessage.id, RawMessage.mailbox_id)
             .where(RawMessage.status == RawStatus.PENDING, RawMessage.id > after)
             .order_by(RawMessage.id).limit(limit))
    with app.db.transaction() as session:
        return [(raw_id, box) for raw_id, box in session.execute(query)]


def process_pending(app: App, *, limit: int = 100_000, progress=None) -> list[Outcome]:
    """Process every pending raw message in arrival order, many to a transaction
    (`process_many`).

    A message to retry stops its mailbox until the next call (the next round), as the
    workers' drain does: a reply processed before the message that opens its case would
    open a second case. A process pool prepares the next messages meanwhile
    (runners/prepare.py; MAILPROC_PREPARE_PROCESSES, 0 = off).
    """
    outcomes: list[Outcome] = []
    stopped: set = set()
    after = 0
    ahead = Ahead.start(app)
    # A batch and the pool's look-ahead past it: reading a thousand ids for each batch of
    # 32 took 5 ms, a sixth of a millisecond per message.
    wanted = BATCH_SIZE + (ahead.window if ahead is not None else 0)
    try:
        while len(outcomes) < limit:
            read = pending_raw_ids(app, min(wanted, limit - len(outcomes)), after=after)
            if not read:
                break
            rows = [(r, b) for r, b in read if b not in stopped]
            if not rows:            # only stopped mailboxes' mail here: look further on
                after = read[-1][0]
                continue
            box_of = dict(rows)
            ids = list(box_of)
            done = process_many(app, ids[:BATCH_SIZE], _unprepared if ahead is None else
                                ahead.taker(ids))
            after = done[-1].raw_id
            if done[-1].result == "retry":
                stopped.add(box_of[after])
            outcomes += done
            if progress:
                for outcome in done:
                    progress(outcome)
    finally:
        if ahead is not None:
            ahead.close()
    return outcomes


def _unprepared(raw_id: int, counted: Sequence[int] = ()) -> None:
    return None


def process_many(app: App, raw_ids: list[int],
                 prepared: Callable[..., Prepared | None] = _unprepared) -> list[Outcome]:
    """Process `raw_ids` in order, up to BATCH_SIZE to a transaction: the attempts of rows
    never started before are counted in one commit, then they run in one transaction; one
    bad message fails alone (_batch redoes the rows before it without it). A row that was
    in hand before (a process died with it) goes the careful way alone (process_raw).
    Stops after an outcome "retry": later rows may thread to that one. `prepared(raw_id,
    counted=())`: the row's parse made ahead, looked at for each row of a batch at its start
    (the cases its replies answer are read together; `prepared.ready(raw_id)`, when there,
    tells without waiting) and asked for at its turn (`counted`: the batch's rows, whose
    attempts are counted: runners/prepare.py may compute theirs while it waits)."""
    app.prepare()
    outcomes: list[Outcome] = []
    while len(outcomes) < len(raw_ids):
        rest = raw_ids[len(outcomes):]
        done = _batch(app, rest[:BATCH_SIZE], prepared) or \
            [process_raw(app, rest[0], prepared=prepared(rest[0]))]
        outcomes += done
        if done[-1].result == "retry":
            break
    return outcomes


def _batch(app: App, raw_ids: list[int], prepared) -> list[Outcome]:
    """The leading rows of `raw_ids` that no process has started, in one transaction; []
    when the first needs the careful way (or the transaction could not commit).

    No savepoint per row: a row that fails rolls the whole transaction back, and the rows
    before it are done again without it (a failure is rare; a savepoint cost every row two
    statements). The failed row's failure is then recorded on its own."""
    with app.db.transaction() as session:
        state = {i: (status, attempts) for i, status, attempts    # not the bytes
                 in session.execute(_STATE, {"ids": raw_ids})}
        fresh = list(itertools.takewhile(lambda i: state.get(i) == (RawStatus.PENDING, 0),
                                         raw_ids))
        if fresh:                          # counted, and committed, before any of them runs
            session.connection().execute(_COUNT_START, {"ids": fresh})
    if not fresh:
        return []
    once = asked_once(prepared)     # a redo uses what the first run was given
    upto, failed = len(fresh), None
    while True:
        try:
            outcomes = _rows_or_rollback(app, fresh, upto, once)
            break
        except _RowFailed as stop:
            upto, failed = stop.index, (fresh[stop.index], stop.exc)
        except Exception:  # noqa: BLE001 - the commit failed: none of it stands
            log.exception("a batch of %d raw messages failed to commit; one at a time now",
                          len(fresh))
            return []
    if failed is not None:
        outcomes.append(_record_failure(app, *failed))
    return outcomes


class _RowFailed(Exception):
    """Row `index` of a batch failed with `exc`: roll the transaction back."""

    def __init__(self, index: int, exc: Exception) -> None:
        super().__init__(index, exc)
        self.index, self.exc = index, exc


def _rows_or_rollback(app: App, fresh: list[int], upto: int, prepared) -> list[Outcome]:
    """fresh[:upto] in one transaction, the rows after fresh[upto] uncounted (never begun:
    as if never counted; fresh[upto], a row that failed before, keeps its count for
    _record_failure); _RowFailed, all rolled back, when one of them fails. Each row's
    changes are flushed before the next begins, so an error is its own row's, and the reads
    that do not flush (a new case's look at other cases, incidents, outbox rows) see them."""
    outcomes: list[Outcome] = []
    processed: list[dict] = []
    counted = tuple(fresh)       # the pool's work on these may be done here meanwhile
    with app.db.transaction() as session, _kb_steady(app):
        hold_events(session)
        # One read for the batch's rows, one for the cases its replies answer (after the
        # copies' locks: as they are once a copy's worker is done): session.get finds them.
        rows = session.scalars(select(RawMessage).where(RawMessage.id.in_(fresh[:upto]))).all()
        _serialise_copies(session, rows)
        session.info[KEPT] = list(rows) + named_cases(session, replied_to(
            prepared.look(raw_id, counted) for raw_id in fresh[:upto]))
        for index, raw_id in enumerate(fresh[:upto]):
            try:
                outcomes.append(_process(app, session, raw_id, prepared(raw_id, counted),
                                         processed))
                session.flush()
            except Exception as exc:  # noqa: BLE001 - redone without this row
                log.exception("processing raw message %s failed", raw_id)
                raise _RowFailed(index, exc) from exc
        _write_processed(session, processed)
        unstarted = fresh[upto + 1:]     # after the row that failed, if one did
        if unstarted:
            session.execute(update(RawMessage).where(RawMessage.id.in_(unstarted))
                            .values(attempts=RawMessage.attempts - 1))
    return outcomes


def _kb_steady(app: App):
    """The KB's files and edits looked at once per batch, not at every query."""
    kb = app.knowledge_base
    return kb.steady() if kb is not None else contextlib.nullcontext()


def process_raw(app: App, raw_id: int, *, prepared: Prepared | None = None) -> Outcome:
    """The runner boundary: any unexpected error is retried or quarantined, never dropped.

    Start-up work is done before the attempt is counted, so a process killed while it starts
    dies on no message. The attempt is counted in its own commit before the work starts; a
    message that was in hand twice when its process died is processed alone in a child
    process, and quarantined only if that child dies on it. `prepared`: its parse and KB
    vector computed ahead, used only when it matches (runners/prepare.py).
    """
    app.prepare()
    settled, suspect = _start_attempt(app, raw_id)
    if settled is not None:
        return settled
    if suspect:
        verdict, detail = run_alone(app, raw_id, _attempt)
        if verdict == "done":
            return detail
        if verdict == "error":     # not the message's doing: as if this start never happened
            with app.db.transaction() as session:
                row = session.get(RawMessage, raw_id)
                if row is not None and row.status == RawStatus.PENDING:
                    row.attempts -= 1
            return Outcome(raw_id, "retry", reason=f"isolated attempt failed: {detail}")
        reason = (f"processing this message alone in a child process killed the child "
                  f"({detail}); its earlier processes died with it in hand too")
        with app.db.transaction() as session:
            # Locked: a child killed during its COMMIT may have processed it after all.
            row = session.get(RawMessage, raw_id, with_for_update=True)
            if row is None or row.status != RawStatus.PENDING:
                return Outcome(raw_id, "skipped")
            _quarantine(session, row, reason, app.clock.now())
        return Outcome(raw_id, "quarantined", reason=reason)
    return _attempt(app, raw_id, prepared)


def _attempt(app: App, raw_id: int, prepared: Prepared | None = None) -> Outcome:
    try:
        with app.db.transaction() as session:
            hold_events(session)
            row = session.get(RawMessage, raw_id)
            _serialise_copies(session, [row] if row is not None else [])
            processed: list[dict] = []
            outcome = _process(app, session, raw_id, prepared, processed)
            _write_processed(session, processed)
            return outcome
    except Exception as exc:  # noqa: BLE001 - the one broad catch, at the runner boundary
        log.exception("processing raw message %s failed", raw_id)
        return _record_failure(app, raw_id, exc)


def _start_attempt(app: App, raw_id: int) -> tuple[Outcome | None, bool]:
    """Count this attempt: (an Outcome when the row needs no processing, whether it is
    suspect: earlier starts on it never finished, SUSPECT_AFTER times or more)."""
    with app.db.transaction() as session:
        row = session.get(RawMessage, raw_id)
        if row is None or row.status != RawStatus.PENDING:
            return Outcome(raw_id, "skipped"), False
        if row.attempts >= MAX_STARTS:
            reason = (f"processing started {row.attempts} times and never finished: the "
                      f"process died or hung on this message each time")
            _quarantine(session, row, reason, app.clock.now())
            return Outcome(raw_id, "quarantined", reason=reason), False
        suspect = row.attempts >= SUSPECT_AFTER
        row.attempts += 1
    return None, suspect


def _record_failure(app: App, raw_id: int, exc: Exception) -> Outcome:
    """Infrastructure holds the mailbox and is not the message's fault; a race is tried again a
    few times; anything else would fail the same way on the same bytes: quarantined at once,
    so the rest of the mailbox goes on in this round."""
    reason = f"internal error: {type(exc).__name__}: {exc}"[:1000]
    with app.db.transaction() as session:
        row = session.get(RawMessage, raw_id)
        if row is None or row.status != RawStatus.PENDING:
            return Outcome(raw_id, "skipped")
        if is_infrastructure(exc):
            row.attempts -= 1     # not a start that died: it must not count towards MAX_STARTS
            return Outcome(raw_id, "retry", reason=reason)
        if isinstance(exc, RACES) and row.attempts < MAX_ATTEMPTS:   # counted by _start_attempt
            return Outcome(raw_id, "retry", reason=reason)
        detail = reason + "\n" + "".join(traceback.format_exception_only(exc)).strip()
        _quarantine(session, row, detail, app.clock.now())
        return Outcome(raw_id, "quarantined", reason=reason)


def is_infrastructure(exc: BaseException) -> bool:
    """The database, the disk or the network failed, not this message (see INFRASTRUCTURE)."""
    if getattr(getattr(exc, "orig", None), "sqlstate", None) in DETERMINISTIC_SQLSTATES:
        return False
    if isinstance(exc, INFRASTRUCTURE):
        return True
    return isinstance(exc, OSError) and exc.errno in INFRASTRUCTURE_ERRNOS


def _quarantine(session: Session, row: RawMessage, reason: str, now: datetime) -> None:
    row.status, row.processed_at = RawStatus.QUARANTINED, now
    session.add(Quarantine(raw_id=row.id, reason=reason, at=now))
    record_event(session, None, actor="mailproc", kind="quarantined",
                 detail=f"raw message {row.id}: {reason}", now=now, data={"raw_id": row.id})
    log.warning("quarantined raw message %s: %s", row.id, reason)


def _process(app: App, session: Session, raw_id: int, prepared: Prepared | None,
             processed: list[dict]) -> Outcome:
    """The stages of one message, in order: one line (or two) per stage. The raw row's new
    status goes to `processed`, for the caller's _write_processed."""
    row = session.get(RawMessage, raw_id)
    if row is None or row.status != RawStatus.PENDING:
        return Outcome(raw_id, "skipped")
    now = app.clock.now()
    try:
        raw = load_raw(row)                                                   # store
        ready = use(app, prepared, raw, row.received_at, now)
        msg = ready.parsed if ready else parse_message(
            raw, max_bytes=app.settings.storage.max_message_bytes,
            received_fallback_at=row.received_at, now=now)                    # parse
    except ParseError as exc:
        _quarantine(session, row, str(exc), now)
        return Outcome(raw_id, "quarantined", reason=str(exc))
    signed = find_signed_ref(recipient_addresses(msg), app.settings.support.address,
                             app.secret_key)
    said = ready.verdict if ready else None
    verdict = classify_inbound(app, msg, signed, said)                        # classify
    analysed = ready.bounce if said is not None and said.kind == "bounce" else NOT_ANALYSED
    bounce = link_bounce(app, session, msg, raw, now, analysed) \
        if verdict.kind == "bounce" else None
    quoted = ready.quoted_prints if ready else fingerprints(history(msg))
    lookup = DbThreadLookup(session, msg.message_id, [*msg.references, *msg.in_reply_to])
    match = bounce or thread_message(thread_input(app, msg, signed, verdict, quoted, now),
                                     lookup, now=now, subject_window=app.subject_window,
                                     own_domains=app.own_domains)              # thread
    case = place(app, session, row, msg, verdict, match, now)                 # cases
    session.info.setdefault(KEPT, []).append(case)   # the conversation's next mail finds it
    _mark_processed(row, now, processed)
    message = store_message(session, row, msg, verdict, match, case, now,
                            prints=ready.own_prints if ready else None)
    if verdict.kind == "human" and msg.signature and msg.from_addr:
        learn_phones(app, session, msg, now)
    log.info("message %s kind=%s rule=%s case=%s", msg.message_id, verdict.kind, match.rule,
             case.ref if case else "-")
    after_message(app, session, case=case, message=message, parsed=msg,      # actions, outbox
                  verdict=verdict, match=match, now=now)
    rule = match.rule if case else "unthreaded"
    return Outcome(raw_id, "processed", case.ref if case else None, rule, verdict.kind)


def _mark_processed(row: RawMessage, now: datetime, processed: list[dict]) -> None:
    """The ORM state set without a flush (the row costs no unit of work); the row itself is
    written with the others of its transaction by _write_processed. A rolled-back
    transaction leaves the object stale, but its session is never used again (a failure is
    recorded, and a batch redone, in sessions of their own)."""
    set_committed_value(row, "status", RawStatus.PROCESSED)
    set_committed_value(row, "processed_at", now)
    processed.append({"raw_id": row.id, "at": now})


def _write_processed(session: Session, processed: list[dict]) -> None:
    """The status of a transaction's processed rows, one statement for them all (nothing in
    the ordered step reads a raw row's status but from the row's own object)."""
    if processed:
        session.connection().execute(_PROCESSED, processed)


def _serialise_copies(session: Session, rows: list[RawMessage]) -> None:
    """Two copies of one mail (To support@, Cc billing@) drained by two workers at once: the
    second waits here until the first is committed, then finds it as a copy. PostgreSQL
    only (SQLite has one writer). The locks of a whole batch are taken at its start, before
    it writes anything and in one order, so two batches cannot deadlock on them; a message
    alone (process_raw) takes its own the same way, before _process."""
    if is_postgres(session.get_bind()):
        advisory_xact_locks(session, "mailproc:message-id", sorted(
            {row.header_message_id for row in rows if row.header_message_id}))
