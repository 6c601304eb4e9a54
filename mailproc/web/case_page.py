"""One case: timeline, events, deadlines, KB suggestions, outgoing mail, and the actions,
which run through the same code as an agent's `#` commands in a reply by mail."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailproc.actions.commands import check_commands, parse_commands
from mailproc.actions.commands.context import CommandContext
from mailproc.actions.relay import handle_agent_mail
from mailproc.models import (
    Attachment, Blob, Case, CaseStatus, Direction, Event, Message, OutboundMail, RawMessage,
)
from mailproc.outbox.mime import make_message_id
from mailproc.parse.message import parse_message
from mailproc.store.raw import load_raw
from mailproc.web.accounts import Viewer
from mailproc.web.case_query import may_see
from mailproc.web.guard import core, page, redirect
from mailproc.web.mail_html import IMAGES_CSP, sanitize
from mailproc.web.render import page as render

ACTIONS = ("reply", "note", "status", "priority", "assign", "merge", "kb")
LEAD_ACTIONS = frozenset({"assign", "merge"})


def _case(session, viewer: Viewer, ref: str) -> Case:
    case = session.scalar(select(Case).where(Case.ref == ref.lstrip("#")))
    if case is None or not may_see(viewer, case):
        # The same answer for "no such case" and "not yours": refs are guessable.
        raise HTTPException(404, f"no case #{ref} that you can see")
    return case


@page()
def show(request: Request, session, viewer):
    app = core(request)
    case = _case(session, viewer, request.path_params["ref"])
    # The attachments in one more query, not one per message; the outgoing mail without its
    # raw MIME (attachments and all), which the page does not show.
    messages = session.scalars(select(Message).where(Message.case_id == case.id)
                               .options(selectinload(Message.attachments))
                               .order_by(Message.date_at, Message.id)).all()
    events = session.scalars(select(Event).where(Event.case_id == case.id)
                             .order_by(Event.id.desc()).limit(200)).all()
    outbox = session.scalars(select(OutboundMail).where(OutboundMail.case_id == case.id)
                             .options(defer(OutboundMail.raw))
                             .order_by(OutboundMail.id)).all()
    kb = app.knowledge_base
    articles = [a for a in kb.articles() if a.audience == "customer"] if kb is not None else []
    merged_into = session.get(Case, case.merged_into_id) if case.merged_into_id else None
    return render(request, "case.html", viewer, case=case, messages=messages, events=events,
                  outbox=outbox, articles=articles, merged_into=merged_into,
                  statuses=[s.value for s in CaseStatus if s != CaseStatus.NEW],
                  priorities=sorted({*app.service_levels.policies, "normal"}),
                  assignees=[a.name for a in app.agents.agents], teams=sorted(app.agents.teams),
                  nonce=secrets.token_urlsafe(12), lead_actions=LEAD_ACTIONS)


def _lines(action: str, form) -> str:
    """The reply an agent would have written by mail for this action."""
    text = str(form.get("text", "")).replace("\r\n", "\n").strip()
    arg = " ".join(str(form.get("value", "")).split())
    if action == "reply":
        kb = " ".join(str(form.get("article", "")).split())
        return "\n\n".join(t for t in (f"#kb {kb}" if kb else "", text) if t)
    if action == "note":
        return f"#note\n{text}"
    return f"#{action} {arg}" + (f"\n\n{text}" if text else "")


@page()
def act(request: Request, session, viewer):
    app = core(request)
    case = _case(session, viewer, request.path_params["ref"])
    form = request.state.form
    action = str(form.get("action", ""))
    back = f"/cases/{case.ref}"
    if action not in ACTIONS:
        raise HTTPException(400, f"unknown action {action!r}")
    if action in LEAD_ACTIONS and not viewer.sees_all:
        raise HTTPException(403, f"only leads and admins may {action} cases here")
    now = app.clock.now()
    key = f"{viewer.user_id}:{str(form.get('nonce', ''))[:40] or secrets.token_urlsafe(12)}"
    message_id = make_message_id(app.message_id_domain, "web", key, app.secret_key)
    if session.scalar(select(Message.id).where(Message.message_id == message_id)):
        return redirect(request, back, "That was done already (the form was sent twice).")
    text = _lines(action, form)
    parsed = parse_commands(text)
    message = Message(case_id=case.id, direction=Direction.IN, kind="agent",
                      kind_reason=f"written in the web console by {viewer.email}",
                      message_id=message_id, subject=f"Re: {case.subject}",
                      from_addr=viewer.agent.email, from_name=viewer.agent.name,
                      to_addrs=[app.settings.support.address], date_at=now, body_text=text,
                      new_text=text, thread_rule="web", thread_reason="the case's page",
                      created_at=now)
    ctx = CommandContext(app=app, session=session, case=case, message=message,
                         agent=viewer.agent, directory=app.agents, now=now)
    errors = check_commands(parsed.commands, ctx)
    if errors or not text.strip():
        why = "; ".join(e.message for e in errors) or "nothing to do: the text is empty"
        return redirect(request, back, why, "error")
    session.add(message)
    session.flush()
    case = handle_agent_mail(app, session, case, message, viewer.agent, now)
    case.updated_at = now
    return redirect(request, f"/cases/{case.ref}", _done(action))


def _done(action: str) -> str:
    return {"reply": "Your reply is queued for the customer.", "note": "Note added.",
            "merge": "Merged."}.get(action, "Saved.")


@page()
def attachment(request: Request, session, viewer) -> Response:
    case = _case(session, viewer, request.path_params["ref"])
    row = session.execute(select(Attachment, Blob.data).join(Blob, Blob.sha256 == Attachment.sha256)
                          .join(Message, Message.id == Attachment.message_id)
                          .where(Attachment.id == int(request.path_params["id"]),
                                 Message.case_id == case.id)).first()
    if row is None:
        raise HTTPException(404, "no such attachment in this case")
    att, data = row
    name = "".join(c for c in att.filename if c.isprintable() and c not in '"\\/') or "attachment"
    # Always a download, never shown by the browser: an HTML or SVG file runs no script here.
    return Response(data, media_type="application/octet-stream", headers={
        "content-disposition": f"attachment; filename*=UTF-8''{_rfc5987(name)}",
        "content-security-policy": "sandbox; default-src 'none'"})


def _rfc5987(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-._~" else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in name)


@page()
def message_html(request: Request, session, viewer) -> Response:
    """A customer's HTML mail, sanitised; remote images only when asked for."""
    app = core(request)
    case = _case(session, viewer, request.path_params["ref"])
    message = session.get(Message, int(request.path_params["id"]))
    if message is None or message.case_id != case.id or message.raw_id is None:
        raise HTTPException(404, "no such message in this case")
    raw = session.get(RawMessage, message.raw_id)
    data = load_raw(raw) if raw is not None and (raw.data or raw.blob_path) else None
    parsed = parse_message(data, max_bytes=app.settings.storage.max_message_bytes) \
        if data else None
    images = request.query_params.get("images") == "1"
    html = sanitize(parsed.html, images=images) if parsed is not None and parsed.html else None
    response = render(request, "message_html.html", viewer, case=case, message=message,
                      html=html, images=images)
    if images:
        response.headers["content-security-policy"] = IMAGES_CSP
    return response


routes = [
    Route("/cases/{ref}", show),
    Route("/cases/{ref}/act", act, methods=["POST"]),
    Route("/cases/{ref}/attachments/{id:int}", attachment),
    Route("/cases/{ref}/messages/{id:int}/html", message_html),
]
