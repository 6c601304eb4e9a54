"""SLA durations, policies, deadlines, pauses and elapsed fractions on real 2026 calendars."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailproc.errors import ConfigError
from mailproc.sla.calendar import BusinessCalendar, parse_hours
from mailproc.sla.deadlines import (
    SlaDuration,
    SlaPolicy,
    add_sla_duration,
    compute_deadlines,
    fraction_elapsed,
    parse_duration,
    resume_deadline,
)

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)
OFFICE = BusinessCalendar("Europe/Berlin", parse_hours({"mon-fri": ["08:00-17:00"]}), "DE", "BE")

CONFIG = tomllib.loads("""
[sla.urgent]
first_response = "1h"
resolution = "8h"
clock = "24x7"
[sla.high]
first_response = "2h"
resolution = "1d"
clock = "business"
[sla.normal]
first_response = "4h"
resolution = "3d"
[sla.low]
first_response = "1d"
resolution = "5d"
""")
POLICIES = {name: SlaPolicy.from_mapping(name, table) for name, table in CONFIG["sla"].items()}


def berlin(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


@pytest.mark.parametrize(("text", "days", "time"), [
    ("30m", 0, 30 * M),
    ("4h", 0, 4 * H),
    ("1d", 1, timedelta(0)),
    ("1d 4h", 1, 4 * H),
    ("90m", 0, 90 * M),
    ("1h30m", 0, 90 * M),
    (" 2D ", 2, timedelta(0)),
    ("1d4h 15m", 1, 4 * H + 15 * M),
])
def test_parse_duration(text, days, time):
    assert parse_duration(text) == SlaDuration(days=days, time=time)


@pytest.mark.parametrize("text", ["", "4", "1.5h", "4x", "h", "0m", "4h 1d", "-1h", "1 day"])
def test_parse_duration_rejects_with_the_value_and_the_form(text):
    with pytest.raises(ConfigError) as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)
    assert '"1d 4h"' in str(caught.value)


@given(st.integers(0, 60), st.integers(0, 100_000))
def test_duration_text_roundtrip(days, minutes):
    assume(days or minutes)
    duration = SlaDuration(days=days, time=timedelta(minutes=minutes))
    assert parse_duration(str(duration)) == duration


def test_policies_from_toml():
    assert POLICIES["urgent"] == SlaPolicy("urgent", SlaDuration(time=H), SlaDuration(time=8 * H), "24x7")
    assert POLICIES["normal"].clock == "business"
    assert POLICIES["low"].resolution == SlaDuration(days=5)


@pytest.mark.parametrize(("table", "message"), [
    ({"first_response": "1h", "resolution": "8h", "clock": "wall"}, "'wall'"),
    ({"first_response": "1h"}, "sla.high.resolution is missing"),
    ({"first_response": "1h", "resolution": "8h", "respond": "2h"}, "respond"),
    ({"first_response": "one hour", "resolution": "8h"}, "sla.high.first_response"),
])
def test_policy_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        SlaPolicy.from_mapping("high", table)


DEADLINE_CASES = [
    # 30 minutes on Thursday, Good Friday and Easter Monday closed, 90 minutes on Tuesday.
    ("high before Easter", "high", berlin(2026, 4, 2, 16, 30), berlin(2026, 4, 7, 9, 30), berlin(2026, 4, 7, 16, 30)),
    ("urgent is 24x7", "urgent", berlin(2026, 4, 2, 16, 30), berlin(2026, 4, 2, 17, 30), berlin(2026, 4, 3, 0, 30)),
    ("normal midweek", "normal", berlin(2026, 11, 23, 10, 0), berlin(2026, 11, 23, 14, 0), berlin(2026, 11, 26, 10, 0)),
    # Saturday mail counts from Monday's opening; a whole Monday is "by Monday 17:00".
    ("low on a Saturday", "low", berlin(2026, 11, 28, 10, 0), berlin(2026, 11, 30, 17, 0), berlin(2026, 12, 4, 17, 0)),
    ("normal before Christmas", "normal", berlin(2026, 12, 23, 15, 0),
     berlin(2026, 12, 24, 10, 0), berlin(2026, 12, 29, 15, 0)),
]


@pytest.mark.parametrize(("priority", "received", "first", "resolution"), [c[1:] for c in DEADLINE_CASES],
                         ids=[c[0] for c in DEADLINE_CASES])
def test_compute_deadlines(priority, received, first, resolution):
    deadlines = compute_deadlines(received, POLICIES[priority], OFFICE)
    assert deadlines.first_response_due_at == first
    assert deadlines.resolution_due_at == resolution
    assert deadlines.first_response_due_at.tzinfo is UTC


def test_days_then_hours():
    assert add_sla_duration(berlin(2026, 11, 23, 10), parse_duration("1d 4h"), OFFICE, "business") == berlin(
        2026, 11, 24, 14
    )


def test_24x7_day_is_24_real_hours_even_across_dst():
    start = berlin(2026, 3, 28, 12)
    # Aware arithmetic in one zone is wall-clock arithmetic in Python, so add in UTC.
    assert add_sla_duration(start, parse_duration("1d"), OFFICE, "24x7") == start.astimezone(UTC) + 24 * H
    assert add_sla_duration(start, parse_duration("1d"), OFFICE, "24x7") == berlin(2026, 3, 29, 13)


def test_unknown_clock_is_refused():
    with pytest.raises(ValueError, match="sundial"):
        add_sla_duration(berlin(2026, 11, 23), parse_duration("1h"), OFFICE, "sundial")


def test_resume_extends_by_business_time_paused():
    due = berlin(2026, 11, 23, 14)  # Mon 10:00 + 4h
    paused, resumed = berlin(2026, 11, 23, 12), berlin(2026, 11, 24, 16)
    new_due = resume_deadline(due, paused, resumed, OFFICE, "business")
    assert new_due == berlin(2026, 11, 25, 9)  # 2h left: 1h Tuesday, 1h Wednesday
    assert new_due == OFFICE.add_business_time(due, OFFICE.business_time_between(paused, resumed))


def test_resume_after_a_closed_pause_keeps_the_deadline():
    due = berlin(2026, 11, 30, 10)
    assert resume_deadline(due, berlin(2026, 11, 28, 10), berlin(2026, 11, 29, 20), OFFICE, "business") == due


def test_resume_does_not_undo_a_breach():
    due = berlin(2026, 11, 23, 14)
    assert resume_deadline(due, berlin(2026, 11, 23, 15), berlin(2026, 11, 24, 10), OFFICE, "business") == due


def test_resume_24x7_counts_the_night():
    due = berlin(2026, 11, 23, 14)
    new_due = resume_deadline(due, berlin(2026, 11, 23, 12), berlin(2026, 11, 24, 12), OFFICE, "24x7")
    assert new_due == berlin(2026, 11, 24, 14)


def test_resume_before_pause_is_an_error():
    with pytest.raises(ValueError, match="before paused_at"):
        resume_deadline(berlin(2026, 11, 23, 14), berlin(2026, 11, 23, 12), berlin(2026, 11, 23, 11),
                        OFFICE, "business")


@pytest.mark.parametrize(("now", "expected"), [
    (berlin(2026, 11, 23, 10), 0.0),
    (berlin(2026, 11, 23, 13), 0.75),
    (berlin(2026, 11, 23, 14), 1.0),
    (berlin(2026, 11, 23, 16), 1.5),
    (berlin(2026, 11, 22, 10), 0.0),
])
def test_fraction_elapsed(now, expected):
    assert fraction_elapsed(berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 14), now, OFFICE, "business") == expected


def test_fraction_elapsed_skips_holidays():
    start, due = berlin(2026, 4, 2, 16), berlin(2026, 4, 7, 11)  # 4 business hours over Easter
    assert fraction_elapsed(start, due, berlin(2026, 4, 6, 12), OFFICE, "business") == 0.25
    assert fraction_elapsed(start, due, berlin(2026, 4, 7, 9), OFFICE, "business") == 0.5
    # The same instants on a 24x7 clock: 89 of 115 real hours.
    assert fraction_elapsed(start, due, berlin(2026, 4, 6, 9), OFFICE, "24x7") == pytest.approx(89 / 115)


starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                      timezones=st.just(UTC)).map(lambda d: d.replace(second=0, microsecond=0))
minutes = st.integers(min_value=1, max_value=60 * 9 * 20).map(lambda n: timedelta(minutes=n))


@settings(max_examples=200, deadline=None)
@given(starts, minutes, st.floats(0, 1), minutes, st.sampled_from(["business", "24x7"]))
def test_property_pause_excludes_exactly_the_paused_time(start, duration, where, pause, clock):
    counting = OFFICE if clock == "business" else None
    due = add_sla_duration(start, SlaDuration(time=duration), OFFICE, clock)
    paused = start + (due - start) * where
    assume(paused < due)
    resumed = paused + pause
    new_due = resume_deadline(due, paused, resumed, OFFICE, clock)
    assert new_due >= due
    if counting is not None:
        paused_time = OFFICE.business_time_between(paused, resumed)
        assert OFFICE.business_time_between(start, new_due) - paused_time == duration
    else:
        assert new_due - start - pause == duration
    assert fraction_elapsed(start, due, due, OFFICE, clock) == 1.0
