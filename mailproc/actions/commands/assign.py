"""`#assign NAME`: give the case to an agent (key, name or address) or to a team."""

from __future__ import annotations

from mailproc.actions.commands.context import CommandContext
from mailproc.cases.records import record_event

NAME = "assign"
USAGE = "#assign NAME"


def validate(args: str, ctx: CommandContext) -> str | None:
    name = args.strip()
    if not name:
        return "#assign needs an agent or team name"
    if ctx.directory.find(name) is None and name not in ctx.directory.teams:
        known = ", ".join(a.key for a in ctx.directory.agents)
        return f"#assign: no agent or team called {name!r} (agents: {known})"
    return None


def execute(args: str, ctx: CommandContext) -> None:
    name = args.strip()
    agent = ctx.directory.find(name)
    case = ctx.case
    if agent is None:
        old, case.team, case.assignee = case.team, name, ""
        record_event(ctx.session, case.id, actor=ctx.actor, kind="assigned",
                     detail=f"team {old or '(none)'} -> {name} by {ctx.agent.name}", now=ctx.now,
                     data={"team": name, "rule": "command"})
        return
    old, case.assignee = case.assignee, agent.name
    if agent.team:
        case.team = agent.team
    record_event(ctx.session, case.id, actor=ctx.actor, kind="assigned",
                 detail=f"{old or 'nobody'} -> {agent.name} by {ctx.agent.name}", now=ctx.now,
                 data={"assignee": agent.name, "rule": "command"})
    if agent != ctx.agent:
        ctx.notify_assignee = agent.name
