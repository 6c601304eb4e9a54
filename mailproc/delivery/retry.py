"""When to try an outgoing mail again: capped exponential backoff with caller-supplied jitter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailproc.config import OutgoingSettings, parse_timedelta


def backoff(attempts: int, *, base: timedelta, cap: timedelta, rand: float) -> timedelta:
    """The wait after `attempts` failed attempts (1 = the first failure).

    "Equal jitter": half of the capped exponential delay is fixed, the other half is spread by
    `rand` in [0, 1), so a fleet of rows failed by one outage does not return in one burst, yet
    no row comes back sooner than half its step.
    """
    if not 0.0 <= rand < 1.0:
        raise ValueError(f"rand must be in [0, 1), got {rand}")
    step = min(cap, base * (2 ** min(max(attempts, 1) - 1, 40)))
    return step / 2 + (step / 2) * rand


def next_attempt_at(attempts: int, now: datetime, *, base: timedelta, cap: timedelta,
                    rand: float) -> datetime:
    return now + backoff(attempts, base=base, cap=cap, rand=rand)


@dataclass(frozen=True)
class RetryPlan:
    base: timedelta
    cap: timedelta
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: OutgoingSettings) -> "RetryPlan":
        return cls(base=parse_timedelta(settings.retry_base, key="outgoing.retry_base"),
                   cap=parse_timedelta(settings.retry_cap, key="outgoing.retry_cap"),
                   max_attempts=max(1, settings.max_attempts))

    def next_attempt_at(self, attempts: int, now: datetime, rand: float) -> datetime:
        return next_attempt_at(attempts, now, base=self.base, cap=self.cap, rand=rand)

    def exhausted(self, attempts: int) -> bool:
        """True once `attempts` attempts have failed and no more are allowed."""
        return attempts >= self.max_attempts
