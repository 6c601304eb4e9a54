"""`#kb ID`: send that KB article to the customer as (part of) the reply."""

from __future__ import annotations

from mailproc.actions.commands.context import CommandContext
from mailproc.cases.records import record_event

NAME = "kb"
USAGE = "#kb ARTICLE-ID"


def _article(args: str, ctx: CommandContext):
    kb = ctx.app.knowledge_base
    return kb.get(args.strip()) if kb is not None and args.strip() else None


def validate(args: str, ctx: CommandContext) -> str | None:
    if not args.strip():
        return "#kb needs an article id"
    if ctx.app.knowledge_base is None:
        return "#kb: the knowledge base is switched off"
    article = _article(args, ctx)
    if article is None:
        return f"#kb: no article {args.strip()!r}"
    if article.audience != "customer":
        return f"#kb: article {article.id!r} is internal ({article.audience}) and is not sent"
    return None


def execute(args: str, ctx: CommandContext) -> None:
    article = _article(args, ctx)
    ctx.extra_text.append(f"{article.title}\n\n{article.body.strip()}")
    record_event(ctx.session, ctx.case.id, actor=ctx.actor, kind="kb_sent",
                 detail=f"article {article.id} sent by {ctx.agent.name}", now=ctx.now,
                 data={"article": article.id})
