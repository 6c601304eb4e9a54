"""One inbound message's kind, with the agent directory and the escalation people."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailproc.classify.authenticity import split_person_ref
from mailproc.classify.rules import Classification, classify
from mailproc.parse.message import ParsedMessage
from mailproc.signing import SignedRef

if TYPE_CHECKING:
    from mailproc.app import App


def classify_inbound(app: App, msg: ParsedMessage, signed: SignedRef | None,
                     rules_said: Classification | None = None) -> Classification:
    """The classification rules with what the app knows: an agent's own-looking mail is an
    agent's, and a lead's, manager's or vendor's reply through their signed address is
    internal. `rules_said`: what the rules gave for this message with the app's addresses,
    computed ahead (runners/prepare.py)."""
    agents = app.agents
    verdict = rules_said or classify(msg, own_addresses=app.own_addresses,
                                     own_message_id_domain=app.message_id_domain,
                                     agent_addresses=agents.addresses,
                                     loop_token=app.settings.support.address)
    if verdict.kind == "own" and agents.by_address(msg.from_addr):
        # Agents often share our domain, so their client's Message-ID looks like ours;
        # our own mail never comes From an agent address.
        verdict = Classification("agent", "agent", f"From {msg.from_addr} claims to be an agent "
                                                   f"(not own: {verdict.reason})")
    if verdict.kind == "human":
        person = internal_sender(app, msg, signed)
        if person is not None:
            verdict = Classification("internal", "person_signed_address",
                                     f"{person.name} ({person.role or 'escalation contact'}) "
                                     f"replied through the address signed for them")
    return verdict


def internal_sender(app: App, msg: ParsedMessage, signed: SignedRef | None):
    """The directory person (lead, manager, vendor) whose signed escalation address this mail
    came through, From their own address; None for anyone else."""
    parts = split_person_ref(signed.ref) if signed else None
    if parts is None:
        return None
    person = app.people.contact(parts[1])
    if person is None or person.email.lower() != (msg.from_addr or "").lower():
        return None
    return person
