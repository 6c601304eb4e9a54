"""Shared CLI plumbing: load settings once, turn library errors into one-line messages."""

from __future__ import annotations

import json
import logging
import sys
from functools import wraps

import click

from mailproc import config
from mailproc.app import App
from mailproc.errors import MailprocError


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": self.formatTime(record), "level": record.levelname,
                 "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str) -> None:
    """Plain lines on stderr; `json` means structured one-object-per-line logs at INFO."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if level.lower() == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler],
                        force=True)
    # mail-parser warns about every MIME part it does not decode itself; we decode them.
    logging.getLogger("mailparser").setLevel(logging.ERROR)


def load_app(ctx: click.Context, *, now: str | None = None) -> App:
    obj = ctx.find_root().obj or {}
    try:
        settings = config.load(obj.get("config"))
        if now:
            from dataclasses import replace

            settings = replace(settings, now_override=config.parse_now(now))
    except MailprocError as exc:
        raise click.ClickException(str(exc)) from None
    return App.create(settings)


def user_errors(func):
    """Library errors become a readable one-line message and exit code 1."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MailprocError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper
