"""Agents and teams from config, and the lookups over them (by address, name, team)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mailproc.errors import ConfigError

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")
_AGENT_KEYS = {"name", "key", "addresses", "team", "phone", "trusted_authserv_ids"}
_TEAM_KEYS = {"name", "assignment", "notify", "keywords", "domains", "senders", "assign_rules"}
_RULE_KEYS = {"agent", "keywords", "domains", "senders"}
ASSIGNMENTS = ("none", "round_robin")
NOTIFY = ("assignee", "team")


@dataclass(frozen=True)
class Agent:
    name: str
    key: str                      # short name for `#assign` and for the agent's signed address
    addresses: tuple[str, ...]    # lower-case; the first one receives notifications
    team: str = ""
    phone: str = ""
    # authserv-ids of OUR receiving MTA whose dkim/dmarc=pass verdicts we believe for this agent.
    trusted_authserv_ids: tuple[str, ...] = ()

    @property
    def email(self) -> str:
        return self.addresses[0]


@dataclass(frozen=True)
class Match:
    """Keywords (in subject or text), sender domains or sender addresses; any one matches."""

    keywords: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()

    def matches(self, sender: str, subject: str, text: str) -> str | None:
        sender = sender.lower()
        if sender in self.senders:
            return f"sender {sender}"
        domain = sender.rpartition("@")[2]
        if domain and domain in self.domains:
            return f"domain {domain}"
        haystack = f"{subject}\n{text}".lower()
        for word in self.keywords:
            if re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", haystack):
                return f"keyword {word!r}"
        return None

    @property
    def empty(self) -> bool:
        return not (self.keywords or self.domains or self.senders)


@dataclass(frozen=True)
class AssignRule:
    agent: str
    match: Match


@dataclass(frozen=True)
class Team:
    name: str
    assignment: str = "none"      # none | round_robin
    notify: str = "assignee"      # once a case has an assignee: notify only them, or the team
    route: Match = Match()        # new cases matching this go to this team
    assign_rules: tuple[AssignRule, ...] = ()


class AgentDirectory:
    """Lookups over the configured agents and teams."""

    def __init__(self, agents: Sequence[Agent], teams: Sequence[Team]) -> None:
        self.agents = tuple(agents)
        self.teams = {t.name: t for t in teams}
        self._by_address = {a: agent for agent in self.agents for a in agent.addresses}
        self.addresses = frozenset(self._by_address)

    def by_address(self, address: str) -> Agent | None:
        return self._by_address.get((address or "").strip().lower())

    def find(self, name: str) -> Agent | None:
        """An agent by key, full name, first name or address (case-insensitive)."""
        wanted = name.strip().lower()
        if not wanted:
            return None
        exact = [a for a in self.agents
                 if wanted in (a.key, a.name.lower()) or wanted in a.addresses]
        if exact:
            return exact[0]
        first = [a for a in self.agents if a.name.lower().split()[0] == wanted]
        return first[0] if len(first) == 1 else None

    def members(self, team: str) -> list[Agent]:
        return [a for a in self.agents if a.team == team]

    def team(self, name: str) -> Team:
        return self.teams.get(name) or Team(name=name)

    def recipients(self, team: str, assignee: str) -> list[Agent]:
        """Who hears about a case: the assignee, or the whole team (see Team.notify)."""
        agent = self.find(assignee) if assignee else None
        if agent is not None and self.team(team).notify == "assignee":
            return [agent]
        people = self.members(team)
        if agent is not None and agent not in people:
            people.append(agent)
        return people


def _strings(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings")
    return tuple(v.strip().lower() for v in value if v.strip())


def _string(entry: Mapping, name: str, key: str, default: str = "") -> str:
    value = entry.get(name, default)
    if not isinstance(value, str):
        raise ConfigError(f"{key}.{name}: expected a string")
    return value.strip()


def _unknown(entry: object, allowed: set[str], key: str) -> Mapping:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{key}: expected a table")
    for name in entry:
        if name not in allowed:
            raise ConfigError(f"{key}.{name}: unknown key (known: {', '.join(sorted(allowed))})")
    return entry


def _match(entry: Mapping, key: str) -> Match:
    return Match(keywords=_strings(entry.get("keywords", []), f"{key}.keywords"),
                 domains=_strings(entry.get("domains", []), f"{key}.domains"),
                 senders=_strings(entry.get("senders", []), f"{key}.senders"))


def parse_agents(raw: Sequence[Mapping]) -> list[Agent]:
    agents: list[Agent] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(raw):
        key = f"agents[{i}]"
        entry = _unknown(entry, _AGENT_KEYS, key)
        name = _string(entry, "name", key)
        if not name:
            raise ConfigError(f"{key}.name: required")
        addresses = _strings(entry.get("addresses", []), f"{key}.addresses")
        if not addresses or any(a.count("@") != 1 for a in addresses):
            raise ConfigError(f"{key}.addresses: expected one or more mail addresses")
        short = _string(entry, "key", key) or addresses[0].partition("@")[0]
        short = re.sub(r"[^a-z0-9_]", "_", short.lower())
        if not _KEY_RE.fullmatch(short):
            raise ConfigError(f"{key}.key: letters, digits and '_' only, got {short!r}")
        for addr in addresses + (short,):
            if addr in seen:
                raise ConfigError(f"{key}: {addr!r} is already used by {seen[addr]}")
            seen[addr] = key
        agents.append(Agent(name=name, key=short, addresses=addresses,
                            team=_string(entry, "team", key), phone=_string(entry, "phone", key),
                            trusted_authserv_ids=_strings(entry.get("trusted_authserv_ids", []),
                                                          f"{key}.trusted_authserv_ids")))
    return agents


def parse_teams(raw: Sequence[Mapping], agents: Sequence[Agent]) -> list[Team]:
    teams: list[Team] = []
    keys = {a.key for a in agents}
    for i, entry in enumerate(raw):
        key = f"teams[{i}]"
        entry = _unknown(entry, _TEAM_KEYS, key)
        name = _string(entry, "name", key)
        if not name:
            raise ConfigError(f"{key}.name: required")
        assignment = _string(entry, "assignment", key, "none")
        if assignment not in ASSIGNMENTS:
            raise ConfigError(f"{key}.assignment: expected one of {', '.join(ASSIGNMENTS)}")
        notify = _string(entry, "notify", key, "assignee")
        if notify not in NOTIFY:
            raise ConfigError(f"{key}.notify: expected one of {', '.join(NOTIFY)}")
        rules = entry.get("assign_rules", [])
        if not isinstance(rules, list):
            raise ConfigError(f"{key}.assign_rules: expected a list of tables")
        parsed_rules = []
        for j, rule in enumerate(rules):
            rkey = f"{key}.assign_rules[{j}]"
            rule = _unknown(rule, _RULE_KEYS, rkey)
            agent = _string(rule, "agent", rkey).lower()
            if agent not in keys:
                raise ConfigError(f"{rkey}.agent: no agent with key {agent!r}")
            match = _match(rule, rkey)
            if match.empty:
                raise ConfigError(f"{rkey}: give keywords, domains or senders")
            parsed_rules.append(AssignRule(agent, match))
        teams.append(Team(name=name, assignment=assignment, notify=notify,
                          route=_match(entry, key), assign_rules=tuple(parsed_rules)))
    for i, agent in enumerate(agents):
        if agent.team and agent.team not in {t.name for t in teams} and teams:
            raise ConfigError(f"agents[{i}].team: no team named {agent.team!r} in [[teams]]")
    return teams


def load_agents(agents: Sequence[Mapping], teams: Sequence[Mapping]) -> AgentDirectory:
    parsed = parse_agents(agents)
    return AgentDirectory(parsed, parse_teams(teams, parsed))
