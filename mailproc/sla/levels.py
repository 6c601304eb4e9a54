"""Build the calendar, SLA policies and priority rules from the raw config sections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from mailproc.errors import ConfigError
from mailproc.policy.priority import PRIORITIES, PriorityRule, parse_rules
from mailproc.sla.calendar import BusinessCalendar, parse_hours
from mailproc.sla.deadlines import SlaPolicy

DEFAULT_HOURS = {"mon-fri": ["09:00-17:00"]}
DEFAULT_SLA = {
    "urgent": {"first_response": "1h", "resolution": "8h", "clock": "24x7"},
    "high": {"first_response": "2h", "resolution": "1d"},
    "normal": {"first_response": "4h", "resolution": "3d"},
    "low": {"first_response": "1d", "resolution": "5d"},
}
_CALENDAR_KEYS = {"timezone", "hours", "holidays_country", "holidays_subdivision", "closed_dates"}


@dataclass(frozen=True)
class ServiceLevels:
    calendar: BusinessCalendar
    policies: Mapping[str, SlaPolicy]
    rules: tuple[PriorityRule, ...]

    def policy(self, priority: str) -> SlaPolicy:
        return self.policies.get(priority) or self.policies["normal"]


def build_calendar(raw: Mapping[str, object]) -> BusinessCalendar:
    unknown = set(raw) - _CALENDAR_KEYS
    if unknown:
        raise ConfigError(f"calendar.{sorted(unknown)[0]}: unknown key (known keys: "
                          + ", ".join(sorted(_CALENDAR_KEYS)) + ")")
    closed = []
    for value in raw.get("closed_dates", ()):
        if isinstance(value, date):
            closed.append(value)
            continue
        try:
            closed.append(date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigError(f"calendar.closed_dates: expected dates like 2026-12-24, "
                              f"got {value!r}") from None
    return BusinessCalendar(
        timezone=str(raw.get("timezone", "UTC")),
        hours=parse_hours(raw.get("hours", DEFAULT_HOURS)),
        holidays_country=raw.get("holidays_country") or None,
        holidays_subdivision=raw.get("holidays_subdivision") or None,
        closed_dates=closed,
    )


def build_service_levels(calendar: Mapping[str, object], sla: Mapping[str, object],
                         priority: Mapping[str, object]) -> ServiceLevels:
    tables = {**DEFAULT_SLA, **dict(sla)}
    policies = {}
    for name, table in tables.items():
        if name not in PRIORITIES:
            raise ConfigError(f"sla.{name}: unknown priority (known: {', '.join(PRIORITIES)})")
        if not isinstance(table, Mapping):
            raise ConfigError(f"sla.{name}: expected a table")
        policies[name] = SlaPolicy.from_mapping(name, table)
    unknown = set(priority) - {"rules"}
    if unknown:
        raise ConfigError(f"priority.{sorted(unknown)[0]}: unknown key (known keys: rules)")
    return ServiceLevels(build_calendar(calendar), policies,
                         parse_rules(priority.get("rules", ())))
