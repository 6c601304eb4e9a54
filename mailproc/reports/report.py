"""The whole report: both periods' figures side by side, and the recurring topics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailproc.reports.figures import Scope, figures
from mailproc.reports.period import Period
from mailproc.reports.topics import recurring_topics

if TYPE_CHECKING:
    from mailproc.app import App


def build_report(app: App, session: Session, period: Period, *, team: str | None = None,
                 topics: bool = True) -> dict:
    """Pure data (JSON-ready): what the table, CSV, HTML and the web console show."""
    calendar = app.service_levels.calendar
    dialect = session.get_bind().dialect.name
    names = {a: agent.name for agent in app.agents.agents for a in agent.addresses}
    previous = period.previous()
    current, before = figures(session, Scope((period, previous), calendar, dialect, team), names)
    out = {"period": {"since": period.first.isoformat(), "until": period.last.isoformat(),
                      "timezone": period.zone, "days": period.days},
           "previous": {"since": previous.first.isoformat(), "until": previous.last.isoformat()},
           "team": team,
           "current": current, "before": before}
    if topics:
        out["topics"] = recurring_topics(session, period, previous, team)
    return out
