"""Whether to acknowledge a message: loop-safe, once per case, rate-limited per sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable


@dataclass(frozen=True)
class AckDecision:
    send: bool
    rule: str
    reason: str


# Kinds of mail that must never get an automatic answer (RFC 3834 section 2).
SILENT_KINDS = {
    "auto_reply": "the message is an automatic reply",
    "bounce": "the message is a bounce",
    "list": "the message comes from a mailing list",
    "own": "the message is our own mail coming back",
    "agent": "the sender is an agent",
}


@dataclass(frozen=True)
class AckHistory:
    """What the database knows about earlier answers: read only when the cheap rules pass."""
    acks_for_case: int
    acks_to_sender_last_hour: int
    undeliverable_until: datetime | None


def decide_ack(*, kind: str, sender: str, is_new_case: bool, is_system_sender: bool,
               is_own_address: bool, is_agent: bool, enabled: bool,
               history: Callable[[], AckHistory], per_sender_per_hour: int,
               now: datetime) -> AckDecision:
    """Pure decision, first rule wins; the rule name and reason are recorded as an event.
    `history` is called only when the rules that need no database have all passed."""
    if not enabled:
        return AckDecision(False, "disabled", "acknowledgements are disabled in [ack]")
    if not sender:
        return AckDecision(False, "no_sender", "the message has no From address")
    if kind in SILENT_KINDS:
        return AckDecision(False, kind, SILENT_KINDS[kind])
    if is_own_address:
        return AckDecision(False, "own_address", f"{sender} is one of our own addresses")
    if is_agent:
        return AckDecision(False, "agent", f"{sender} is an agent")
    if is_system_sender:
        return AckDecision(False, "system_sender", f"{sender} is a system address")
    if not is_new_case:
        return AckDecision(False, "not_new", "only a new case is acknowledged")
    past = history()
    if past.acks_for_case:
        return AckDecision(False, "already_acked", "this case was acknowledged already")
    if past.undeliverable_until and past.undeliverable_until > now:
        return AckDecision(False, "undeliverable", f"{sender} bounced; no mail until "
                           f"{past.undeliverable_until:%Y-%m-%d %H:%M} UTC")
    if past.acks_to_sender_last_hour >= per_sender_per_hour:
        return AckDecision(False, "rate_limited",
                           f"{sender} got {past.acks_to_sender_last_hour} acknowledgements in "
                           f"the last hour (limit {per_sender_per_hour})")
    return AckDecision(True, "acknowledge", "new case from a person")
