"""Business time for many instants at once: open seconds since the range's start, vectorised.

`BusinessCalendar.business_time_between` walks the calendar for one pair (about 7 µs); a
report measures hundreds of thousands. The calendar's open intervals over the range become
two sorted arrays and a running total, so the open time before any instant is one
`searchsorted` and a clip, and a difference of two such totals is the business time between.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

from mailproc.sla.calendar import BusinessCalendar

US = 1_000_000


class BusinessClock:
    def __init__(self, calendar: BusinessCalendar, first: date, last: date) -> None:
        starts, ends = [], []
        day = first - timedelta(days=1)
        while day <= last + timedelta(days=1):
            for opens, closes in calendar.open_intervals(day):
                starts.append(opens.timestamp() * US)
                ends.append(closes.timestamp() * US)
            day += timedelta(days=1)
        self.starts = np.array(starts or [0.0])
        self.ends = np.array(ends or [0.0])
        widths = self.ends - self.starts
        self.before = np.concatenate(([0.0], np.cumsum(widths)[:-1]))

    @classmethod
    def covering(cls, calendar: BusinessCalendar, *arrays: np.ndarray) -> BusinessClock:
        """A clock for every finite instant (epoch microseconds) in `arrays`."""
        values = np.concatenate([a[np.isfinite(a)] for a in arrays] or [np.zeros(0)])
        if values.size == 0:
            today = datetime.now(timezone.utc).date()
            return cls(calendar, today, today)
        lo, hi = (datetime.fromtimestamp(v / US, timezone.utc) for v in (values.min(),
                                                                           values.max()))
        zone = calendar.zone
        return cls(calendar, lo.astimezone(zone).date(), hi.astimezone(zone).date())

    def open_until(self, at_us: np.ndarray) -> np.ndarray:
        """Open microseconds from the range's start to each instant (NaN stays NaN)."""
        i = np.clip(np.searchsorted(self.starts, at_us, side="right") - 1, 0, None)
        inside = np.clip(at_us - self.starts[i], 0, self.ends[i] - self.starts[i])
        return np.where(np.isnan(at_us), np.nan, self.before[i] + inside)

    def between(self, a_us: np.ndarray, b_us: np.ndarray) -> np.ndarray:
        """Business microseconds from a to b (negative when b is before a)."""
        return self.open_until(b_us) - self.open_until(a_us)
