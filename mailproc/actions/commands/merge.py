"""`#merge REF`: fold this case into case REF; later mail for either lands there."""

from __future__ import annotations

from sqlalchemy import select, update

from mailproc.actions.commands.context import CommandContext
from mailproc.cases.lifecycle import change_status
from mailproc.cases.records import add_participants, record_event
from mailproc.models import Case, CaseStatus, Message, MessageRef, Participant

NAME = "merge"
USAGE = "#merge REF"


def _target(args: str, ctx: CommandContext) -> Case | None:
    """The case REF names, or the case it was itself merged into (mail goes there now)."""
    ref = args.strip().lstrip("#").strip("[]").lstrip("#")
    case = ctx.session.scalar(select(Case).where(Case.ref == ref)) if ref else None
    seen: set[int] = set()
    while case is not None and case.merged_into_id and case.id not in seen:
        seen.add(case.id)
        case = ctx.session.get(Case, case.merged_into_id)
    return case


def validate(args: str, ctx: CommandContext) -> str | None:
    target = _target(args, ctx)
    if target is None:
        return f"#merge: no case {args.strip() or '(none given)'!r}"
    if target.id == ctx.case.id:
        named = args.strip()
        if named.lstrip("#").strip("[]").lstrip("#") != ctx.case.ref:
            return (f"#merge: case {named} was merged into this case already "
                    f"(#{ctx.case.ref})")
        return "#merge: a case cannot be merged into itself"
    return None


def execute(args: str, ctx: CommandContext) -> None:
    source, target = ctx.case, _target(args, ctx)
    session = ctx.session
    session.flush()
    session.execute(update(Message).where(Message.case_id == source.id)
                    .values(case_id=target.id))
    session.execute(update(MessageRef).where(MessageRef.case_id == source.id)
                    .values(case_id=target.id))
    people = session.scalars(select(Participant).where(Participant.case_id == source.id)).all()
    add_participants(session, target, [(p.contact.name, p.contact.email) for p in people],
                     role="customer", now=ctx.now)
    source.linked_case_id = source.merged_into_id = target.id
    record_event(session, target.id, actor=ctx.actor, kind="merged",
                 detail=f"case #{source.ref} merged into this case by {ctx.agent.name}",
                 now=ctx.now, data={"from": source.ref})
    record_event(session, source.id, actor=ctx.actor, kind="merged",
                 detail=f"merged into #{target.ref} by {ctx.agent.name}", now=ctx.now,
                 data={"into": target.ref})
    change_status(ctx.app, session, source, CaseStatus.CLOSED, actor=ctx.actor,
                  reason=f"merged into #{target.ref}", now=ctx.now)
    session.flush()
    session.expire_all()
    ctx.case = session.get(Case, target.id)
