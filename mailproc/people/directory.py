"""People, the on-call rota and vendors from config: who a step escalates to, whom to phone."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailproc.errors import ConfigError
from mailproc.people.phones import normalize_phone

log = logging.getLogger(__name__)

_PERSON_KEYS = {"key", "name", "role", "phone", "email", "lead_of", "manager_of"}
_VENDOR_KEYS = {"key", "name", "service", "phone", "email"}
_ONCALL_KEYS = {"person", "days", "hours"}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


@dataclass(frozen=True)
class Person:
    """Someone a step can reach: a configured person, an agent or a vendor contact."""

    key: str
    name: str
    role: str = ""
    phone: str = ""          # E.164
    email: str = ""
    lead_of: tuple[str, ...] = ()
    manager_of: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "role": self.role, "phone": self.phone,
                "email": self.email}


@dataclass(frozen=True)
class OnCallShift:
    person: str
    days: frozenset[int]             # 0 = Monday
    start: time | None = None
    end: time | None = None

    def covers(self, local: datetime) -> bool:
        if local.weekday() not in self.days:
            return False
        if self.start is None:
            return True
        t = local.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # a night shift over midnight


@dataclass(frozen=True)
class Directory:
    people: tuple[Person, ...] = ()
    vendors: tuple[Person, ...] = ()
    oncall: tuple[OnCallShift, ...] = ()
    zone: ZoneInfo = ZoneInfo("UTC")

    def person(self, key: str) -> Person | None:
        key = key.strip().lower()
        return next((p for p in self.people if p.key == key or p.email == key), None)

    def contact(self, key: str) -> Person | None:
        """A person or a vendor by key: who an escalation can reach and hear back from."""
        return self.person(key) or self.vendor(key)

    def vendor(self, key: str) -> Person | None:
        key = key.strip().lower()
        return next((v for v in self.vendors if v.key == key), None)

    def team_leads(self, team: str) -> list[Person]:
        return [p for p in self.people if team and team in p.lead_of]

    def managers(self, team: str) -> list[Person]:
        found = [p for p in self.people if team and team in p.manager_of]
        return found or [p for p in self.people if "*" in p.manager_of]

    def on_call(self, now: datetime) -> list[Person]:
        """Who is on call at `now` by the rota: every shift that covers the local time."""
        local = now.astimezone(self.zone)
        keys = list(dict.fromkeys(s.person for s in self.oncall if s.covers(local)))
        return [p for p in (self.person(k) for k in keys) if p is not None]


def _days(text: str, where: str) -> frozenset[int]:
    out: set[int] = set()
    for part in str(text).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ConfigError(f"{where}: expected days like mon-fri or sat,sun, got {text!r}")
        a, b = _DAYS.index(first), _DAYS.index(last or first)
        out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(out)


def _person(raw: Mapping, where: str, allowed: set[str], region: str) -> Person:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table")
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; expected one of "
                          f"{', '.join(sorted(allowed))}")
    for key in ("key", "name"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}.{key}: required (a non-empty string)")
    phone = ""
    if raw.get("phone"):
        phone = normalize_phone(str(raw["phone"]), region) or ""
        if not phone:
            raise ConfigError(f"{where}.phone: {raw['phone']!r} is not a valid phone number")
    lists = {}
    for key in ("lead_of", "manager_of"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}.{key}: expected a list of team names")
        lists[key] = tuple(value)
    return Person(key=raw["key"].strip().lower(), name=raw["name"].strip(),
                  role=str(raw.get("role") or raw.get("service") or ""), phone=phone,
                  email=str(raw.get("email", "")).strip().lower(), **lists)


def load_directory(raw: Mapping, *, zone: str = "UTC", region: str = "DE") -> Directory:
    """Validate the [directory] section; errors name the key, e.g. directory.people[1].phone."""
    allowed = {"people", "vendors", "oncall"}
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"directory.{sorted(unknown)[0]}: unknown key; expected people, "
                          f"vendors or oncall")
    people = tuple(_person(p, f"directory.people[{i}]", _PERSON_KEYS, region)
                   for i, p in enumerate(raw.get("people", ())))
    vendors = tuple(_person(v, f"directory.vendors[{i}]", _VENDOR_KEYS, region)
                    for i, v in enumerate(raw.get("vendors", ())))
    keys = [p.key for p in people]
    shifts = []
    for i, s in enumerate(raw.get("oncall", ())):
        where = f"directory.oncall[{i}]"
        unknown = set(s) - _ONCALL_KEYS
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; expected person, "
                              f"days, hours")
        person = str(s.get("person", "")).strip().lower()
        if person not in keys:
            raise ConfigError(f"{where}.person: {person!r} is not in directory.people")
        start = end = None
        if s.get("hours"):
            m = _HOURS_RE.match(str(s["hours"]).replace(" ", ""))
            if not m:
                raise ConfigError(f"{where}.hours: expected HH:MM-HH:MM, got {s['hours']!r}")
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
                raise ConfigError(f"{where}.hours: {s['hours']!r} is not a time range")
            start, end = time(h1, m1), time(min(h2, 23), m2 if h2 < 24 else 59)
        shifts.append(OnCallShift(person, _days(s.get("days", "mon-sun"), f"{where}.days"),
                                  start, end))
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return Directory(people, vendors, tuple(shifts), tz)


def phone_directory(app, now: datetime) -> list[dict]:
    """Support, on-call (now, by the rota), people and vendors: the numbers to call."""
    s = app.settings.support
    d = app.people
    rows: list[dict] = []
    if s.fallback_phone:
        rows.append({"name": s.name, "role": "support hotline",
                     "phone": normalize_phone(s.fallback_phone, s.phone_region) or s.fallback_phone,
                     "email": s.address, "group": "support"})
    for p in d.on_call(now):
        rows.append({**p.as_dict(), "role": f"on call now ({p.role})" if p.role else "on call now",
                     "group": "on-call"})
    for p in d.people:
        if p.phone:
            rows.append({**p.as_dict(), "group": "support"})
    for v in d.vendors:
        rows.append({**v.as_dict(), "role": f"vendor: {v.role}" if v.role else "vendor",
                     "group": "vendor"})
    return rows


def resolve_people(app, specs: Sequence[str], *, team: str, assignee: str,
                   now: datetime) -> list[Person]:
    """Who a step reaches: assignee, team, team_lead, manager, oncall, person:KEY, vendor:KEY
    or a plain address. Unknown names are skipped with a warning (validated at load)."""
    agents = app.agents
    d = app.people

    def from_agent(a) -> Person:
        return Person(key=a.key, name=a.name, role=f"agent, {a.team}" if a.team else "agent",
                      phone=normalize_phone(a.phone, app.settings.support.phone_region) or ""
                      if a.phone else "", email=a.email)

    out: list[Person] = []
    for spec in specs:
        kind, _, arg = spec.partition(":")
        if kind == "assignee":
            agent = agents.find(assignee) if assignee else None
            found = [from_agent(agent)] if agent else [from_agent(a) for a in agents.members(team)]
        elif kind == "team":
            found = [from_agent(a) for a in agents.members(team)]
        elif kind == "team_lead":
            found = d.team_leads(team)
        elif kind == "manager":
            found = d.managers(team)
        elif kind == "oncall":
            found = d.on_call(now)
        elif kind == "person":
            person = d.person(arg)
            agent = agents.find(arg) if person is None else None
            found = [person] if person else ([from_agent(agent)] if agent else [])
        elif kind == "vendor":
            found = [v for v in [d.vendor(arg)] if v]
        elif "@" in spec:
            found = [d.person(spec) or Person(key=spec, name=spec, email=spec.lower())]
        else:
            found = []
        if not found:
            log.info("escalation: %r names nobody (team %r, assignee %r)", spec, team, assignee)
        out.extend(p for p in found if p not in out)
    return out
