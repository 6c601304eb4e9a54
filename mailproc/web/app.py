"""The ASGI app: routes of every page, security headers on every answer, error pages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailproc.web import (
    case_page, cases, kb_page, login, overview, phones, quarantine, settings_page,
    templates_page, users,
)
from mailproc.web.render import page

if TYPE_CHECKING:
    from mailproc.app import App

STATIC = Path(__file__).parent / "static"    # shipped in the package: no CDN, no build
# No inline script or style, nothing from elsewhere; a page that shows a customer's images
# on request widens img-src for that answer only (see case_page).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def http_error(request: Request, exc: HTTPException) -> Response:
    titles = {401: "Signed out", 403: "Not allowed", 404: "Not found", 405: "Not allowed"}
    return page(request, "error.html", None, status=exc.status_code,
                title=titles.get(exc.status_code, "Error"), detail=exc.detail)


def create_app(core: "App") -> Starlette:
    routes = [*login.routes, *overview.routes, *cases.routes, *case_page.routes,
              *phones.routes, *quarantine.routes, *settings_page.routes, *users.routes,
              *templates_page.routes, *kb_page.routes,
              Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static")]
    web = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)],
                    exception_handlers={HTTPException: http_error})
    web.state.core = core
    return web
