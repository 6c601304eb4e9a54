"""`mailproc templates check`: every problem an admin must fix before a customer sees it."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Mapping

from jinja2 import TemplateSyntaxError, meta, nodes

from mailproc.errors import TemplateError
from mailproc.templating.render import (
    CUSTOMER_KINDS, KINDS, NAME_PATTERN, PARTS, TemplateRenderer, display_path, renderer_for,
    template_error,
)
from mailproc.templating.samples import SAMPLES

REQUIRED_PARTS = ("subject", "txt")
# Top-level names a template may use; each is documented in templates/README.md.
VARIABLES = frozenset({"case", "customer", "support", "sla", "message", "kb_suggestions", "agent",
                       "reply_text", "error", "escalation", "history", "incident", "directory",
                       "language", "notification", "_mail"})
# _<name>[.<lang>].<part>.j2 is a partial (layout, footer) that kinds include or extend.
_PARTIAL = re.compile(r"^_[a-z][a-z0-9_]*(?:\.[a-z]{2})?\.(?:subject|txt|html)\.j2$")
# Files an admin may keep beside the overrides without them being taken for templates.
_IGNORED = re.compile(r"^(\..*|README(\.md|\.txt)?|.*\.md)$", re.IGNORECASE)


def check(renderer: TemplateRenderer, samples: Mapping[str, Mapping]) -> list[str]:
    """Every problem to fix before a customer sees it, as `file:line: message`."""
    problems: list[str] = []
    for d in renderer.dirs:
        if not d.is_dir():
            problems.append(f"{display_path(d)}:0: template directory does not exist")
            continue
        for path in sorted(p for p in d.iterdir() if p.is_file()):
            problems.extend(_check_file(renderer, path))
    for kind, languages in renderer.variants().items():
        for language in sorted(languages):
            problems.extend(_check_kind(renderer, kind, language, samples.get(kind)))
    return list(dict.fromkeys(problems))


def _check_file(renderer: TemplateRenderer, path: Path) -> list[str]:
    name, where = path.name, display_path(path)
    if _IGNORED.match(name):
        return []
    m = NAME_PATTERN.match(name)
    if not (m and m["kind"] in KINDS) and not _PARTIAL.match(name):
        return [f"{where}:0: unknown template file name{_did_you_mean(name)}; expected "
                "<kind>[.<lang>].<subject|txt|html>.j2 or a _partial (see templates/README.md)"]
    try:
        ast = renderer.env.parse(path.read_text(encoding="utf-8"), name, str(path))
    except UnicodeDecodeError as exc:
        return [f"{where}:0: not UTF-8 text ({exc.reason} at byte {exc.start})"]
    except TemplateSyntaxError as exc:
        return [str(template_error(exc, str(path)))]
    problems = []
    # Static: a misspelt variable in a branch the samples never take still shows up here.
    for var in sorted(meta.find_undeclared_variables(ast) - VARIABLES - set(renderer.env.globals)):
        line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == var), 0)
        problems.append(f"{where}:{line}: unknown variable {var!r} (documented variables: "
                        "templates/README.md)")
    return problems


def _did_you_mean(name: str) -> str:
    langs = {"", "de", "en"} | {p for p in name.split(".")[1:2] if len(p) == 2}
    known = [f"{k}.{lang + '.' if lang else ''}{p}.j2" for k in KINDS for p in PARTS for lang in langs]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_kind(renderer: TemplateRenderer, kind: str, language: str,
                sample: Mapping | None) -> list[str]:
    sources = {part: renderer.locate(kind, part, language) for part in PARTS}
    missing = []
    for part in REQUIRED_PARTS:
        src = sources[part]
        if language and (src is None or f".{language}." not in src.name):
            missing.append(f"{display_path(renderer.dirs[0] / f'{kind}.{language}.{part}.j2')}:0: "
                           f"missing part: {kind} has {language!r} templates but no {part} in "
                           f"{language!r}, so that mail would mix languages")
        elif src is None:
            missing.append(f"{display_path(renderer.dirs[0] / f'{kind}.{part}.j2')}:0: "
                           f"missing part: no {part} template for {kind}")
    if missing:
        return missing
    subject_at = f"{display_path(sources['subject'].path)}:1"
    if not sample:
        return [f"{subject_at}: no sample data for {kind!r} to check it against"]
    context = {**sample, "language": language}
    try:
        mail = renderer.render(kind, context)
        renderer.render(kind, _sparse(context))  # the other side of every {% if %}
    except TemplateError as exc:
        return [str(exc)]
    problems = [] if mail.subject else [f"{subject_at}: the subject renders empty"]
    if kind in CUSTOMER_KINDS:
        ref = str(sample["case"]["ref"])
        if f"[#{ref}]" not in mail.subject:
            problems.append(f"{subject_at}: subject lacks the case tag [#{ref}] "
                            "(the customer's reply would not find the case)")
        for part, body in (("txt", mail.text), ("html", mail.html)):
            if body is not None and ref not in body:
                problems.append(f"{display_path(sources[part].path)}:1: {part} body never "
                                f"mentions the case reference {ref}")
    return problems


def _sparse(value):
    """The same shape with every list empty and every string blank."""
    if isinstance(value, Mapping):
        return {k: v if k == "language" else _sparse(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return []
    return "" if isinstance(value, str) else value


def check_templates(app) -> list[str]:
    """What `mailproc doctor` and `mailproc templates check` report."""
    return check(renderer_for(app), SAMPLES)
