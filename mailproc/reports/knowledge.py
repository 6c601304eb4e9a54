"""The knowledge base per period: suggestions made, cases resolved by one, and per article how
often it was suggested, resolved a case, and was sent by an agent with `#kb`."""

from __future__ import annotations

from collections import Counter

import numpy as np
from sqlalchemy import bindparam, case, column, func, select, text
from sqlalchemy.orm import Session

from mailproc.models import Event
from mailproc.reports.grouped import Key, Numbers, grouped
from mailproc.reports.scope import Scope, event_rows, events_of, period_of, split, tally

_SUGGESTED = {
    # One row per article a `kb_suggested` event named: JSON arrays unnest differently.
    "postgresql": "SELECT {period} AS period, s->>'id' AS article FROM events e {join} "
                  "CROSS JOIN json_array_elements(e.data->'suggestions') AS s "
                  "WHERE e.kind = 'kb_suggested' AND e.case_id IS NOT NULL "
                  "AND e.at >= :since AND e.at < :until {team}",
    "sqlite": "SELECT {period} AS period, json_extract(s.value, '$.id') AS article "
              "FROM events e {join}, json_each(e.data, '$.suggestions') AS s "
              "WHERE e.kind = 'kb_suggested' AND e.case_id IS NOT NULL "
              "AND e.at >= :since AND e.at < :until {team}",
}


def _suggested(session: Session, scope: Scope) -> list[Counter]:
    at_type = Event.__table__.c.at.type
    params, whens = {"since": scope.since_at, "until": scope.until_at}, []
    binds = [bindparam("since", type_=at_type), bindparam("until", type_=at_type)]
    for i, p in enumerate(scope.periods):
        whens.append(f"WHEN e.at >= :s{i} AND e.at < :u{i} THEN {i}")
        params.update({f"s{i}": p.since_at, f"u{i}": p.until_at})
        binds += [bindparam(f"s{i}", type_=at_type), bindparam(f"u{i}", type_=at_type)]
    team = scope.team is not None
    if team:
        params["team"] = scope.team
    sql = _SUGGESTED["postgresql" if scope.dialect == "postgresql" else "sqlite"].format(
        period=f"CASE {' '.join(whens)} END",
        join="JOIN cases c ON c.id = e.case_id" if team else "",
        team="AND c.team = :team" if team else "")
    sub = text(sql).bindparams(*binds).columns(column("period"), column("article")).subquery()
    rows = session.execute(select(sub.c.period, sub.c.article, func.count())
                           .group_by(sub.c.period, sub.c.article), params).all()
    return [Counter(dict(r)) for r in split(rows, len(scope.periods))]


def knowledge_base(session: Session, scope: Scope) -> list[dict]:
    suggested = _suggested(session, scope)
    which = period_of(Event.at, scope)
    source, where = event_rows(scope)
    suggested_to = {key[0]: ids for key, _, (ids,) in grouped(
        session, [Key(which)], [Numbers(Event.case_id)],
        where=[Event.kind == "kb_suggested", *where], source=source)}
    cases = [tally(suggested_to.get(i, np.zeros(0)))[0].size for i in range(len(scope.periods))]
    # the top suggestion gets the credit for a "thanks, that fixed it"; `#kb ID` names one
    article = case((Event.kind == "resolved_by_kb", Event.data[("suggestions", 0)].as_string()),
                   else_=Event.data["article"].as_string())
    used = events_of(select(which.label("period"), Event.kind.label("kind"),
                            article.label("article"))
                     .where(Event.kind.in_(("resolved_by_kb", "kb_sent"))), scope).subquery()
    rows = split(session.execute(select(used.c.period, used.c.kind, used.c.article, func.count())
                                 .group_by(used.c.period, used.c.kind, used.c.article)).all(),
                 len(scope.periods))
    out = []
    for counted, with_suggestions, used_rows in zip(suggested, cases, rows):
        resolved = Counter({a: n for kind, a, n in used_rows if kind == "resolved_by_kb"})
        sent = Counter({a: n for kind, a, n in used_rows if kind == "kb_sent"})
        ids = {a for a in (*counted, *resolved, *sent) if a}
        articles = {a: {"suggested": counted[a], "resolved": resolved[a],
                        "sent_by_agents": sent[a]} for a in ids}
        out.append({"cases_with_suggestions": with_suggestions,
                    "suggestions": sum(counted.values()),
                    "resolved_by_suggestion": sum(resolved.values()),
                    "articles": dict(sorted(articles.items(),
                                            key=lambda kv: (-sum(kv[1].values()), kv[0])))})
    return out
