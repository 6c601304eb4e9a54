"""Users of the console: add, change role, disable, unlock, sign out everywhere."""

from __future__ import annotations

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mailproc.cases.records import record_event
from mailproc.models import User
from mailproc.web.accounts import (
    ROLES, AccountError, active_sessions, add_user, revoke_sessions, set_disabled, unlock,
)
from mailproc.web.guard import core, page, redirect
from mailproc.web.render import page as render


@page("admin")
def listing(request: Request, session, viewer):
    app = core(request)
    now = app.clock.now()
    users = session.scalars(select(User).order_by(User.role, User.email)).all()
    known = {u.email for u in users}
    agents = [a for a in app.agents.agents if a.email not in known]
    return render(request, "users.html", viewer, users=users, roles=ROLES, agents=agents,
                  sessions=active_sessions(session, now))


@page("admin")
def save(request: Request, session, viewer):
    app = core(request)
    form = request.state.form
    password = str(form.get("password", "")) or None
    try:
        user = add_user(session, str(form.get("email", "")), role=str(form.get("role", "")),
                        name=str(form.get("name", "")).strip()[:300], password=password,
                        actor=viewer.email, now=app.clock.now())
    except AccountError as exc:
        return redirect(request, "/users", str(exc), "error")
    return redirect(request, "/users", f"{user.email} saved as {user.role}.")


@page("admin")
def change(request: Request, session, viewer):
    app = core(request)
    now = app.clock.now()
    user = session.get(User, int(request.path_params["id"]))
    if user is None:
        raise HTTPException(404, "no such user")
    do = str(request.state.form.get("do", ""))
    if do in ("disable", "enable"):
        if user.id == viewer.user_id:
            return redirect(request, "/users", "You cannot disable yourself.", "error")
        set_disabled(session, user, do == "disable", actor=viewer.email, now=now)
    elif do == "unlock":
        unlock(session, user, actor=viewer.email, now=now)
    elif do == "sign-out":
        n = revoke_sessions(session, user_id=user.id, now=now)
        record_event(session, None, actor=viewer.email, kind="sessions_revoked",
                     detail=f"{n} session(s) of {user.email} revoked", now=now,
                     data={"user": user.email, "sessions": n})
    else:
        raise HTTPException(400, f"unknown change {do!r}")
    return redirect(request, "/users", f"{user.email}: done.")


routes = [Route("/users", listing), Route("/users", save, methods=["POST"]),
          Route("/users/{id:int}", change, methods=["POST"])]
