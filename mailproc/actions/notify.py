"""Agent notifications: new case, customer reply, reopen, note; Reply-To is the agent's signed address."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.classify.authenticity import agent_reply_ref
from mailproc.models import Case, CaseStatus, Message, OutboundMail
from mailproc.outbox.automatic import thread_ids
from mailproc.outbox.compose import compose
from mailproc.people.agents import Agent
from mailproc.policy.kb import suggest_for_case
from mailproc.signing import sign_reply_address
from mailproc.store.messages import forwardable
from mailproc.templating.context import case_context, history

log = logging.getLogger(__name__)

REASONS = {
    "new_case": "new case",
    "customer_reply": "the customer replied",
    "reopened": "the customer replied to a resolved case: reopened",
    "nudge": "the customer asks for an update",
    "note": "internal note",
    "assigned": "assigned to you",
    "forged": "mail claiming to be from an agent failed authentication",
}
# How each notification is headed (first line, then the subject's word): an agent must see at
# once why it came; the wording of each reason is the one above.
HEADINGS = {
    "new_case": ("New case", "New case"),
    "customer_reply": ("New reply from the customer on case", "Customer reply"),
    "reopened": ("The customer replied to a resolved case: reopened", "Reopened"),
    "nudge": ("The customer asks for an update on case", "Update asked"),
    "note": ("Internal note (not sent to the customer) on case", "Internal note"),
    "assigned": ("Assigned to you: case", "Assigned to you"),
    "forged": ("Suspected forgery: mail claiming to be from an agent failed authentication, "
               "case", "SUSPECTED FORGERY"),
}


def agent_reply_address(app, case: Case, agent: Agent) -> str:
    return sign_reply_address(app.settings.support.address, agent_reply_ref(case.ref, agent.key),
                              app.secret_key)


def notify_agents(app, session: Session, case: Case, message: Message, *, reason: str,
                  now: datetime, only: Sequence[Agent] | None = None,
                  exclude: Sequence[Agent] = ()) -> list[OutboundMail]:
    """One notification per agent (each with their own signed Reply-To); returns the rows."""
    directory = app.agents
    if not directory.agents:
        return []  # no agents configured: mailproc only acknowledges
    agents = list(only) if only is not None else directory.recipients(case.team, case.assignee)
    agents = [a for a in agents if a not in exclude]
    if not agents:
        record_event(session, case.id, actor="mailproc", kind="notify_skipped",
                     detail=f"{REASONS.get(reason, reason)}: nobody to notify in team "
                            f"{case.team or '(none)'}", now=now)
        return []
    context = case_context(app, session, case, message)
    context["history"] = history(session, case)
    heading, word = HEADINGS.get(reason, (f"{REASONS.get(reason, reason)}: case", "Incident"))
    context["notification"] = {"reason": reason, "reason_text": REASONS.get(reason, reason),
                               "heading": heading[:1].upper() + heading[1:], "subject": word}
    context["message"]["internal"] = bool(message.internal)
    budget = app.settings.outgoing.notify_attachments_bytes
    files = context["message"]["attachments"]
    for file, fits in zip(files, forwardable([f["size"] for f in files], budget)):
        file["forwarded"] = fits
    if reason == "new_case" or (reason == "forged" and case.status == CaseStatus.NEW):
        # Agents see every fitting article, internal ones included.
        context["kb_suggestions"] = suggest_for_case(app, message.subject,
                                                     message.new_text or message.body_text,
                                                     "agent")
    in_reply_to, references = thread_ids(message)
    rows = []
    for agent in agents:
        ctx = dict(context, agent={"name": agent.name, "email": agent.email})
        row = compose(app, session, case=case, kind="agent_notify", to=[agent.email],
                      dedupe_key=f"notify:{message.id}:{reason}:{agent.key}", context=ctx,
                      in_reply_to=in_reply_to, references=references,
                      reply_to=agent_reply_address(app, case, agent),
                      from_name=app.settings.support.name, auto_submitted="auto-generated",
                      attachments_of=message, attachment_budget=budget, now=now)
        if row is not None:
            rows.append(row)
    log.info("case %s: notified %s (%s)", case.ref, ", ".join(a.key for a in agents), reason)
    return rows
