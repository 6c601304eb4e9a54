"""`mailproc kb`: lint the KB files, search them, export and import edited articles."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, echo_refused, table
from mailproc.errors import EditRefused
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
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--all", "everything", is_flag=True,
              help="Every article in force, from kb/'s files too (default: edited ones).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
@user_errors
def export(ctx: click.Context, directory: Path, everything: bool, as_json: bool) -> None:
    """Write the articles edited in the database into DIRECTORY as ID.md files."""
    written = export_articles(load_app(ctx), directory, everything=everything)
    if as_json:
        echo_json([{"id": a.id, "origin": a.origin} for a in written])
        return
    click.echo(table([(a.id, a.origin) for a in written], ["id", "origin"]))
    click.echo(f"\n{len(written)} article(s) written to {directory}")


@kb.command(name="import")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--by", "author", metavar="NAME", default=lambda: f"cli:{os.environ.get('USER', '')}",
              help="Who saves them (default: cli:$USER).")
@click.option("--note", default="", help="Why, kept with each version.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
@user_errors
def import_(ctx: click.Context, directory: Path, author: str, note: str, as_json: bool) -> None:
    """Save each *.md article in DIRECTORY whose text differs from the one in force as a new
    version in the database; every one is checked first and none is saved if any fails."""
    app = load_app(ctx)
    try:
        with app.db.transaction() as session:
            rows = import_articles(app, session, directory, author, app.clock.now(), note)
    except EditRefused as exc:
        echo_refused(exc.problems, as_json)
        raise click.exceptions.Exit(1) from None
    if as_json:
        echo_json([{"id": i, "status": s, "version": v} for i, s, v in rows])
        return
    click.echo(table(rows, ["id", "status", "version"]))
    saved = sum(1 for _, status, _ in rows if status == "saved")
    click.echo(f"\n{saved} saved, {len(rows) - saved} unchanged")
