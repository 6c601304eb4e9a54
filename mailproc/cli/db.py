"""`mailproc db`: create or upgrade the schema, and fill what a new revision adds."""

from __future__ import annotations

import sys

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json
from mailproc.db import current_revision, head_revision
from mailproc.runners.periodic import backfill_prints


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


@db.command("backfill-prints")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def backfill_prints_(ctx: click.Context, as_json: bool) -> None:
    """Fingerprint mail stored before 0.3, so that replies quoting it thread by it."""
    app = load_app(ctx)
    with click.progressbar(length=0, label="fingerprinting", show_pos=True,
                           file=sys.stderr) as bar:
        done = backfill_prints(app, progress=bar.update)
    if as_json:
        echo_json({"messages": done})
    else:
        click.echo(f"fingerprinted {done} message(s)")
