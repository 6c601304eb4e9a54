"""`mailproc incident`: list incidents, send an update to every linked customer, resolve."""

from __future__ import annotations

import getpass

import click

from mailproc.actions.incidents import list_incidents, update_incident
from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table


def _id(value: str) -> int:
    text = value.upper().removeprefix("INC-")
    if not text.isdigit():
        raise click.BadParameter(f"expected an incident id such as 7 or INC-7, got {value!r}")
    return int(text)


@click.group()
def incident() -> None:
    """Incidents: bursts of similar cases handled as one."""


@incident.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def list_(ctx: click.Context, as_json: bool) -> None:
    """Show incidents, newest first, with their number of cases."""
    rows = list_incidents(load_app(ctx))
    if as_json:
        echo_json(rows)
        return
    click.echo(table([(r["ref"], r["status"], r["cases"], r["created_at"], r["title"])
                      for r in rows], ["incident", "status", "cases", "opened", "title"]))


def _send(ctx, incident_id: str, message: str, now: str | None, resolve: bool) -> None:
    app = load_app(ctx, now=now)
    inc, sent = update_incident(app, _id(incident_id), message, actor=getpass.getuser(),
                                now=app.clock.now(), resolve=resolve)
    verb = "resolved" if resolve else "updated"
    click.echo(f"INC-{inc.id} {verb}: {sent} customers get the update through the outbox")


@incident.command()
@click.argument("incident_id")
@click.option("--message", required=True, help="The text every linked customer receives.")
@click.option("--now", help="Pretend it is this time (ISO 8601 with offset).")
@click.pass_context
@user_errors
def update(ctx: click.Context, incident_id: str, message: str, now: str | None) -> None:
    """Send one update to every customer of the incident; the cases stay open."""
    _send(ctx, incident_id, message, now, resolve=False)


@incident.command()
@click.argument("incident_id")
@click.option("--message", required=True, help="The text every linked customer receives.")
@click.option("--now", help="Pretend it is this time (ISO 8601 with offset).")
@click.pass_context
@user_errors
def resolve(ctx: click.Context, incident_id: str, message: str, now: str | None) -> None:
    """Send the final update to every linked customer and resolve the cases."""
    _send(ctx, incident_id, message, now, resolve=True)
