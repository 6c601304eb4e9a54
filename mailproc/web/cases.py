"""The case list: filters, search and keyset pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from mailproc.models import CaseStatus
from mailproc.web.case_query import Filters, breach_cutoff, list_cases
from mailproc.web.guard import core, page
from mailproc.web.render import page as render


@page()
def case_list(request: Request, session, viewer):
    app = core(request)
    now = app.clock.now()
    f = Filters.from_query(request.query_params)
    rows, next_token = list_cases(app, session, viewer, f, now)
    return render(request, "cases.html", viewer, rows=rows, f=f, next_token=next_token,
                  cutoff=breach_cutoff(app, now),
                  statuses=["active", "all", *(s.value for s in CaseStatus)],
                  priorities=sorted({*app.service_levels.policies, "normal"}),
                  teams=sorted(app.agents.teams),
                  assignees=[a.name for a in app.agents.agents])


routes = [Route("/cases", case_list)]
