"""Outgoing mail from templates: sandboxed Jinja2, strict variables, admin overrides, live reload.

Where a template comes from, first found wins: a version edited in the web console (kept in
the database; this module only asks the `EditedSources` it is given), the `[templates]
override_dir` file, the built-in file in templates/.
"""

from __future__ import annotations

import logging
import os
import re
import textwrap
import time
import traceback
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Protocol

from jinja2 import (BaseLoader, ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateNotFound,
                    TemplatesNotFound, TemplateSyntaxError, select_autoescape)
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

import mailproc
from mailproc.errors import ConfigError, TemplateError

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(mailproc.__file__).resolve().parent.parent / "templates"
KINDS = ("ack", "incident", "agent_notify", "relay", "agent_error", "escalation", "reminder",
         "auto_resolved", "incident_update")
# Mail that reaches customers must carry the case tag, or their replies would not thread.
CUSTOMER_KINDS = frozenset({"ack", "incident", "relay", "reminder", "auto_resolved",
                            "incident_update"})
PARTS = ("subject", "txt", "html")
# <kind>[.<lang>].<part>.j2 is a kind's template (partials: PARTIAL_PATTERN).
NAME_PATTERN = re.compile(r"^(?P<kind>[a-z][a-z_]*?)(?:\.(?P<lang>[a-z]{2}))?\.(?P<part>subject|txt|html)\.j2$")
# _<name>[.<lang>].<part>.j2 is a partial (layout, footer) that kinds include or extend.
PARTIAL_PATTERN = re.compile(r"^_[a-z][a-z0-9_]*(?:\.[a-z]{2})?\.(?:subject|txt|html)\.j2$")
# Edited templates are named like files but live in the database; their "file name" says so.
EDITED_PREFIX = "edited:"
_MAX_REPEAT = 100_000
_RACY_NS = 100_000_000  # 0.1 s, well above any filesystem's timestamp granularity


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class TemplateSource:
    name: str
    path: Path   # for an edited template: Path("edited:<name>"), which is what errors show
    origin: str  # "edited", "override" or "builtin"


class EditedSources(Protocol):
    """The templates edited in the web console, asked on every render: keep it cheap."""

    def current(self) -> Mapping[str, str]:
        """Source by template name of every edited template in force (not put back to its file)."""


def valid_template_name(name: str) -> bool:
    """A kind's template or a partial: the only names that may be stored (no paths)."""
    if not isinstance(name, str) or len(name) > 100:
        return False
    m = NAME_PATTERN.fullmatch(name)
    return bool(m and m["kind"] in KINDS) or bool(PARTIAL_PATTERN.fullmatch(name))


# --- filters -------------------------------------------------------------------------------

_BULLET = re.compile(r"^(\s*(?:[-*•]|\d+[.)])\s+|\s*(?:>\s?)+|\s+)")


