"""The embedded all-in-one loop: poll every source, process, deliver, sweep."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from mailproc.app import App
from mailproc.errors import SourceError
from mailproc.fallback.breaker import allow_attempt
from mailproc.outbox.compose import render_held
from mailproc.runners.inbound import Outcome, process_pending
from mailproc.runners.outbound import deliver_due
from mailproc.runners.periodic import sweep

log = logging.getLogger(__name__)
DELIVERY_BATCH = 100      # rows claimed per delivery transaction


@dataclass
class RoundReport:
    fetched: dict[str, int] = field(default_factory=dict)
    source_errors: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    delivered: list = field(default_factory=list)
    swept: list = field(default_factory=list)


def run_round(app: App, sources: list, *, progress=None) -> RoundReport:
    report = RoundReport()
    store = app.raw_store()
    for source in sources:
        if not _source_allowed(app, source):
            report.source_errors[source.name] = "mailbox is down; waiting for the next probe"
            continue
        try:
            report.fetched[source.name] = source.poll_once(store)
        except SourceError as exc:
            # A dead mailbox must not stop the others; health records it loudly.
            report.source_errors[source.name] = str(exc)
            log.error("mailbox %s: %s", source.name, exc)
    report.outcomes = process_pending(app, progress=progress)
    report.delivered = _deliver(app)
    report.swept = _sweep(app)
    if report.swept:
        # Escalation and reminder mail leaves in this round, not the next.
        report.delivered += deliver_all(app)
    return report


def _source_allowed(app: App, source) -> bool:
    """The IMAP circuit breaker: a mailbox that keeps failing is probed, not hammered."""
    with app.db.transaction() as session:
        return allow_attempt(session, source.name, "imap", app.clock.now())


def _deliver(app: App) -> list:
    render_held(app, app.clock.now())  # rows held by a template an admin has since fixed
    return deliver_all(app)


def deliver_all(app: App, *, batch: int = DELIVERY_BATCH) -> list:
    """Deliver in batches until nothing is due: a round leaves no acknowledgement behind.
    A batch smaller than asked means the rest is not due yet (retries wait their backoff)."""
    delivered: list = []
    while True:
        results = deliver_due(app, limit=batch)
        delivered += results
        if len(results) < batch:
            return delivered


def _sweep(app: App) -> list:
    return sweep(app)


def run_forever(app: App, sources: list, *, idle_timeout: float = 60.0, on_round=None,
                should_stop=lambda: False) -> None:
    while not should_stop():
        report = run_round(app, sources)
        if on_round:
            on_round(report)
        if report.outcomes:
            # Mail that came while this round worked is not announced by IDLE: look again
            # at once, and wait only when a round finds nothing new to process (mail fetched
            # again because a server forgot our flag is stored once and processes nothing).
            continue
        waited = False
        for source in sources:
            if report.source_errors.get(source.name) is None and hasattr(source, "wait_for_mail"):
                # One IDLE at a time is enough to wake the loop on new mail.
                try:
                    source.wait_for_mail(idle_timeout / max(1, len(sources)), should_stop)
                except SourceError as exc:
                    # The server dropped the waiting connection (a restart, an idle limit):
                    # recorded on the mailbox's health; the next round connects again.
                    log.warning("mailbox %s: %s; polling again", source.name, exc)
                waited = True
                break
        if not waited:
            deadline = time.monotonic() + min(idle_timeout, 5.0)
            while time.monotonic() < deadline and not should_stop():
                time.sleep(0.2)
