"""Business-hours calendar: opening hours, holidays and business-time arithmetic in one zone.

Semantics, chosen once and used everywhere:

* Opening hours are wall-clock times in the calendar's zone; elapsed business
  time is real elapsed time, so an ``00:00-24:00`` Sunday lasts 23 hours on
  the spring-forward day and 25 on the fall-back day.
* An interval is half-open ``[open, close)``. An end of ``00:00`` (written
  ``24:00`` in config) means the end of that day. Overnight shifts are split
  across two days in config.
* ``add_business_time(start, d)`` is the earliest instant ``t >= start`` with
  ``business_time_between(start, t) == d``; a start outside opening hours
  counts from the next opening, and a positive result is inside opening hours
  or exactly at a closing boundary (Fri 17:00, never the Mon 08:00 after).
  A zero duration returns ``start`` unchanged, which keeps the arithmetic
  additive: ``add(add(s, a), b) == add(s, a + b)``.
* ``add_business_days(start, n)``: the same point of the business day (the
  business time used of it; the same wall-clock time on regular days) on the
  n-th following business day, clamped to a shorter day's closing, then moved
  to the earliest instant with that elapsed business time.
* All results are aware UTC datetimes; naive inputs raise ``ValueError``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from mailproc.errors import ConfigError

log = logging.getLogger(__name__)

Interval = tuple[time, time]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MIDNIGHT = time(0)
_ZERO = timedelta(0)
_DAY = timedelta(days=1)
# Longer than any real cluster of holidays and closures: past this we are
# walking a calendar that never opens, and must stop instead of spinning.
_MAX_CLOSED_RUN_DAYS = 400
# Bounds that keep every loop short; no SLA comes near them.
MAX_BUSINESS_DURATION = timedelta(days=366 * 20)
MAX_SPAN = timedelta(days=366 * 100)
_HOURS_FORM = '"HH:MM-HH:MM" (e.g. "08:00-12:00"; "24:00" for midnight)'
_INTERVAL_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*$")


def as_utc(value: datetime, name: str = "datetime") -> datetime:
    """``value`` in UTC; a naive datetime is a ValueError, never a guess."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _minutes(t: time, *, is_end: bool) -> int:
    return 24 * 60 if is_end and t == _MIDNIGHT else t.hour * 60 + t.minute


def _fmt_time(t: time, *, is_end: bool) -> str:
    return "24:00" if is_end and t == _MIDNIGHT else f"{t.hour:02d}:{t.minute:02d}"


@functools.lru_cache(maxsize=512)
def _holidays_of_year(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    # Years are computed on first use and kept: the holidays package is slow to
    # build a year, and a long deadline may touch many.
    found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return MappingProxyType(dict(found.items()))


def _parse_interval(text: object, where: str) -> Interval:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected {_HOURS_FORM}, got {text!r}")
    match = _INTERVAL_RE.match(text)
    if not match:
        raise ConfigError(f"{where}: bad opening hours {text!r}; expected {_HOURS_FORM}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ConfigError(f"{where}: bad time in {text!r}; expected {_HOURS_FORM}")
    start, end = time(h1, m1), time(0) if h2 == 24 else time(h2, m2)
    if _minutes(end, is_end=True) <= _minutes(start, is_end=False):
        raise ConfigError(
            f"{where}: {text!r} does not end after it starts; expected {_HOURS_FORM} "
            "with start before end (split overnight shifts across two days)"
        )
    return start, end


_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES = {name: i for names in (WEEKDAYS, _FULL_NAMES) for i, name in enumerate(names)}


def _weekday_keys(key: object) -> list[int]:
    """ "mon" -> [0]; "mon-fri" -> [0..4]; 6 -> [6]."""
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return [key]
    if isinstance(key, str):
        ends = [_DAY_NAMES.get(part.strip().lower()) for part in key.split("-")]
        if len(ends) in (1, 2) and None not in ends and ends[0] <= ends[-1]:  # type: ignore[operator]
            return list(range(ends[0], ends[-1] + 1))  # type: ignore[arg-type]
    raise ConfigError(
        f"calendar.hours: bad weekday {key!r}; expected one of {', '.join(WEEKDAYS)} "
        'or a range such as "mon-fri"'
    )


def parse_hours(mapping: Mapping[object, object]) -> dict[int, tuple[Interval, ...]]:
    """Turn ``{"mon": ["08:00-12:00", "13:00-17:00"], "tue-fri": ["08:00-17:00"]}``
    into ``{0: ((08:00, 12:00), (13:00, 17:00)), ...}``; days not listed are closed."""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"calendar.hours: expected a table of weekday = [{_HOURS_FORM}], got {mapping!r}")
    hours: dict[int, tuple[Interval, ...]] = {}
    for key, value in mapping.items():
        days = _weekday_keys(key)
        where = f"calendar.hours.{key}"
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, Sequence):
            raise ConfigError(f"{where}: expected a list of {_HOURS_FORM}, got {value!r}")
        intervals = tuple(_parse_interval(item, where) for item in items)
        for day in days:
            if day in hours:
                raise ConfigError(f"{where}: {WEEKDAYS[day]} is listed twice")
            hours[day] = intervals
    _validate_hours(hours)
    return hours