def wrap(text, width: int = 72) -> str:
    """Wrap long lines of a text body; quotes, bullets and indentation carry onto the next lines."""
    out = []
    for line in _str(text).split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        m = _BULLET.match(line)
        first = m.group(1) if m else ""
        rest = first if first.lstrip().startswith(">") else " " * len(first)
        # URLs and long tokens stay whole: a broken link is worse than a long line.
        out.extend(textwrap.wrap(line[len(first):], width=max(width, len(first) + 20),
                                 initial_indent=first, subsequent_indent=rest,
                                 break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)


def excerpt(text, n: int = 200) -> str:
    """At most n characters of text on one line, cut at a word boundary, with "…" when cut."""
    # An excerpt that already ends in " …" (the KB's) keeps its ellipsis on the last word.
    flat = re.sub(r"\s+(…|\.\.\.)$", "…", " ".join(_str(text).split()))
    if len(flat) <= n:
        return flat
    cut = flat[: max(n - 1, 1)]
    space = cut.rfind(" ")
    if space > n // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + "…"


def quote(text) -> str:
    """Prefix every line with "> " (">" alone on empty lines, so no trailing spaces)."""
    lines = _str(text).rstrip("\n").split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def paragraphs(text) -> Markup:
    """Plain text as HTML paragraphs: escaped, blank lines split paragraphs, newlines become <br>."""
    body = str(escape(_str(text).strip()))
    paras = [p.strip("\n") for p in re.split(r"\n\s*\n", body) if p.strip()]
    return Markup("\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paras))


def _str(value) -> str:
    return "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n")


def clean_subject(text: str) -> str:
    """One header-safe line: control characters (CR/LF included) become spaces, runs collapse."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return " ".join(text.split())


def tidy_text(text: str) -> str:
    """No trailing spaces (except the "-- " signature line), at most one blank line in a row."""
    out: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line if line == "-- " else line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


# --- environment ---------------------------------------------------------------------------


class _Sandbox(ImmutableSandboxedEnvironment):
    """The Jinja2 sandbox, also refusing huge repetitions and powers (admin input, memory)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) \
                        and len(seq) * n > _MAX_REPEAT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def _signature(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # Inode and size too: a file copied in with its old mtime kept (cp -p, rsync -t) changed.
    return st.st_mtime_ns, st.st_size, st.st_ino


class _OverrideLoader(ChoiceLoader):
    """First directory wins; a cached template is stale once its file changes or a file of
    the same name appears in an earlier (override) directory."""

    def __init__(self, dirs: list[Path]) -> None:
        super().__init__([FileSystemLoader(str(d)) for d in dirs])
        self.dirs = dirs

    # ChoiceLoader.load asks each FileSystemLoader itself, which would bypass get_source below.
    load = BaseLoader.load

    def get_source(self, environment, template):
        pieces = split_template_path(template)
        for i, loader in enumerate(self.loaders):
            path = os.path.join(loader.searchpath[0], *pieces)
            sig = _signature(path)  # before reading: an edit in between is seen next time
            if sig is None:
                continue
            try:
                source, filename, _ = loader.get_source(environment, template)
            except TemplateNotFound:
                continue
            earlier = [os.path.join(x.searchpath[0], *pieces) for x in self.loaders[:i]]
            # As git does with "racily clean" files: a file written within the clock's
            # granularity of our read may change again unseen, so it is re-read until it ages.
            racy = sig[0] >= time.time_ns() - _RACY_NS

            def uptodate(path=path, sig=sig, earlier=earlier, racy=racy) -> bool:
                return not racy and _signature(path) == sig \
                    and not any(os.path.isfile(p) for p in earlier)

            return source, filename, uptodate
        raise TemplateNotFound(template)


class _EditedFirstLoader(BaseLoader):
    """Edited templates first, then the files; a cached template is stale once the edited
    version of its name changes (appears, changes, or is put back to the file)."""

    def __init__(self, edited: EditedSources | None, files: _OverrideLoader) -> None:
        self.edited = edited
        self.files = files

    def _edited(self, name: str) -> str | None:
        return self.edited.current().get(name) if self.edited is not None else None

    def get_source(self, environment, template):
        source = self._edited(template)
        if source is not None:
            return source, EDITED_PREFIX + template, lambda: self._edited(template) == source
        source, filename, fresh = self.files.get_source(environment, template)
        return source, filename, lambda: fresh() and self._edited(template) is None


class _Overlay:
    """Edited sources with some names replaced (None: as if not edited), for checks and
    previews of text not saved yet."""

    def __init__(self, base: EditedSources | None, changes: Mapping[str, str | None]) -> None:
        self.base = base
        self.changes = dict(changes)
        self._seen: tuple[object, dict[str, str]] | None = None

    def current(self) -> Mapping[str, str]:
        base = self.base.current() if self.base is not None else {}
        if self._seen is None or self._seen[0] is not base:
            merged = {**base, **self.changes}
            self._seen = (base, {k: v for k, v in merged.items() if v is not None})
        return self._seen[1]


class TemplateRenderer:
    """Renders a kind of mail; edits and admin overrides win over built-ins, all live."""

    def __init__(self, builtin_dir: Path, override_dir: Path | None = None,
                 edited: EditedSources | None = None) -> None:
        self.builtin_dir = Path(builtin_dir)
        self.override_dir = Path(override_dir) if override_dir else None
        self.dirs = [d for d in (self.override_dir, self.builtin_dir) if d is not None]
        self.edited = edited
        self.env = _Sandbox(
            loader=_EditedFirstLoader(edited, _OverrideLoader(self.dirs)),
            undefined=StrictUndefined, auto_reload=True,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=(),
                                         default_for_string=False, default=False),
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self.env.filters.update(wrap=wrap, excerpt=excerpt, quote=quote, paragraphs=paragraphs)

    def with_sources(self, changes: Mapping[str, str | None]) -> TemplateRenderer:
        """A renderer over the same files and edits, with `changes` (name -> source, or None
        for "back to the file") on top: what would render if they were saved."""
        return TemplateRenderer(self.builtin_dir, self.override_dir, _Overlay(self.edited, changes))

    def edited_sources(self) -> Mapping[str, str]:
        """The edited templates in force, by name."""
        return self.edited.current() if self.edited is not None else {}

    def file_source(self, name: str) -> TemplateSource | None:
        """The file (override, else built-in) for a name, whether or not an edit hides it."""
        for d in self.dirs:
            if (d / name).is_file():
                return TemplateSource(name, d / name, "override" if d == self.override_dir
                                      else "builtin")
        return None

    def source_of(self, name: str) -> TemplateSource | None:
        """Where the template called `name` comes from, or None."""
        if name in self.edited_sources():
            return TemplateSource(name, Path(EDITED_PREFIX + name), "edited")
        return self.file_source(name)

    def names(self, kind: str, part: str, language: str = "") -> list[str]:
        default = f"{kind}.{part}.j2"
        return [f"{kind}.{language}.{part}.j2", default] if language else [default]

    def locate(self, kind: str, part: str, language: str = "") -> TemplateSource | None:
        """The edited template or file that would render this part, or None."""
        return next(filter(None, map(self.source_of, self.names(kind, part, language))), None)

    def variants(self) -> dict[str, set[str]]:
        """Every kind with the languages it has templates for ("" is the default language)."""
        found: dict[str, set[str]] = {kind: {""} for kind in KINDS}
        names = [p.name for d in self.dirs if d.is_dir() for p in d.glob("*.j2")]
        for name in [*names, *self.edited_sources()]:
            m = NAME_PATTERN.match(name)
            if m and m["kind"] in found and m["lang"]:
                found[m["kind"]].add(m["lang"])
        return found

    def render(self, kind: str, context: Mapping) -> RenderedMail:
        language = str(context.get("language") or "")
        language = language if re.fullmatch(r"[a-z]{2}", language) else ""  # part of a file name
        subject = self._render(kind, "subject", language, context, required=True)
        text = self._render(kind, "txt", language, context, required=True)
        html = self._render(kind, "html", language, context, required=False)
        return RenderedMail(subject=clean_subject(subject), text=tidy_text(text), html=html)

    def _render(self, kind: str, part: str, language: str, context: Mapping,
                *, required: bool) -> str | None:
        names = self.names(kind, part, language)
        try:
            template = self.env.select_template(names)
        except TemplatesNotFound:
            if not required:
                return None
            where = self.dirs[0] / names[-1]
            raise TemplateError(f"{display_path(where)}:0: no {part} template for {kind!r} "
                                f"(looked in {', '.join(map(display_path, self.dirs))})") from None
        except Exception as exc:  # noqa: BLE001 - syntax and loader errors at the adapter edge
            raise template_error(exc, names[-1]) from None
        try:
            return template.render(dict(context))
        except Exception as exc:  # noqa: BLE001 - anything a template does wrong is its error
            raise template_error(exc, template.filename or template.name or names[-1]) from None


def display_path(path) -> str:
    """Paths under the working directory are shown relative, as an admin typed them."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def template_error(exc: BaseException, fallback: str) -> TemplateError:
    """`file:line: message` from a Jinja2 error or from the template frame in a traceback."""
    if isinstance(exc, TemplateSyntaxError):
        where, line, message = exc.filename or exc.name or fallback, exc.lineno, exc.message
    else:
        where, line = fallback, 0
        # Jinja2 rewrites tracebacks so template frames carry the template's file and line;
        # the innermost one is where it went wrong (an included partial, a macro).
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.endswith(".j2"):
                where, line = frame.filename, frame.lineno or 0
        if isinstance(exc, TemplateNotFound):
            message = f"template not found: {exc.name}"
        elif isinstance(exc, (SecurityError,)) or type(exc).__module__.startswith("jinja2"):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
    return TemplateError(f"{display_path(where)}:{line}: {message}")


# --- configuration -------------------------------------------------------------------------


def template_dirs(app) -> tuple[Path, Path | None]:
    """(builtin_dir, override_dir) from the raw [templates] table; wrong keys are ConfigErrors."""
    raw = dict(app.settings.templates or {})
    for key, value in raw.items():
        if key not in ("override_dir", "builtin_dir"):
            raise ConfigError(f"{app.settings.config_path}: templates.{key}: unknown key "
                              "(expected override_dir, builtin_dir)")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{app.settings.config_path}: templates.{key}: expected a "
                              f"directory path as a string, got {value!r}")
    builtin = app.settings.resolve(raw["builtin_dir"]) if "builtin_dir" in raw else BUILTIN_DIR
    override = app.settings.resolve(raw["override_dir"]) if "override_dir" in raw else None
    return builtin, override


@lru_cache(maxsize=16)
def _renderer(builtin: Path, override: Path | None,
              edited: EditedSources | None) -> TemplateRenderer:
    if override is not None and not override.is_dir():
        log.warning("templates.override_dir %s does not exist: using the built-in templates",
                    override)
    return TemplateRenderer(builtin, override, edited)


def renderer_for(app) -> TemplateRenderer:
    """One renderer per directory pair and database of edits (`app.edited_templates`); it
    picks up edited files and versions saved by any process itself."""
    return _renderer(*template_dirs(app), getattr(app, "edited_templates", None))
