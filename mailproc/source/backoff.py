"""Reconnect delays: capped exponential backoff with full jitter, as a pure function."""

from __future__ import annotations


def backoff_delay(attempt: int, *, base: float, cap: float, rand: float) -> float:
    """Seconds to wait before retry number `attempt` (1 = first retry).

    The ceiling doubles per attempt up to `cap`; `rand` in [0, 1) picks a point in the upper
    half of it, so a fleet of pollers does not reconnect in lockstep yet never retries at once.
    """
    if attempt < 1:
        return 0.0
    if not 0.0 <= rand <= 1.0:
        raise ValueError(f"rand must be in [0, 1], got {rand}")
    # min() before the power would overflow for long outages (attempt in the thousands)
    exponent = min(attempt - 1, 64)
    ceiling = min(cap, base * (2.0**exponent))
    return ceiling / 2.0 + rand * ceiling / 2.0
