"""The effective configuration with secrets redacted, and the doctor's checks on request."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailproc.ops.doctor import run_checks
from mailproc.web.accounts import Viewer
from mailproc.web.guard import core, page, viewer_only
from mailproc.web.render import page as render

SECRET_KEY = re.compile(r"(password|secret|secret_key|token|api_key|private_key|client_secret)$",
                        re.IGNORECASE)
REDACTED = "•••••• (redacted)"


def redact(value, key: str = ""):
    """The value as an admin may see it: secrets masked, passwords in URLs masked."""
    if dataclasses.is_dataclass(value):
        return {f.name: redact(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if SECRET_KEY.search(key) and value:
        return REDACTED
    if isinstance(value, str) and "://" in value and "@" in value:
        parts = urlsplit(value)
        if parts.password:
            host = f"{parts.username}:{REDACTED}@{parts.hostname}" + \
                (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=host))
    return value


def _rows(value, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows = []
        for k, v in value.items():
            rows += _rows(v, f"{prefix}.{k}" if prefix else k)
        return rows
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        rows = []
        for i, v in enumerate(value):
            rows += _rows(v, f"{prefix}[{i}]")
        return rows
    return [(prefix, "" if value is None else str(value))]


def _settings(request: Request, viewer: Viewer, checks) -> Response:
    return render(request, "settings.html", viewer, rows=_rows(redact(core(request).settings)),
                  checks=checks)


@page("admin")
def settings(request: Request, session, viewer):
    return _settings(request, viewer, None)


async def doctor(request: Request) -> Response:
    """The checks connect to mail servers, Redis and DNS: run outside any transaction."""
    def run():
        viewer = viewer_only(request, "admin")
        return _settings(request, viewer, run_checks(core(request)))
    return await run_in_threadpool(run)


routes = [Route("/settings", settings), Route("/settings/doctor", doctor)]
