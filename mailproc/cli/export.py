"""`mailproc export`: every case with its messages, and quarantined mail, as JSON."""

from __future__ import annotations

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json
from mailproc.ops.export import export_cases


@click.command()
@click.option("--json", "as_json", is_flag=True, default=True, show_default=True,
              help="JSON output (the only format; the flag is accepted for scripts).")
@click.pass_context
@user_errors
def export(ctx: click.Context, as_json: bool) -> None:
    """Export cases (ref, status, priority, customer, deadlines, messages) and quarantine."""
    app = load_app(ctx)
    with app.db.transaction() as session:
        echo_json(export_cases(session))
