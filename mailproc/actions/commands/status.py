"""`#status open|pending|resolved|closed`."""

from __future__ import annotations

from mailproc.actions.commands.context import CommandContext
from mailproc.cases.lifecycle import change_status
from mailproc.models import CaseStatus

NAME = "status"
USAGE = "#status open|pending|resolved|closed"
CHOICES = ("open", "pending", "resolved", "closed")


def validate(args: str, ctx: CommandContext) -> str | None:
    if args.strip().lower() not in CHOICES:
        return f"#status needs one of {', '.join(CHOICES)}, got {args.strip() or 'nothing'!r}"
    return None


def execute(args: str, ctx: CommandContext) -> None:
    change_status(ctx.app, ctx.session, ctx.case, CaseStatus(args.strip().lower()),
                  actor=ctx.actor, reason=f"#status by {ctx.agent.name}", now=ctx.now)
