"""The phone list, as `mailproc phone-list` prints it, with "called" recorded from the page."""

from __future__ import annotations

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mailproc.cases.records import record_event
from mailproc.fallback.phone_list import build_phone_list
from mailproc.models import Case
from mailproc.web.case_query import may_see
from mailproc.web.guard import core, page, redirect
from mailproc.web.render import page as render


@page()
def phone_list(request: Request, session, viewer):
    app = core(request)
    entries = build_phone_list(app, session, app.clock.now())
    if not viewer.sees_all:
        refs = {e.case_ref for e in entries}
        seen = {c.ref for c in session.scalars(select(Case).where(Case.ref.in_(refs)))
                if may_see(viewer, c)}
        entries = [e for e in entries if e.case_ref in seen]
    return render(request, "phones.html", viewer, entries=entries)


@page()
def called(request: Request, session, viewer):
    app = core(request)
    form = request.state.form
    ref = str(form.get("ref", "")).lstrip("#")
    case = session.scalar(select(Case).where(Case.ref == ref))
    if case is None or not may_see(viewer, case):
        raise HTTPException(404, f"no case #{ref} that you can see")
    note = " ".join(str(form.get("note", "")).split())[:500]
    record_event(session, case.id, actor=viewer.email, kind="phone_call",
                 detail=note or "customer called", now=app.clock.now(), data={"note": note})
    return redirect(request, "/phone-list", f"Call to the customer of #{ref} recorded.")


routes = [Route("/phone-list", phone_list), Route("/phone-list/called", called, methods=["POST"])]
