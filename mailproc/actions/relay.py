"""An authenticated agent's mail: run its commands, then relay its new text to the customers."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.actions.commands import CommandContext, check_commands, parse_commands, run_commands
from mailproc.actions.notify import agent_reply_address, notify_agents
from mailproc.cases.lifecycle import change_status
from mailproc.cases.records import record_event
from mailproc.models import Case, CaseStatus, Contact, Direction, Message, OutboxStatus, Participant
from mailproc.outbox.compose import compose
from mailproc.outbox.mime import needs_smtputf8, transport_address
from mailproc.people.agents import Agent
from mailproc.signing import sign_reply_address
from mailproc.store.messages import bare_id
from mailproc.templating.context import case_context

log = logging.getLogger(__name__)


def customer_recipients(app, session: Session, case: Case) -> list[str]:
    """Every customer participant (the customer and cc'd colleagues), never us or an agent."""
    directory = app.agents
    emails = session.scalars(
        select(Contact.email).join(Participant, Participant.contact_id == Contact.id)
        .where(Participant.case_id == case.id, Participant.role == "customer")
        .order_by(Participant.id)).all()
    return [e for e in emails if not app.is_own(e) and directory.by_address(e) is None]


def customer_thread(session: Session, case: Case) -> tuple[str | None, list[str]]:
    """In-Reply-To and References that put a reply into the customer's own thread: their
    messages (and what those referenced, e.g. our acknowledgement), oldest first."""
    inbound = session.scalars(select(Message).where(
        Message.case_id == case.id, Message.direction == Direction.IN,
        Message.kind != "agent", Message.internal.is_(False)).order_by(Message.id)).all()
    refs: list[str] = []
    for msg in inbound:
        refs.extend(bare_id(r) for r in msg.references)
        refs.append(bare_id(msg.message_id))
    refs = list(dict.fromkeys(r for r in refs if r))
    return (bare_id(inbound[-1].message_id) if inbound else None), refs


def _reply_error(app, session: Session, case: Case, message: Message, agent: Agent, errors,
                 now: datetime) -> None:
    first = errors[0]
    text = "; ".join(f"line {e.line_no}: {e.message}" for e in errors[1:])
    detail = first.message + (f"; also {text}" if text else "")
    context = case_context(app, session, case, message)
    context["agent"] = {"name": agent.name, "email": agent.email}
    context["error"] = {"line": first.line_no, "message": detail}
    compose(app, session, case=case, kind="agent_error", to=[agent.email],
            dedupe_key=f"agent_error:{message.id}", context=context,
            in_reply_to=bare_id(message.message_id),
            references=[bare_id(r) for r in message.references] + [bare_id(message.message_id)],
            reply_to=agent_reply_address(app, case, agent), from_name=app.settings.support.name,
            auto_submitted="auto-replied", now=now)
    record_event(session, case.id, actor=agent.email, kind="command_error",
                 detail="; ".join(f"line {e.line_no} {e.line!r}: {e.message}" for e in errors),
                 now=now, data={"message_id": message.message_id,
                                "lines": [e.line_no for e in errors]})


def handle_agent_mail(app, session: Session, case: Case, message: Message, agent: Agent,
                      now: datetime) -> Case:
    """Commands first (all checked before any runs), then the relay; returns the case the
    mail ended up in (#merge moves it)."""
    parsed = parse_commands(message.new_text or message.body_text)
    ctx = CommandContext(app=app, session=session, case=case, message=message, agent=agent,
                         directory=app.agents, now=now)
    errors = check_commands(parsed.commands, ctx)
    if errors:
        # Nothing runs and nothing is relayed: a half-applied mail is worse than none.
        _reply_error(app, session, case, message, agent, errors, now)
        return case
    run_commands(parsed.commands, ctx)
    case = ctx.case
    if ctx.notify_assignee:
        assignee = ctx.directory.find(ctx.notify_assignee)
        notify_agents(app, session, case, message, reason="assigned", now=now, only=[assignee])
    if ctx.internal:
        message.internal = True
        notify_agents(app, session, case, message, reason="note", now=now,
                      only=[a for a in ctx.directory.members(case.team) if a != agent]
                      or None, exclude=[agent])
        return case
    body = parsed.body.strip()
    if body and message.signature.strip():
        # The agent's sign-off goes out as written, its "-- " separator whole again: reply
        # extraction trims trailing spaces, and clients find a signature by that space.
        body += "\n\n" + re.sub(r"\A--[ \t]*(?=\n|\Z)", "-- ", message.signature.strip())
    text = "\n\n".join(t for t in [body, *ctx.extra_text] if t)
    if not text:
        if not parsed.commands:
            record_event(session, case.id, actor=agent.email, kind="relay_skipped",
                         detail="the agent's mail has no new text to relay", now=now)
        return case
    relay_reply(app, session, case, message, agent, text, now)
    return case


def _by_smtputf8(to: list[str]) -> list[tuple[list[str], str]]:
    """Recipients with a non-ASCII local part go in a mail of their own (dedupe key suffix
    ":smtputf8"): a relay without SMTPUTF8 fails that one, never the others' copy."""
    utf8 = [a for a in to if needs_smtputf8([transport_address(a) or a])]
    plain = [a for a in to if a not in utf8]
    return [(group, suffix) for group, suffix in ((plain, ""), (utf8, ":smtputf8")) if group]


def relay_reply(app, session: Session, case: Case, message: Message, agent: Agent, text: str,
                now: datetime) -> None:
    to = customer_recipients(app, session, case)
    if not to:
        record_event(session, case.id, actor=agent.email, kind="relay_skipped",
                     detail="no customer participant to relay to", now=now)
        return
    in_reply_to, refs = customer_thread(session, case)
    context = case_context(app, session, case, message)
    context["agent"] = {"name": agent.name, "email": agent.email}
    context["reply_text"] = text
    support = app.settings.support
    rows = [compose(app, session, case=case, kind="relay", to=group,
                    dedupe_key=f"relay:{message.id}{suffix}", context=context,
                    in_reply_to=in_reply_to, references=refs,
                    reply_to=sign_reply_address(support.address, case.ref, app.secret_key),
                    from_name=f"{agent.name} via {support.name}",
                    auto_submitted=None, attachments_of=message, now=now)
            for group, suffix in _by_smtputf8(to)]
    row = next((r for r in rows if r is not None and r.status != OutboxStatus.FAILED), None)
    if row is None:
        # Queued before, or no valid customer address (a relay_failed event says why): the
        # customer has not heard from us, so the clocks keep running and the phone list
        # shows them.
        return
    record_event(session, case.id, actor=agent.email, kind="relayed",
                 detail=f"reply by {agent.name} relayed to {', '.join(to)}", now=now,
                 data={"message_id": message.message_id, "outbox_id": row.id})
    if case.first_responded_at is None:
        case.first_responded_at = now
        late = case.first_response_due_at is not None and now > case.first_response_due_at
        record_event(session, case.id, actor=agent.email, kind="first_response",
                     detail=f"first response by {agent.name}"
                            + (" (after the deadline)" if late else " (in time)"), now=now,
                     data={"due_at": case.first_response_due_at.isoformat()
                           if case.first_response_due_at else None, "late": late})
    if case.status == CaseStatus.NEW:
        change_status(app, session, case, CaseStatus.OPEN, actor=agent.email,
                      reason="an agent replied", now=now)
    log.info("case %s: %s's reply relayed to %d recipient(s)", case.ref, agent.key, len(to))
