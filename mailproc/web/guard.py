"""Who asks and may they: the session cookie, roles, CSRF tokens and flash messages."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from typing import TYPE_CHECKING, Callable

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mailproc.web.accounts import Viewer, acting_agent, find_session, sign, unsign

if TYPE_CHECKING:
    from mailproc.app import App

log = logging.getLogger(__name__)

SESSION_COOKIE = "mailproc_session"
PRE_COOKIE = "mailproc_pre"             # double-submit CSRF token of the sign-in forms
FLASH_COOKIE = "mailproc_flash"
RANK = {"agent": 0, "lead": 1, "admin": 2}


def core(request: Request) -> "App":
    return request.app.state.core


def client_address(request: Request) -> str:
    return (request.client.host if request.client else "") or "unknown"


def set_cookie(request: Request, response: Response, name: str, value: str, *,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


def flash(request: Request, response: Response, text: str, kind: str = "ok") -> Response:
    """A message for the next page, in a signed cookie (cut to stay far below 4 kB)."""
    text = text if len(text) <= 700 else text[:699] + "…"
    set_cookie(request, response, FLASH_COOKIE,
               sign(core(request).secret_key, f"{kind}:{text}".encode().hex()), max_age=60)
    return response


def take_flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    value = unsign(core(request).secret_key, raw) if raw else None
    if not value:
        return None
    try:
        kind, _, text = bytes.fromhex(value).decode().partition(":")
    except ValueError:
        return None
    return kind, text


def redirect(request: Request, url: str, text: str = "", kind: str = "ok") -> Response:
    response = RedirectResponse(url, status_code=303)
    return flash(request, response, text, kind) if text else response


def load_viewer(request: Request, session: Session) -> Viewer | None:
    app = core(request)
    raw = request.cookies.get(SESSION_COOKIE)
    token = unsign(app.secret_key, raw) if raw else None
    row = find_session(session, token, app.clock.now()) if token else None
    if row is None:
        return None
    return Viewer(user_id=row.user.id, email=row.user.email, name=row.user.name,
                  role=row.user.role, agent=acting_agent(app, row.user), session_id=row.id,
                  csrf=row.csrf)


def pre_token(request: Request) -> str:
    """The sign-in forms' CSRF token: the cookie's value, or a new one (set by the page)."""
    return request.cookies.get(PRE_COOKIE) or request.state.__dict__.setdefault(
        "new_pre", secrets.token_urlsafe(24))


def check_pre_token(request: Request, form) -> None:
    cookie = request.cookies.get(PRE_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf", ""))):
        raise HTTPException(403, "the form's security token is missing or wrong: reload the "
                                 "page and try again")


def page(role: str = "agent") -> Callable:
    """Endpoint decorator: a signed-in viewer of at least `role`, one transaction, and for
    POST a valid CSRF token. The endpoint gets (request, session, viewer)."""

    def decorate(endpoint: Callable) -> Callable:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else None
            return await _in_thread(request, endpoint, form, role)
        return wrapper
    return decorate


async def _in_thread(request: Request, endpoint: Callable, form, role: str) -> Response:
    return await run_in_threadpool(_run, request, endpoint, form, role)


def viewer_only(request: Request, role: str) -> Viewer:
    """The signed-in viewer, checked in a short transaction of its own: for pages that then
    do slow work (the doctor's network checks) without holding the database."""
    with core(request).db.transaction() as session:
        viewer = load_viewer(request, session)
    if viewer is None:
        raise HTTPException(401, "you are signed out: sign in again")
    if RANK[viewer.role] < RANK[role]:
        raise HTTPException(403, f"this page is for {role}s")
    return viewer


def check_csrf(viewer: Viewer, form) -> None:
    if not hmac.compare_digest(viewer.csrf, str(form.get("csrf", ""))):
        raise HTTPException(403, "the form's security token is missing or wrong: reload the "
                                 "page and try again")


def after_commit(request: Request, action: Callable[[], None]) -> None:
    """Run `action` once the page's transaction has committed (e.g. queue a job)."""
    request.state.__dict__.setdefault("after_commit", []).append(action)


def _run(request: Request, endpoint: Callable, form, role: str) -> Response:
    response = _transaction(request, endpoint, form, role)
    for action in request.state.__dict__.get("after_commit", ()):
        action()
    return response


def _transaction(request: Request, endpoint: Callable, form, role: str) -> Response:
    app = core(request)
    with app.db.transaction() as session:
        viewer = load_viewer(request, session)
        if viewer is None:
            if request.method == "GET":
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            raise HTTPException(401, "you are signed out: sign in again")
        if RANK[viewer.role] < RANK[role]:
            raise HTTPException(403, f"this page is for {role}s")
        if form is not None:
            check_csrf(viewer, form)
            request.state.form = form
        return endpoint(request, session, viewer)
