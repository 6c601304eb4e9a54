"""Ordered thread rules: which case an inbound message belongs to, and why (first match wins)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from mailproc.thread.nearby import RecentCase, choose, choose_quoted, colleague_domain
from mailproc.thread.prints import MIN_MATCH
from mailproc.thread.subjects import (
    find_case_tags, is_generic_subject, is_reply_subject, normalize_subject,
)

log = logging.getLogger(__name__)

SubjectMatch = Literal["sender", "participant"]
_MSGID_RE = re.compile(r"<([^<>]+)>")
# Probing ids one by one only serves a readable reason; a long References chain would
# otherwise cost one query per id.
_MAX_REASON_PROBES = 5


@dataclass(frozen=True)
class ThreadMatch:
    """The verdict of the thread rules: the rule that matched and the case (None: new case)."""

    rule: str
    case_id: int | None
    reason: str
    linked_case_id: int | None = None


@dataclass(frozen=True)
class ThreadInput:
    """What threading needs of a message; Message-IDs as the parser stores them (brackets or not)."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: str
    signed_ref: str | None
    date_at: datetime | None
    # From an agent whose mail our MTA vouches for (dkim/dmarc pass from a trusted
    # authserv-id): a case tag in its subject is that agent answering the case.
    from_agent: bool = False
    # Fingerprints of the quoted part (mailproc.thread.prints), for replies without headers.
    quoted_prints: tuple[int, ...] = ()


class ThreadLookup(Protocol):
    """The database seen by the thread rules (answered by thread.lookup.DbThreadLookup)."""

    def case_for_signed_ref(self, ref: str) -> int | None:
        """Case id for a ref whose reply-address signature was verified."""

    def case_for_message_ids(self, ids: Sequence[str]) -> int | None:
        """Case of a stored message (inbound or ours) with one of `ids`; prefers the last id."""

    def case_for_ref(self, ref: str) -> int | None:
        """Case id for a case ref as written in a `[#ref]` subject tag."""

    def is_participant(self, case_id: int, address: str) -> bool:
        """True when `address` (lower-case) takes part in the case: customer, Cc, agent."""

    def recent_case_for_subject(
        self, sender: str, normalized_subject: str, since_at: datetime
    ) -> int | None:
        """Latest case with a message from `sender` with this subject at or after `since_at`."""


@runtime_checkable
class SubjectLookup(Protocol):
    """Needed only for subject_match="participant": subject matches from any sender."""

    def recent_cases_for_subject(
        self, normalized_subject: str, since_at: datetime
    ) -> Sequence[int]:
        """Cases with a message with this subject (any sender) at or after `since_at`, latest first."""


@runtime_checkable
class AncestorLookup(Protocol):
    """Optional: lets replies that share an ancestor we never received join one case."""

    def case_for_referenced_ids(self, ids: Sequence[str]) -> int | None:
        """Case of a stored message whose In-Reply-To/References hold one of `ids`; prefers the last id."""


@runtime_checkable
class CopyLookup(Protocol):
    """Optional: recognises a second copy of one mail (sent To support@ and Cc billing@)."""

    def case_for_copy(self, message_id: str, sender: str, subject: str) -> int | None:
        """Case of a stored inbound message with this Message-ID, sender and subject."""


@runtime_checkable
class NearbyLookup(Protocol):
    """Needed for threading without headers (mailproc.thread.nearby)."""

    def recent_cases_near(self, sender: str, domain: str | None,
                          since_at: datetime) -> list[RecentCase]:
        """Cases active since `since_at` that `sender` takes part in, or (with `domain`) whose
        customer is at `domain`; the most recently active first, a few dozen at most."""


@runtime_checkable
class HeldLookup(Protocol):
    """Optional: lets the quote tell apart the cases a colleague's reply fits equally."""

    def prints_held(self, prints: Sequence[int],
                    case_ids: Sequence[int]) -> dict[int, frozenset[int]]:
        """Per case of `case_ids`, those of `prints` that its stored messages hold."""


@runtime_checkable
class QuotedLookup(Protocol):
    """Needed for the quoted-history rule."""

    def cases_quoting(self, prints: Sequence[int], least: int) -> list[tuple[RecentCase, int]]:
        """Cases with a stored message that at least `least` of `prints` come from, each with
        the most prints one of its messages shares."""


@dataclass(frozen=True)
class _Context:
    now: datetime
    subject_window: timedelta
    subject_match: SubjectMatch
    own_domains: frozenset[str] = frozenset()


def message_ids_from_header(value: str | None) -> tuple[str, ...]:
    """`<id>` tokens of a Message-ID, In-Reply-To or References value, in order, without repeats."""
    ids: list[str] = []
    for match in _MSGID_RE.finditer(value or ""):
        # Folding may split a long id over lines; the id itself never contains whitespace.
        msgid = "<" + "".join(match.group(1).split()) + ">"
        if msgid != "<>" and msgid not in ids:
            ids.append(msgid)
    return tuple(ids)


