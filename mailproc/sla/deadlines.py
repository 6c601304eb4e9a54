"""SLA deadlines: durations, policies per priority, due dates, pauses and elapsed fractions.

A ``business`` clock counts on the business calendar; a ``24x7`` clock counts
real time (``CALENDAR_24X7``), where "1d" is 24 hours. Days come before hours:
"1d 4h" is one business day (see ``BusinessCalendar.add_business_days``) and
then four business hours.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from mailproc.errors import ConfigError
from mailproc.sla.calendar import CALENDAR_24X7, BusinessCalendar

log = logging.getLogger(__name__)

Clock = Literal["business", "24x7"]
CLOCKS: tuple[Clock, ...] = ("business", "24x7")
_DURATION_FORM = '"30m", "4h", "1d", "1d 4h" or "1h 30m" (whole numbers; d = days, h = hours, m = minutes)'
_DURATION_RE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SlaDuration:
    """``days`` business (or 24-hour) days, then ``time`` of business (or real) time."""

    days: int = 0
    time: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.days < 0 or self.time < timedelta(0):
            raise ValueError(f"SLA duration must not be negative: {self.days}d {self.time}")

    @property
    def is_zero(self) -> bool:
        return self.days == 0 and self.time == timedelta(0)

    def __str__(self) -> str:
        minutes, seconds = divmod(int(self.time.total_seconds()), 60)
        hours, minutes = divmod(minutes, 60)
        parts = [f"{n}{unit}" for n, unit in ((self.days, "d"), (hours, "h"), (minutes, "m")) if n]
        if seconds:
            parts.append(f"{seconds}s")
        return " ".join(parts) or "0m"


def parse_duration(text: str) -> SlaDuration:
    """ "1d 4h" -> SlaDuration(days=1, time=4h); "90m" -> SlaDuration(time=90m)."""
    match = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ConfigError(f"bad SLA duration {text!r}; expected {_DURATION_FORM}")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    duration = SlaDuration(days=days, time=timedelta(hours=hours, minutes=minutes))
    if duration.is_zero:
        raise ConfigError(f"SLA duration {text!r} is zero; expected a positive {_DURATION_FORM}")
    return duration


def clock_calendar(calendar: BusinessCalendar, clock: Clock) -> BusinessCalendar:
    """The calendar a clock counts on."""
    if clock == "24x7":
        return CALENDAR_24X7
    if clock == "business":
        return calendar
    raise ValueError(f"unknown SLA clock {clock!r}; expected one of {', '.join(CLOCKS)}")


def add_sla_duration(
    start_at: datetime, duration: SlaDuration, calendar: BusinessCalendar, clock: Clock
) -> datetime:
    """When ``duration`` on ``clock`` has passed since ``start_at`` (aware UTC)."""
    counting = clock_calendar(calendar, clock)
    after_days = counting.add_business_days(start_at, duration.days)
    return counting.add_business_time(after_days, duration.time)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Response and resolution targets for one priority."""

    priority: str
    first_response: SlaDuration
    resolution: SlaDuration
    clock: Clock = "business"

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ConfigError(f"sla.{self.priority}.clock: {self.clock!r} is not one of {', '.join(CLOCKS)}")

    @classmethod
    def from_mapping(cls, priority: str, mapping: Mapping[str, object]) -> SlaPolicy:
        """Build from a TOML table such as ``{first_response = "2h", resolution = "1d", clock = "business"}``."""
        where = f"sla.{priority}"
        unknown = set(mapping) - {"first_response", "resolution", "clock"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; expected first_response, resolution, clock")
        values: dict[str, SlaDuration] = {}
        for key in ("first_response", "resolution"):
            if key not in mapping:
                raise ConfigError(f"{where}.{key} is missing; expected {_DURATION_FORM}")
            try:
                values[key] = parse_duration(mapping[key])  # type: ignore[arg-type]
            except ConfigError as exc:
                raise ConfigError(f"{where}.{key}: {exc}") from exc
        clock = mapping.get("clock", "business")
        if clock not in CLOCKS:
            raise ConfigError(f"{where}.clock: {clock!r} is not one of {', '.join(CLOCKS)}")
        return cls(priority, values["first_response"], values["resolution"], clock)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Deadlines:
    first_response_due_at: datetime
    resolution_due_at: datetime
    policy: SlaPolicy | None = field(default=None, compare=False)


def compute_deadlines(received_at: datetime, policy: SlaPolicy, calendar: BusinessCalendar) -> Deadlines:
    """Both deadlines of a case received at ``received_at``."""
    return Deadlines(
        first_response_due_at=add_sla_duration(received_at, policy.first_response, calendar, policy.clock),
        resolution_due_at=add_sla_duration(received_at, policy.resolution, calendar, policy.clock),
        policy=policy,
    )


def resume_deadline(
    due_at: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    calendar: BusinessCalendar,
    clock: Clock,
) -> datetime:
    """The deadline after a pause (case pending on the customer) from ``paused_at`` to ``resumed_at``.

    The time that was left at the pause is left again at the resume, which is the
    old deadline extended by the business time spent paused. A deadline already
    missed when the pause began stays missed: pausing does not undo a breach.
    """
    counting = clock_calendar(calendar, clock)
    left = counting.business_time_between(paused_at, due_at)
    if counting.business_time_between(paused_at, resumed_at) < timedelta(0):
        raise ValueError(f"resumed_at {resumed_at.isoformat()} is before paused_at {paused_at.isoformat()}")
    if left < timedelta(0) or paused_at >= due_at:
        return counting.add_business_time(due_at, timedelta(0))
    return counting.add_business_time(resumed_at, left)


def fraction_elapsed(
    start_at: datetime,
    due_at: datetime,
    now: datetime,
    calendar: BusinessCalendar,
    clock: Clock,
) -> float:
    """Share of the SLA window used by ``now``: 0.0 at start, 1.0 at the deadline,
    above 1.0 once overdue (never below 0.0). A zero-length window is 0.0 before
    its deadline and 1.0 from it on."""
    counting = clock_calendar(calendar, clock)
    total = counting.business_time_between(start_at, due_at)
    if total <= timedelta(0):
        return 1.0 if now >= due_at else 0.0
    used = counting.business_time_between(start_at, now)
    return max(used / total, 0.0)
