"""Customer-facing words for a deadline ("Tuesday 24 November, 10:00 CET", "within 4 business hours").

Names of days and months are written out here, so the words never depend on
the system locale. The zone abbreviation is the one in force at the deadline.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailproc.sla.calendar import BusinessCalendar, as_utc, format_interval
from mailproc.sla.deadlines import Clock, SlaDuration, clock_calendar

log = logging.getLogger(__name__)

LOCALES = ("en", "de")

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
}
# German readers know the Central/Eastern/Western European zones by German names.
_ZONE_NAMES_DE = {"CET": "MEZ", "CEST": "MESZ", "EET": "OEZ", "EEST": "OESZ", "WET": "WEZ", "WEST": "WESZ"}

# (singular, plural) per unit; German plurals are dative ("innerhalb von 4 Stunden").
_UNITS = {
    ("en", "business"): {"d": ("business day", "business days"), "h": ("business hour", "business hours"),
                         "m": ("business minute", "business minutes")},
    ("en", "24x7"): {"d": ("day", "days"), "h": ("hour", "hours"), "m": ("minute", "minutes")},
    ("de", "business"): {"d": ("Geschäftstag", "Geschäftstagen"), "h": ("Geschäftsstunde", "Geschäftsstunden"),
                         "m": ("Minute Geschäftszeit", "Minuten Geschäftszeit")},
    ("de", "24x7"): {"d": ("Tag", "Tagen"), "h": ("Stunde", "Stunden"), "m": ("Minute", "Minuten")},
}
# German "within one X" takes the genitive article: "innerhalb eines Tages", "innerhalb einer Stunde".
_DE_ONE = {
    "Geschäftstag": "eines Geschäftstags", "Geschäftsstunde": "einer Geschäftsstunde",
    "Minute Geschäftszeit": "einer Minute Geschäftszeit", "Tag": "eines Tages", "Stunde": "einer Stunde",
    "Minute": "einer Minute",
}




@dataclass(frozen=True, slots=True)
class DeadlineWords:
    absolute: str
    relative: str


def _locale(locale: str) -> str:
    primary = locale.replace("_", "-").split("-")[0].lower() if isinstance(locale, str) else ""
    if primary not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; expected one of {', '.join(LOCALES)}")
    return primary


def zone_abbreviation(at: datetime, calendar: BusinessCalendar, locale: str = "en") -> str:
    """The abbreviation in force at ``at`` in the calendar's zone (CET or CEST)."""
    name = as_utc(at, "at").astimezone(calendar.zone).tzname() or calendar.timezone
    return _ZONE_NAMES_DE.get(name, name) if _locale(locale) == "de" else name


def format_absolute(at: datetime, calendar: BusinessCalendar, locale: str = "en", *, with_year: bool = False) -> str:
    """ "Tuesday 24 November, 10:00 CET" / "Dienstag, 24. November, 10:00 MEZ"."""
    lang = _locale(locale)
    local = as_utc(at, "at").astimezone(calendar.zone)
    weekday, month = _WEEKDAYS[lang][local.weekday()], _MONTHS[lang][local.month - 1]
    year = f" {local.year}" if with_year else ""
    clock = f"{local.hour:02d}:{local.minute:02d} {zone_abbreviation(local, calendar, lang)}"
    if lang == "de":
        return f"{weekday}, {local.day}. {month}{year}, {clock}"
    return f"{weekday} {local.day} {month}{year}, {clock}"


