"""`kb check`: lint KB article files (or one edited article) and report problems as `file:line: message`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from mailproc.kb.loader import (
    LINK_RE, AUDIENCES, KNOWN_KEYS, LIST_KEYS, REQUIRED_KEYS, Article, article_files, article_from_front_matter, parse_front_matter,
)


@dataclass(frozen=True)
class LintError:
    """One problem in one article file."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def check_kb(kb_dir: Path) -> list[LintError]:
    """Every problem in the KB directory, in file order; [] when it is clean."""
    kb_dir = Path(kb_dir)
    if not kb_dir.is_dir():
        return [LintError(kb_dir, 0, "KB directory does not exist")]
    errors: list[LintError] = []
    first_seen: dict[str, tuple[Path, int]] = {}
    links: list[tuple[Path, int, str]] = []
    for path in article_files(kb_dir):
        found, article, id_line, article_links = lint_text(path.read_text(encoding="utf-8"), path)
        errors.extend(found)
        if article is None:
            continue
        if article.id in first_seen:
            other, other_line = first_seen[article.id]
            errors.append(LintError(path, id_line, f"duplicate id {article.id!r} (also in {other}:{other_line})"))
        else:
            first_seen[article.id] = (path, id_line)
        links.extend((path, line, target) for line, target in article_links)
    for path, line, target in links:
        if target not in first_seen:
            errors.append(LintError(path, line, f"link to unknown article {target!r}"))
    return sorted(errors, key=lambda e: (str(e.path), e.line))


def check_article(text: str, path: Path, article_id: str, known_ids: Collection[str]) -> list[LintError]:
    """One article's problems, as `kb check` finds them, for an article meant to have the id
    `article_id` in a KB whose other articles have `known_ids` (its links must point there)."""
    errors, article, id_line, links = lint_text(text, path)
    if article is not None and article.id != article_id:
        errors.append(LintError(path, id_line, f"id {article.id!r} does not match the article's id {article_id!r}"))
    known = {*known_ids, article_id}
    errors.extend(LintError(path, line, f"link to unknown article {target!r}") for line, target in links if target not in known)
    return sorted(errors, key=lambda e: e.line)


def lint_text(text: str, path: Path) -> tuple[list[LintError], Article | None, int, list[tuple[int, str]]]:
    """(problems of one article's own text, its Article or None, the line of its id, (line, id)
    of every link in it); whether the links and the id fit the rest of the KB is the caller's."""
    fm = parse_front_matter(text)
    errors = [LintError(path, line, msg) for line, msg in fm.problems]
    if not fm.values and fm.problems:
        return errors, None, 1, []
    for key, line in fm.lines.items():
        if key not in KNOWN_KEYS:
            errors.append(LintError(path, line, f"unknown key {key!r} (known: {', '.join(sorted(KNOWN_KEYS))})"))
        elif key in LIST_KEYS and not isinstance(fm.values[key], list):
            pass  # a comma-separated scalar is accepted as a list
        elif key not in LIST_KEYS and isinstance(fm.values[key], list):
            errors.append(LintError(path, line, f"{key!r} must be a single value, not a list"))
    for key in REQUIRED_KEYS:
        value = fm.values.get(key)
        if not value:
            errors.append(LintError(path, fm.lines.get(key, 1), f"missing required key {key!r}"))
    audience = fm.values.get("audience")
    if isinstance(audience, str) and audience and audience not in AUDIENCES:
        errors.append(LintError(path, fm.lines["audience"], f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}"))
    if not fm.body.strip():
        errors.append(LintError(path, fm.body_line, "article has no body"))
    article = article_from_front_matter(fm, path)
    if article is None:
        return errors, None, 1, []
    links = [(fm.lines.get("related", 1), target) for target in article.related]
    for offset, line in enumerate(fm.body.splitlines()):
        links.extend((fm.body_line + offset, target) for target in LINK_RE.findall(line))
    return errors, article, fm.lines["id"], links
