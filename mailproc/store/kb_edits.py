"""KB articles edited in the web console: the list with where each comes from and how it was
used, text, live checks, saving (refused when `kb check` would fail), history, diff, revert,
and what a question finds.

A saved version lives in the database (`kb_versions`): the newest version of an id wins over
the file of that id in kb/, and a `removed` version hides the article (file or not). Every
process's KnowledgeBase picks it up on its next query (`store.versions.LiveVersions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from sqlalchemy import func, select, text as sql
from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.errors import EditRefused, MailprocError
from mailproc.kb.lint import check_article, lint_text
from mailproc.kb.search import DEFAULT_THRESHOLD, KnowledgeBase
from mailproc.models import Event, KbVersion
from mailproc.store import versions
from mailproc.store.versions import Version

if TYPE_CHECKING:
    from mailproc.app import App

ARTICLE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
EDITED_PREFIX = "edited:"


@dataclass(frozen=True)
class ArticleEntry:
    """One article, where it comes from, and how it was used."""

    id: str
    title: str
    audience: str
    origin: str               # file | edited (a version over a file) | new (no file) | removed
    path: Path | None         # its file in kb/, if it has one
    version: Version | None   # the newest saved version
    suggested: int            # times offered on a case (`kb_suggested` events)
    resolved: int             # cases a customer said it fixed (credited to the top suggestion)
    sent: int                 # times an agent sent it with `#kb`


@dataclass(frozen=True)
class ArticleText:
    id: str
    text: str
    origin: str               # file | edited | new


@dataclass(frozen=True)
class TryRow:
    """How one article scores for a question; `semantic` is None without the semantic stage."""

    article_id: str
    title: str
    audience: str
    lexical: float            # BM25 as a share of an ideal match, in [0, 1]
    semantic: float | None    # the sentence model's similarity, before calibration
    score: float              # the hybrid score suggestions are ranked and cut by
    suggested: bool           # at or above the threshold: offered to a customer


def knowledge_base(app: App) -> KnowledgeBase:
    kb = app.knowledge_base
    if kb is None:
        raise MailprocError("the knowledge base is switched off ([kb] enabled = false, or its "
                            "dir does not exist)")
    return kb


def require_id(article_id: str) -> str:
    if not isinstance(article_id, str) or not ARTICLE_ID.fullmatch(article_id):
        raise MailprocError(f"not an article id: {article_id!r} (letters, digits, _ . -)")
    return article_id


def normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


# --- reading -------------------------------------------------------------------------------


def list_articles(app: App, session: Session) -> list[ArticleEntry]:
    """Every article, hidden ones too (origin "removed"), by id."""
    kb = knowledge_base(app)
    files = kb.file_articles()
    visible = {a.id: a for a in kb.articles()}
    saved = versions.newest_all(session, KbVersion)
    usage = article_usage(session)
    entries = []
    for article_id in sorted({*files, *visible, *saved}):
        article = visible.get(article_id) or files.get(article_id)
        version = saved.get(article_id)
        if article_id not in visible:
            origin = "removed"
        elif version is not None and not version.removed:
            origin = "edited" if article_id in files else "new"
        else:
            origin = "file"
        file = files.get(article_id)
        title, audience = (article.title, article.audience) if article else (article_id, "")
        entries.append(ArticleEntry(article_id, title, audience, origin,
                                    file.path if file else None, version,
                                    *usage.get(article_id, (0, 0, 0))))
    return entries


_SUGGESTED = {
    "postgresql": "SELECT s->>'id', count(*) FROM events e "
                  "CROSS JOIN json_array_elements(e.data->'suggestions') AS s "
                  "WHERE e.kind = 'kb_suggested' GROUP BY 1",
    "sqlite": "SELECT json_extract(s.value, '$.id'), count(*) FROM events e, "
              "json_each(e.data, '$.suggestions') AS s WHERE e.kind = 'kb_suggested' GROUP BY 1",
}


def article_usage(session: Session) -> dict[str, tuple[int, int, int]]:
    """(suggested, resolved, sent) per article id, over all time, as `mailproc report` counts."""
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    suggested = dict(session.execute(sql(_SUGGESTED[dialect])).all())
    credited = Event.data[("suggestions", 0)].as_string()
    resolved = dict(session.execute(select(credited, func.count()).where(
        Event.kind == "resolved_by_kb").group_by(credited)).all())
    article = Event.data["article"].as_string()
    sent = dict(session.execute(select(article, func.count()).where(
        Event.kind == "kb_sent").group_by(article)).all())
    return {a: (suggested.get(a, 0), resolved.get(a, 0), sent.get(a, 0))
            for a in {*suggested, *resolved, *sent} if a}


def article_text(app: App, article_id: str) -> ArticleText | None:
    """The Markdown in force for an article (edited, else its file); None when it is hidden
    or does not exist."""
    kb = knowledge_base(app)
    edited = app.edited_articles.snapshot()[1]
    file = kb.file_articles().get(require_id(article_id))
    if article_id in edited:
        text = edited[article_id]
        return None if text is None else ArticleText(article_id, text, "edited" if file else "new")
    return ArticleText(article_id, file.path.read_text(encoding="utf-8"), "file") if file else None


def _file_text(kb: KnowledgeBase, article_id: str) -> str | None:
    file = kb.file_articles().get(article_id)
    return file.path.read_text(encoding="utf-8") if file and file.path else None


def article_history(session: Session, article_id: str) -> list[Version]:
    """Every saved version of an article, newest first."""
    return versions.history(session, KbVersion, require_id(article_id))


def article_diff(app: App, session: Session, version_id: int) -> str:
    """Unified diff from what was in force before version `version_id` to what it put in force
    (before the first version: the file, if any; a `removed` version: nothing)."""
    version = versions.get_version(session, KbVersion, version_id)
    if version is None:
        raise MailprocError(f"no KB article version {version_id}")
    before = versions.predecessor(session, KbVersion, version)
    name = f"{version.name}.md"
    if before is None:
        file = _file_text(knowledge_base(app), version.name)
        old, old_label = file or "", f"{name} ({'file' if file is not None else 'new'})"
    else:
        old = "" if before.removed else before.text
        old_label = f"{name} (version {before.id}{', hidden' if before.removed else ''})"
    new = "" if version.removed else version.text
    new_label = f"{name} (version {version.id}{', hidden' if version.removed else ''})"
    return versions.unified_diff(old, new, old_label, new_label)


# --- checking and saving -------------------------------------------------------------------


def check_article_text(app: App, article_id: str, text: str,
                       also: Mapping[str, str] | None = None) -> list[tuple[int, str]]:
    """(line, message) for every problem `mailproc kb check` would report in this text as
    article `article_id`: front matter, required keys, audience, body, the id matching, links
    to articles that exist (or are among `also`, articles saved with it). [] when it may go
    live."""
    if not isinstance(article_id, str) or not ARTICLE_ID.fullmatch(article_id):
        return [(0, f"not an article id: {article_id!r} (letters, digits, _ . -)")]
    known = {a.id for a in knowledge_base(app).articles()} | set(also or ())
    found = check_article(normalize(text), Path(f"{EDITED_PREFIX}{article_id}.md"), article_id,
                          known)
    return [(e.line, e.message) for e in found]


def _removal_problems(kb: KnowledgeBase, article_id: str) -> list[tuple[int, str]]:
    return [(0, f"article {a.id!r} links to it: hiding it would break that link")
            for a in kb.articles() if a.id != article_id and article_id in a.links()]


def save_article(app: App, session: Session, article_id: str, text: str, author: str,
                 now: datetime, note: str = "") -> Version | None:
    """Save a new version of an article (None when the text is already the one in force);
    EditRefused with the problems' line numbers when the check fails."""
    saved = save_articles(app, session, {article_id: text}, author, now, note)
    return saved[0] if saved else None


