"""decide_ack, the pure acknowledgement policy: first rule wins; history only when needed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailproc.policy.ack import AckHistory, decide_ack
from tests.helpers import MONDAY

QUIET = AckHistory(acks_for_case=0, acks_to_sender_last_hour=0, undeliverable_until=None)
BASE = dict(kind="human", sender="ann@kunde.example", is_new_case=True, is_system_sender=False,
            is_own_address=False, is_agent=False, enabled=True,
            per_sender_per_hour=3, now=MONDAY)


def decide(history=QUIET, **changes):
    asked = []

    def lookup():
        asked.append(True)
        return history
    decision = decide_ack(**{**BASE, **changes}, history=lookup)
    return decision, bool(asked)


@pytest.mark.parametrize("changes, rule", [
    (dict(enabled=False), "disabled"),
    (dict(sender=""), "no_sender"),
    (dict(kind="auto_reply"), "auto_reply"),
    (dict(kind="bounce"), "bounce"),
    (dict(kind="list"), "list"),
    (dict(is_own_address=True), "own_address"),
    (dict(is_agent=True), "agent"),
    (dict(is_system_sender=True), "system_sender"),
    (dict(is_new_case=False), "not_new"),
])
def test_cheap_rules_decide_without_reading_history(changes, rule):
    decision, asked = decide(**changes)
    assert (decision.send, decision.rule, asked) == (False, rule, False)


@pytest.mark.parametrize("history, rule", [
    (AckHistory(1, 0, None), "already_acked"),
    (AckHistory(0, 0, MONDAY + timedelta(hours=1)), "undeliverable"),
    (AckHistory(0, 3, None), "rate_limited"),
])
def test_history_rules(history, rule):
    decision, asked = decide(history)
    assert (decision.send, decision.rule, asked) == (False, rule, True)


def test_a_new_case_from_a_person_is_acknowledged():
    decision, asked = decide(AckHistory(0, 2, MONDAY - timedelta(minutes=1)))
    assert (decision.send, decision.rule, asked) == (True, "acknowledge", True)
