"""`mailproc status`: counts by state, mail health, quarantine and recent problems."""

from __future__ import annotations

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.ops.status import status_summary
from mailproc.runners.jobs import queue_status


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """Show mail, case and outbox counts, mail health, quarantine and recent problems."""
    app = load_app(ctx)
    with app.db.transaction() as session:
        data = status_summary(session)
    data["queues"] = _queue_status(app)
    if as_json:
        echo_json(data)
        return
    for title in ("raw_messages", "cases", "outbox"):
        counts = data[title] or {"(none)": 0}
        click.echo(f"{title.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    click.echo(f"quarantined: {data['quarantined']}")
    if any(data["retention_removed"].values()):
        click.echo("removed by retention: " + ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in data["retention_removed"].items()))
    if data["health"]:
        click.echo("\nmail health")
        click.echo(table([(h["target"], h["transport"], h["state"], h["since"], h["failures"],
                           h["last_error"]) for h in data["health"]],
                         ["target", "transport", "state", "since", "failures", "last error"]))
    if data.get("outages"):
        click.echo("\nmail outages (run `mailproc phone-list`)")
        click.echo(table([(o["key"], o["since"], o["alerted_at"] or "not yet", o["detail"])
                          for o in data["outages"]], ["outage", "since", "alerted", "detail"]))
    if data.get("incidents"):
        click.echo("\nopen incidents: " + ", ".join(f"{i['id']} {i['title']!r} ({i['cases']} cases)"
                                                   for i in data["incidents"]))
    if data["outbox_problems"]:
        click.echo("\noutbox problems")
        click.echo(table([(p["id"], p["kind"], p["status"], p["error"])
                          for p in data["outbox_problems"]], ["id", "kind", "status", "error"]))
    if data["recent_problems"]:
        click.echo("\nrecent problems")
        click.echo(table([(p["at"], p["kind"], p["detail"]) for p in data["recent_problems"]],
                         ["at", "kind", "detail"], max_width=90))
    if data["queues"]:
        click.echo("\nqueues: " + ", ".join(f"{k} {v}" for k, v in data["queues"].items()))


def _queue_status(app) -> dict:
    if not app.settings.redis_url:
        return {}
    return queue_status(app)
