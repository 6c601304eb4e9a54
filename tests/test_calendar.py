"""Business-hours calendar: table tests on real 2026 dates and properties of business-time arithmetic."""

from __future__ import annotations

import time as stopwatch
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailproc.errors import ConfigError
from mailproc.sla.calendar import CALENDAR_24X7, BusinessCalendar, parse_hours

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def berlin(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


def calendar(hours, country="DE", subdivision="BE", closed=(), zone="Europe/Berlin"):
    return BusinessCalendar(zone, parse_hours(hours), country, subdivision, closed)


OFFICE = calendar({"mon-fri": ["08:00-17:00"]})
LONG_DAY = calendar({"mon-fri": ["08:00-18:00"]})
SPLIT = calendar({"mon": ["08:00-12:00", "13:00-17:00"], "tue": ["08:00-12:00"], "wed-fri": ["08:00-17:00"]})
NIGHT_SUNDAY = calendar({"sun": ["00:00-06:00"], "mon-fri": ["08:00-17:00"]}, country=None, subdivision=None)
FULL_SUNDAY = calendar({"sun": ["00:00-24:00"]}, country=None, subdivision=None)
XMAS = calendar({"mon-fri": ["08:00-17:00"]}, closed=[date(2026, 12, 24), date(2026, 12, 31)])


ADD_CASES = [
    # Thu 17:55 is after closing; Good Friday (3 Apr) and Easter Monday (6 Apr) are closed.
    ("after close before Easter", OFFICE, berlin(2026, 4, 2, 17, 55), 4 * H, berlin(2026, 4, 7, 12, 0)),
    ("5 minutes before Easter", LONG_DAY, berlin(2026, 4, 2, 17, 55), 4 * H, berlin(2026, 4, 7, 11, 55)),
    # Fri 22 May 2026 before Whit Monday 25 May.
    ("Friday before Whit Monday", LONG_DAY, berlin(2026, 5, 22, 17, 55), 4 * H, berlin(2026, 5, 26, 11, 55)),
    ("before opening", OFFICE, berlin(2026, 11, 23, 6, 0), 4 * H, berlin(2026, 11, 23, 12, 0)),
    ("after closing", OFFICE, berlin(2026, 11, 23, 20, 0), H, berlin(2026, 11, 24, 9, 0)),
    ("on a holiday", OFFICE, berlin(2026, 4, 3, 10, 0), H, berlin(2026, 4, 7, 9, 0)),
    ("on a Saturday", OFFICE, berlin(2026, 11, 28, 10, 0), 2 * H, berlin(2026, 11, 30, 10, 0)),
    ("across closing", OFFICE, berlin(2026, 11, 23, 16, 0), 2 * H, berlin(2026, 11, 24, 9, 0)),
    ("ends exactly at closing", OFFICE, berlin(2026, 11, 27, 16, 0), H, berlin(2026, 11, 27, 17, 0)),
    ("zero duration keeps start", OFFICE, berlin(2026, 11, 28, 10, 0), timedelta(0), berlin(2026, 11, 28, 10, 0)),
    ("extra closed dates", XMAS, berlin(2026, 12, 23, 16, 0), 2 * H, berlin(2026, 12, 28, 9, 0)),
    ("New Year", XMAS, berlin(2026, 12, 30, 16, 30), H, berlin(2027, 1, 4, 8, 30)),
    ("split day across lunch", SPLIT, berlin(2026, 11, 23, 11, 0), 2 * H, berlin(2026, 11, 23, 14, 0)),
    ("split day, morning ends at lunch", SPLIT, berlin(2026, 11, 23, 11, 0), H, berlin(2026, 11, 23, 12, 0)),
    ("start in the lunch break", SPLIT, berlin(2026, 11, 23, 12, 30), H, berlin(2026, 11, 23, 14, 0)),
    ("half day Tuesday", SPLIT, berlin(2026, 11, 24, 11, 0), 2 * H, berlin(2026, 11, 25, 9, 0)),
    # Spring forward weekend: Fri is CET (+01), Mon is CEST (+02); wall clock 09:00 either way.
    ("across spring forward", OFFICE, berlin(2026, 3, 27, 16, 0), 2 * H, berlin(2026, 3, 30, 9, 0)),
    ("across fall back", OFFICE, berlin(2026, 10, 23, 16, 0), 2 * H, berlin(2026, 10, 26, 9, 0)),
    # 00:00-06:00 on 29 Mar lasts 5 real hours: 00:00 + 3h is 04:00 CEST.
    ("spring-forward night", NIGHT_SUNDAY, berlin(2026, 3, 29, 0, 0), 3 * H, berlin(2026, 3, 29, 4, 0)),
    ("spring-forward night overflows", NIGHT_SUNDAY, berlin(2026, 3, 29, 0, 0), 6 * H, berlin(2026, 3, 30, 9, 0)),
    # 00:00-06:00 on 25 Oct lasts 7 real hours: 00:00 + 3h is the second 02:00 (CET), 01:00 UTC.
    # (Written in UTC: Python never finds an ambiguous wall time equal to another zone's instant.)
    ("fall-back night", NIGHT_SUNDAY, berlin(2026, 10, 25, 0, 0), 3 * H, datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    ("fall-back night full", NIGHT_SUNDAY, berlin(2026, 10, 25, 0, 0), 7 * H, berlin(2026, 10, 25, 6, 0)),
    ("24x7 counts real time", CALENDAR_24X7, berlin(2026, 11, 28, 10, 0), 4 * H, berlin(2026, 11, 28, 14, 0)),
    ("24x7 across spring forward", CALENDAR_24X7, berlin(2026, 3, 29, 1, 0), 2 * H, berlin(2026, 3, 29, 4, 0)),
]


@pytest.mark.parametrize(("cal", "start", "duration", "expected"), [c[1:] for c in ADD_CASES],
                         ids=[c[0] for c in ADD_CASES])
def test_add_business_time_table(cal, start, duration, expected):
    result = cal.add_business_time(start, duration)
    assert result == expected, f"{result.astimezone(BERLIN)} != {expected}"
    assert result.tzinfo is UTC
    assert cal.business_time_between(start, result) == duration


def test_dst_days_have_real_lengths():
    assert FULL_SUNDAY.business_time_between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H
    assert FULL_SUNDAY.business_time_between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * H
    assert FULL_SUNDAY.business_time_between(berlin(2026, 11, 1), berlin(2026, 11, 2)) == 24 * H
    assert NIGHT_SUNDAY.business_time_between(berlin(2026, 3, 29), berlin(2026, 3, 29, 12)) == 5 * H
    assert NIGHT_SUNDAY.business_time_between(berlin(2026, 10, 25), berlin(2026, 10, 25, 12)) == 7 * H


def test_business_time_between_counts_only_open_time_and_is_antisymmetric():
    a, b = berlin(2026, 4, 2, 16, 0), berlin(2026, 4, 7, 9, 30)
    assert OFFICE.business_time_between(a, b) == H + 90 * M
    assert OFFICE.business_time_between(b, a) == -(H + 90 * M)
    assert OFFICE.business_time_between(a, a) == timedelta(0)
    assert OFFICE.business_time_between(berlin(2026, 4, 3, 9), berlin(2026, 4, 6, 17)) == timedelta(0)


def test_is_open_and_next_open():
    assert OFFICE.is_open(berlin(2026, 11, 23, 8, 0))
    assert not OFFICE.is_open(berlin(2026, 11, 23, 17, 0)), "intervals are half-open"
    assert not OFFICE.is_open(berlin(2026, 4, 6, 10, 0)), "Easter Monday"
    assert not SPLIT.is_open(berlin(2026, 11, 23, 12, 30))
    assert OFFICE.next_open(berlin(2026, 4, 2, 17, 0)) == berlin(2026, 4, 7, 8, 0)
    inside = berlin(2026, 11, 23, 10, 17)
    assert OFFICE.next_open(inside) == inside and OFFICE.next_open(inside).tzinfo is UTC
    assert CALENDAR_24X7.is_open(berlin(2026, 12, 25, 3, 0))


ADD_DAYS_CASES = [
    ("next day same time", OFFICE, berlin(2026, 11, 23, 10, 0), 1, berlin(2026, 11, 24, 10, 0)),
    ("over Easter", OFFICE, berlin(2026, 4, 2, 10, 0), 1, berlin(2026, 4, 7, 10, 0)),
    ("three days over Easter", OFFICE, berlin(2026, 4, 2, 10, 0), 3, berlin(2026, 4, 9, 10, 0)),
    # From Saturday: counts from Mon 08:00, one day later is Tue 08:00, said as Mon 17:00.
    ("from a Saturday", OFFICE, berlin(2026, 11, 28, 10, 0), 1, berlin(2026, 11, 30, 17, 0)),
    ("after closing before Easter", OFFICE, berlin(2026, 4, 2, 17, 55), 1, berlin(2026, 4, 7, 17, 0)),
    ("clamped to a half day", SPLIT, berlin(2026, 11, 23, 15, 0), 1, berlin(2026, 11, 24, 12, 0)),
    ("across spring forward keeps wall clock", OFFICE, berlin(2026, 3, 27, 10, 0), 1, berlin(2026, 3, 30, 10, 0)),
    ("zero days", OFFICE, berlin(2026, 11, 28, 10, 0), 0, berlin(2026, 11, 28, 10, 0)),
]


@pytest.mark.parametrize(("cal", "start", "days", "expected"), [c[1:] for c in ADD_DAYS_CASES],
                         ids=[c[0] for c in ADD_DAYS_CASES])
def test_add_business_days_table(cal, start, days, expected):
    assert cal.add_business_days(start, days) == expected


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.add_business_time(datetime(2026, 11, 23, 10), H)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE.business_time_between(berlin(2026, 11, 23), datetime(2026, 11, 24))
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add_business_time(berlin(2026, 11, 23), -H)


def test_very_long_duration_is_fast_and_exact():
    start = berlin(2026, 11, 23, 9, 0)
    began = stopwatch.perf_counter()
    due = OFFICE.add_business_time(start, timedelta(days=900))  # about ten years of 9-hour days
    elapsed = stopwatch.perf_counter() - began
    assert OFFICE.business_time_between(start, due) == timedelta(days=900)
    assert 2035 <= due.year <= 2037
    assert elapsed < 2.0
    with pytest.raises(ValueError, match="exceeds"):
        OFFICE.add_business_time(start, timedelta(days=366 * 21))


def test_calendar_that_never_opens_fails_instead_of_looping():
    with pytest.raises(ConfigError, match="no opening hours"):
        BusinessCalendar("Europe/Berlin", {})
    mondays = [date(2026, 11, 23) + timedelta(weeks=n) for n in range(120)]
    only_mondays = BusinessCalendar("Europe/Berlin", parse_hours({"mon": ["08:00-17:00"]}), closed_dates=mondays)
    with pytest.raises(ConfigError, match="never opens"):
        only_mondays.add_business_time(berlin(2026, 11, 22), H)


@pytest.mark.parametrize(("hours", "message"), [
    ({"mon": ["8-17"]}, "'8-17'"),
    ({"mon": ["17:00-08:00"]}, "'17:00-08:00'"),
    ({"mon": ["08:00-25:00"]}, "'08:00-25:00'"),
    ({"mon": ["08:00-12:00", "11:00-17:00"]}, "overlaps"),
    ({"funday": ["08:00-17:00"]}, "'funday'"),
    ({"mon-fri": ["08:00-17:00"], "fri": ["08:00-12:00"]}, "listed twice"),
    ({"mon": [8]}, "8"),
])
def test_parse_hours_errors_name_the_value_and_the_form(hours, message):
    with pytest.raises(ConfigError) as caught:
        parse_hours(hours)
    assert message in str(caught.value)
    assert "HH:MM-HH:MM" in str(caught.value) or "overlaps" in message or "twice" in message or "funday" in message


def test_parse_hours_accepts_ranges_midnight_and_single_strings():
    hours = parse_hours({"mon-wed": "08:00-17:00", "sat": ["22:00-24:00"], "sunday": ["00:00-02:00"]})
    assert hours[0] == hours[2] == ((time(8), time(17)),)
    assert hours[5] == ((time(22), time(0)),)
    assert 3 not in hours


def test_bad_zone_and_holiday_region_are_config_errors():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        BusinessCalendar("Mars/Olympus", parse_hours({"mon": ["08:00-17:00"]}))
    with pytest.raises(ConfigError, match="XX"):
        calendar({"mon": ["08:00-17:00"]}, country="XX", subdivision=None)
    with pytest.raises(ConfigError, match="ZZ"):
        calendar({"mon": ["08:00-17:00"]}, country="DE", subdivision="ZZ")


def test_describe_hours():
    from mailproc.sla.wording import describe_hours

    assert describe_hours(OFFICE) == "Mon–Fri 08:00–17:00 CET/CEST, closed on public holidays (DE-BE)"
    assert describe_hours(SPLIT) == (
        "Mon 08:00–12:00 and 13:00–17:00; Tue 08:00–12:00; Wed–Fri 08:00–17:00 CET/CEST, "
        "closed on public holidays (DE-BE)"
    )
    assert describe_hours(XMAS).endswith("closed on public holidays (DE-BE) and 2 other dates")
    assert describe_hours(FULL_SUNDAY) == "Sun 00:00–24:00 CET/CEST"
    assert describe_hours(CALENDAR_24X7) == "open around the clock (24/7, UTC)"


def test_holiday_names_come_from_the_holidays_package():
    assert OFFICE.holiday_name(date(2026, 4, 3)) == "Good Friday"
    assert OFFICE.holiday_name(date(2026, 4, 2)) is None
    assert XMAS.holiday_name(date(2026, 12, 24)) == "closed"


# -- properties -------------------------------------------------------------

CALENDARS = [
    OFFICE,
    SPLIT,
    NIGHT_SUNDAY,
    FULL_SUNDAY,
    XMAS,
    CALENDAR_24X7,
    calendar({"mon-fri": ["09:00-12:30", "13:30-18:00"]}, country="US", subdivision="NY", zone="America/New_York"),
    # Lord Howe shifts by 30 minutes at DST: a stress test for wall-clock arithmetic.
    calendar({"mon-sun": ["01:30-03:00", "07:00-19:00"]}, country=None, subdivision=None,
             zone="Australia/Lord_Howe"),
]
cals = st.sampled_from(CALENDARS)
minutes = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC)).map(lambda d: d.replace(second=0, microsecond=0))
# Whole and half hours hit opening and closing boundaries, where off-by-one errors live.
starts = st.one_of(minutes, minutes.map(lambda d: d.replace(minute=d.minute // 30 * 30)))
durations = st.integers(min_value=0, max_value=60 * 24 * 40).map(lambda n: timedelta(minutes=n))
PROPERTY = settings(max_examples=300, deadline=None)


def _at_open_or_closing(cal, at):
    return cal.is_open(at) or cal.is_open(at - timedelta(microseconds=1))


@PROPERTY
@given(cals, starts, durations)
def test_property_roundtrip_and_bounds(cal, start, duration):
    due = cal.add_business_time(start, duration)
    assert due >= start
    assert cal.business_time_between(start, due) == duration
    assert cal.business_time_between(due, start) == -duration
    if duration:
        assert _at_open_or_closing(cal, due)


@PROPERTY
@given(cals, starts, durations, durations)
def test_property_monotonic_and_additive(cal, start, a, b):
    first = cal.add_business_time(start, a)
    assert cal.add_business_time(first, b) == cal.add_business_time(start, a + b)
    shorter, longer = sorted((a, b))
    assert cal.add_business_time(start, shorter) <= cal.add_business_time(start, longer)


@PROPERTY
@given(cals, starts)
def test_property_next_open(cal, start):
    opens = cal.next_open(start)
    assert opens >= start and cal.is_open(opens)
    assert cal.business_time_between(start, opens) == timedelta(0)


@PROPERTY
@given(cals, starts, st.integers(min_value=1, max_value=30))
def test_property_business_days(cal, start, days):
    due = cal.add_business_days(start, days)
    assert due > start and _at_open_or_closing(cal, due)
    assert cal.add_business_days(start, days + 1) > due