def _amounts(duration: SlaDuration) -> list[tuple[int, str]]:
    minutes = math.ceil(duration.time / timedelta(minutes=1))
    amounts = [(duration.days, "d")]
    if minutes % 60 == 0 or minutes > 60:
        amounts += [(minutes // 60, "h"), (minutes % 60, "m")]
    else:
        amounts.append((minutes, "m"))
    return [(n, unit) for n, unit in amounts if n] or [(0, "m")]


def format_relative(duration: SlaDuration | timedelta, clock: Clock, locale: str = "en") -> str:
    """ "within 4 business hours", "within 1 hour" (24x7), "innerhalb von 4 Geschäftsstunden"."""
    lang = _locale(locale)
    if isinstance(duration, timedelta):
        duration = SlaDuration(time=duration)
    if (lang, clock) not in _UNITS:
        raise ValueError(f"unknown SLA clock {clock!r}; expected business or 24x7")
    units = _UNITS[(lang, clock)]
    amounts = _amounts(duration)
    words = [f"{n} {units[unit][0] if n == 1 else units[unit][1]}" for n, unit in amounts]
    if lang == "de":
        if len(amounts) == 1 and amounts[0][0] == 1:
            return f"innerhalb {_DE_ONE[units[amounts[0][1]][0]]}"
        if len(words) > 1:
            words = [words[0]] + [w.replace(" Geschäftszeit", "") for w in words[1:]]
        return "innerhalb von " + " und ".join(words)
    if clock == "business" and len(words) > 1:
        # "1 business day and 4 hours": the adjective once is enough.
        words = [words[0]] + [w.replace("business ", "") for w in words[1:]]
    return "within " + " and ".join(words)


def describe_deadline(
    due_at: datetime,
    start_at: datetime,
    duration: SlaDuration | timedelta | None,
    calendar: BusinessCalendar,
    clock: Clock,
    locale: str = "en",
) -> DeadlineWords:
    """Both ways to say a deadline. The year is shown only when it differs from
    the start's; without ``duration`` the relative words say the business (or
    real) time from ``start_at`` to ``due_at``, rounded up to the minute."""
    lang = _locale(locale)
    if duration is None:
        duration = clock_calendar(calendar, clock).business_time_between(start_at, due_at)
    due_local = as_utc(due_at, "due_at").astimezone(calendar.zone)
    start_local = as_utc(start_at, "start_at").astimezone(calendar.zone)
    return DeadlineWords(
        absolute=format_absolute(due_local, calendar, lang, with_year=due_local.year != start_local.year),
        relative=format_relative(duration, clock, lang),
    )


_HOURS_WORDS = {
    "en": {"days": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), "and": " and ",
           "always": "open around the clock (24/7, {zone})", "holidays": "public holidays ({region})",
           "others": ("1 other date", "{n} other dates"), "closed": ", closed on {what}"},
    "de": {"days": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"), "and": " und ",
           "always": "rund um die Uhr erreichbar (24/7, {zone})", "holidays": "an Feiertagen ({region})",
           "others": ("an einem weiteren Tag", "an {n} weiteren Tagen"), "closed": ", {what} geschlossen"},
}


def describe_hours(calendar: BusinessCalendar, locale: str = "en", year: int = 2026) -> str:
    """Opening hours for customers: "Mon–Fri 08:00–17:00 CET/CEST, closed on public holidays (DE-BE)"
    or "Mo–Fr 08:00–17:00 MEZ/MESZ, an Feiertagen (DE-BE) geschlossen"."""
    lang = _locale(locale)
    words = _HOURS_WORDS[lang]
    names = calendar.zone_abbreviations(year)
    zone = "/".join(_ZONE_NAMES_DE.get(n, n) for n in names) if lang == "de" else "/".join(names)
    if calendar.is_always_open:
        return words["always"].format(zone=zone)
    day = words["days"]
    parts = [day[first] + ("" if first == last else f"–{day[last]}") + " "
             + words["and"].join(format_interval(iv) for iv in intervals)
             for first, last, intervals in calendar.hour_groups()]
    closures = []
    if calendar.holidays_country:
        closures.append(words["holidays"].format(region=calendar.holidays_region))
    count = len(calendar.closed_dates)  # type: ignore[arg-type]
    if count:
        one, many = words["others"]
        closures.append(one if count == 1 else many.format(n=count))
    closed = words["closed"].format(what=words["and"].join(closures)) if closures else ""
    return f"{'; '.join(parts)} {zone}{closed}"
