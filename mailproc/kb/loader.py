"""Markdown + front matter files in kb/ -> Article values, and a cheap change signature."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

AUDIENCES = ("customer", "internal")
REQUIRED_KEYS = ("id", "title", "audience")
KNOWN_KEYS = frozenset({"id", "title", "tags", "applies_when", "audience", "related"})
LIST_KEYS = frozenset({"tags", "applies_when", "related"})

LINK_RE = re.compile(r"\[[^\]]*\]\(kb:([A-Za-z0-9_.-]+)\)")


@dataclass(frozen=True)
class Article:
    """One KB article; `path` is None for articles that do not come from a file (benchmarks)."""

    id: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    applies_when: tuple[str, ...] = ()
    audience: str = "customer"
    related: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256()
        for part in (self.id, self.title, "\x1f".join(self.tags), "\x1f".join(self.applies_when), self.body):
            h.update(part.encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()[:24]

    def links(self) -> tuple[str, ...]:
        """Ids of other articles this one points to: `related:` plus `[text](kb:ID)` in the body."""
        return tuple(dict.fromkeys((*self.related, *LINK_RE.findall(self.body))))


@dataclass(frozen=True)
class FrontMatter:
    """Parsed front matter: values, the line each key was on, and syntax problems found."""

    values: dict[str, str | list[str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    problems: tuple[tuple[int, str], ...] = ()
    body: str = ""
    body_line: int = 1


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


def _inline_list(raw: str) -> list[str]:
    inner = raw.strip()[1:-1]
    return [_scalar(item) for item in inner.split(",") if item.strip()]


def parse_front_matter(text: str) -> FrontMatter:
    """Parse the YAML subset we allow: `key: value`, `key: [a, b]`, and `key:` followed by `- item` lines.

    A hand-written parser keeps PyYAML out of the install and lets lint report
    the exact line of every problem.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return FrontMatter(problems=((1, "missing front matter: the file must start with '---'"),), body=text)
    values: dict[str, str | list[str]] = {}
    where: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    current_list: str | None = None
    end = None
    for idx in range(1, len(lines)):
        lineno = idx + 1
        line = lines[idx]
        stripped = line.strip()
        if stripped == "---":
            end = idx
            break
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- "):
            if current_list is None:
                problems.append((lineno, "list item without a key above it"))
            else:
                values[current_list].append(_scalar(stripped[2:]))  # type: ignore[union-attr]
            continue
        key, sep, raw = line.partition(":")
        key = key.strip()
        if not sep or not key or " " in key or line[0].isspace():
            problems.append((lineno, f"cannot parse front matter line: {stripped!r}"))
            current_list = None
            continue
        if key in values:
            problems.append((lineno, f"duplicate key {key!r} (first on line {where[key]})"))
        where[key] = lineno
        raw = raw.strip()
        if not raw:
            values[key] = []
            current_list = key
        elif raw.startswith("["):
            if not raw.endswith("]"):
                problems.append((lineno, f"unclosed list for {key!r}"))
            values[key] = _inline_list(raw if raw.endswith("]") else raw + "]")
            current_list = None
        else:
            values[key] = _scalar(raw)
            current_list = None
    if end is None:
        return FrontMatter(values, where, (*problems, (1, "front matter is not closed with '---'")), "", len(lines))
    rest = lines[end + 1 :]
    skip = next((i for i, line in enumerate(rest) if line.strip()), len(rest))
    body = "\n".join(rest[skip:]).rstrip("\n")
    return FrontMatter(values, where, tuple(problems), body, end + 2 + skip)


def article_from_front_matter(fm: FrontMatter, path: Path | None = None) -> Article | None:
    """Build an Article when the required keys are present; None otherwise (lint says why)."""
    v = fm.values
    if not all(isinstance(v.get(k), str) and v.get(k) for k in REQUIRED_KEYS):
        return None

    def as_tuple(key: str) -> tuple[str, ...]:
        raw = v.get(key, [])
        return tuple(raw) if isinstance(raw, list) else tuple(s.strip() for s in raw.split(",") if s.strip())

    return Article(
        id=str(v["id"]),
        title=str(v["title"]),
        body=fm.body,
        tags=as_tuple("tags"),
        applies_when=as_tuple("applies_when"),
        audience=str(v["audience"]),
        related=as_tuple("related"),
        path=path,
    )


def load_article(path: Path) -> Article | None:
    """Read one article file; None (and a warning) when it is unusable. `kb check` gives details."""
    fm = parse_front_matter(path.read_text(encoding="utf-8"))
    article = article_from_front_matter(fm, path)
    if article is None:
        log.warning("kb article %s skipped: missing required front matter (run `mailproc kb check`)", path)
    return article


def article_files(kb_dir: Path) -> list[Path]:
    """The article files of a KB directory, sorted; README.md is documentation, not an article."""
    if not kb_dir.is_dir():
        return []
    return sorted(p for p in kb_dir.glob("*.md") if p.name.lower() != "readme.md")


def dir_signature(kb_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime_ns, size) per article file: cheap enough to compare on every query."""
    sig = []
    for p in article_files(kb_dir):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        sig.append((p.name, st.st_mtime_ns, st.st_size))
    return tuple(sig)
