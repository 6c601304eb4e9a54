"""The template editor: every kind and language with its source, subject/text/HTML edited
together, checked and previewed while typing, saved as versions (diff, revert)."""

from __future__ import annotations

from itertools import groupby

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailproc.errors import EditRefused, TemplateError
from mailproc.templating.edits import (
    check_template_sources, current_source, list_templates, preview, require_name,
    revert_template, save_templates, template_diff, template_history,
)
from mailproc.templating.render import KINDS, PARTS
from mailproc.web.accounts import Viewer
from mailproc.web.guard import check_csrf, core, page, redirect, viewer_only
from mailproc.web.mail_html import sanitize
from mailproc.web.render import page as render


@page("admin")
def listing(request: Request, session, viewer):
    entries = list_templates(core(request), session)
    groups = [(key, list(rows)) for key, rows in
              groupby(entries, key=lambda e: (e.kind, e.language))]
    return render(request, "templates.html", viewer, groups=groups)


def _names(kind: str, language: str, name: str) -> list[str]:
    """The parts one editor page holds: a kind's subject, text and HTML, or one partial."""
    if not name and (kind not in KINDS or (language and not (
            len(language) == 2 and language.isalpha() and language.islower()))):
        raise HTTPException(404, "no such template")
    try:
        return [require_name(name)] if name else [
            require_name(f"{kind}{'.' + language if language else ''}.{part}.j2")
            for part in PARTS]
    except TemplateError as exc:
        raise HTTPException(404, str(exc)) from None


def _params(source) -> tuple[str, str, str]:
    return (str(source.get("kind", "")), str(source.get("lang", "")),
            str(source.get("name", "")))


def _editor(request: Request, viewer: Viewer, names: list[str], sources: dict[str, str],
            problems: dict, status: int = 200, **extra) -> Response:
    app = core(request)
    kind, language, name = _params(request.query_params)
    if not kind:
        kind, language, name = _params(getattr(request.state, "form", None) or {})
    history = {}
    with app.db.transaction() as session:
        for n in names:
            history[n] = template_history(session, n)
    origins = {n: (current_source(app, n).origin if current_source(app, n) else "missing")
               for n in names}
    shown = _preview(app, kind or None, language, sources, extra.pop("case_ref", ""))
    return render(request, "template_edit.html", viewer, status=status, names=names,
                  sources=sources, problems=problems, origins=origins, history=history,
                  kind=kind, language=language, name=name, preview=shown, **extra)


def _preview(app, kind: str | None, language: str, sources: dict, case_ref: str) -> dict:
    """The mail as the workers would render it with these sources, or the error."""
    if kind is None or kind not in KINDS:
        return {}
    try:
        mail = preview(app, kind, language or None, sources, case_ref.lstrip("#") or None)
    except (TemplateError, EditRefused) as exc:
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a preview shows what went wrong, never a 500
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"subject": mail.subject, "text": mail.text,
            "html": sanitize(mail.html) if mail.html else None}


async def edit(request: Request) -> Response:
    def run():
        viewer = viewer_only(request, "admin")
        names = _names(*_params(request.query_params))
        app = core(request)
        sources = {n: (current_source(app, n).source if current_source(app, n) else "")
                   for n in names}
        return _editor(request, viewer, names, sources, {})
    return await run_in_threadpool(run)


def _posted(request: Request, form):
    """The admin who posted, the app, and the editor's parts with their posted sources."""
    viewer = viewer_only(request, "admin")
    check_csrf(viewer, form)
    names = _names(*_params(form))
    return viewer, core(request), names, {n: str(form.get(f"source:{n}", "")) for n in names}


async def submit(request: Request) -> Response:
    """Save (all parts or none) or preview; a refused save shows every problem by line."""
    form = await request.form()
    request.state.form = form

    def run():
        viewer, app, names, sources = _posted(request, form)
        case_ref = str(form.get("case", ""))
        if form.get("do") != "save":
            problems = check_template_sources(app, sources)
            return _editor(request, viewer, names, sources, problems, case_ref=case_ref)
        try:
            with app.db.transaction() as session:
                saved = save_templates(app, session, sources, viewer.email, app.clock.now(),
                                       note=str(form.get("note", "")).strip()[:500])
        except EditRefused as exc:
            return _editor(request, viewer, names, sources, exc.problems, status=422,
                           case_ref=case_ref, refused=True)
        kind, language, name = _params(form)
        where = f"/templates/edit?name={name}" if name else \
            f"/templates/edit?kind={kind}&lang={language}"
        return redirect(request, where, f"Saved {len(saved)} part(s); workers use them from "
                        "their next mail." if saved else "Nothing changed.")
    return await run_in_threadpool(run)


async def check(request: Request) -> Response:
    """The live check and preview while typing (console.js): JSON, same checks as a save."""
    form = await request.form()

    def run():
        _, app, names, sources = _posted(request, form)
        problems = check_template_sources(app, sources)
        shown = _preview(app, str(form.get("kind", "")) or None, str(form.get("lang", "")),
                         sources, str(form.get("case", "")))
        if shown.get("html") is not None:
            shown["html"] = str(shown["html"])
        return JSONResponse({"problems": {n: [[line, msg] for line, msg in found]
                                          for n, found in problems.items()},
                             "preview": shown})
    return await run_in_threadpool(run)


@page("admin")
def diff(request: Request, session, viewer):
    app = core(request)
    try:
        text = template_diff(app, session, int(request.path_params["id"]))
    except TemplateError as exc:
        raise HTTPException(404, str(exc)) from None
    return render(request, "diff.html", viewer, title=f"Version {request.path_params['id']}",
                  lines=text.splitlines(), back=request.headers.get("referer", "/templates")
                  if request.headers.get("referer", "").startswith(str(request.base_url))
                  else "/templates")


@page("admin")
def revert(request: Request, session, viewer):
    app = core(request)
    form = request.state.form
    (name,) = _names("", "", str(form.get("template", "")))
    version = str(form.get("version", ""))
    back = str(form.get("back", "/templates"))
    back = back if back.startswith("/templates") else "/templates"
    try:
        saved = revert_template(app, session, name, int(version) if version.isdigit() else None,
                                viewer.email, app.clock.now())
    except EditRefused as exc:
        return redirect(request, back, f"Not reverted: {exc}", "error")
    return redirect(request, back, f"{name} reverted." if saved else "Nothing changed.")


routes = [Route("/templates", listing), Route("/templates/edit", edit),
          Route("/templates/edit", submit, methods=["POST"]),
          Route("/templates/check", check, methods=["POST"]),
          Route("/templates/versions/{id:int}", diff),
          Route("/templates/revert", revert, methods=["POST"])]
