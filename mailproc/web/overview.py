"""The overview: is mail flowing, what is queued or stuck, what breaches soon, who to call."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.routing import Route

from mailproc.fallback.phone_list import build_phone_list
from mailproc.models import Case, Health, Quarantine
from mailproc.ops.status import fallback_summary
from mailproc.runners.jobs import failed_jobs, queue_status
from mailproc.web.case_query import breach_cutoff, breaching, counts
from mailproc.web.guard import core, page
from mailproc.web.render import page as render


def _queues(app) -> tuple[dict, list, str]:
    """Queue depths and failed jobs from Redis; an error text when Redis does not answer."""
    try:
        return queue_status(app), (failed_jobs(app, limit=10) if app.settings.redis_url else []), ""
    except Exception as exc:  # noqa: BLE001 - the overview shows a broken queue, never breaks
        return {}, [], f"{type(exc).__name__}: {exc}"


@page()
def overview(request: Request, session, viewer):
    app = core(request)
    now = app.clock.now()
    zone = app.service_levels.calendar.zone
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    queues, failed, queue_error = _queues(app)
    soon = counts(session, viewer, breaching(breach_cutoff(app, now)))
    return render(
        request, "overview.html", viewer,
        health=session.scalars(select(Health).order_by(Health.target, Health.transport)).all(),
        fallback=fallback_summary(session), queues=queues, failed=failed,
        queue_error=queue_error, redis=bool(app.settings.redis_url),
        quarantined=session.scalar(select(func.count()).select_from(Quarantine)
                                   .where(Quarantine.released_at.is_(None))) or 0,
        new_today=counts(session, viewer, Case.created_at >= midnight),
        breach_soon=soon, phone_list=len(build_phone_list(app, session, now)),
        mailboxes=[b.name for b in app.settings.mailboxes])


routes = [Route("/", overview)]
