"""`mailproc run`: the embedded all-in-one loop (poll, process, deliver, sweep)."""

from __future__ import annotations

import signal

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.db import current_revision, head_revision
from mailproc.runners.embedded import RoundReport, run_forever, run_round
from mailproc.source.factory import build_source


def ensure_schema(app) -> None:
    """SQLite (the embedded default) is migrated on the spot; other databases must be upgraded."""
    if app.db.engine.dialect.name == "sqlite":
        app.db.upgrade()
        return
    current, head = current_revision(app.db.engine), head_revision(app.db.engine)
    if current != head:
        raise click.ClickException(
            f"database schema is at {current or 'nothing'}, code expects {head}: "
            "run `mailproc db upgrade` first")


@click.command()
@click.option("--once", is_flag=True, help="Drain what is there now, then exit.")
@click.option("--now", "now", metavar="ISO8601", envvar="MAILPROC_NOW",
              help="Treat this time as now (replays, demos, tests).")
@click.option("--json", "as_json", is_flag=True, help="Print the round's results as JSON.")
@click.option("--idle-timeout", default=60.0, show_default=True,
              help="Seconds to wait for new mail between rounds (IMAP IDLE or sleep).")
@click.pass_context
@user_errors
def run(ctx: click.Context, once: bool, now: str | None, as_json: bool,
        idle_timeout: float) -> None:
    """Poll every mailbox, process new mail into cases, deliver the outbox, run sweeps."""
    app = load_app(ctx, now=now)
    ensure_schema(app)
    sources = [build_source(app, box) for box in app.settings.mailboxes]
    if not sources:
        raise click.ClickException("no mailboxes configured: add [[mailboxes]] to the config "
                                   "or set MAILPROC_IMAP_HOST")
    try:
        if once:
            report = run_round(app, sources)
            echo_json(report_json(report)) if as_json else click.echo(report_text(report))
            if report.source_errors:
                ctx.exit(2)
            return
        stop = {"flag": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
        click.echo(f"mailproc running on {len(sources)} mailbox(es); Ctrl-C to stop", err=True)
        try:
            run_forever(app, sources, idle_timeout=idle_timeout,
                        on_round=lambda r: r.outcomes and click.echo(report_text(r)),
                        should_stop=lambda: stop["flag"])
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
    finally:
        for source in sources:
            source.close()


def report_json(report: RoundReport) -> dict:
    return {
        "fetched": report.fetched,
        "source_errors": report.source_errors,
        "processed": [o.__dict__ for o in report.outcomes],
        "delivered": [getattr(d, "__dict__", d) for d in report.delivered],
    }


def report_text(report: RoundReport) -> str:
    parts = []
    for name, count in report.fetched.items():
        parts.append(f"mailbox {name}: {count} new message(s) stored")
    for name, error in report.source_errors.items():
        parts.append(f"mailbox {name}: ERROR {error}")
    if report.outcomes:
        rows = [(o.raw_id, o.kind or "-", o.case_ref and f"#{o.case_ref}", o.rule or "-",
                 o.result, o.reason) for o in report.outcomes]
        parts.append(table(rows, ["raw", "kind", "case", "thread rule", "result", "reason"]))
    else:
        parts.append("nothing new to process")
    if report.delivered:
        rows = [(d.outbox_id, d.kind, d.to, d.result, d.detail) for d in report.delivered]
        parts.append(table(rows, ["outbox", "kind", "to", "result", "detail"]))
    return "\n".join(parts)
