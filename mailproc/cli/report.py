"""`mailproc report`: volume, response times and SLA, the KB, workload and recurring topics."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import table
from mailproc.reports.html import render_html
from mailproc.reports.period import period_for
from mailproc.reports.report import build_report
from mailproc.reports.sections import sections


def as_table(report: dict) -> str:
    p = report["period"]
    out = [f"Support report {p['since']} to {p['until']} ({p['days']} days, {p['timezone']}), "
           f"against {report['previous']['since']} to {report['previous']['until']}"
           + (f", team {report['team']}" if report["team"] else "")]
    for s in sections(report):
        if s.key == "cases_by_day":
            continue   # the weekly table says it in a screenful; CSV and HTML have the days
        out += ["", s.title, "=" * len(s.title)]
        if s.note:
            out.append(s.note)
        if s.key == "topics":
            out += _topics(report["topics"]["topics"])
        else:
            out.append(table(s.rows, s.headers) if s.rows else "(nothing in this period)")
    return "\n".join(out) + "\n"


def _topics(topics: list[dict]) -> list[str]:
    """A topic a paragraph: its words are too long for a row of a terminal table."""
    lines = []
    for i, t in enumerate(topics, 1):
        lines.append(f"{i:>2}. {_printable(t['label'])}: {t['cases']} cases "
                     f"({t['previous']} before), {t['kind']}")
        lines.append(f"    e.g. \"{_printable(t['subject'][:70])}\"; {t['why']}")
        lines.append(f"    cases {', '.join(t['examples'])}")
    return lines or ["(no topic came up three times or more)"]


def as_csv(report: dict) -> str:
    """One long table: section, then that section's columns; a header row per section."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for s in sections(report):
        writer.writerow(["section", *s.headers])
        for row in s.rows:
            writer.writerow([s.title, *(_cell(c) for c in row)])
    return buf.getvalue()


def _cell(value) -> object:
    """A customer's subject is data: a spreadsheet must not run `=HYPERLINK(...)` from it."""
    if value is None:
        return ""
    if isinstance(value, str) and (value[:1] in ("=", "@", "\t", "\r") or (
            value[:1] in ("+", "-") and not value[1:2].isdigit())):   # "+9" is our change
        return "'" + value
    return value


def _printable(text: str) -> str:
    """No escape sequences from a customer's subject reach the terminal."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


@click.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day, included (default: today, or 28 days from --since).")
@click.option("--team", help="Only this team's cases.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]),
              default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@click.option("--no-topics", is_flag=True, help="Leave out the recurring topics (faster).")
@click.pass_context
@user_errors
def report(ctx: click.Context, since, until, team, fmt, out, no_topics) -> None:
    """Report a period beside the previous one of the same length (days in the calendar's
    time zone): volume, first response and SLA attainment, breaches, backlog, reopen rate,
    escalations, KB suggestions, workload and the topics that keep coming back."""
    app = load_app(ctx)
    zone = app.service_levels.calendar.timezone
    today = app.clock.now().astimezone(app.service_levels.calendar.zone).date()
    try:
        period = period_for(since.date() if since else None, until.date() if until else None,
                            today=today, zone=zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    with app.db.transaction() as session:
        data = build_report(app, session, period, team=team, topics=not no_topics)
    text = {"table": as_table, "csv": as_csv, "html": render_html,
            "json": lambda d: json.dumps(d, indent=2, ensure_ascii=False) + "\n"}[fmt](data)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)
