"""Priority of a case: ordered rules on sender, domain, mailbox and keywords; first match wins.

A rule's ``mailboxes`` narrow where it applies; ``senders``, ``domains`` and
``keywords`` are alternatives (any one matches). A rule with only mailboxes
applies to everything arriving there. Keywords match whole words, ignoring
case and accents, in the subject first and then the text; a phrase matches
across line breaks ("cannot log in" in "I cannot\\nlog in").
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr

from mailproc.errors import ConfigError

log = logging.getLogger(__name__)

PRIORITIES = ("urgent", "high", "normal", "low")
_RULE_KEYS = ("name", "priority", "senders", "domains", "keywords", "mailboxes")
# Typographic apostrophes and dashes are folded so "can’t" in mail matches "can't" in config.
_PUNCTUATION = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def priority_rank(priority: str) -> int:
    """0 for urgent up to 3 for low; sort ascending to put the most urgent first."""
    try:
        return PRIORITIES.index(priority)
    except ValueError:
        raise ValueError(f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}") from None


def higher_priority(a: str, b: str) -> str:
    """The more urgent of two priorities."""
    return a if priority_rank(a) <= priority_rank(b) else b


def fold_text(text: str) -> str:
    """Case- and accent-insensitive form: "Störung – Ärger" -> "storung - arger"."""
    text = text.translate(_PUNCTUATION)
    if text.isascii():     # most mail: nothing to decompose (NFKD leaves ASCII as it is)
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = fold_text(keyword).split()
    body = r"\s+".join(re.escape(word) for word in words)
    # Lookarounds instead of \b, so keywords that start or end in punctuation ("c++", "#down") still work.
    return re.compile(rf"(?<!\w){body}(?!\w)")


def _string_tuple(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True)
class PriorityRule:
    """Give ``priority`` to mail matching any of senders/domains/keywords (within ``mailboxes``)."""

    priority: str
    senders: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    mailboxes: tuple[str, ...] = ()
    name: str = ""
    _patterns: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        label = self.name or f"priority rule {self.priority!r}"
        if self.priority not in PRIORITIES:
            raise ConfigError(f"{label}: priority {self.priority!r} is not one of {', '.join(PRIORITIES)}")
        set_ = object.__setattr__
        for attr in ("senders", "domains", "keywords", "mailboxes"):
            set_(self, attr, _string_tuple(getattr(self, attr), f"{label}.{attr}"))
        set_(self, "senders", tuple(s.lower() for s in self.senders))
        set_(self, "domains", tuple(d.lower().lstrip("@").rstrip(".") for d in self.domains))
        set_(self, "mailboxes", tuple(m.casefold() for m in self.mailboxes))
        if not (self.senders or self.domains or self.keywords or self.mailboxes):
            raise ConfigError(f"{label}: needs at least one of senders, domains, keywords, mailboxes")
        set_(self, "_patterns", tuple((k, _keyword_pattern(k)) for k in self.keywords))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object], where: str = "priority.rules") -> PriorityRule:
        """Build from one ``[[priority.rules]]`` TOML table."""
        unknown = set(mapping) - set(_RULE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; expected {', '.join(_RULE_KEYS)}")
        if "priority" not in mapping:
            raise ConfigError(f"{where}.priority is missing; expected one of {', '.join(PRIORITIES)}")
        lists = {key: _string_tuple(mapping.get(key, ()), f"{where}.{key}") for key in _RULE_KEYS[2:]}
        name = mapping.get("name", "")
        if not isinstance(name, str):
            raise ConfigError(f"{where}.name: expected a string, got {name!r}")
        return cls(priority=mapping["priority"], name=name or where, **lists)  # type: ignore[arg-type]

    def match(self, sender_address: str, folded_subject: str, folded_text: str, mailbox: str) -> str | None:
        """Why this rule matches, or None. Inputs are pre-folded by ``decide_priority``."""
        if self.mailboxes and mailbox.casefold() not in self.mailboxes:
            return None
        where = f" (mailbox {mailbox!r})" if self.mailboxes else ""
        if sender_address and sender_address in self.senders:
            return f"sender {sender_address!r}{where}"
        domain = sender_address.rpartition("@")[2]
        for wanted in self.domains:
            if domain and (domain == wanted or domain.endswith("." + wanted)):
                return f"domain {wanted!r} of sender {sender_address!r}{where}"
        for keyword, pattern in self._patterns:
            for part, folded in (("subject", folded_subject), ("text", folded_text)):
                if pattern.search(folded):
                    return f"keyword {keyword!r} in {part}{where}"
        if not (self.senders or self.domains or self.keywords):
            return f"mailbox {mailbox!r}"
        return None


@dataclass(frozen=True, slots=True)
class PriorityDecision:
    priority: str
    rule: str | None
    reason: str


def parse_rules(tables: Sequence[Mapping[str, object]]) -> tuple[PriorityRule, ...]:
    """All ``[[priority.rules]]`` in order; each named ``priority.rules[i]`` unless it has a name."""
    if not isinstance(tables, Sequence) or isinstance(tables, str | bytes):
        raise ConfigError(f"priority.rules: expected an array of tables, got {tables!r}")
    rules = []
    for index, table in enumerate(tables):
        where = f"priority.rules[{index}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: expected a table, got {table!r}")
        rules.append(PriorityRule.from_mapping(table, where))
    return tuple(rules)


def decide_priority(
    sender: str,
    subject: str,
    text: str,
    mailbox: str,
    rules: Sequence[PriorityRule],
    default: str = "normal",
) -> PriorityDecision:
    """The first matching rule's priority, else ``default``; the reason names what matched."""
    if default not in PRIORITIES:
        raise ConfigError(f"default priority {default!r} is not one of {', '.join(PRIORITIES)}")
    address = parseaddr(sender or "")[1].strip().lower()
    folded_subject, folded_text = fold_text(subject or ""), fold_text(text or "")
    for index, rule in enumerate(rules):
        reason = rule.match(address, folded_subject, folded_text, mailbox or "")
        if reason is not None:
            label = rule.name or f"priority.rules[{index}]"
            log.debug("priority %s by %s: %s", rule.priority, label, reason)
            return PriorityDecision(rule.priority, label, reason)
    return PriorityDecision(default, None, f"no rule matched; default {default!r}")
