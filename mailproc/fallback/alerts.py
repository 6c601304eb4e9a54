"""Alerts through channels that are not mail (webhook POST, command hook): once per outage, and recovery."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from mailproc.errors import ConfigError
from mailproc.fallback.phone_list import build_phone_list
from mailproc.models import Event, Health, Outage
from mailproc.oauth.grants import TRANSPORT as GRANT_TRANSPORT, login_command
from mailproc.people.directory import phone_directory

log = logging.getLogger(__name__)
_KEYS = {"webhook_url", "command", "timeout_seconds", "bounce_storm", "bounce_window_minutes",
         "enabled"}


@dataclass(frozen=True)
class AlertSettings:
    enabled: bool = True
    webhook_url: str = ""
    command: str = ""
    timeout_seconds: float = 10.0
    bounce_storm: int = 20              # this many bounces ...
    bounce_window_minutes: int = 15     # ... within this many minutes is an outage too


def load_alerts(raw: Mapping) -> AlertSettings:
    unknown = set(raw) - _KEYS
    if unknown:
        raise ConfigError(f"alerts.{sorted(unknown)[0]}: unknown key; expected one of "
                          f"{', '.join(sorted(_KEYS))}")
    url = str(raw.get("webhook_url", ""))
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"alerts.webhook_url: expected an http(s) URL, got {url!r}")
    for key in ("bounce_storm", "bounce_window_minutes"):
        if key in raw and (not isinstance(raw[key], int) or raw[key] < 1):
            raise ConfigError(f"alerts.{key}: expected a whole number >= 1")
    timeout = raw.get("timeout_seconds", 10.0)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError("alerts.timeout_seconds: expected a positive number")
    return AlertSettings(enabled=bool(raw.get("enabled", True)), webhook_url=url,
                         command=str(raw.get("command", "")), timeout_seconds=float(timeout),
                         bounce_storm=int(raw.get("bounce_storm", 20)),
                         bounce_window_minutes=int(raw.get("bounce_window_minutes", 15)))


def problems(session, settings: AlertSettings, now: datetime) -> dict[str, str]:
    """What is broken right now: every health target that is down, and a bounce storm."""
    found = {f"{h.transport}:{h.target}":
             f"{h.transport} {h.target} is down since {h.since_at:%Y-%m-%d %H:%M} UTC "
             f"({h.consecutive_failures} failures; last error: {h.last_error or '-'})"
             for h in session.scalars(select(Health).where(Health.state == "down"))}
    since = now - timedelta(minutes=settings.bounce_window_minutes)
    bounces = session.scalar(select(func.count()).select_from(Event).where(
        Event.at >= since, Event.at <= now, Event.kind.in_(("undeliverable", "delivery_delayed"))))
    if bounces >= settings.bounce_storm:
        found["bounce_storm"] = (f"{bounces} bounces in the last "
                                 f"{settings.bounce_window_minutes} minutes")
    return found


def check_alerts(app, now: datetime) -> list[dict]:
    """Open and close outages from the health records, then send what is unsent; returns the
    alerts sent. The row is written first and marked sent after: a crash repeats an alert
    at worst, a failed channel is retried next sweep."""
    settings = load_alerts(app.settings.alerts or {})
    with app.db.transaction() as session:
        current = problems(session, settings, now)
        open_rows = {o.key: o for o in session.scalars(
            select(Outage).where(Outage.ended_at.is_(None)))}
        for key, detail in current.items():
            if key not in open_rows:
                session.add(Outage(key=key, detail=detail, started_at=now))
                log.error("outage started: %s", detail)
            else:
                open_rows[key].detail = detail
        for key, row in open_rows.items():
            if key not in current:
                row.ended_at = now
                log.warning("outage over: %s (since %s)", key, row.started_at)
        pending = session.scalars(select(Outage).where(
            (Outage.alerted_at.is_(None)) | (Outage.ended_at.is_not(None)
                                             & Outage.recovery_alerted_at.is_(None)))
            .order_by(Outage.id)).all()
        todo = []
        for row in pending:
            if row.alerted_at is None and row.ended_at is not None:
                # Over before anyone was told (e.g. no channel configured): nothing to recover.
                row.alerted_at = row.recovery_alerted_at = now
                continue
            event = "outage" if row.alerted_at is None else "recovery"
            todo.append((row.id, event, _payload(app, session, row, event, now)))
    sent = []
    if not settings.enabled or not (settings.webhook_url or settings.command):
        return sent
    for outage_id, event, payload in todo:
        error = send(settings, payload)
        with app.db.transaction() as session:
            row = session.get(Outage, outage_id)
            if error:
                row.last_error = error[:2000]
                continue
            if event == "outage":
                row.alerted_at = now
            else:
                row.recovery_alerted_at = now
        sent.append(payload)
    return sent


def _payload(app, session, row: Outage, event: str, now: datetime) -> dict:
    payload = {"event": event, "key": row.key, "detail": row.detail,
               "started_at": row.started_at.isoformat(),
               "ended_at": row.ended_at.isoformat() if row.ended_at else None,
               "at": now.isoformat(), "service": app.settings.support.address}
    if event == "outage":
        entries = [e for e in build_phone_list(app, session, now) if e.status == "to call"]
        payload["customers_to_call"] = len(entries)
        payload["phone_list_command"] = "mailproc phone-list --format html"
        payload["on_call"] = [d for d in phone_directory(app, now) if d["group"] == "on-call"]
    if row.key.startswith(f"{GRANT_TRANSPORT}:"):
        payload["command"] = login_command(row.key.split(":", 1)[1])  # what mends it
    return payload


def send(settings: AlertSettings, payload: dict) -> str | None:
    """Deliver one alert on every configured channel; the error text if any channel failed."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    errors = []
    if settings.webhook_url:
        request = urllib.request.Request(settings.webhook_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "mailproc-alerts"})
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
                if not 200 <= response.status < 300:
                    errors.append(f"webhook answered {response.status}")
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"webhook: {exc}")
    if settings.command:
        env = dict(os.environ, MAILPROC_ALERT_EVENT=payload["event"],
                   MAILPROC_ALERT_KEY=payload["key"], MAILPROC_ALERT_DETAIL=payload["detail"])
        try:
            done = subprocess.run(shlex.split(settings.command), input=body, env=env,
                                  capture_output=True, timeout=settings.timeout_seconds)
            if done.returncode != 0:
                errors.append(f"command exited {done.returncode}")
        except (OSError, subprocess.SubprocessError) as exc:
            errors.append(f"command: {type(exc).__name__}")
    for error in errors:
        log.error("alert %s %s not delivered: %s", payload["event"], payload["key"], error)
    if not errors:
        log.warning("alert sent: %s %s", payload["event"], payload["key"])
    return "; ".join(errors) or None
