"""`#note`: the whole mail is an internal note for the team; no customer sees it."""

from __future__ import annotations

from mailproc.actions.commands.context import CommandContext
from mailproc.cases.records import record_event

NAME = "note"
USAGE = "#note"


def validate(args: str, ctx: CommandContext) -> str | None:
    return None


def execute(args: str, ctx: CommandContext) -> None:
    ctx.internal = True
    ctx.message.internal = True
    record_event(ctx.session, ctx.case.id, actor=ctx.actor, kind="note",
                 detail=f"internal note by {ctx.agent.name}", now=ctx.now,
                 data={"message_id": ctx.message.message_id})