def window_start(date_at: datetime | None, now: datetime, window: timedelta) -> datetime:
    """Where the subject rules look back to: `window` before the mail's date. A Date header
    can lie; never look for cases from the future."""
    return (min(date_at, now) if date_at is not None else now) - window


def _rule_copy(msg: ThreadInput, lookup: ThreadLookup, ctx: _Context) -> ThreadMatch | None:
    # The Message-ID alone is not enough (broken clients reuse ids): the same sender and the
    # same subject make it the same mail, which arrived through a second address of ours.
    if not msg.message_id or not msg.from_addr or not isinstance(lookup, CopyLookup):
        return None
    case_id = lookup.case_for_copy(msg.message_id, msg.from_addr.strip().lower(), msg.subject)
    if case_id is None:
        return None
    return ThreadMatch("copy", case_id, f"another copy of {msg.message_id} from "
                                        f"{msg.from_addr} is in case {case_id}")


def _rule_signed_address(msg: ThreadInput, lookup: ThreadLookup, ctx: _Context) -> ThreadMatch | None:
    if not msg.signed_ref:
        return None
    case_id = lookup.case_for_signed_ref(msg.signed_ref)
    if case_id is None:
        return None
    return ThreadMatch(
        "signed_address", case_id, f"signed reply address for ref {msg.signed_ref} is case {case_id}"
    )


def _find_by_ids(
    find: Callable[[Sequence[str]], int | None], header: str, ids: Sequence[str], what: str
) -> ThreadMatch | None:
    """Match `ids` (nearest parent last) and name the id that did it when that is cheap."""
    if not ids:
        return None
    case_id = find(ids)
    if case_id is None:
        return None
    # One id (an In-Reply-To, mostly) names itself; of several, probe for the one that did.
    for msgid in list(reversed(ids))[:_MAX_REASON_PROBES]:
        if len(ids) == 1 or find([msgid]) == case_id:
            shown = msgid if msgid.startswith("<") else f"<{msgid}>"
            return ThreadMatch("references", case_id, f"{header} {shown} {what} case {case_id}")
    return ThreadMatch("references", case_id, f"{header} ({len(ids)} ids) {what} case {case_id}")


def _rule_references(msg: ThreadInput, lookup: ThreadLookup, ctx: _Context) -> ThreadMatch | None:
    own = {msg.message_id} if msg.message_id else set()
    # A message listing its own id (reference loops in broken clients) must not match itself.
    in_reply_to = [i for i in msg.in_reply_to if i not in own]
    seen = own | set(in_reply_to)
    # References lists the oldest ancestor first, so its last id is the nearest parent.
    references = [i for i in msg.references if i not in seen]
    finders = [(lookup.case_for_message_ids, "is a message of")]
    if isinstance(lookup, AncestorLookup):
        # Replies to a message we never stored (a ghost parent, as in JWZ threading) still
        # belong together; a stored message is stronger evidence, so it is tried first.
        finders.append((lookup.case_for_referenced_ids, "is also referenced by a message of"))
    for find, what in finders:
        for header, ids in (("In-Reply-To", in_reply_to), ("References", references)):
            match = _find_by_ids(find, header, ids, what)
            if match is not None:
                return match
    return None


def _rule_subject_tag(msg: ThreadInput, lookup: ThreadLookup, ctx: _Context) -> ThreadMatch | None:
    stranger: tuple[str, int] | None = None
    sender = msg.from_addr.strip().lower()
    for ref in find_case_tags(msg.subject):
        case_id = lookup.case_for_ref(ref)
        if case_id is None:
            continue
        if sender and msg.from_agent:
            return ThreadMatch("subject_tag", case_id, f"subject tag [#{ref}] is case {case_id}; "
                                                       f"{sender} is an authenticated agent")
        if sender and lookup.is_participant(case_id, sender):
            return ThreadMatch(
                "subject_tag", case_id, f"subject tag [#{ref}] is case {case_id}; {sender} takes part"
            )
        if stranger is None:
            stranger = (ref, case_id)
    if stranger is None:
        return None
    ref, case_id = stranger
    # Anyone can type a tag: a non-participant gets a case of their own, linked so an agent
    # sees the connection, instead of writing into someone else's conversation.
    return ThreadMatch(
        "subject_tag_stranger",
        None,
        f"subject tag [#{ref}] is case {case_id} but {sender or 'the sender'} does not take part",
        linked_case_id=case_id,
    )


