"""Templates edited in the web console: what there is and where it comes from, live checks,
saving (refused when the check fails), history, diff, revert and preview.

A saved version lives in the database (`template_versions`); the newest version of a name
wins over the `[templates] override_dir` file, which wins over the built-in file. A version
with `removed` puts the file back in charge. Every process renders the newest version on its
next mail (`mailproc.store.versions.LiveVersions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.errors import EditRefused, TemplateError
from mailproc.models import TemplateVersion
from mailproc.store import versions
from mailproc.store.versions import Version
from mailproc.templating.check import check_changes, split_problem
from mailproc.templating.render import (
    EDITED_PREFIX, KINDS, PARTIAL_PATTERN, PARTS, RenderedMail, TemplateRenderer,
    renderer_for, valid_template_name,
)
from mailproc.templating.samples import SAMPLES, context_for_case, sample_context

if TYPE_CHECKING:
    from mailproc.app import App


@dataclass(frozen=True)
class TemplateEntry:
    """One template name (a kind's part in a language, or a partial) and where it comes from."""

    name: str              # "ack.de.txt.j2", "_footer.txt.j2"
    kind: str              # "ack"; a partial's own name ("_footer") for partials
    language: str          # "" for the default language
    part: str              # subject | txt | html
    origin: str            # edited | override | builtin | missing (this very name)
    renders: str | None    # the name that renders this part: this one, or the default language's
    version: Version | None  # the newest saved version (also when it put the file back)


@dataclass(frozen=True)
class TemplateText:
    name: str
    source: str
    origin: str            # edited | override | builtin


def require_name(name: str) -> str:
    """`name` when it may be stored; a TemplateError for anything else (paths, unknown kinds)."""
    if not valid_template_name(name):
        raise TemplateError(f"not a template name: {name!r} (expected "
                            "<kind>[.<lang>].<subject|txt|html>.j2 or a _partial)")
    return name


def normalize(source: str) -> str:
    """Line ends as files have them (a browser sends CRLF)."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


# --- reading -------------------------------------------------------------------------------


def list_templates(app: App, session: Session) -> list[TemplateEntry]:
    """Every kind x language x part, then every partial, with its origin and newest version."""
    renderer = renderer_for(app)
    saved = versions.newest_all(session, TemplateVersion)
    entries = []
    for kind, languages in renderer.variants().items():
        for language in sorted(languages):
            for part in PARTS:
                name = renderer.names(kind, part, language)[0]
                found = renderer.locate(kind, part, language)
                entries.append(_entry(renderer, name, kind, language, part, saved,
                                      found.name if found else None))
    partials = {p.name for d in renderer.dirs if d.is_dir() for p in d.glob("_*.j2")}
    partials |= set(renderer.edited_sources()) | set(saved)
    for name in sorted(n for n in partials if PARTIAL_PATTERN.fullmatch(n)):
        stem, *middle, part, _ = name.split(".")
        entries.append(_entry(renderer, name, stem, middle[0] if middle else "", part, saved,
                              name if renderer.source_of(name) else None))
    return entries


def _entry(renderer: TemplateRenderer, name, kind, language, part, saved, renders):
    found = renderer.source_of(name)
    return TemplateEntry(name, kind, language, part, found.origin if found else "missing",
                         renders, saved.get(name))


def current_source(app: App, name: str) -> TemplateText | None:
    """The source in force for `name` (edited, else the file), or None when there is none."""
    renderer = renderer_for(app)
    edited = renderer.edited_sources()
    if require_name(name) in edited:
        return TemplateText(name, edited[name], "edited")
    found = renderer.file_source(name)
    return TemplateText(name, found.path.read_text(encoding="utf-8"), found.origin) \
        if found else None


def _file_text(renderer: TemplateRenderer, name: str) -> str:
    found = renderer.file_source(name)
    return found.path.read_text(encoding="utf-8") if found else ""


def template_history(session: Session, name: str) -> list[Version]:
    """Every saved version of `name`, newest first."""
    return versions.history(session, TemplateVersion, require_name(name))


def template_diff(app: App, session: Session, version_id: int) -> str:
    """Unified diff from what was in force before version `version_id` to what it put in
    force (a `removed` version, and the first one's predecessor, mean the file's text)."""
    version = versions.get_version(session, TemplateVersion, version_id)
    if version is None:
        raise TemplateError(f"no template version {version_id}")
    renderer = renderer_for(app)
    before = versions.predecessor(session, TemplateVersion, version)

    def text(v: Version | None) -> tuple[str, str]:
        if v is None or v.removed:
            found = renderer.file_source(version.name)
            return _file_text(renderer, version.name), f"{version.name} ({found.origin} file)" \
                if found else f"{version.name} (no file)"
        return v.text, f"{version.name} (version {v.id})"

    (old, old_label), (new, new_label) = text(before), text(version)
    return versions.unified_diff(old, new, old_label, new_label)


# --- checking and saving -------------------------------------------------------------------


def check_template_sources(app: App, changes: Mapping[str, str | None]
                           ) -> dict[str, list[tuple[int, str]]]:
    """What saving `changes` (name -> source; None: back to the file) would break, by template
    name: the changed ones first. {} when they may go live."""
    problems: dict[str, list[tuple[int, str]]] = {}
    valid = {}
    for name, source in changes.items():
        if valid_template_name(name):
            valid[name] = None if source is None else normalize(source)
        else:
            problems[str(name)] = [(0, f"not a template name: {name!r}")]
    found = check_changes(renderer_for(app), valid, SAMPLES) if valid else []
    for problem in found:
        where, line, message = split_problem(problem)
        name = where[len(EDITED_PREFIX):] if where.startswith(EDITED_PREFIX) else Path(where).name
        problems.setdefault(name, []).append((line, message))
    return dict(sorted(problems.items(), key=lambda kv: kv[0] not in changes))


def check_template_source(app: App, name: str, source: str) -> list[tuple[int, str]]:
    """(line, message) for every problem saving `source` as `name` would put in force: what
    `mailproc templates check` finds (syntax, unknown variables, rendering the samples in the
    sandbox, the case tag of customer mail). What it breaks in another template is line 0,
    named in the message. [] when it may go live; fast enough to call while typing."""
    found = check_template_sources(app, {name: source})
    own = found.pop(name, [])
    return own + [(0, f"{other}:{line}: {message}") for other, problems in found.items()
                  for line, message in problems]


def save_templates(app: App, session: Session, sources: Mapping[str, str], author: str,
                   now: datetime, note: str = "") -> list[Version]:
    """Save every source that differs from the one in force, as one change: all or nothing.
    EditRefused (with every problem, by name and line) when the check fails."""
    changes = {}
    for name, source in sources.items():
        source = normalize(source)
        current = current_source(app, name) if valid_template_name(name) else None
        if current is None or current.source != source:  # the same text renders the same
            changes[name] = source
    return _save(app, session, changes, author, now, note, "template_saved")


def save_template(app: App, session: Session, name: str, source: str, author: str,
                  now: datetime, note: str = "") -> Version | None:
    """Save a new version of `name` (None when the text is already the one in force);
    EditRefused with the problems' line numbers when the check fails."""
    saved = save_templates(app, session, {name: source}, author, now, note)
    return saved[0] if saved else None


def revert_template(app: App, session: Session, name: str, version_id: int | None,
                    author: str, now: datetime, note: str = "") -> Version | None:
    """A new version with the text of version `version_id`, or (None, or a `removed` version)
    back to the file. Checked like a save; None when that is what is in force already."""
    require_name(name)
    if version_id is None:
        source = None
    else:
        old = versions.get_version(session, TemplateVersion, version_id)
        if old is None or old.name != name:
            raise TemplateError(f"no version {version_id} of {name}")
        source = None if old.removed else old.text
    if source is None and name not in _edited(app):
        return None
    if source is not None and _edited(app).get(name) == source:
        return None
    why = note or (f"revert to version {version_id}" if version_id else "back to the file")
    saved = _save(app, session, {name: source}, author, now, why, "template_reverted")
    return saved[0]


def _edited(app: App) -> Mapping[str, str]:
    return renderer_for(app).edited_sources()


def _save(app: App, session: Session, changes: Mapping[str, str | None], author: str,
          now: datetime, note: str, kind: str) -> list[Version]:
    if not changes:
        return []
    problems = check_template_sources(app, changes)
    if problems:
        raise EditRefused(problems)
    saved = []
    for name, source in changes.items():
        version = versions.add_version(session, TemplateVersion, name, source or "",
                                       removed=source is None, author=author, now=now, note=note)
        what = "put back to its file" if source is None else "saved"
        record_event(session, None, actor=author, kind=kind,
                     detail=f"template {name} {what} (version {version.id})"
                            + (f": {note}" if note else ""),
                     now=now, data={"name": name, "version": version.id,
                                    "removed": version.removed})
        saved.append(version)
    app.edited_templates.invalidate_after_commit(session)
    return saved


# --- preview -------------------------------------------------------------------------------


def preview(app: App, kind: str, language: str | None = None,
            sources: Mapping[str, str | None] | None = None,
            case_ref: str | None = None) -> RenderedMail:
    """The mail `kind` would send, rendered in the sandbox like the workers do, with `sources`
    (name -> source not saved yet; None: the file) on top of what is in force; for case
    `case_ref`, else for the sample data. TemplateError when it does not render."""
    if kind not in KINDS:
        raise TemplateError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    renderer = renderer_for(app)
    if sources:
        changes = {require_name(n): None if s is None else normalize(s) for n, s in sources.items()}
        renderer = renderer.with_sources(changes)
    if case_ref:
        with app.db.transaction() as session:
            context = dict(context_for_case(app, session, case_ref, kind))
        if language:
            context["language"] = language
    else:
        context = sample_context(kind, language or app.settings.support.language)
    return renderer.render(kind, context)


# --- export and import ---------------------------------------------------------------------


def export_templates(app: App, directory: Path, *, everything: bool = False) -> list[TemplateText]:
    """Write the templates in force that are not the built-in file (edited in the database,
    or override files) into `directory` as <name> files; `everything`: every one in force."""
    renderer = renderer_for(app)
    names = {p.name for d in renderer.dirs if d.is_dir() for p in d.glob("*.j2")}
    names = {n for n in names if valid_template_name(n)} | set(renderer.edited_sources())
    written = []
    for name in sorted(names):
        current = current_source(app, name)
        if current is None or (current.origin == "builtin" and not everything):
            continue
        directory.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(current.source, encoding="utf-8")
        written.append(current)
    return written


def import_templates(app: App, session: Session, directory: Path, author: str, now: datetime,
                     note: str = "") -> list[tuple[str, str, int | None]]:
    """Save every *.j2 file of `directory` whose text differs from the template in force, as
    one change: (name, "saved" or "unchanged", version id) per file. EditRefused, saving
    nothing, when a file has no template name, is not UTF-8, or fails the check."""
    sources: dict[str, str] = {}
    unreadable: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(directory.glob("*.j2")):
        if not valid_template_name(path.name):
            unreadable[path.name] = [(0, "not a template name (expected <kind>[.<lang>]."
                                         "<subject|txt|html>.j2 or a _partial)")]
            continue
        try:
            sources[path.name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            unreadable[path.name] = [(0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    if unreadable:
        raise EditRefused({**unreadable, **check_template_sources(app, sources)})
    saved = {v.name: v.id for v in save_templates(app, session, sources, author, now,
                                                  note or f"imported from {directory}")}
    return [(name, "saved" if name in saved else "unchanged", saved.get(name))
            for name in sources]
