"""`mailproc templates`: check, list, preview, export and import the mail templates."""

from __future__ import annotations

from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import table
from mailproc.cli.versions import (
    AUTHOR, DIRECTORY_IN, DIRECTORY_OUT, JSON, NOTE, run_import, show_export,
)
from mailproc.templating.check import check_templates
from mailproc.templating.edits import export_templates, import_templates, preview as render_preview
from mailproc.templating.render import KINDS, PARTS, renderer_for


@click.group()
def templates() -> None:
    """Mail templates: edited in the web console, the admin overrides, the built-ins."""


@templates.command()
@click.pass_context
@user_errors
def check(ctx: click.Context) -> None:
    """Render every template against sample data; print `file:line: message`, exit 1 on problems."""
    app = load_app(ctx)
    problems = check_templates(app)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        raise click.exceptions.Exit(1)
    renderer = renderer_for(app)
    count = sum(1 for d in renderer.dirs if d.is_dir() for _ in d.glob("*.j2"))
    edited = len(renderer.edited_sources())
    click.echo(f"{count} templates OK" + (f", {edited} edited in the database" if edited else ""))


@templates.command(name="list")
@click.pass_context
@user_errors
def list_(ctx: click.Context) -> None:
    """Each kind and language, and where each part comes from (edited, override, builtin)."""
    renderer = renderer_for(load_app(ctx))
    rows = []
    for kind, languages in renderer.variants().items():
        for language in sorted(languages):
            cells = []
            for part in PARTS:
                src = renderer.locate(kind, part, language)
                fallback = language and src is not None and f".{language}." not in src.name
                cells.append("-" if src is None else src.origin + (" (default)" if fallback else ""))
            rows.append((kind, language or "default", *cells))
    click.echo(table(rows, ["kind", "language", *PARTS]))
    where = [f"override {renderer.override_dir}"] if renderer.override_dir else []
    click.echo("\n" + ", ".join(where + [f"builtin {renderer.builtin_dir}"]))


@templates.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--case", "case_ref", metavar="REF", help="Render for this case instead of samples.")
@click.option("--format", "fmt", type=click.Choice(["text", "html", "all"]), default="text",
              show_default=True, help="Which body to print after the subject.")
@click.option("--language", metavar="LANG", help="Render in this language (default: config).")
@click.pass_context
@user_errors
def preview(ctx: click.Context, kind: str, case_ref: str | None, fmt: str,
            language: str | None) -> None:
    """Print the mail KIND would send: subject, then the text and/or HTML body."""
    mail = render_preview(load_app(ctx), kind, language, case_ref=case_ref)
    click.echo(f"Subject: {mail.subject}")
    if fmt in ("text", "all"):
        click.echo("\n" + mail.text, nl=False)
    if fmt in ("html", "all"):
        click.echo("\n" + (mail.html or f"({kind} has no HTML part)\n"), nl=False)


@templates.command(name="export")
@DIRECTORY_OUT
@click.option("--all", "everything", is_flag=True,
              help="Every template in force, built-ins too (default: edited and override ones).")
@JSON
@click.pass_context
@user_errors
def export(ctx: click.Context, directory: Path, everything: bool, as_json: bool) -> None:
    """Write the templates in force that differ from the built-ins into DIRECTORY as files."""
    show_export(export_templates(load_app(ctx), directory, everything=everything), "name", "template",
                directory, as_json)


@templates.command(name="import")
@DIRECTORY_IN
@AUTHOR
@NOTE
@JSON
@click.pass_context
@user_errors
def import_(ctx: click.Context, directory: Path, author: str, note: str, as_json: bool) -> None:
    """Save each *.j2 file in DIRECTORY whose text differs from the template in force as a new
    version in the database; every file is checked first and none is saved if any fails."""
    run_import(ctx, import_templates, directory, author, note, as_json, "name")

