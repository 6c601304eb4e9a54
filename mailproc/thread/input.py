"""A message as the threading rules see it: ids, subject, sender, signed ref, agent proof."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from mailproc.classify.authenticity import check_auth_results
from mailproc.classify.rules import Classification
from mailproc.parse.message import ParsedMessage
from mailproc.signing import SignedRef
from mailproc.thread.rules import ThreadInput

if TYPE_CHECKING:
    from mailproc.app import App


def thread_input(app: App, msg: ParsedMessage, signed: SignedRef | None,
                 verdict: Classification, quoted_prints: tuple[int, ...],
                 now: datetime) -> ThreadInput:
    """What the threading rules read of a message: its ids, subject and sender, the case ref
    signed into its recipient address, and whether it is an agent's mail that authenticated."""
    agent = app.agents.by_address(msg.from_addr) if verdict.kind == "agent" else None
    vouched = agent is not None and check_auth_results(
        list(msg.headers.get("authentication-results", ())), msg.from_addr,
        agent.trusted_authserv_ids).authentic
    return ThreadInput(message_id=msg.message_id, in_reply_to=msg.in_reply_to,
                       references=msg.references, subject=msg.subject, from_addr=msg.from_addr,
                       # An agent's signed ref is "<case ref>-<agent key>" (classify.authenticity).
                       # A lead's is "<case ref>--<key>": the same first part.
                       signed_ref=signed.ref.partition("-")[0] if signed else None,
                       date_at=msg.date_at or now, from_agent=vouched,
                       quoted_prints=quoted_prints)