def save_articles(app: App, session: Session, texts: Mapping[str, str], author: str,
                  now: datetime, note: str = "", *, kind: str = "kb_saved") -> list[Version]:
    """Save every text that differs from the one in force, as one change: all or nothing."""
    problems = {}
    changes = {}
    for article_id, text in texts.items():
        text = normalize(text)
        found = check_article_text(app, article_id, text, also=texts)
        if found:
            problems[article_id] = found
            continue
        current = article_text(app, article_id)
        if current is None or current.text != text:
            changes[article_id] = text
    if problems:
        raise EditRefused(problems)
    return [_add(app, session, article_id, text, author, now, note, kind)
            for article_id, text in changes.items()]


def remove_article(app: App, session: Session, article_id: str, author: str, now: datetime,
                   note: str = "") -> Version | None:
    """Hide an article (whether or not it has a file); refused while others link to it.
    None when it is hidden already."""
    kb = knowledge_base(app)
    if kb.get(require_id(article_id)) is None:
        return None
    if problems := _removal_problems(kb, article_id):
        raise EditRefused({article_id: problems})
    return _add(app, session, article_id, None, author, now, note or "hidden", "kb_saved")


def revert_article(app: App, session: Session, article_id: str, version_id: int | None,
                   author: str, now: datetime, note: str = "") -> Version | None:
    """A new version with the text of version `version_id` (hidden again if that one hid the
    article); None: a new version with the text of its file in kb/ (the database keeps no
    "back to the file" for articles: a later edit of the file is hidden by this copy until
    it is edited again). Checked like a save; None when nothing changes."""
    kb = knowledge_base(app)
    require_id(article_id)
    if version_id is None:
        text = _file_text(kb, article_id)
        if text is None:
            raise MailprocError(f"article {article_id!r} has no file in {kb.kb_dir}")
    else:
        old = versions.get_version(session, KbVersion, version_id)
        if old is None or old.name != article_id:
            raise MailprocError(f"no version {version_id} of article {article_id!r}")
        text = None if old.removed else old.text
    why = note or (f"revert to version {version_id}" if version_id else "back to the file's text")
    if text is None:
        if kb.get(article_id) is None:
            return None
        if problems := _removal_problems(kb, article_id):
            raise EditRefused({article_id: problems})
        return _add(app, session, article_id, None, author, now, why, "kb_reverted")
    saved = save_articles(app, session, {article_id: text}, author, now, why, kind="kb_reverted")
    return saved[0] if saved else None


