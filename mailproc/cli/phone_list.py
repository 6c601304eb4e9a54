"""`mailproc phone-list`: who to call when mail fails, and `done REF` to record a call."""

from __future__ import annotations

import getpass

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.fallback import formats
from mailproc.fallback.phone_list import build_phone_list, record_call
from mailproc.people.directory import phone_directory


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "html", "json"]),
              default="table", show_default=True,
              help="table for the terminal, csv for a spreadsheet, html: a printable page in var/.")
@click.option("--now", help="Pretend it is this time (ISO 8601 with offset); env MAILPROC_NOW.")
@click.pass_context
@user_errors
def phone_list(ctx: click.Context, fmt: str, now: str | None) -> None:
    """Customers whose mail could not be delivered or who wait past a deadline, most urgent
    first, with their numbers and what to tell them; plus support, on-call and vendor numbers."""
    if ctx.invoked_subcommand is not None:
        return
    app = load_app(ctx, now=now)
    at = app.clock.now()
    with app.db.transaction() as session:
        entries = build_phone_list(app, session, at)
    directory = phone_directory(app, at)
    if fmt == "csv":
        click.echo(formats.as_csv(entries), nl=False)
    elif fmt == "json":
        click.echo(formats.as_json(entries, directory, at))
    elif fmt == "html":
        text = formats.as_html(entries, directory, at,
                               f"{app.settings.support.name}: phone list")
        path = formats.write_html(app.var, text, at)
        click.echo(f"wrote {path} ({sum(e.status == 'to call' for e in entries)} to call)")
    else:
        click.echo(formats.as_table(entries, directory, at))


@phone_list.command()
@click.argument("ref")
@click.option("--note", default="", help="What was said, e.g. 'told her the VPN fix is at 16:00'.")
@click.option("--by", "actor", default=None, help="Who called (default: the login name).")
@click.option("--now", help="Pretend it is this time (ISO 8601 with offset).")
@click.pass_context
@user_errors
def done(ctx: click.Context, ref: str, note: str, actor: str | None, now: str | None) -> None:
    """Record that the customer of case REF was called."""
    app = load_app(ctx, now=now)
    case = record_call(app, ref, note=note, actor=actor or getpass.getuser(), now=app.clock.now())
    click.echo(f"#{case.ref}: call recorded")
