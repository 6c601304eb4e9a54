"""Priority rules: first match wins, whole-word accent-insensitive keywords, reasons that name the match."""

from __future__ import annotations

import mailbox
import re
import tomllib
import unicodedata
from pathlib import Path

import pytest

from mailproc.errors import ConfigError
from mailproc.policy.priority import (
    PRIORITIES,
    PriorityRule,
    decide_priority,
    fold_text,
    higher_priority,
    parse_rules,
    priority_rank,
)

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

RULES = parse_rules(tomllib.loads("""
[[priority.rules]]
priority = "urgent"
keywords = ["outage", "down", "cannot log in", "Störung"]
[[priority.rules]]
priority = "high"
senders = ["ceo@example.com"]
domains = ["vip.example"]
[[priority.rules]]
name = "billing refunds"
priority = "high"
mailboxes = ["billing"]
keywords = ["refund"]
[[priority.rules]]
priority = "low"
mailboxes = ["newsletter"]
""")["priority"]["rules"])


def decide(sender="someone@customer.example", subject="", text="", mailbox_name="support"):
    return decide_priority(sender, subject, text, mailbox_name, RULES, "normal")


def test_priorities_are_ordered():
    assert PRIORITIES == ("urgent", "high", "normal", "low")
    assert [priority_rank(p) for p in PRIORITIES] == [0, 1, 2, 3]
    assert sorted(["low", "urgent", "normal", "high"], key=priority_rank) == list(PRIORITIES)
    assert higher_priority("normal", "high") == "high"
    with pytest.raises(ValueError, match="'critical'"):
        priority_rank("critical")


@pytest.mark.parametrize(("subject", "text", "priority", "reason"), [
    ("Server down", "", "urgent", "keyword 'down' in subject"),
    ("Help", "I cannot log in since Monday.", "urgent", "keyword 'cannot log in' in text"),
    ("Help", "I CANNOT\n  log in since Monday.", "urgent", "keyword 'cannot log in' in text"),
    ("OUTAGE!!", "", "urgent", "keyword 'outage' in subject"),
    ("Is it down?", "", "urgent", "keyword 'down' in subject"),
    ("(down)", "", "urgent", "keyword 'down' in subject"),
    ("Download failed", "the countdown stopped", "normal", "no rule matched; default 'normal'"),
    ("downtime planned", "slowdown, breakdown, down_load", "normal", "no rule matched; default 'normal'"),
    ("I can log in", "cannot login", "normal", "no rule matched; default 'normal'"),
    ("Störung im Netz", "", "urgent", "keyword 'Störung' in subject"),
    ("STORUNG", "", "urgent", "keyword 'Störung' in subject"),
    ("", "Große Stórung überall", "urgent", "keyword 'Störung' in text"),
])
def test_keywords(subject, text, priority, reason):
    decision = decide(subject=subject, text=text)
    assert (decision.priority, decision.reason) == (priority, reason)
    assert decision.rule == ("priority.rules[0]" if priority == "urgent" else None)


def test_subject_is_reported_before_text():
    assert decide(subject="outage", text="outage").reason == "keyword 'outage' in subject"


def test_senders_and_domains():
    ceo = decide(sender="The Boss <CEO@Example.com>", subject="lunch?")
    assert (ceo.priority, ceo.rule, ceo.reason) == ("high", "priority.rules[1]", "sender 'ceo@example.com'")
    vip = decide(sender="a@mail.vip.example")
    assert vip.reason == "domain 'vip.example' of sender 'a@mail.vip.example'"
    assert decide(sender="a@notvip.example").priority == "normal"


def test_first_matching_rule_wins():
    decision = decide(sender="ceo@example.com", subject="site down")
    assert (decision.priority, decision.rule) == ("urgent", "priority.rules[0]")


def test_mailboxes_narrow_a_rule():
    billing = decide(subject="refund please", mailbox_name="Billing")
    assert (billing.priority, billing.rule) == ("high", "billing refunds")
    assert billing.reason == "keyword 'refund' in subject (mailbox 'Billing')"
    assert decide(subject="refund please", mailbox_name="support").priority == "normal"
    news = decide(subject="anything", mailbox_name="newsletter")
    assert (news.priority, news.reason) == ("low", "mailbox 'newsletter'")


def test_default_and_its_validation():
    assert decide_priority("a@b.example", "hi", "", "support", RULES, "low").priority == "low"
    with pytest.raises(ConfigError, match="'meh'"):
        decide_priority("a@b.example", "hi", "", "support", RULES, "meh")


@pytest.mark.parametrize(("table", "message"), [
    ({"priority": "critical", "keywords": ["x"]}, "'critical'"),
    ({"keywords": ["x"]}, "priority is missing"),
    ({"priority": "high"}, "needs at least one"),
    ({"priority": "high", "keywords": [""]}, "keywords"),
    ({"priority": "high", "keyword": ["x"]}, "'keyword'"),
    ({"priority": "high", "senders": [3]}, "senders"),
])
def test_rule_config_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        parse_rules([table])


def test_fold_text():
    assert fold_text("Störung – Ärger’s ÉTÉ Straße") == "storung - arger's ete strasse"


def _oracle_words(text: str) -> list[str]:
    """An independent tokenizer: runs of word characters, accents dropped."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.findall(r"\w+", plain.casefold())


def test_keyword_matching_agrees_with_a_tokenizer_on_real_mail():
    box = mailbox.mbox(CORPORA / "threads" / "ponymail" / "httpd-users-2020-07.mbox")
    rule = PriorityRule("urgent", keywords=("down", "error"))
    counts = {"down": 0, "error": 0, "none": 0}
    for message in box:
        subject = str(message.get("Subject", ""))
        part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), None)
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace") if part else ""
        decision = decide_priority(str(message.get("From", "")), subject, text, "users", [rule], "normal")
        words_subject, words_text = set(_oracle_words(subject)), set(_oracle_words(text))
        expected = None
        for keyword in rule.keywords:
            if keyword in words_subject:
                expected = f"keyword {keyword!r} in subject"
            elif keyword in words_text:
                expected = f"keyword {keyword!r} in text"
            if expected:
                counts[keyword] += 1
                break
        assert decision.reason == (expected or "no rule matched; default 'normal'"), subject
        counts["none"] += expected is None
    assert counts["down"] > 0 and counts["error"] > 0 and counts["none"] > 0, counts