def _add(app: App, session: Session, article_id: str, text: str | None, author: str,
         now: datetime, note: str, kind: str) -> Version:
    version = versions.add_version(session, KbVersion, article_id, text or "",
                                   removed=text is None, author=author, now=now, note=note)
    what = "hidden" if text is None else "saved"
    record_event(session, None, actor=author, kind=kind,
                 detail=f"KB article {article_id} {what} (version {version.id})"
                        + (f": {note}" if note else ""),
                 now=now, data={"article": article_id, "version": version.id,
                                "removed": version.removed})
    app.edited_articles.invalidate_after_commit(session)
    return version


# --- trying a question ---------------------------------------------------------------------


def try_question(app: App, question: str, limit: int = 10,
                 audience: str = "agent") -> list[TryRow]:
    """The articles a question finds, best first, with the parts of their score: what the
    workers compute for a new case's mail (`audience="customer"` leaves internal ones out)."""
    kb = knowledge_base(app)
    threshold = app.kb_settings.threshold
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    return [TryRow(h.article.id, h.article.title, h.article.audience, h.lexical,
                   None if h.semantic is None else round(h.semantic, 4), h.score,
                   h.score >= threshold and h.article.audience == "customer")
            for h in kb.search(question, limit=limit, audience=audience)]


# --- export and import ---------------------------------------------------------------------


def export_articles(app: App, directory: Path, *, everything: bool = False) -> list[ArticleText]:
    """Write the articles edited in the database (over a file, or new) into `directory` as
    <id>.md; `everything`: every article in force, from files too. Hidden ones are left out."""
    kb = knowledge_base(app)
    written = []
    for article in sorted(kb.articles(), key=lambda a: a.id):
        current = article_text(app, article.id)
        if current is None or (current.origin == "file" and not everything):
            continue
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{article.id}.md").write_text(current.text, encoding="utf-8")
        written.append(current)
    return written


def import_articles(app: App, session: Session, directory: Path, author: str, now: datetime,
                    note: str = "") -> list[tuple[str, str, int | None]]:
    """Save every *.md file of `directory` (README.md aside; the id is the front matter's)
    whose text differs from the article in force, as one change: (id, "saved" or "unchanged",
    version id) per file. EditRefused, saving nothing, when any fails `kb check`'s checks."""
    texts: dict[str, str] = {}
    unreadable: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(p for p in directory.glob("*.md") if p.name.lower() != "readme.md"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            unreadable[path.name] = [(0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
            continue
        errors, article, _, _ = lint_text(text, path)
        if article is None:
            unreadable[path.name] = [(e.line, e.message) for e in errors] \
                or [(1, "no usable front matter")]
        elif article.id in texts:
            unreadable[path.name] = [(0, f"a second file with id {article.id!r}")]
        else:
            texts[article.id] = text
    if unreadable:
        checked = {i: p for i, t in texts.items() if (p := check_article_text(app, i, t, texts))}
        raise EditRefused({**unreadable, **checked})
    saved = {v.name: v.id for v in save_articles(app, session, texts, author, now,
                                                 note or f"imported from {directory}")}
    return [(article_id, "saved" if article_id in saved else "unchanged", saved.get(article_id))
            for article_id in texts]
