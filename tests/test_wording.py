"""Deadline words in English and German, with the zone abbreviation in force at the deadline."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailproc.sla.calendar import BusinessCalendar, parse_hours
from mailproc.sla.deadlines import add_sla_duration, parse_duration
from mailproc.sla.calendar import CALENDAR_24X7
from mailproc.sla.wording import (
    DeadlineWords,
    describe_deadline,
    describe_hours,
    format_relative,
    zone_abbreviation,
)

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar("Europe/Berlin", parse_hours({"mon-fri": ["08:00-17:00"]}), "DE", "BE")
LONDON = BusinessCalendar("Europe/London", parse_hours({"mon-fri": ["09:00-17:30"]}), "GB", "ENG")


def berlin(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


CASES = [
    # Mon 23 Nov 2026 06:00 counts from 08:00.
    ("4h", "business", "en", berlin(2026, 11, 23, 6), "Monday 23 November, 12:00 CET", "within 4 business hours"),
    ("4h", "business", "de", berlin(2026, 11, 23, 6), "Montag, 23. November, 12:00 MEZ",
     "innerhalb von 4 Geschäftsstunden"),
    ("1h", "24x7", "en", berlin(2026, 11, 28, 23, 30), "Sunday 29 November, 00:30 CET", "within 1 hour"),
    ("1h", "24x7", "de", berlin(2026, 11, 28, 23, 30), "Sonntag, 29. November, 00:30 MEZ", "innerhalb einer Stunde"),
    ("1d", "business", "en", berlin(2026, 7, 3, 10), "Monday 6 July, 10:00 CEST", "within 1 business day"),
    ("1d", "business", "de", berlin(2026, 7, 3, 10), "Montag, 6. Juli, 10:00 MESZ", "innerhalb eines Geschäftstags"),
    ("3d", "business", "de", berlin(2026, 3, 2, 9), "Donnerstag, 5. März, 09:00 MEZ",
     "innerhalb von 3 Geschäftstagen"),
    ("30m", "business", "en", berlin(2026, 11, 23, 9), "Monday 23 November, 09:30 CET", "within 30 business minutes"),
    ("90m", "business", "en", berlin(2026, 11, 23, 9), "Monday 23 November, 10:30 CET",
     "within 1 business hour and 30 minutes"),
    ("1d 4h", "business", "en", berlin(2026, 11, 23, 9), "Tuesday 24 November, 13:00 CET",
     "within 1 business day and 4 hours"),
    ("1d 4h", "business", "de", berlin(2026, 11, 23, 9), "Dienstag, 24. November, 13:00 MEZ",
     "innerhalb von 1 Geschäftstag und 4 Geschäftsstunden"),
    ("2d", "24x7", "de", berlin(2026, 11, 23, 9), "Mittwoch, 25. November, 09:00 MEZ", "innerhalb von 2 Tagen"),
    # Deadline in the next year: the year is shown.
    ("4h", "business", "en", berlin(2026, 12, 31, 16), "Monday 4 January 2027, 11:00 CET", "within 4 business hours"),
    ("4h", "business", "de", berlin(2026, 12, 31, 16), "Montag, 4. Januar 2027, 11:00 MEZ",
     "innerhalb von 4 Geschäftsstunden"),
]


@pytest.mark.parametrize(("text", "clock", "locale", "start", "absolute", "relative"), CASES)
def test_describe_deadline(text, clock, locale, start, absolute, relative):
    duration = parse_duration(text)
    due = add_sla_duration(start, duration, OFFICE, clock)
    assert describe_deadline(due, start, duration, OFFICE, clock, locale) == DeadlineWords(absolute, relative)


def test_zone_abbreviation_follows_dst_at_the_deadline():
    # Received Friday in CET, due Monday after the spring-forward weekend in CEST.
    start = berlin(2026, 3, 27, 16)
    due = add_sla_duration(start, parse_duration("4h"), OFFICE, "business")
    assert describe_deadline(due, start, None, OFFICE, "business").absolute == "Monday 30 March, 11:00 CEST"
    assert zone_abbreviation(start, OFFICE) == "CET"
    assert zone_abbreviation(due, OFFICE, "de-DE") == "MESZ"


def test_other_zones_keep_their_own_abbreviation():
    start = datetime(2026, 10, 23, 16, 30, tzinfo=ZoneInfo("Europe/London"))
    due = add_sla_duration(start, parse_duration("2h"), LONDON, "business")
    assert describe_deadline(due, start, None, LONDON, "business", "de").absolute == "Montag, 26. Oktober, 10:00 GMT"
    assert zone_abbreviation(start, LONDON) == "BST"


def test_relative_words_without_a_duration_measure_the_window():
    start = berlin(2026, 4, 2, 16)
    due = berlin(2026, 4, 7, 11)  # over Easter: 1h Thursday + 3h Tuesday
    assert describe_deadline(due, start, None, OFFICE, "business").relative == "within 4 business hours"
    assert describe_deadline(due, start, None, OFFICE, "24x7").relative == "within 115 hours"


@pytest.mark.parametrize(("duration", "clock", "locale", "words"), [
    (timedelta(minutes=1), "24x7", "en", "within 1 minute"),
    (timedelta(minutes=1), "business", "de", "innerhalb einer Minute Geschäftszeit"),
    (timedelta(hours=1), "business", "de", "innerhalb einer Geschäftsstunde"),
    (timedelta(seconds=61), "24x7", "en", "within 2 minutes"),
    (timedelta(hours=2, minutes=5), "24x7", "de", "innerhalb von 2 Stunden und 5 Minuten"),
    (parse_duration("1d"), "24x7", "de", "innerhalb eines Tages"),
])
def test_format_relative(duration, clock, locale, words):
    assert format_relative(duration, clock, locale) == words


def test_unknown_locale_and_clock_are_refused():
    with pytest.raises(ValueError, match="'fr'"):
        format_relative(timedelta(hours=1), "business", "fr")
    with pytest.raises(ValueError, match="'sundial'"):
        format_relative(timedelta(hours=1), "sundial", "en")


def test_describe_hours_in_both_locales():
    split = BusinessCalendar("Europe/Berlin", parse_hours({"mon-thu": ["08:00-12:00", "13:00-17:00"],
                                                          "fri": ["08:00-14:00"]}),
                             "DE", "BY", [datetime(2026, 12, 24).date()])
    assert describe_hours(split, "en") == (
        "Mon–Thu 08:00–12:00 and 13:00–17:00; Fri 08:00–14:00 CET/CEST, "
        "closed on public holidays (DE-BY) and 1 other date"
    )
    assert describe_hours(split, "de") == (
        "Mo–Do 08:00–12:00 und 13:00–17:00; Fr 08:00–14:00 MEZ/MESZ, "
        "an Feiertagen (DE-BY) und an einem weiteren Tag geschlossen"
    )
    assert describe_hours(OFFICE, "de") == "Mo–Fr 08:00–17:00 MEZ/MESZ, an Feiertagen (DE-BE) geschlossen"
    assert describe_hours(CALENDAR_24X7, "de") == "rund um die Uhr erreichbar (24/7, UTC)"
