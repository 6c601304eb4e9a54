"""The report as one self-contained HTML file: inline SVG charts and CSS, no JavaScript."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from mailproc.reports.charts import bars, heat_colour
from mailproc.reports.figures import WEEKDAYS
from mailproc.reports.sections import sections

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(
    default=True, default_for_string=True), trim_blocks=True, lstrip_blocks=True)


def _charts(report: dict) -> dict[str, Markup]:
    cur, prev = report["current"], report["before"]
    days = list(cur["volume"]["cases_by_day"])
    charts = {"volume": bars(
        "New cases per day", [d[5:] for d in days],
        {"this period": list(cur["volume"]["cases_by_day"].values()),
         "previous period": list(prev["volume"]["cases_by_day"].values())},
        label_every=max(1, len(days) // 14))}
    rc, rp = cur["responsiveness"], prev["responsiveness"]
    groups = [k for k in rc["sla_first_response"] if k.startswith("priority:")]
    if groups:
        def share(block, k):
            value = block.get(k, {}).get("attainment")
            return None if value is None else round(100 * value, 1)
        charts["sla"] = bars(
            "First response within the promised time (%)", [g.split(":", 1)[1] for g in groups],
            {"this period": [share(rc["sla_first_response"], g) for g in groups],
             "previous period": [share(rp["sla_first_response"], g) for g in groups]},
            percent=True)
    groups = [k for k in rc["first_response_times"] if k.startswith("priority:")]
    if groups:
        times = rc["first_response_times"]
        charts["response"] = bars(
            "First response time by priority (business hours)",
            [g.split(":", 1)[1] for g in groups],
            {"median": [times[g]["median_business_hours"] for g in groups],
             "90th percentile": [times[g]["p90_business_hours"] for g in groups]})
    charts["backlog"] = bars("Cases waiting at the end of the period, by age",
                             list(rc["backlog"]),
                             {"this period": list(rc["backlog"].values()),
                              "previous period": list(rp["backlog"].values())})
    topics = report.get("topics", {}).get("topics", [])[:10]
    if topics:
        charts["topics"] = bars("Recurring topics", [t["label"] for t in topics][::-1],
                                {"this period": [t["cases"] for t in topics][::-1],
                                 "previous period": [t["previous"] for t in topics][::-1]},
                                horizontal=True)
    return {k: Markup(v) for k, v in charts.items()}


def _heatmap(report: dict) -> list[list[tuple[int, str, str]]]:
    """(count, background, text colour) per weekday and hour."""
    grid = report["current"]["volume"]["heatmap"]
    top = max((v for row in grid for v in row), default=0)
    return [[(v, heat_colour(v, top), "#fff" if top and v / top > 0.55 else "#111")
             for v in row] for row in grid]


def render_html(report: dict) -> str:
    template = _ENV.get_template("report.html.j2")
    return template.render(report=report, sections={s.key: s for s in sections(report)},
                           charts=_charts(report), heatmap=_heatmap(report), weekdays=WEEKDAYS)
