"""`#priority P`: change the priority; the deadlines follow the new service level."""

from __future__ import annotations

from mailproc.actions.commands.context import CommandContext
from mailproc.cases.records import record_event
from mailproc.sla.deadlines import compute_deadlines

NAME = "priority"
USAGE = "#priority urgent|high|normal|low"


def _choices(ctx: CommandContext) -> list[str]:
    return list(ctx.app.service_levels.policies)


def validate(args: str, ctx: CommandContext) -> str | None:
    if args.strip().lower() not in _choices(ctx):
        return (f"#priority needs one of {', '.join(_choices(ctx))}, "
                f"got {args.strip() or 'nothing'!r}")
    return None


def execute(args: str, ctx: CommandContext) -> None:
    case, new = ctx.case, args.strip().lower()
    old = case.priority
    if old == new:
        return
    levels = ctx.app.service_levels
    deadlines = compute_deadlines(case.created_at, levels.policy(new), levels.calendar)
    case.priority = new
    if case.first_responded_at is None:
        case.first_response_due_at = deadlines.first_response_due_at
    case.resolution_due_at = deadlines.resolution_due_at
    record_event(ctx.session, case.id, actor=ctx.actor, kind="priority",
                 detail=f"{old} -> {new} by {ctx.agent.name}; resolution by "
                        f"{deadlines.resolution_due_at:%Y-%m-%d %H:%M} UTC", now=ctx.now,
                 data={"rule": "command", "from": old, "to": new})
