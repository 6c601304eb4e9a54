"""Deprecated path of the RQ jobs, kept for one release: remove in 0.3.

RQ stores a job's function as `module.name` and imports it when the job runs, so jobs queued
by 0.1 name `mailproc.jobs.process_raw`. The jobs live in `mailproc.runners.jobs` now.
"""

from mailproc.runners.jobs import deliver, probe, process_raw, sweep

__all__ = ["deliver", "probe", "process_raw", "sweep"]
