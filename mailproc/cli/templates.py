"""`mailproc templates`: check, list and preview the mail templates."""

from __future__ import annotations

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import table
from mailproc.templating.check import check_templates
from mailproc.templating.render import KINDS, PARTS, renderer_for
from mailproc.templating.samples import context_for_case, sample_context


@click.group()
def templates() -> None:
    """Mail templates: the built-ins in templates/ and the admin overrides."""


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
    click.echo(f"{count} templates OK")


@templates.command(name="list")
@click.pass_context
@user_errors
def list_(ctx: click.Context) -> None:
    """Each kind and language, and where each part comes from (override or builtin)."""
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
    app = load_app(ctx)
    if case_ref:
        with app.db.transaction() as session:
            context = dict(context_for_case(app, session, case_ref, kind))
        if language:
            context["language"] = language
    else:
        context = sample_context(kind, language or app.settings.support.language)
    mail = renderer_for(app).render(kind, context)
    click.echo(f"Subject: {mail.subject}")
    if fmt in ("text", "all"):
        click.echo("\n" + mail.text, nl=False)
    if fmt in ("html", "all"):
        click.echo("\n" + (mail.html or f"({kind} has no HTML part)\n"), nl=False)
