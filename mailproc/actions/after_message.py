"""After a message is placed: agent mail relayed or obeyed; customer mail triaged and answered."""

from __future__ import annotations

import logging
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.actions.acknowledge import maybe_acknowledge
from mailproc.actions.incidents import on_new_case
from mailproc.actions.notify import notify_agents
from mailproc.actions.relay import handle_agent_mail, relay_reply
from mailproc.actions.triage import (
    assign, resolve_by_kb, set_priority_and_deadlines, suggest_articles,
)
from mailproc.cases.customer_turn import CustomerTurn, on_customer_message
from mailproc.cases.records import merged_refs, record_event, write_events
from mailproc.classify.authenticity import Authenticity, check_agent
from mailproc.models import Case, Event, Message
from mailproc.parse.message import recipient_addresses
from mailproc.policy.kb import thanks_resolves

log = logging.getLogger(__name__)
# The first line with which a lead, manager or vendor sends their reply to the customer.
RELAY_COMMAND = "#relay"


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
    forged = False
    if kind == "internal":
        # A lead, manager or vendor answering an escalation: words for the team, not mail
        # from the customer; nothing is acknowledged, and relayed only when asked with #relay.
        lines = (message.new_text or "").strip().splitlines()
        if lines and lines[0].strip().lower() == RELAY_COMMAND:
            sender = SimpleNamespace(name=message.from_name or message.from_addr,
                                     email=message.from_addr, key="")
            relay_reply(app, session, case, message, sender, "\n".join(lines[1:]).strip(), now)
            return
        message.internal = True
        record_event(session, case.id, actor=message.from_addr, kind="note",
                     detail=f"note from {message.from_name or message.from_addr} "
                            f"({verdict.reason})", now=now,
                     data={"message_id": message.message_id})
        notify_agents(app, session, case, message, reason="note", now=now)
        return
    directory = app.agents
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
            forged = True
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
        set_priority_and_deadlines(app, session, case, parsed, now)
    incident = None
    if is_new_case and kind == "human":
        suggest_articles(app, session, case, message, now)
        assign(app, session, case, parsed, now)
        # A surge of similar reports becomes one incident: one notification for all.
        incident = on_new_case(app, session, case, message, now)
    elif kind == "human" and thanks_resolves(app, case, message.new_text):
        resolve_by_kb(app, session, case, message, now)
    maybe_acknowledge(app, session, case, message, verdict, is_new_case, now,
                      is_agent=directory.by_address(message.from_addr) is not None,
                      incident=incident)
    if kind == "human" and incident is None:
        notify_agents(app, session, case, message, reason="forged" if forged else turn.reason,
                      now=now)


def _only_forged_copies(session: Session, case: Case, message: Message) -> bool:
    """Earlier copies of this agent mail were all refused as unauthenticated, none obeyed."""
    write_events(session)
    seen = session.execute(select(Event.kind, Event.data).where(
        Event.case_id == case.id, Event.kind.in_(("security", "agent_mail")))).all()
    kinds = {kind for kind, data in seen if (data or {}).get("message_id") == message.message_id}
    return kinds == {"security"}


def _authenticate(app, session: Session, case: Case, parsed, agent) -> Authenticity:
    return check_agent(from_addr=parsed.from_addr, agent_key=agent.key, case_ref=case.ref,
                       recipients=recipient_addresses(parsed),
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
