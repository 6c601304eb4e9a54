"""`mailproc requeue`: queue work the database says is pending but no Redis queue holds."""

from __future__ import annotations

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json
from mailproc.runners import jobs


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--failed", "retry_failed", is_flag=True,
              help="Also put failed RQ jobs back on their queues.")
@click.pass_context
@user_errors
def requeue(ctx: click.Context, as_json: bool, retry_failed: bool) -> None:
    """Re-enqueue pending raw messages and due outbox rows that no queue holds.

    Safe at any time: jobs are idempotent and the database is the source of truth, so this
    repairs queues after Redis lost its data, and queuing something twice only costs a no-op.
    """
    app = load_app(ctx)
    conn = jobs.redis_for(app)
    if conn is None:
        raise click.ClickException("MAILPROC_REDIS_URL is not set: without Redis, `mailproc run` "
                                   "processes everything pending itself")
    requeued_failed = jobs.requeue_failed(app, connection=conn) if retry_failed else 0
    report = jobs.requeue(app, connection=conn)
    data = {**report.__dict__, "failed_jobs_requeued": requeued_failed}
    if as_json:
        echo_json(data)
        return
    click.echo(f"raw messages pending: {report.raw_pending}, newly queued: {report.raw_requeued}")
    click.echo(f"outbox rows due: {report.outbox_due}, delivery job queued: "
               f"{'yes' if report.outbox_requeued else 'no'}")
    if retry_failed:
        click.echo(f"failed jobs put back: {requeued_failed}")
