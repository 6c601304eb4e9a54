"""The console's own page templates (mailproc/web/pages), autoescaped, with the layout's data."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from mailproc.web.accounts import Viewer
from mailproc.web.guard import PRE_COOKIE, FLASH_COOKIE, core, pre_token, set_cookie, take_flash

PAGES = Path(__file__).parent / "pages"

NAV = (("/", "Overview", "agent"), ("/cases", "Cases", "agent"),
       ("/phone-list", "Phone list", "agent"), ("/kb", "Knowledge base", "agent"),
       ("/templates", "Templates", "admin"), ("/quarantine", "Quarantine", "lead"),
       ("/settings", "Settings", "admin"), ("/users", "Users", "admin"))
_RANK = {"agent": 0, "lead": 1, "admin": 2}


def when(value: datetime | None, now: datetime | None = None) -> str:
    """A time as people read it in a list: "14:05" today, "3 Dec 14:05" otherwise (UTC)."""
    if value is None:
        return "—"
    value = value.astimezone(timezone.utc)
    if now is not None and value.date() == now.astimezone(timezone.utc).date():
        return value.strftime("%H:%M")
    return value.strftime("%-d %b %Y %H:%M")


def ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    seconds = (now - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        text = "now" if seconds < 30 else "1 min"
    return f"in {text}" if future else (text if text == "now" else f"{text} ago")


_env = Environment(loader=FileSystemLoader(str(PAGES)), autoescape=select_autoescape(default=True),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters.update(when=when)
_env.globals.update(ago=ago)


def page(request: Request, template: str, viewer: Viewer | None, status: int = 200,
         **context) -> HTMLResponse:
    app = core(request)
    nav = [(href, label) for href, label, role in NAV
           if viewer is not None and _RANK[viewer.role] >= _RANK[role]]
    html = _env.get_template(template).render(
        request=request, viewer=viewer, nav=nav, now=app.clock.now(), flash=take_flash(request),
        csrf=viewer.csrf if viewer is not None else pre_token(request),
        support=app.settings.support, path=request.url.path, **context)
    response = HTMLResponse(html, status_code=status)
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    if viewer is None and PRE_COOKIE not in request.cookies:
        set_cookie(request, response, PRE_COOKIE, pre_token(request), max_age=86400)
    return response
