"""`mailproc privacy`: a copy of everything held on a person, or its erasure, by their
mail addresses."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.ops.erase import erase_person, vacuum_sqlite
from mailproc.ops.privacy import export_person


@click.group()
def privacy() -> None:
    """A person's data, found by their mail addresses: export a copy, or erase it."""


@privacy.command()
@click.argument("addresses", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The zip file to write.")
@click.option("--by", "actor", default=None, help="Who asked for it (default: login name).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.pass_context
@user_errors
def export(ctx: click.Context, addresses: tuple[str, ...], out: Path, actor: str | None,
           as_json: bool) -> None:
    """Write everything held on the person with ADDRESSES (one or more) to a zip: contact
    records and phone numbers, cases with messages, events and outgoing mail, the mail as
    received and as sent, quarantined mail naming them, and a README."""
    app = load_app(ctx)
    try:
        with app.db.transaction() as session:
            summary = export_person(app, session, addresses, out,
                                    actor=actor or getpass.getuser())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESSES") from exc
    if as_json:
        echo_json(summary)
        return
    click.echo(f"wrote {out}: {summary['cases']} case(s), {summary['mail']} mail received, "
               f"{summary['outgoing']} sent, {summary['quarantined']} quarantined, "
               f"{summary['contacts']} contact record(s)")


@privacy.command()
@click.argument("addresses", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="List what would go; change nothing.")
@click.option("--by", "actor", default=None, help="Who asked for it (default: login name).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.pass_context
@user_errors
def erase(ctx: click.Context, addresses: tuple[str, ...], dry_run: bool, actor: str | None,
          as_json: bool) -> None:
    """Erase the person with ADDRESSES (one or more): their mail, words, files, phone
    numbers and contact records. Their cases stay as skeletons (times, priority, team,
    status, deadlines), so reports keep their counts; agents' addresses are refused."""
    app = load_app(ctx)
    try:
        with app.db.transaction() as session:
            done = erase_person(app, session, addresses, actor=actor or getpass.getuser(),
                                dry_run=dry_run)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESSES") from exc
    if not dry_run:
        vacuum_sqlite(app.db)
    summary = {**done.summary(), "dry_run": dry_run}
    if as_json:
        echo_json(summary)
        return
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb}: " + ", ".join(
        f"{k.replace('_', ' ')} {len(v) if isinstance(v, list) else v}"
        for k, v in done.summary().items()))
    if done.cases_blanked or done.cases_mentioned:
        click.echo(table([(ref, "blanked (they opened it)") for ref in done.cases_blanked]
                         + [(ref, "their name and address removed") for ref in
                            done.cases_mentioned], ["case", "what happens"]))
