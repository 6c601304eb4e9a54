"""One path per stored message: parse, classify, thread into a case, decide; one transaction."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.agents import agent_directory
from mailproc.app import App
from mailproc.cases import (
    DbThreadLookup, add_participants, bare_id, get_contact, open_case, record_event,
)
from mailproc.bounce import analyse_bounce
from mailproc.classify import Classification, classify
from mailproc.config import parse_timedelta
from mailproc.db import advisory_xact_lock, is_postgres
from mailproc.errors import ParseError
from mailproc.models import (
    Attachment, Blob, Case, Direction, Message, MessageRef, OutboundMail, Quarantine, RawMessage,
    RawStatus,
)
from mailproc.parse.message import ParsedMessage, parse_message
from mailproc.phones import extract_phones, merge_phones
from mailproc.signing import find_signed_ref
from mailproc.store import load_raw
from mailproc.subjects import normalize_subject
from mailproc.threading import ThreadInput, ThreadMatch, thread_message
from mailproc.undeliverable import apply_bounce, case_for_bounce

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3   # failures we saw (an exception) before the mail is quarantined
# Starts that never finished: the process died (OOM, SIGKILL, segfault) or hung on this mail.
# Workers get killed for other reasons too (deploys, scaling), hence more than MAX_ATTEMPTS.
MAX_STARTS = 6
# Kinds that never open a case of their own when nothing threads them.
NO_CASE_KINDS = frozenset({"bounce", "own", "auto_reply"})


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
    """Process every pending raw message in arrival order; one transaction each.

    A message to retry stops its mailbox until the next call (the next round), as the
    workers' drain does: a reply processed before the message that opens its case would
    open a second case.
    """
    outcomes: list[Outcome] = []
    stopped: set = set()
    after = 0
    while len(outcomes) < limit:
        rows = pending_raw_ids(app, min(1000, limit - len(outcomes)), after=after)
        if not rows:
            break
        for raw_id, box in rows:
            after = raw_id
            if box in stopped:
                continue
            outcomes.append(process_raw(app, raw_id))
            if outcomes[-1].result == "retry":
                stopped.add(box)
            if progress:
                progress(outcomes[-1])
    return outcomes


def process_raw(app: App, raw_id: int) -> Outcome:
    """The runner boundary: any unexpected error is retried, then quarantined, never dropped.

    The attempt is counted in its own commit before the work starts, so a message that kills
    its process every time is quarantined too, instead of stalling its mailbox for ever.
    """
    settled = _start_attempt(app, raw_id)
    if settled is not None:
        return settled
    try:
        with app.db.transaction() as session:
            return _process(app, session, raw_id)
    except Exception as exc:  # noqa: BLE001 - the one broad catch, at the runner boundary
        log.exception("processing raw message %s failed", raw_id)
        return _record_failure(app, raw_id, exc)


def _start_attempt(app: App, raw_id: int) -> Outcome | None:
    """Count this attempt; an Outcome when the row needs no processing (done, or given up)."""
    with app.db.transaction() as session:
        row = session.get(RawMessage, raw_id)
        if row is None or row.status != RawStatus.PENDING:
            return Outcome(raw_id, "skipped")
        if row.attempts >= MAX_STARTS:
            reason = (f"processing started {row.attempts} times and never finished: the "
                      f"process died or hung on this message each time")
            _quarantine(session, row, reason, app.clock.now())
            return Outcome(raw_id, "quarantined", reason=reason)
        row.attempts += 1
    return None


def _record_failure(app: App, raw_id: int, exc: Exception) -> Outcome:
    reason = f"internal error: {type(exc).__name__}: {exc}"[:1000]
    with app.db.transaction() as session:
        row = session.get(RawMessage, raw_id)
        if row is None or row.status != RawStatus.PENDING:
            return Outcome(raw_id, "skipped")
        if row.attempts < MAX_ATTEMPTS:   # counted by _start_attempt
            return Outcome(raw_id, "retry", reason=reason)
        detail = reason + "\n" + "".join(traceback.format_exception_only(exc)).strip()
        _quarantine(session, row, detail, app.clock.now())
        return Outcome(raw_id, "quarantined", reason=reason)


def _quarantine(session: Session, row: RawMessage, reason: str, now: datetime) -> None:
    row.status, row.processed_at = RawStatus.QUARANTINED, now
    session.add(Quarantine(raw_id=row.id, reason=reason, at=now))
    record_event(session, None, actor="mailproc", kind="quarantined",
                 detail=f"raw message {row.id}: {reason}", now=now, data={"raw_id": row.id})
    log.warning("quarantined raw message %s: %s", row.id, reason)


def _process(app: App, session: Session, raw_id: int) -> Outcome:
    row = session.get(RawMessage, raw_id)
    if row is None or row.status != RawStatus.PENDING:
        return Outcome(raw_id, "skipped")
    now = app.clock.now()
    try:
        raw = load_raw(row)
        msg = parse_message(raw, max_bytes=app.settings.storage.max_message_bytes,
                            received_fallback_at=row.received_at, now=now)
    except ParseError as exc:
        _quarantine(session, row, str(exc), now)
        return Outcome(raw_id, "quarantined", reason=str(exc))
    if msg.message_id and is_postgres(session.get_bind()):
        # Two copies of one mail (To support@, Cc billing@) drained by two workers at once:
        # the second waits here until the first is committed, then finds it as a copy.
        # Taken before this transaction writes anything, so it cannot join a deadlock.
        advisory_xact_lock(session, "mailproc:message-id", msg.message_id)
    agents = agent_directory(app)
    verdict = classify(msg, own_addresses=app.own_addresses,
                       own_message_id_domain=app.message_id_domain,
                       agent_addresses=agents.addresses, loop_token=app.settings.support.address)
    if verdict.kind == "own" and agents.by_address(msg.from_addr):
        # Agents often share our domain, so their client's Message-ID looks like ours;
        # our own mail never comes From an agent address.
        verdict = Classification("agent", "agent", f"From {msg.from_addr} claims to be an agent "
                                                   f"(not own: {verdict.reason})")
    bounce_match = _handle_bounce(app, session, msg, raw, now) if verdict.kind == "bounce" else None
    signed = find_signed_ref(_recipients(msg), app.settings.support.address, app.secret_key)
    match = bounce_match or thread_message(
        ThreadInput(message_id=msg.message_id, in_reply_to=msg.in_reply_to,
                    references=msg.references, subject=msg.subject, from_addr=msg.from_addr,
                    # An agent's signed ref is "<case ref>-<agent key>" (mailproc.authenticity).
                    signed_ref=signed.ref.partition("-")[0] if signed else None, date_at=msg.date_at or now),
        DbThreadLookup(session), now=now, subject_window=app.subject_window)
    case = _place(app, session, row, msg, verdict, match, now)
    message = _store_message(session, row, msg, verdict, match, case, now)
    if verdict.kind == "human" and msg.signature and msg.from_addr:
        _learn_phones(app, session, msg, now)
    row.status, row.processed_at = RawStatus.PROCESSED, now
    log.info("message %s kind=%s rule=%s case=%s", msg.message_id, verdict.kind, match.rule,
             case.ref if case else "-")
    from mailproc.policy.hooks import after_message  # policy is optional per install stage

    after_message(app, session, case=case, message=message, parsed=msg, verdict=verdict,
                  match=match, now=now)
    rule = match.rule if case else "unthreaded"
    return Outcome(raw_id, "processed", case.ref if case else None, rule, verdict.kind)


def _handle_bounce(app: App, session: Session, msg: ParsedMessage, raw: bytes,
                   now: datetime) -> ThreadMatch | None:
    """Link a bounce to the outgoing mail it reports on; hard bounces mark addresses dead."""
    bounce = analyse_bounce(msg, raw)
    if bounce is None:
        return None
    case_id, outgoing = case_for_bounce(session, bounce)
    # Anyone can send a "bounce": it may only silence addresses we wrote to (the reported
    # mail's recipients when it is found), never an agent's.
    wrote_to = ({a.lower() for a in outgoing.to_addrs} if outgoing is not None
                else set(session.scalars(select(OutboundMail.recipient).where(
                    OutboundMail.recipient.in_([a.lower() for a in bounce.addresses])))))
    agents = agent_directory(app)
    believable = tuple(a for a in bounce.addresses
                       if a.lower() in wrote_to and agents.by_address(a) is None)
    if believable != tuple(bounce.addresses):
        log.warning("bounce %s: ignoring addresses we did not write to: %s", msg.message_id,
                    sorted(set(bounce.addresses) - set(believable)))
    apply_bounce(session, replace(bounce, addresses=believable), case_id=case_id, now=now,
                 hold_for=parse_timedelta(app.settings.ack.undeliverable_for))
    if case_id is None:
        return None
    return ThreadMatch("bounce", case_id, f"bounce of our message {outgoing.message_id} "
                                          f"({bounce.kind}: {', '.join(bounce.addresses)})")


def _learn_phones(app: App, session: Session, msg: ParsedMessage, now: datetime) -> None:
    """Numbers in a signature go on the contact: the phone list calls them when mail fails."""
    phones = extract_phones(msg.signature, app.settings.support.phone_region)
    if phones:
        contact = get_contact(session, msg.from_addr, msg.from_name, now)
        contact.phones = merge_phones(list(contact.phones or []), phones)


def _recipients(msg: ParsedMessage) -> list[str]:
    addrs = [a for _, a in msg.to] + [a for _, a in msg.cc]
    for name in ("delivered-to", "x-original-to"):
        addrs.extend(msg.headers.get(name, ()))
    return addrs


def _place(app: App, session: Session, row: RawMessage, msg: ParsedMessage,
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
    customer = get_contact(session, msg.from_addr or "unknown@invalid", msg.from_name, now)
    mailbox = next((m for m in app.settings.mailboxes if m.name == _mailbox_name(session, row)),
                   None)
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


def _mailbox_name(session: Session, row: RawMessage) -> str | None:
    from mailproc.models import Mailbox

    return session.scalar(select(Mailbox.name).where(Mailbox.id == row.mailbox_id))


def _add_people(app: App, session: Session, case: Case, msg: ParsedMessage, now: datetime) -> None:
    people = [(msg.from_name, msg.from_addr)] + list(msg.to) + list(msg.cc)
    agents = agent_directory(app)
    # Agents are never customer participants: relays to customers must not reach them.
    people = [(n, a.lower()) for n, a in people
              if a and not app.is_own(a) and agents.by_address(a) is None]
    add_participants(session, case, people, role="customer", now=now)


def _store_message(session: Session, row: RawMessage, msg: ParsedMessage,
                   verdict: Classification, match: ThreadMatch, case: Case | None,
                   now: datetime) -> Message:
    message = Message(
        raw_id=row.id, case_id=case.id if case else None, direction=Direction.IN,
        kind=verdict.kind, kind_reason=verdict.reason, message_id=msg.message_id,
        in_reply_to=list(msg.in_reply_to), references=list(msg.references),
        subject=msg.subject, from_addr=msg.from_addr, from_name=msg.from_name,
        to_addrs=[a for _, a in msg.to], cc_addrs=[a for _, a in msg.cc], date_at=msg.date_at or now,
        body_text=msg.text, new_text=msg.new_text, signature=msg.signature,
        thread_rule=match.rule, thread_reason=match.reason, created_at=now)
    session.add(message)
    session.flush()
    for ref_id in dict.fromkeys([*msg.in_reply_to, *msg.references]):
        session.add(MessageRef(message_pk=message.id, ref_id=bare_id(ref_id)[:998],
                               case_id=message.case_id))
    for att in msg.attachments:
        if session.get(Blob, att.sha256) is None:
            session.add(Blob(sha256=att.sha256, size=att.size, data=att.payload))
            session.flush()
        session.add(Attachment(message_id=message.id, filename=att.filename,
                               content_type=att.content_type, size=att.size, sha256=att.sha256))
    if (case is not None and verdict.kind not in NO_CASE_KINDS and verdict.kind != "agent"
            and match.rule != "copy"):
        # Reopening and the other customer-side status changes: mailproc.customer_side.
        case.last_customer_message_at = now
    return message
