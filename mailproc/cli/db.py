"""`mailproc db`: create or upgrade the schema."""

from __future__ import annotations

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.db import current_revision, head_revision


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.pass_context
@user_errors
def upgrade(ctx: click.Context) -> None:
    """Create the schema or upgrade it to the newest revision."""
    app = load_app(ctx)
    before = current_revision(app.db.engine)
    app.db.upgrade()
    after = current_revision(app.db.engine)
    click.echo(f"database {app.db.engine.url.render_as_string(hide_password=True)}: "
               f"{before or 'empty'} -> {after}" if before != after else
               f"database is up to date (revision {after})")


@db.command()
@click.pass_context
@user_errors
def revision(ctx: click.Context) -> None:
    """Print the current and newest schema revision."""
    app = load_app(ctx)
    click.echo(f"current {current_revision(app.db.engine) or 'none'}, "
               f"newest {head_revision(app.db.engine)}")
