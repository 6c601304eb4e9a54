"""`#escalate [reason]`: hand the case up the escalation ladder now."""

from __future__ import annotations

from mailproc.actions.commands.context import CommandContext
from mailproc.cases.records import record_event

NAME = "escalate"
USAGE = "#escalate [reason]"


def validate(args: str, ctx: CommandContext) -> str | None:
    return None


def execute(args: str, ctx: CommandContext) -> None:
    reason = args.strip() or "escalated by an agent"
    # The escalation sweep acts on cases whose next_escalation_at has come.
    ctx.case.next_escalation_at = ctx.now
    record_event(ctx.session, ctx.case.id, actor=ctx.actor, kind="escalation_requested",
                 detail=f"{ctx.agent.name}: {reason}", now=ctx.now, data={"reason": reason})
