"""Sign in with a password or a one-time link sent by mail; sign out."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailproc.cases.records import record_event
from mailproc.outbox.mime import build_message, make_message_id
from mailproc.outbox.table import enqueue
from mailproc.web.accounts import (
    LINK_LIFETIME, AccountError, agent_user, check_password, new_link, open_session,
    revoke_sessions, sign, use_link,
)
from mailproc.web.guard import (
    SESSION_COOKIE, check_pre_token, client_address, core, load_viewer, page, redirect,
    set_cookie,
)
from mailproc.web.render import page as render


def _next(request: Request, form=None) -> str:
    target = str((form or {}).get("next") or request.query_params.get("next") or "/")
    # Only a path of ours: never an address elsewhere (an open redirect).
    return target if target.startswith("/") and not target.startswith("//") \
        and "\\" not in target else "/"


def _start(request: Request, session, user, target: str) -> Response:
    app = core(request)
    token = open_session(session, user, address=client_address(request),
                         user_agent=request.headers.get("user-agent", ""), now=app.clock.now())
    response = redirect(request, target)
    set_cookie(request, response, SESSION_COOKIE, sign(app.secret_key, token))
    record_event(session, None, actor=user.email, kind="signed_in",
                 detail=f"{user.email} signed in to the web console", now=app.clock.now(),
                 data={"address": client_address(request)})
    return response


async def login_form(request: Request) -> Response:
    def run():
        with core(request).db.transaction() as session:
            if load_viewer(request, session) is not None:
                return redirect(request, _next(request))
            return render(request, "login.html", None, next=_next(request), error="", email="")
    return await run_in_threadpool(run)


async def login(request: Request) -> Response:
    form = await request.form()
    check_pre_token(request, form)

    def run():
        app = core(request)
        email = str(form.get("email", ""))
        with app.db.transaction() as session:
            user, error = check_password(session, email, str(form.get("password", "")),
                                         address=client_address(request), now=app.clock.now())
            if user is not None:
                return _start(request, session, user, _next(request, form))
        return render(request, "login.html", None, status=403, next=_next(request, form),
                      error=error, email=email)
    return await run_in_threadpool(run)


async def send_link(request: Request) -> Response:
    """Mail a sign-in link to a known user; the answer is the same whether or not they are."""
    form = await request.form()
    check_pre_token(request, form)

    def run():
        app = core(request)
        email = str(form.get("email", "")).strip().lower()[:320]
        now = app.clock.now()
        with app.db.transaction() as session:
            user = agent_user(app, session, email, now) if "@" in email else None
            token = new_link(session, user, now) if user is not None else None
            if token is not None:
                _queue_link_mail(app, session, user.email, token, _next(request, form), now)
        return render(request, "login.html", None, next=_next(request, form), email=email,
                      error="", sent=True)
    return await run_in_threadpool(run)


def _queue_link_mail(app, session, to: str, token: str, target: str, now) -> None:
    url = f"{app.settings.web.url.rstrip('/')}/login/link/{token}?next={quote(target)}"
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    text = (f"Hello,\n\nsomeone (we hope you) asked to sign in to the {app.settings.support.name}"
            f" console. This link signs you in once, within {minutes} minutes:\n\n{url}\n\n"
            "If it was not you, ignore this mail: nothing happens without the link.\n")
    key = f"sign_in:{token[:16]}"
    message_id = make_message_id(app.message_id_domain, "sign_in", key, app.secret_key)
    raw = build_message(from_addr=app.settings.support.address,
                        from_name=app.settings.support.name, to=[to],
                        subject=f"Your sign-in link for the {app.settings.support.name} console",
                        text=text, message_id=message_id, auto_submitted="auto-generated",
                        loop_token=app.settings.support.address, date_at=now)
    enqueue(session, case_id=None, kind="sign_in", dedupe_key=key, to=[to],
            from_addr=app.settings.support.address, subject="sign-in link", raw=raw,
            message_id=message_id, now=now)


async def link_form(request: Request) -> Response:
    """A button, not an automatic sign-in: mail scanners that open links must not use them."""
    return render(request, "link.html", None, token=request.path_params["token"],
                  next=_next(request))


async def use_sign_in_link(request: Request) -> Response:
    form = await request.form()
    check_pre_token(request, form)

    def run():
        app = core(request)
        try:
            with app.db.transaction() as session:
                user = use_link(session, str(form.get("token", "")), app.clock.now())
                return _start(request, session, user, _next(request, form))
        except AccountError as exc:
            return render(request, "login.html", None, status=403, next="/", error=str(exc),
                          email="")
    return await run_in_threadpool(run)


@page()
def logout(request: Request, session, viewer) -> Response:
    revoke_sessions(session, session_id=viewer.session_id, now=core(request).clock.now())
    response = redirect(request, "/login", "You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/link", send_link, methods=["POST"]),
    Route("/login/link/{token}", link_form, methods=["GET"]),
    Route("/login/use", use_sign_in_link, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
