"""What `templates export|import` and `kb export|import` share: the options, the import's
one transaction, and how both report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import click

from mailproc.cli.context import load_app
from mailproc.cli.output import echo_json, echo_refused, table
from mailproc.errors import EditRefused

DIRECTORY_IN = click.argument("directory", type=click.Path(path_type=Path, file_okay=False,
                                                           exists=True))
DIRECTORY_OUT = click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
AUTHOR = click.option("--by", "author", metavar="NAME",
                      default=lambda: f"cli:{os.environ.get('USER', '')}",
                      help="Who saves them (default: cli:$USER).")
NOTE = click.option("--note", default="", help="Why, kept with each version.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")


def show_export(written: list, key: str, what: str, directory: Path, as_json: bool) -> None:
    """`written`: items with `key` ("name" or "id") and `origin`."""
    rows = [(getattr(item, key), item.origin) for item in written]
    if as_json:
        echo_json([{key: k, "origin": origin} for k, origin in rows])
        return
    click.echo(table(rows, [key, "origin"]))
    click.echo(f"\n{len(written)} {what}(s) written to {directory}")


def run_import(ctx: click.Context, do_import: Callable, directory: Path, author: str,
               note: str, as_json: bool, key: str) -> None:
    """One transaction: all saved, or (a file fails its check) none, with every problem."""
    app = load_app(ctx)
    try:
        with app.db.transaction() as session:
            rows = do_import(app, session, directory, author, app.clock.now(), note)
    except EditRefused as exc:
        echo_refused(exc.problems, as_json)
        raise click.exceptions.Exit(1) from None
    if as_json:
        echo_json([{key: k, "status": s, "version": v} for k, s, v in rows])
        return
    click.echo(table(rows, [key, "status", "version"]))
    saved = sum(1 for _, status, _ in rows if status == "saved")
    click.echo(f"\n{saved} saved, {len(rows) - saved} unchanged")
