"""`mailproc templates check`: every problem an admin must fix before a customer sees it."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Mapping

from jinja2 import TemplateSyntaxError, meta, nodes

from mailproc.errors import TemplateError
from mailproc.templating.render import (
    CUSTOMER_KINDS, EDITED_PREFIX, KINDS, NAME_PATTERN, PARTIAL_PATTERN, PARTS, TemplateRenderer,
    display_path, renderer_for, template_error,
)
from mailproc.templating.samples import SAMPLES

REQUIRED_PARTS = ("subject", "txt")
# Top-level names a template may use; each is documented in templates/README.md.
VARIABLES = frozenset({"case", "customer", "support", "sla", "message", "kb_suggestions", "agent",
                       "reply_text", "error", "escalation", "history", "incident", "directory",
                       "language", "notification", "_mail"})
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
    for name, source in sorted(renderer.edited_sources().items()):
        problems.extend(_check_source(renderer, name, source, EDITED_PREFIX + name))
    for kind, languages in renderer.variants().items():
        for language in sorted(languages):
            problems.extend(_check_kind(renderer, kind, language, samples.get(kind)))
    return list(dict.fromkeys(problems))


def check_changes(renderer: TemplateRenderer, changes: Mapping[str, str | None],
                  samples: Mapping[str, Mapping]) -> list[str]:
    """The problems that saving `changes` (name -> source, None: back to the file) would put
    in force: everything wrong in the changed templates, and what they break elsewhere
    (kinds that include a changed partial, a language left without a part), as
    `where:line: message`; a changed template's `where` is `edited:<name>`."""
    after = renderer.with_sources(changes)
    own: set[str] = set()
    problems: list[str] = []
    kinds: set[str] = set()
    for name, source in changes.items():
        m = NAME_PATTERN.match(name)
        kinds.update([m["kind"]] if m and m["kind"] in KINDS else KINDS)
        if source is not None:
            own.add(EDITED_PREFIX + name)
            problems.extend(_check_source(after, name, source, EDITED_PREFIX + name))
        elif (found := after.source_of(name)) is not None:  # the file that comes back
            own.add(display_path(found.path))
            problems.extend(_check_file(after, found.path))
    before: set[str] = set()
    languages_before, languages_after = renderer.variants(), after.variants()
    for kind in sorted(kinds):
        for language in sorted(languages_after[kind]):
            problems.extend(_check_kind(after, kind, language, samples.get(kind)))
            if language in languages_before[kind]:
                before.update(_check_kind(renderer, kind, language, samples.get(kind)))
    # Problems elsewhere that were there before are not these changes' doing.
    return [p for p in dict.fromkeys(problems) if p not in before or split_problem(p)[0] in own]


def split_problem(problem: str) -> tuple[str, int, str]:
    """`where:line: message` -> (where, line, message); where may hold colons (`edited:`)."""
    m = re.match(r"^(.*?):(\d+): (.*)$", problem, re.DOTALL)
    return (m[1], int(m[2]), m[3]) if m else ("", 0, problem)


def _check_file(renderer: TemplateRenderer, path: Path) -> list[str]:
    if _IGNORED.match(path.name):
        return []
    if bad_name := _name_problem(path.name, display_path(path)):
        return [bad_name]
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [f"{display_path(path)}:0: not UTF-8 text ({exc.reason} at byte {exc.start})"]
    return _check_source(renderer, path.name, source, str(path))


def _name_problem(name: str, where: str) -> str | None:
    m = NAME_PATTERN.match(name)
    if (m and m["kind"] in KINDS) or PARTIAL_PATTERN.match(name):
        return None
    return (f"{where}:0: unknown template file name{_did_you_mean(name)}; expected "
            "<kind>[.<lang>].<subject|txt|html>.j2 or a _partial (see templates/README.md)")


def _check_source(renderer: TemplateRenderer, name: str, source: str, filename: str) -> list[str]:
    """Name, syntax and variables of one template's source (`filename`: where it is shown)."""
    where = display_path(filename)
    if bad_name := _name_problem(name, where):
        return [bad_name]
    try:
        ast = renderer.env.parse(source, name, filename)
    except TemplateSyntaxError as exc:
        return [str(template_error(exc, filename))]
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