def _validate_hours(hours: Mapping[int, Sequence[Interval]]) -> None:
    for day, intervals in hours.items():
        if not (isinstance(day, int) and 0 <= day <= 6):
            raise ConfigError(f"calendar.hours: weekday must be 0 (Mon) to 6 (Sun), got {day!r}")
        ordered = sorted(intervals, key=lambda iv: _minutes(iv[0], is_end=False))
        previous_end = -1
        for start, end in ordered:
            lo, hi = _minutes(start, is_end=False), _minutes(end, is_end=True)
            label = format_interval((start, end))
            if hi <= lo:
                raise ConfigError(f"calendar.hours.{WEEKDAYS[day]}: {label} does not end after it starts")
            if lo < previous_end:
                raise ConfigError(f"calendar.hours.{WEEKDAYS[day]}: {label} overlaps another interval")
            previous_end = hi


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Opening hours per weekday (0 = Mon) in ``timezone``, minus public and extra closed days."""

    timezone: str
    hours: Mapping[int, Sequence[Interval]] | tuple[tuple[Interval, ...], ...]
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    closed_dates: Iterable[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _always_open: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ConfigError(f"calendar.timezone: unknown time zone {self.timezone!r} ({exc})") from exc
        source = self.hours if isinstance(self.hours, Mapping) else dict(enumerate(self.hours))
        _validate_hours(source)
        week = tuple(
            tuple(sorted(source.get(day, ()), key=lambda iv: _minutes(iv[0], is_end=False)))
            for day in range(7)
        )
        if not any(week):
            raise ConfigError("calendar.hours: the calendar has no opening hours at all")
        country = self.holidays_country or None
        subdivision = self.holidays_subdivision or None
        if subdivision and not country:
            raise ConfigError("calendar.holidays_subdivision needs calendar.holidays_country")
        if country:
            try:
                holidays.country_holidays(country, subdiv=subdivision)
            except NotImplementedError as exc:
                raise ConfigError(f"calendar.holidays_country/subdivision: {exc}") from exc
        closed = frozenset(self.closed_dates)
        for day in closed:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ConfigError(f"calendar.closed_dates: expected dates, got {day!r}")
        full_day = ((_MIDNIGHT, _MIDNIGHT),)
        set_ = object.__setattr__
        set_(self, "hours", week)
        set_(self, "holidays_country", country)
        set_(self, "holidays_subdivision", subdivision)
        set_(self, "closed_dates", closed)
        set_(self, "_zone", zone)
        set_(self, "_always_open", all(d == full_day for d in week) and not country and not closed)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A calendar that never closes: business time is plain elapsed time."""
        return cls(timezone=timezone, hours={day: ((_MIDNIGHT, _MIDNIGHT),) for day in range(7)})

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def is_always_open(self) -> bool:
        return self._always_open

    # -- days -------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name, "closed" for an extra closed date, else None."""
        if day in self.closed_dates:  # type: ignore[operator]
            return "closed"
        if self.holidays_country:
            return _holidays_of_year(self.holidays_country, self.holidays_subdivision, day.year).get(day)
        return None

    def is_business_day(self, day: date) -> bool:
        return bool(self.hours[day.weekday()]) and self.holiday_name(day) is None  # type: ignore[index]

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The UTC ``[open, close)`` intervals of one local day; empty when closed."""
        if not self.is_business_day(day):
            return []
        out: list[tuple[datetime, datetime]] = []
        for start, end in self.hours[day.weekday()]:  # type: ignore[index]
            # fold=0: a wall time in the spring-forward gap lands after the gap,
            # an ambiguous fall-back time means its first occurrence.
            opens = datetime.combine(day, start, tzinfo=self._zone).astimezone(UTC)
            end_day = day + _DAY if end == _MIDNIGHT else day
            closes = datetime.combine(end_day, end, tzinfo=self._zone).astimezone(UTC)
            if out and opens < out[-1][1]:
                opens = out[-1][1]
            if closes > opens:
                out.append((opens, closes))
        return out

    def _intervals_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC) that end after ``at``, in order, forever."""
        day = at.astimezone(self._zone).date()
        closed_run = 0
        while True:
            intervals = self.open_intervals(day)
            if intervals:
                closed_run = 0
                for opens, closes in intervals:
                    if closes > at:
                        yield opens, closes
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_RUN_DAYS:
                    raise ConfigError(
                        f"calendar never opens: {_MAX_CLOSED_RUN_DAYS} closed days in a row after {day - closed_run * _DAY}"
                    )
            day += _DAY

    # -- instants ---------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        at_utc = as_utc(at, "at")
        if self._always_open:
            return True
        day = at_utc.astimezone(self._zone).date()
        return any(opens <= at_utc < closes for opens, closes in self.open_intervals(day))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) when open, else the next opening."""
        at_utc = as_utc(at, "at")
        if self._always_open:
            return at_utc
        opens, _ = next(self._intervals_from(at_utc))
        return max(opens, at_utc)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant when ``duration`` of business time has passed since ``start``."""
        start_at = as_utc(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if duration > MAX_BUSINESS_DURATION:
            raise ValueError(f"duration {duration} exceeds the supported {MAX_BUSINESS_DURATION}")
        if duration == _ZERO:
            return start_at
        if self._always_open:
            return start_at + duration
        remaining = duration
        for opens, closes in self._intervals_from(start_at):
            opens = max(opens, start_at)
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Open time in ``[a, b)``; antisymmetric, so it is negative when ``b < a``
        (e.g. how far past a deadline) and zero when ``b == a``."""
        a_at, b_at = as_utc(a, "a"), as_utc(b, "b")
        if b_at < a_at:
            return -self.business_time_between(b_at, a_at)
        if b_at - a_at > MAX_SPAN:
            raise ValueError(f"span {b_at - a_at} exceeds the supported {MAX_SPAN}")
        if self._always_open:
            return b_at - a_at
        total = _ZERO
        for opens, closes in self._intervals_from(a_at):
            if opens >= b_at:
                break
            total += min(closes, b_at) - max(opens, a_at)
        return total

    def _business_day_step(self, day: date, step: int) -> date:
        """The nearest business day after (step=1) or before (step=-1) ``day``."""
        for _ in range(_MAX_CLOSED_RUN_DAYS):
            day += step * _DAY
            if self.is_business_day(day):
                return day
        raise ConfigError(f"calendar never opens: {_MAX_CLOSED_RUN_DAYS} closed days in a row from {day}")

    def _position(self, at: datetime) -> tuple[date, timedelta]:
        """The business day ``at`` belongs to and how much of it is used by then.

        Before the day's opening or on a closed day, ``at`` belongs to the
        previous business day, fully used."""
        day = at.astimezone(self._zone).date()
        intervals = self.open_intervals(day)
        if not intervals or at < intervals[0][0]:
            day = self._business_day_step(day, -1)
            intervals = self.open_intervals(day)
        return day, sum((min(closes, at) - opens for opens, closes in intervals if opens < at), _ZERO)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same point of the business day, ``days`` business days later.

        The point is the business time used of ``start``'s day, so on regular
        days this is the same wall-clock time (Mon 10:00 -> Tue 10:00); on a
        shorter day it is clamped to that day's closing. The result is the
        earliest instant with that business time elapsed (Mon 17:00, not Tue 08:00)."""
        start_at = as_utc(start, "start")
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        if days == 0:
            return start_at
        if days > MAX_BUSINESS_DURATION.days:
            raise ValueError(f"{days} business days exceeds the supported {MAX_BUSINESS_DURATION.days}")
        day, used = self._position(start_at)
        for _ in range(days):
            day = self._business_day_step(day, 1)
        intervals = self.open_intervals(day)
        length = sum((closes - opens for opens, closes in intervals), _ZERO)
        target = self.add_business_time(intervals[0][0], min(used, length))
        return self.add_business_time(start_at, self.business_time_between(start_at, target))

    # -- words ------------------------------------------------------------

    def zone_abbreviations(self, year: int = 2026) -> tuple[str, ...]:
        """Abbreviations in force during ``year`` ("CET", "CEST"), winter first."""
        names: list[str] = []
        for month in (1, 7):
            name = datetime(year, month, 15, 12, tzinfo=self._zone).tzname() or self.timezone
            if name not in names:
                names.append(name)
        return tuple(names)

    def hour_groups(self) -> list[tuple[int, int, tuple[Interval, ...]]]:
        """Runs of consecutive open weekdays with equal hours: ``[(0, 4, ((08:00, 17:00),))]``."""
        groups: list[tuple[int, int, tuple[Interval, ...]]] = []
        for day, intervals in enumerate(self.hours):  # type: ignore[arg-type]
            if groups and groups[-1][2] == intervals and groups[-1][1] == day - 1:
                groups[-1] = (groups[-1][0], day, intervals)
            else:
                groups.append((day, day, intervals))
        return [group for group in groups if group[2]]

    @property
    def holidays_region(self) -> str:
        """ "DE-BE", "DE" or "" for the holidays in force."""
        return "-".join(p for p in (self.holidays_country, self.holidays_subdivision) if p)


def format_interval(interval: Interval) -> str:
    """ "08:00–17:00"; an end of midnight is "24:00"."""
    return f"{_fmt_time(interval[0], is_end=False)}–{_fmt_time(interval[1], is_end=True)}"


CALENDAR_24X7 = BusinessCalendar.always_open("UTC")
