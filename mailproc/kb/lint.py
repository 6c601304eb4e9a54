"""`kb check`: lint KB article files and report problems as `file:line: message`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailproc.kb.loader import LINK_RE, AUDIENCES, KNOWN_KEYS, LIST_KEYS, REQUIRED_KEYS, article_files, article_from_front_matter, parse_front_matter


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
        text = path.read_text(encoding="utf-8")
        fm = parse_front_matter(text)
        errors.extend(LintError(path, line, msg) for line, msg in fm.problems)
        if not fm.values and fm.problems:
            continue
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
            continue
        if article.id in first_seen:
            other, other_line = first_seen[article.id]
            errors.append(LintError(path, fm.lines["id"], f"duplicate id {article.id!r} (also in {other}:{other_line})"))
        else:
            first_seen[article.id] = (path, fm.lines["id"])
        for target in article.related:
            links.append((path, fm.lines.get("related", 1), target))
        for offset, line in enumerate(fm.body.splitlines()):
            for target in LINK_RE.findall(line):
                links.append((path, fm.body_line + offset, target))
    for path, line, target in links:
        if target not in first_seen:
            errors.append(LintError(path, line, f"link to unknown article {target!r}"))
    return sorted(errors, key=lambda e: (str(e.path), e.line))

