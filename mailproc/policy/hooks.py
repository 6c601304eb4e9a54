"""Decisions taken once a message is placed in a case: priority, deadlines, ack, agents, relay."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailproc.acknowledge import enqueue_ack
from mailproc.agents import agent_directory, choose_assignee, route_team
from mailproc.authenticity import Authenticity, check_agent
from mailproc.cases import merged_refs, record_event
from mailproc.classify import is_system_sender
from mailproc.customer_side import CustomerTurn, on_customer_message
from mailproc.incidents import enqueue_incident_ack, on_new_case
from mailproc.lifecycle import change_status
from mailproc.mime import transport_address
from mailproc.models import Case, CaseStatus, Contact, Event, Mailbox, Message, OutboundMail
from mailproc.notify import notify_agents
from mailproc.policy.ack import AckHistory, decide_ack
from mailproc.policy.kb import suggest_for_case, thanks_resolves
from mailproc.policy.priority import decide_priority
from mailproc.relay import handle_agent_mail
from mailproc.sla.deadlines import compute_deadlines

log = logging.getLogger(__name__)


def after_message(app, session: Session, *, case: Case | None, message: Message, parsed,
                  verdict, match, now: datetime) -> None:
    if case is None:
        return
    if match.rule == "copy" and not (verdict.kind == "agent"
                                     and _only_forged_copies(session, case, message)):
        # The same mail again through another of our addresses: it was acknowledged,
        # notified, relayed or obeyed the first time; doing it again would be a second copy.
        # (Unless each copy before failed the agent check: this one may pass it, as the
        # copies went through different servers with their own Authentication-Results.)
        record_event(session, case.id, actor=message.from_addr, kind="copy_received",
                     detail=f"another copy of {message.message_id} arrived; nothing done twice",
                     now=now, data={"message_id": message.message_id})
        return
    is_new_case = match.case_id is None
    kind = verdict.kind
    directory = agent_directory(app)
    if kind == "agent":
        agent = directory.by_address(message.from_addr)
        auth = _authenticate(app, session, case, parsed, agent)
        if auth.authentic and not is_new_case:
            record_event(session, case.id, actor=agent.email, kind="agent_mail",
                         detail=f"from {agent.name}, authenticated by {auth.method}: "
                                f"{auth.reason}", now=now,
                         data={"message_id": message.message_id, "method": auth.method})
            handle_agent_mail(app, session, case, message, agent, now)
            return
        if not auth.authentic:
            _forged(session, case, message, auth.reason, now)
            if match.rule == "copy":
                return   # the first copy was customer mail already
        # Forged mail is customer mail; a real agent opening a case is its requester.
        kind = "human"
    turn = CustomerTurn(case, is_new_case, "new_case")
    if kind in ("human", "list") and not is_new_case:
        turn = on_customer_message(app, session, case, message, now)
        case, is_new_case = turn.case, turn.is_new_case
    if is_new_case and kind not in ("bounce", "own"):
        _set_priority_and_deadlines(app, session, case, parsed, now)
    incident = None
    if is_new_case and kind == "human":
        _suggest_articles(app, session, case, message, now)
        _assign(app, session, case, parsed, now)
        # A surge of similar reports becomes one incident: one notification for all.
        incident = on_new_case(app, session, case, message, now)
    elif kind == "human" and thanks_resolves(app, case, message.new_text):
        _resolve_by_kb(app, session, case, message, now)
    _maybe_acknowledge(app, session, case, message, verdict, is_new_case, now,
                       is_agent=directory.by_address(message.from_addr) is not None,
                       incident=incident)
    if kind == "human" and incident is None:
        notify_agents(app, session, case, message, reason=turn.reason, now=now)


def _only_forged_copies(session: Session, case: Case, message: Message) -> bool:
    """Earlier copies of this agent mail were all refused as unauthenticated, none obeyed."""
    seen = session.execute(select(Event.kind, Event.data).where(
        Event.case_id == case.id, Event.kind.in_(("security", "agent_mail")))).all()
    kinds = {kind for kind, data in seen if (data or {}).get("message_id") == message.message_id}
    return kinds == {"security"}


def _authenticate(app, session: Session, case: Case, parsed, agent) -> Authenticity:
    recipients = [a for _, a in parsed.to] + [a for _, a in parsed.cc]
    for name in ("delivered-to", "x-original-to"):
        recipients.extend(parsed.headers.get(name, ()))
    return check_agent(from_addr=parsed.from_addr, agent_key=agent.key, case_ref=case.ref,
                       recipients=recipients,
                       auth_results=list(parsed.headers.get("authentication-results", ())),
                       trusted_authserv_ids=agent.trusted_authserv_ids,
                       support_address=app.settings.support.address, key=app.secret_key,
                       merged_refs=merged_refs(session, case.id))


def _forged(session: Session, case: Case, message: Message, reason: str, now: datetime) -> None:
    message.kind_reason = f"{message.kind_reason}; NOT authenticated: treated as customer mail"
    record_event(session, case.id, actor=message.from_addr, kind="security",
                 detail=f"mail claiming to be from agent {message.from_addr} was not "
                        f"authenticated ({reason}); no command ran, nothing was relayed",
                 now=now, data={"message_id": message.message_id})
    log.warning("case %s: unauthenticated mail from agent address %s (%s)", case.ref,
                message.from_addr, reason)


def _assign(app, session: Session, case: Case, parsed, now: datetime) -> None:
    directory = agent_directory(app)
    text = parsed.new_text or parsed.text
    team, why = route_team(directory, case.team, parsed.from_addr, parsed.subject, text)
    case.team = team
    last = session.scalar(select(Case.assignee).where(
        Case.team == team, Case.assignee != "", Case.id != case.id)
        .order_by(Case.id.desc()).limit(1))
    choice = choose_assignee(directory, team, parsed.from_addr, parsed.subject, text, last)
    case.assignee = choice.assignee
    record_event(session, case.id, actor="mailproc", kind="assigned",
                 detail=f"team {team or '(none)'} ({why}); "
                        f"{choice.assignee or 'nobody'} ({choice.reason})", now=now,
                 data={"team": team, "assignee": choice.assignee, "rule": choice.rule})


def _suggest_articles(app, session: Session, case: Case, message: Message, now: datetime) -> None:
    text = message.new_text or message.body_text
    case.kb_suggestions = suggest_for_case(app, message.subject, text, "customer")
    if case.kb_suggestions:
        record_event(session, case.id, actor="mailproc", kind="kb_suggested",
                     detail="suggested " + ", ".join(
                         f"{s['id']} ({s['score']:.2f})" for s in case.kb_suggestions), now=now,
                     data={"suggestions": case.kb_suggestions})


def _resolve_by_kb(app, session: Session, case: Case, message: Message, now: datetime) -> None:
    case.resolved_by_kb = True
    resolve = app.kb_settings.on_thanks == "resolve"
    record_event(session, case.id, actor=message.from_addr, kind="resolved_by_kb",
                 detail="the customer says a suggested article fixed it"
                        + ("" if resolve else " (flagged for the agent)"),
                 now=now, data={"suggestions": [s["id"] for s in case.kb_suggestions]})
    if resolve:
        change_status(app, session, case, CaseStatus.RESOLVED, actor=message.from_addr,
                      reason="resolved by a KB article", now=now)


def _set_priority_and_deadlines(app, session: Session, case: Case, parsed, now: datetime) -> None:
    levels = app.service_levels
    decision = decide_priority(parsed.from_addr, parsed.subject, parsed.new_text or parsed.text,
                               _mailbox_name(session, case), levels.rules, default=case.priority)
    case.priority = decision.priority
    deadlines = compute_deadlines(now, levels.policy(case.priority), levels.calendar)
    case.first_response_due_at = deadlines.first_response_due_at
    case.resolution_due_at = deadlines.resolution_due_at
    record_event(session, case.id, actor="mailproc", kind="priority",
                 detail=f"{case.priority}: {decision.reason}", now=now,
                 data={"rule": decision.rule})
    record_event(session, case.id, actor="mailproc", kind="deadlines",
                 detail=f"first response by {deadlines.first_response_due_at:%Y-%m-%d %H:%M} UTC, "
                        f"resolution by {deadlines.resolution_due_at:%Y-%m-%d %H:%M} UTC", now=now)


def _mailbox_name(session: Session, case: Case) -> str:
    if case.mailbox_id is None:
        return ""
    return session.scalar(select(Mailbox.name).where(Mailbox.id == case.mailbox_id)) or ""


def _maybe_acknowledge(app, session: Session, case: Case, message: Message, verdict,
                       is_new_case: bool, now: datetime, *, is_agent: bool = False,
                       incident=None) -> None:
    sender = message.from_addr

    def history() -> AckHistory:
        # Rows and bounces know an internationalised domain in its IDNA form: ask for both.
        forms = list({sender, transport_address(sender) or sender})
        held = [c.undeliverable_until for c in session.scalars(
            select(Contact).where(Contact.email.in_(forms))) if c.undeliverable_until]
        return AckHistory(
            acks_for_case=session.scalar(select(func.count()).select_from(OutboundMail).where(
                OutboundMail.case_id == case.id, OutboundMail.kind.in_(("ack", "incident")))),
            acks_to_sender_last_hour=session.scalar(
                select(func.count()).select_from(OutboundMail).where(
                    OutboundMail.kind.in_(("ack", "incident")),
                    OutboundMail.recipient.in_(forms),
                    OutboundMail.created_at >= now - timedelta(hours=1))),
            undeliverable_until=max(held, default=None))

    decision = decide_ack(
        kind=verdict.kind, sender=sender, is_new_case=is_new_case,
        is_system_sender=is_system_sender(sender or ""), is_own_address=app.is_own(sender or ""),
        is_agent=is_agent, enabled=app.settings.ack.enabled, history=history,
        per_sender_per_hour=app.settings.ack.per_sender_per_hour, now=now)
    record_event(session, case.id, actor="mailproc", kind="ack_decision",
                 detail=f"{decision.rule}: {decision.reason}", now=now,
                 data={"send": decision.send, "message_id": message.message_id})
    if decision.send and incident is not None:
        enqueue_incident_ack(app, session, case, message, incident, now)
    elif decision.send:
        enqueue_ack(app, session, case, message, now)
