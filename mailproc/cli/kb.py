"""`mailproc kb`: lint the KB files and search them from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mailproc.kb.lint import check_kb
from mailproc.kb.search import KnowledgeBase

_KB_DIR = click.option("--kb-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("kb"), show_default=True, help="KB directory.")


@click.group()
def kb() -> None:
    """Knowledge-base articles in kb/: check and search."""


@kb.command()
@_KB_DIR
def check(kb_dir: Path) -> None:
    """Lint the articles: front matter, duplicate ids, broken links. Exit 1 on any error."""
    errors = check_kb(kb_dir)
    for err in errors:
        click.echo(str(err), err=True)
    if errors:
        raise click.exceptions.Exit(1)
    n = len(list(kb_dir.glob("*.md")))
    click.echo(f"{kb_dir}: {n} article files OK")


@kb.command()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--audience", type=click.Choice(["agent", "customer"]), default="agent", show_default=True, help="customer hides internal articles.")
@click.option("--lexical-only", is_flag=True, help="Skip the semantic stage (BM25 alone).")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), default=None, help="Keep passage embeddings here between runs.")
@_KB_DIR
def search(query: str, as_json: bool, limit: int, audience: str, lexical_only: bool, cache_dir: Path | None, kb_dir: Path) -> None:
    """Rank KB articles for QUERY, best first, with scores in [0, 1]."""
    if not kb_dir.is_dir():
        raise click.ClickException(f"KB directory {kb_dir} does not exist")
    base = KnowledgeBase(kb_dir, cache_dir=cache_dir, semantic=False if lexical_only else None)
    hits = base.search(query, limit=limit, audience=audience)
    if as_json:
        rows = [
            {
                "id": h.article.id,
                "title": h.article.title,
                "score": h.score,
                "lexical": h.lexical,
                "semantic": None if h.semantic is None else round(h.semantic, 4),
                "audience": h.article.audience,
                "path": str(h.article.path) if h.article.path else None,
            }
            for h in hits
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("no matching articles")
        return
    width = max(len(h.article.id) for h in hits)
    click.echo(f"{'score':>6}  {'id':<{width}}  title")
    for h in hits:
        click.echo(f"{h.score:6.3f}  {h.article.id:<{width}}  {h.article.title}")
    mode = "hybrid (BM25 + MiniLM)" if base.uses_semantic else "lexical (BM25)"
    click.echo(f"-- {len(hits)} result(s), {mode}", err=True)
