"""The knowledge base: articles with search, use counts, "try a question" with the three
scores, and (admins) edit with `kb check` on save, versions, diff, revert, hide."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mailproc.errors import EditRefused, MailprocError
from mailproc.store.kb_edits import (
    article_diff, article_history, article_text, list_articles, remove_article, require_id,
    revert_article, save_article, try_question,
)
from mailproc.web.guard import core, page, redirect
from mailproc.web.render import page as render

NEW_ARTICLE = """---
id: {id}
title: 
audience: customer
tags: []
---

"""


@page()
def listing(request: Request, session, viewer):
    app = core(request)
    if app.knowledge_base is None:
        return render(request, "kb.html", viewer, articles=[], rows=[], q="", question="",
                      off=True)
    q = request.query_params.get("q", "").strip()[:200]
    question = request.query_params.get("try", "").strip()[:2000]
    articles = [a for a in list_articles(app, session)
                if not q or q.lower() in f"{a.id} {a.title}".lower()]
    if not viewer.is_admin:
        articles = [a for a in articles if a.origin != "removed"]
    rows = try_question(app, question, limit=10) if question else []
    return render(request, "kb.html", viewer, articles=articles, rows=rows, q=q,
                  question=question, off=False)


def _id(request: Request) -> str:
    try:
        return require_id(request.path_params["id"])
    except MailprocError as exc:
        raise HTTPException(404, str(exc)) from None


@page()
def article(request: Request, session, viewer):
    app = core(request)
    article_id = _id(request)
    found = article_text(app, article_id)
    text = found.text if found else (NEW_ARTICLE.format(id=article_id)
                                     if request.query_params.get("new") else None)
    if text is None and not viewer.is_admin:
        raise HTTPException(404, f"no article {article_id}")
    return render(request, "kb_article.html", viewer, article_id=article_id, text=text or "",
                  origin=found.origin if found else ("new" if text else "hidden"),
                  history=article_history(session, article_id), problems=[])


@page("admin")
def save(request: Request, session, viewer):
    app = core(request)
    article_id = _id(request)
    form = request.state.form
    text = str(form.get("text", ""))
    try:
        saved = save_article(app, session, article_id, text, viewer.email, app.clock.now(),
                             note=str(form.get("note", "")).strip()[:500])
    except EditRefused as exc:
        problems = [p for found in exc.problems.values() for p in found]
        return render(request, "kb_article.html", viewer, status=422, article_id=article_id,
                      text=text, origin="unsaved", problems=problems,
                      history=article_history(session, article_id))
    return redirect(request, f"/kb/{article_id}", "Saved: suggestions use it from the next mail."
                    if saved else "Nothing changed.")


@page("admin")
def change(request: Request, session, viewer):
    app = core(request)
    article_id = _id(request)
    form = request.state.form
    version = str(form.get("version", ""))
    try:
        if form.get("do") == "hide":
            done = remove_article(app, session, article_id, viewer.email, app.clock.now())
        else:
            done = revert_article(app, session, article_id,
                                  int(version) if version.isdigit() else None, viewer.email,
                                  app.clock.now())
    except (EditRefused, MailprocError) as exc:
        return redirect(request, f"/kb/{article_id}", f"Not changed: {exc}", "error")
    return redirect(request, f"/kb/{article_id}", "Done." if done else "Nothing changed.")


@page()
def diff(request: Request, session, viewer):
    try:
        text = article_diff(core(request), session, int(request.path_params["vid"]))
    except MailprocError as exc:
        raise HTTPException(404, str(exc)) from None
    return render(request, "diff.html", viewer, title=f"KB version {request.path_params['vid']}",
                  lines=text.splitlines(), back="/kb")


@page("admin")
def new(request: Request, session, viewer):
    article_id = str(request.state.form.get("id", "")).strip()
    try:
        require_id(article_id)
    except MailprocError as exc:
        return redirect(request, "/kb", str(exc), "error")
    return redirect(request, f"/kb/{article_id}?new=1")


routes = [Route("/kb", listing), Route("/kb/new", new, methods=["POST"]),
          Route("/kb/versions/{vid:int}", diff),
          Route("/kb/{id}", article), Route("/kb/{id}", save, methods=["POST"]),
          Route("/kb/{id}/change", change, methods=["POST"])]
