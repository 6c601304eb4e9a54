"""The report as titled tables: one list of sections that the terminal, CSV and HTML all show."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""


def change(cur, prev) -> str:
    """+3 (+50%) style: how the figure moved against the previous period."""
    if cur is None or prev is None:
        return ""
    diff = cur - prev
    if isinstance(diff, float):
        diff = round(diff, 2)
    sign = "+" if diff > 0 else ""
    pct = f" ({sign}{diff / prev:.0%})" if prev else ""
    return f"{sign}{diff}{pct}"


def _pct(value) -> str | None:
    return None if value is None else f"{value:.0%}"


def _compare(title: str, key: str, label: str, cur: dict, prev: dict) -> Section:
    s = Section(key, title, [label, "this period", "previous", "change"])
    for k in list(cur) + [k for k in prev if k not in cur]:
        s.rows.append([k, cur.get(k, 0), prev.get(k, 0), change(cur.get(k, 0), prev.get(k, 0))])
    return s


def _aligned(title: str, key: str, unit: str, cur: dict, prev: dict) -> Section:
    """The n-th day (or week) of this period beside the n-th of the previous one."""
    s = Section(key, title, [unit, "count", f"previous {unit}", "count "])
    for (k, v), (pk, pv) in zip(cur.items(), prev.items()):
        s.rows.append([k, v, pk, pv])
    return s


def sections(report: dict) -> list[Section]:
    cur, prev = report["current"], report["before"]
    vc, vp = cur["volume"], prev["volume"]
    out = [Section("summary", "Summary", ["figure", "this period", "previous", "change"])]
    rc, rp = cur["responsiveness"], prev["responsiveness"]
    fr_c, fr_p = rc["sla_first_response"].get("all", {}), rp["sla_first_response"].get("all", {})
    re_c, re_p = rc["sla_resolution"].get("all", {}), rp["sla_resolution"].get("all", {})
    t_c, t_p = rc["first_response_times"].get("all", {}), rp["first_response_times"].get("all", {})
    kc, kp = cur["knowledge_base"], prev["knowledge_base"]
    for label, a, b, pct in (
            ("new cases", vc["new_cases"], vp["new_cases"], False),
            ("customer messages", vc["customer_messages"], vp["customer_messages"], False),
            ("first response met", fr_c.get("attainment"), fr_p.get("attainment"), True),
            ("resolution met", re_c.get("attainment"), re_p.get("attainment"), True),
            ("median first response (business h)", t_c.get("median_business_hours"),
             t_p.get("median_business_hours"), False),
            ("90th percentile first response (business h)", t_c.get("p90_business_hours"),
             t_p.get("p90_business_hours"), False),
            ("cases waiting at the end", sum(rc["backlog"].values()), sum(rp["backlog"].values()),
             False),
            ("reopen rate", rc["reopen"]["rate"], rp["reopen"]["rate"], True),
            ("resolved by a KB suggestion", kc["resolved_by_suggestion"],
             kp["resolved_by_suggestion"], False)):
        out[0].rows.append([label, _pct(a) if pct else a, _pct(b) if pct else b,
                            "" if pct else change(a, b)])
    out.append(_aligned("New cases per week", "cases_by_week", "week", vc["cases_by_week"],
                        vp["cases_by_week"]))
    out.append(_aligned("New cases per day", "cases_by_day", "day", vc["cases_by_day"],
                        vp["cases_by_day"]))
    for dim in ("mailbox", "team", "priority"):
        out.append(_compare(f"New cases by {dim}", f"cases_by_{dim}", dim,
                            vc[f"cases_by_{dim}"], vp[f"cases_by_{dim}"]))
    s = Section("first_response_times", "First response time (hours)",
                ["group", "answered", "median business", "p90 business", "median calendar",
                 "p90 calendar", "median business before"])
    for k, v in rc["first_response_times"].items():
        before = rp["first_response_times"].get(k, {})
        s.rows.append([k, v["answered"], v["median_business_hours"], v["p90_business_hours"],
                       v["median_calendar_hours"], v["p90_calendar_hours"],
                       before.get("median_business_hours")])
    out.append(s)
    s = Section("sla", "SLA attainment", ["target", "group", "met", "breached", "open",
                                          "attainment", "attainment before"])
    for target, name in (("sla_first_response", "first response"),
                         ("sla_resolution", "resolution")):
        for k, v in rc[target].items():
            s.rows.append([name, k, v["met"], v["breached"], v["open"], _pct(v["attainment"]),
                           _pct(rp[target].get(k, {}).get("attainment"))])
    out.append(s)
    s = Section("breaches", "Breaches", ["case", "team", "priority", "target", "due (UTC)",
                                          "late (h)", "late (business h)"])
    s.rows = [[b["ref"], b["team"], b["priority"], b["target"], b["due_at"][:16].replace("T", " "),
               b["late_hours"], b["late_business_hours"]] for b in rc["breaches"]]
    total = sum(rc[k].get("all", {}).get("breached", 0)
                for k in ("sla_first_response", "sla_resolution"))
    if total > len(s.rows):
        s.note = f"the {len(s.rows)} worst of {total} breaches (by how late)"
    out.append(s)
    out.append(_compare("Cases waiting at the end, by age", "backlog", "age", rc["backlog"],
                        rp["backlog"]))
    s = Section("reopen", "Reopened", ["figure", "this period", "previous"])
    s.rows = [["resolved", rc["reopen"]["resolved"], rp["reopen"]["resolved"]],
              ["reopened", rc["reopen"]["reopened"], rp["reopen"]["reopened"]],
              ["rate", _pct(rc["reopen"]["rate"]), _pct(rp["reopen"]["rate"])]]
    out.append(s)
    out.append(_compare("Escalations fired, by step", "escalations", "step", rc["escalations"],
                        rp["escalations"]))
    s = Section("kb", "Knowledge base", ["article", "suggested", "resolved", "sent by agents",
                                         "suggested before"])
    s.note = (f"{kc['cases_with_suggestions']} cases got suggestions ({kc['suggestions']} in all), "
              f"{kc['resolved_by_suggestion']} were resolved by one")
    s.rows = [[a, v["suggested"], v["resolved"], v["sent_by_agents"],
               kp["articles"].get(a, {}).get("suggested", 0)] for a, v in kc["articles"].items()]
    out.append(s)
    wc, wp = cur["workload"], prev["workload"]
    out.append(_compare("Cases per team", "workload_team", "team", wc["cases_by_team"],
                        wp["cases_by_team"]))
    out.append(_compare("Cases per assignee", "workload_assignee", "assignee",
                        wc["cases_by_assignee"], wp["cases_by_assignee"]))
    out.append(_compare("Replies per agent", "replies_agent", "agent", wc["replies_by_agent"],
                        wp["replies_by_agent"]))
    if "topics" in report:
        t = report["topics"]
        s = Section("topics", "Recurring topics (rising first)",
                    ["topic", "example subject", "cases", "before", "kind", "what to do", "cases"])
        s.rows = [[x["label"], x["subject"], x["cases"], x["previous"], x["kind"], x["why"],
                   " ".join(x["examples"])] for x in t["topics"]]
        if t["sampled"]:
            s.note = "grouped on a sample: the newest cases of each period"
        out.append(s)
    return out
