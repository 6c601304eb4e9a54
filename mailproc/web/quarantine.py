"""Quarantined mail: why, its headers, the raw .eml, replay after a fix, dismiss."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailproc.cases.records import record_event
from mailproc.models import Quarantine, RawMessage, RawStatus
from mailproc.runners.jobs import enqueue_raw
from mailproc.store.raw import load_raw
from mailproc.web.guard import after_commit, core, page, redirect
from mailproc.web.render import page as render

HEADERS = ("From", "To", "Subject", "Date", "Message-ID")


def _headers(raw: bytes | None) -> dict[str, str]:
    if not raw:
        return {}
    head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        msg = BytesHeaderParser(policy=default_policy).parsebytes(head)
        return {h: str(msg.get(h, ""))[:300] for h in HEADERS if msg.get(h)}
    except Exception as exc:  # noqa: BLE001 - quarantined mail is broken by definition
        return {"(headers)": f"unreadable: {type(exc).__name__}"}


def _raw(row: RawMessage) -> bytes | None:
    try:
        return load_raw(row) if row.data is not None or row.blob_path else None
    except OSError:
        return None


@page("lead")
def listing(request: Request, session, viewer):
    rows = session.execute(select(Quarantine, RawMessage).join(RawMessage,
                                                               RawMessage.id == Quarantine.raw_id)
                           .where(Quarantine.released_at.is_(None))
                           .order_by(Quarantine.id.desc()).limit(200)).all()
    entries = [{"q": q, "raw": r, "headers": _headers(_raw(r))} for q, r in rows]
    return render(request, "quarantine.html", viewer, entries=entries)


def _entry(session, qid: int) -> tuple[Quarantine, RawMessage]:
    q = session.get(Quarantine, qid)
    raw = session.get(RawMessage, q.raw_id) if q is not None else None
    if raw is None:
        raise HTTPException(404, f"no quarantined mail {qid}")
    return q, raw


@page("lead")
def download(request: Request, session, viewer) -> Response:
    q, raw = _entry(session, int(request.path_params["id"]))
    data = _raw(raw)
    if data is None:
        raise HTTPException(404, "the raw mail is no longer kept (retention or erasure)")
    return Response(data, media_type="application/octet-stream", headers={
        "content-disposition": f'attachment; filename="quarantine-{q.id}.eml"',
        "content-security-policy": "sandbox; default-src 'none'"})


@page("lead")
def decide(request: Request, session, viewer):
    app = core(request)
    now = app.clock.now()
    q, raw = _entry(session, int(request.path_params["id"]))
    if q.released_at is not None:
        return redirect(request, "/quarantine", "That mail was handled already.")
    replay = str(request.state.form.get("do")) == "replay"
    q.released_at = now
    if replay:
        if _raw(raw) is None:
            raise HTTPException(409, "the raw mail is no longer kept: nothing to replay")
        raw.status, raw.attempts, raw.processed_at = RawStatus.PENDING, 0, None
    kind = "quarantine_replayed" if replay else "quarantine_dismissed"
    record_event(session, None, actor=viewer.email, kind=kind,
                 detail=f"raw message {raw.id} {'replayed' if replay else 'dismissed'} "
                        f"from the quarantine ({q.reason[:200]})", now=now,
                 data={"raw_id": raw.id, "quarantine_id": q.id})
    if replay and app.settings.redis_url:
        after_commit(request, lambda: enqueue_raw(app, raw.id))
    return redirect(request, "/quarantine", "Mail put back to be processed again." if replay
                    else "Mail dismissed; its raw bytes stay until retention removes them.")


routes = [Route("/quarantine", listing),
          Route("/quarantine/{id:int}.eml", download),
          Route("/quarantine/{id:int}", decide, methods=["POST"])]