def _rule_subject(msg: ThreadInput, lookup: ThreadLookup, ctx: _Context) -> ThreadMatch | None:
    normalized = normalize_subject(msg.subject)
    sender = msg.from_addr.strip().lower()
    if is_generic_subject(normalized) or not sender:
        return None
    since_at = window_start(msg.date_at, ctx.now, ctx.subject_window)
    if ctx.subject_match == "sender":
        case_id = lookup.recent_case_for_subject(sender, normalized, since_at)
        if case_id is None:
            return None
        reason = f"{sender} wrote {normalized!r} in case {case_id} since {since_at:%Y-%m-%d %H:%M}"
        return ThreadMatch("subject", case_id, reason)
    for case_id in lookup.recent_cases_for_subject(normalized, since_at):  # type: ignore[attr-defined]
        if lookup.is_participant(case_id, sender):
            return ThreadMatch(
                "subject",
                case_id,
                f"{normalized!r} is case {case_id} since {since_at:%Y-%m-%d %H:%M}; {sender} takes part",
            )
    return None


def _rule_quoted_history(msg: ThreadInput, lookup: ThreadLookup,
                         ctx: _Context) -> ThreadMatch | None:
    """The quoted part is a stored message's text, and the sender belongs to its case."""
    sender = msg.from_addr.strip().lower()
    if not msg.quoted_prints or not sender or msg.from_agent \
            or not isinstance(lookup, QuotedLookup):
        return None
    found = choose_quoted(lookup.cases_quoting(msg.quoted_prints, MIN_MATCH), sender=sender,
                          own_domains=ctx.own_domains)
    if found is None:
        return None
    case, hits = found
    return ThreadMatch("quoted_history", case.case_id,
                       f"the quoted part holds {hits} passages of mail in case {case.case_id}, "
                       f"which {sender} belongs to")


def _rule_nearby(msg: ThreadInput, lookup: ThreadLookup, ctx: _Context) -> ThreadMatch | None:
    """No headers to follow: the sender's (or a colleague's) recently active case with the
    same or an extended subject (mailproc.thread.nearby)."""
    sender = msg.from_addr.strip().lower()
    if not sender or msg.from_agent or not isinstance(lookup, NearbyLookup):
        return None
    subject = normalize_subject(msg.subject)
    if is_generic_subject(subject):
        return None
    reply = is_reply_subject(msg.subject)
    domain = colleague_domain(sender, ctx.own_domains) if reply else None
    cases = lookup.recent_cases_near(sender, domain,
                                     window_start(msg.date_at, ctx.now, ctx.subject_window))
    found = choose(cases, sender=sender, subject=subject, reply=reply,
                   own_domains=ctx.own_domains)
    if found is None and cases and msg.quoted_prints and isinstance(lookup, HeldLookup):
        # Asked only when nothing else placed the mail: what the quote holds of each case.
        held = lookup.prints_held(msg.quoted_prints, [c.case_id for c in cases])
        found = choose(cases, sender=sender, subject=subject, reply=reply,
                       own_domains=ctx.own_domains, quoted=held)
    if found is None:
        return None
    rule, case, reason = found
    return ThreadMatch(rule, case.case_id, reason)


RuleFn = Callable[[ThreadInput, ThreadLookup, _Context], ThreadMatch | None]

# Order is the policy: the strongest evidence first. Names are stored in the database.
RULES: tuple[tuple[str, RuleFn], ...] = (
    ("copy", _rule_copy),
    ("signed_address", _rule_signed_address),
    ("references", _rule_references),
    ("subject_tag", _rule_subject_tag),
    ("quoted_history", _rule_quoted_history),
    ("subject", _rule_subject),
    ("nearby", _rule_nearby),      # its matches name case_subject, colleague,
                                   # evolving_subject, quote_tells
)


def thread_message(
    msg: ThreadInput,
    lookup: ThreadLookup,
    *,
    now: datetime,
    subject_window: timedelta,
    subject_match: SubjectMatch = "sender",
    own_domains: frozenset[str] = frozenset(),
) -> ThreadMatch:
    """Apply RULES in order to `msg`; the first match wins, else a new case (rule "new")."""
    if subject_match not in ("sender", "participant"):
        raise ValueError(f"subject_match must be 'sender' or 'participant', got {subject_match!r}")
    if subject_match == "participant" and not isinstance(lookup, SubjectLookup):
        raise TypeError("subject_match='participant' needs a lookup with recent_cases_for_subject()")
    ctx = _Context(now=now, subject_window=subject_window, subject_match=subject_match,
                   own_domains=frozenset(d.lower() for d in own_domains))
    for _name, rule in RULES:
        match = rule(msg, lookup, ctx)
        if match is not None:
            break
    else:
        match = ThreadMatch("new", None, "no thread rule matched")
    log.debug(
        "thread message_id=%s rule=%s case_id=%s linked=%s",
        msg.message_id, match.rule, match.case_id, match.linked_case_id,
    )
    return match
