"""`mailproc privacy`: a copy of everything held on a person, by their mail addresses."""

from __future__ import annotations

from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json
from mailproc.ops.privacy import export_person


@click.group()
def privacy() -> None:
    """A person's data, found by their mail addresses: export a copy."""


@privacy.command()
@click.argument("addresses", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The zip file to write.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.pass_context
@user_errors
def export(ctx: click.Context, addresses: tuple[str, ...], out: Path, as_json: bool) -> None:
    """Write everything held on the person with ADDRESSES (one or more) to a zip: contact
    records and phone numbers, cases with messages, events and outgoing mail, the mail as
    received and as sent, quarantined mail naming them, and a README."""
    app = load_app(ctx)
    try:
        with app.db.transaction() as session:
            summary = export_person(app, session, addresses, out)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESSES") from exc
    if as_json:
        echo_json(summary)
        return
    click.echo(f"wrote {out}: {summary['cases']} case(s), {summary['mail']} mail received, "
               f"{summary['outgoing']} sent, {summary['quarantined']} quarantined, "
               f"{summary['contacts']} contact record(s)")
