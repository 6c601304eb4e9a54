"""Process settings for poller, worker and scheduler: intervals and TTLs from the environment.

Everything else (database, Redis, mailboxes, SMTP) comes from the same config file and
MAILPROC_* variables as `mailproc run`. Also usable as an RQ settings module:
`rq worker -c workers.settings inbound outbound default`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from mailproc.runners.jobs import DEFAULT, INBOUND, OUTBOUND


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise SystemExit(f"{name}: expected a number of seconds, got {value!r}") from None


@dataclass(frozen=True)
class ProcessSettings:
    poller_lease_ttl: float = 30.0      # a standby poller takes over within this
    poller_idle: float = 25.0           # longest IMAP IDLE / sleep between polls
    scheduler_lease_ttl: float = 30.0
    scheduler_tick: float = 5.0         # how often the scheduler looks at the clock
    deliver_every: float = 30.0         # outbox retries and leases that expired
    sweep_every: float = 60.0           # escalation sweep, held templates
    probe_every: float = 300.0          # mail-health probe
    requeue_every: float = 60.0         # database-pending work that no queue holds
    worker_maintenance: float = 60.0    # RQ registry cleanup (abandoned jobs) in workers


def load() -> ProcessSettings:
    d = ProcessSettings()
    return ProcessSettings(**{
        key: _float(f"MAILPROC_{key.upper()}", getattr(d, key))
        for key in d.__dataclass_fields__})


def setup_logging() -> None:
    level = os.environ.get("MAILPROC_LOG_LEVEL", "info").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(processName)s[%(process)d] "
                               "%(name)s: %(message)s")


# `rq worker -c workers.settings` reads these names.
REDIS_URL = os.environ.get("MAILPROC_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUES = [OUTBOUND, INBOUND, DEFAULT]
