"""Shared builders for the agent tests: an app with agents and teams, mail builders, ingest."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import select

from mailproc.models import OutboundMail
from mailproc.runners.inbound import process_pending
from mailproc.source.base import FetchedMessage
from tests.helpers import MONDAY, make_app

CLIENTS = Path(__file__).resolve().parent / "data" / "clients"
SUPPORT = "support@example.com"
AGENTS = (
    {"name": "Alice Adams", "key": "alice", "addresses": ["alice@example.com"],
     "team": "helpdesk", "phone": "+49 30 1111",
     "trusted_authserv_ids": ["mx.example.com"]},
    {"name": "Bob Brown", "key": "bob", "addresses": ["bob@example.com", "bob@home.example"],
     "team": "helpdesk"},
    {"name": "Carol Chen", "key": "carol", "addresses": ["carol@example.com"],
     "team": "billing"},
)
TEAMS = (
    {"name": "helpdesk", "assignment": "round_robin", "notify": "assignee"},
    {"name": "billing", "keywords": ["invoice", "refund"], "notify": "team"},
)
_keys = itertools.count()


def agent_app(db, tmp_path, *, agents=AGENTS, teams=TEAMS, now=MONDAY, kb=None, **sections):
    return make_app(db, tmp_path, now=now,
                    agents=tuple(MappingProxyType(dict(a)) for a in agents),
                    teams=tuple(MappingProxyType(dict(t)) for t in teams),
                    kb=MappingProxyType(kb or {"enabled": False}), **sections)


def feed(app, *raws: bytes, mailbox: str = "demo") -> list:
    """Store raw mail as a source would and run the pipeline; returns the outcomes."""
    store(app, *raws, mailbox=mailbox)
    return process_pending(app)


def store(app, *raws: bytes, mailbox: str = "demo") -> None:
    """Store raw mail as a source would, without processing it."""
    raw_store = app.raw_store()
    for raw in raws:
        raw_store.store_one(mailbox, FetchedMessage(mailbox, "INBOX", f"k:{next(_keys)}", None,
                                                    None, raw, None))


def mail(*, frm: str, to: str = SUPPORT, subject: str, body: str, cc: str = "",
         msgid: str | None = None, in_reply_to: str = "", references: str = "",
         headers: dict | None = None, html: str | None = None, date=MONDAY,
         attachments=()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to, subject
    if cc:
        msg["Cc"] = cc
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msgid or make_msgid(domain="client.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None and not body:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        main, _, sub = ctype.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return bytes(msg)


def outbox(app, kind: str | None = None) -> list[OutboundMail]:
    with app.db.transaction() as s:
        q = select(OutboundMail).order_by(OutboundMail.id)
        if kind:
            q = q.where(OutboundMail.kind == kind)
        rows = s.scalars(q).all()
        s.expunge_all()
        return rows
