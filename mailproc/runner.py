"""The embedded all-in-one loop: poll every source, process, deliver, sweep."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from mailproc.app import App
from mailproc.config import MailboxSettings
from mailproc.credentials import resolve_secret
from mailproc.errors import ConfigError, SourceError
from mailproc.pipeline import Outcome, process_pending

log = logging.getLogger(__name__)


@dataclass
class RoundReport:
    fetched: dict[str, int] = field(default_factory=dict)
    source_errors: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    delivered: list = field(default_factory=list)
    swept: list = field(default_factory=list)


def build_source(app: App, box: MailboxSettings):
    """A Source for one configured mailbox (secrets resolved here, never logged)."""
    if box.type == "maildir":
        from mailproc.source.maildir import MaildirSource

        path = app.settings.resolve(box.path)
        if box.seed_from:
            seed_maildir(path, app.settings.resolve(box.seed_from))
        return MaildirSource(box.name, path, batch_size=box.batch_size)
    from mailproc.source.imap import ImapSettings, ImapSource

    where = f"mailboxes.{box.name}"
    password = resolve_secret(box.password_env, box.password_command, setting=f"{where}.password")
    token = resolve_secret(box.oauth2_token_env, box.oauth2_token_command,
                           setting=f"{where}.oauth2_token")
    if box.auth == "password" and password is None:
        raise ConfigError(f"{where}: no password: set {box.password_env or 'password_env'} "
                          "or password_command")
    if box.auth == "xoauth2" and token is None:
        raise ConfigError(f"{where}: no OAuth2 token: set oauth2_token_env or oauth2_token_command")
    return ImapSource(ImapSettings(
        name=box.name, host=box.host, port=box.port, user=box.user, security=box.security,
        auth=box.auth, password=password, oauth2_token=token, folder=box.folder,
        processed_action=box.processed_action, processed_flag=box.processed_flag,
        move_to=box.move_to, batch_size=box.batch_size, use_idle=box.use_idle,
        ca_file=str(app.settings.resolve(box.ca_file)) if box.ca_file else None))


def seed_maildir(path: Path, seed: Path) -> int:
    """Copy the demo mailbox into a new Maildir once, so a newcomer's first run has mail."""
    marker = path / ".mailproc-seeded"
    if marker.exists() or not seed.is_dir():
        return 0
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    count = 0
    for i, src in enumerate(sorted(seed.glob("*.eml"))):
        shutil.copyfile(src, path / "new" / f"{1700000000 + i}.demo{i:03d}.{src.stem}")
        count += 1
    marker.write_text(f"seeded {count} messages from {seed}\n")
    return count


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
    return report


def _source_allowed(app: App, source) -> bool:
    """The IMAP circuit breaker: a mailbox that keeps failing is probed, not hammered."""
    from mailproc.breaker import allow_attempt

    with app.db.transaction() as session:
        return allow_attempt(session, source.name, "imap", app.clock.now())


def _deliver(app: App) -> list:
    from mailproc.compose import render_held
    from mailproc.outbox_runner import deliver_due

    render_held(app, app.clock.now())  # rows held by a template an admin has since fixed
    return deliver_due(app)


def _sweep(app: App) -> list:
    from mailproc.escalation import sweep

    return sweep(app)


def run_forever(app: App, sources: list, *, idle_timeout: float = 60.0, on_round=None,
                should_stop=lambda: False) -> None:
    while not should_stop():
        report = run_round(app, sources)
        if on_round:
            on_round(report)
        waited = False
        for source in sources:
            if report.source_errors.get(source.name) is None and hasattr(source, "wait_for_mail"):
                # One IDLE at a time is enough to wake the loop on new mail.
                source.wait_for_mail(idle_timeout / max(1, len(sources)), should_stop)
                waited = True
                break
        if not waited:
            deadline = time.monotonic() + min(idle_timeout, 5.0)
            while time.monotonic() < deadline and not should_stop():
                time.sleep(0.2)
