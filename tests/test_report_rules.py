"""The report's pure rules: SLA outcomes at the period's end, quantiles, business time."""

from __future__ import annotations

import numpy as np

from mailproc.reports.figures import BREACHED, MET, NONE, OPEN, quantile, sla_outcomes

NAN = float("nan")


def test_sla_outcomes_stop_the_clock_where_the_customer_is_waited_on():
    until = 100.0
    done = np.array([50, 70, NAN, NAN, NAN, NAN])
    due = np.array([60, 60, 90, 120, 80, NAN])
    paused = np.array([NAN, NAN, NAN, NAN, 70, NAN])    # the 5th waits on the customer since 70
    assert sla_outcomes(done, due, until, paused).tolist() == [
        MET, BREACHED, BREACHED, OPEN, OPEN, NONE]
    # the same case, had its deadline passed before it was paused, was breached
    assert sla_outcomes(np.array([NAN]), np.array([60.0]), until,
                        np.array([70.0])).tolist() == [BREACHED]


def test_quantile_interpolates_like_percentile_cont():
    assert quantile([], 0.5) is None
    assert quantile([4.0], 0.9) == 4.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert abs(quantile([1.0, 2.0, 3.0, 4.0, 10.0], 0.9) - 7.6) < 1e-9
