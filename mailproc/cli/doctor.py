"""`mailproc doctor`: check everything mailproc needs; non-zero exit with a readable reason."""

from __future__ import annotations

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.ops.doctor import run_checks


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check config, database, IMAP/SMTP/Redis reachability and templates."""
    app = load_app(ctx)
    checks = run_checks(app)
    if as_json:
        echo_json([c.__dict__ for c in checks])
    else:
        click.echo(table([("FAIL" if not c.ok else "warn" if c.warn else "ok", c.name, c.detail)
                          for c in checks],
                         ["", "check", "detail"], max_width=100))
    failed = [c for c in checks if not c.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} check(s) failed: "
                                   + "; ".join(f"{c.name}: {c.detail}" for c in failed))
