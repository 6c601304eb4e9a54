"""`mailproc kb`: lint the KB files, search them, export and import edited articles."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.versions import (
    AUTHOR, DIRECTORY_IN, DIRECTORY_OUT, JSON, NOTE, run_import, show_export,
)
from mailproc.kb.lint import check_kb
from mailproc.kb.search import KnowledgeBase
from mailproc.store.kb_edits import export_articles, import_articles

_KB_DIR = click.option("--kb-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("kb"), show_default=True, help="KB directory.")


@click.group()
def kb() -> None:
    """Knowledge-base articles in kb/ and edited in the web console."""


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


@kb.command(name="export")
@DIRECTORY_OUT
@click.option("--all", "everything", is_flag=True,
              help="Every article in force, from kb/'s files too (default: edited ones).")
@JSON
@click.pass_context
@user_errors
def export(ctx: click.Context, directory: Path, everything: bool, as_json: bool) -> None:
    """Write the articles edited in the database into DIRECTORY as ID.md files."""
    show_export(export_articles(load_app(ctx), directory, everything=everything), "id", "article",
                directory, as_json)


@kb.command(name="import")
@DIRECTORY_IN
@AUTHOR
@NOTE
@JSON
@click.pass_context
@user_errors
def import_(ctx: click.Context, directory: Path, author: str, note: str, as_json: bool) -> None:
    """Save each *.md article in DIRECTORY whose text differs from the one in force as a new
    version in the database; every one is checked first and none is saved if any fails."""
    run_import(ctx, import_articles, directory, author, note, as_json, "id")
