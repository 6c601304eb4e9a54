"""`mailproc sweep`: run the escalation and reminder sweep once (and the mail-health alerts)."""

from __future__ import annotations

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.runners.periodic import sweep as run_sweep


@click.command()
@click.option("--now", help="Pretend it is this time (ISO 8601 with offset); env MAILPROC_NOW.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def sweep(ctx: click.Context, now: str | None, as_json: bool) -> None:
    """Fire due escalation steps, reminders and auto-resolves; each step once per case."""
    app = load_app(ctx, now=now)
    actions = run_sweep(app)
    if as_json:
        echo_json([a.__dict__ for a in actions])
        return
    if not actions:
        click.echo(f"nothing due at {app.clock.now():%Y-%m-%d %H:%M} UTC")
        return
    click.echo(table([(f"#{a.case_ref}", a.action, a.step, ", ".join(a.to), a.detail)
                      for a in actions], ["case", "action", "step", "to", "why"], max_width=70))
