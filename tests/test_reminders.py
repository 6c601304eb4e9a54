"""Waiting on the customer: a reminder after N business days, resolved after M; a reply resets."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from types import MappingProxyType

from sqlalchemy import select

from mailproc.cases.lifecycle import change_status
from mailproc.escalation.ladder import Reminders
from mailproc.escalation.reminders import reminder_plan
from mailproc.models import Case, CaseStatus, Event, OutboundMail
from mailproc.runners.periodic import sweep
from mailproc.sla.calendar import CALENDAR_24X7
from mailproc.sla.deadlines import parse_duration
from tests.agent_helpers import agent_app, feed, mail
from tests.helpers import MONDAY

LADDER = {"steps": [], "reminders": {"remind_after": "2d", "resolve_after": "4d"}}


def test_reminder_plan_is_pure():
    settings = Reminders(remind_after=parse_duration("2d"), resolve_after=parse_duration("4d"))
    plan = reminder_plan("pending", MONDAY, settings, frozenset(), MONDAY, CALENDAR_24X7)
    assert plan.due == () and plan.next_at == MONDAY + timedelta(days=2)
    plan = reminder_plan("pending", MONDAY, settings, frozenset(), MONDAY + timedelta(days=3),
                         CALENDAR_24X7)
    assert plan.due == ("reminder",) and plan.next_at == MONDAY + timedelta(days=4)
    key = plan.breach_key
    plan = reminder_plan("pending", MONDAY, settings, frozenset({("reminder", key)}),
                         MONDAY + timedelta(days=5), CALENDAR_24X7)
    assert plan.due == ("auto_resolve",) and plan.next_at is None
    assert reminder_plan("open", MONDAY, settings, frozenset(), MONDAY + timedelta(days=9),
                         CALENDAR_24X7).due == ()


def _pending_case(app):
    feed(app, mail(frm="Nina Roth <nina@kunde.example>", subject="Scanner",
                   body="The scanner does not scan."))
    with app.db.transaction() as s:
        case = s.scalar(select(Case))
        change_status(app, s, case, CaseStatus.PENDING, actor="alice@example.com",
                      reason="asked for the model number", now=app.clock.now())
        return case.ref


def _run(app, days: int):
    out = []
    for _ in range(days * 8):
        app.clock.advance(timedelta(hours=3))
        out += sweep(app)
    return out


def test_pending_case_gets_reminder_then_is_resolved(db, tmp_path):
    app = agent_app(db, tmp_path, escalation=MappingProxyType(LADDER))
    ref = _pending_case(app)
    actions = _run(app, 10)
    assert [a.action for a in actions] == ["reminder", "auto_resolve"]
    with app.db.transaction() as s:
        case = s.scalar(select(Case))
        assert case.status == CaseStatus.RESOLVED
        kinds = [r.kind for r in s.scalars(select(OutboundMail).order_by(OutboundMail.id))]
        assert kinds.count("reminder") == 1 and kinds.count("auto_resolved") == 1
        events = s.scalars(select(Event.kind).where(Event.case_id == case.id)).all()
        assert "reminder" in events and "auto_resolved" in events
        reminder = s.scalar(select(OutboundMail).where(OutboundMail.kind == "reminder"))
        assert reminder.to_addrs == ["nina@kunde.example"] and f"#{ref}".encode() in reminder.raw
        # sent because time passed, not in answer to a message (RFC 3834)
        assert b"\nAuto-Submitted: auto-generated\r" in reminder.raw
        # Nobody had written to the customer: the reminder does not claim "our last email".
        text = " ".join(message_from_bytes(reminder.raw, policy=policy.default).get_body(
            ("plain",)).get_content().split())
        assert "Our last email" not in text and "We need some information" in text
        # Two business days after Monday 09:00 (Berlin) is Wednesday 09:00: never a weekend.
        sent_at = reminder.created_at
        assert sent_at.weekday() == 2 and sent_at - MONDAY < timedelta(days=2, hours=4)
    assert _run(app, 3) == []


def test_customer_reply_ends_the_wait(db, tmp_path):
    app = agent_app(db, tmp_path, escalation=MappingProxyType(LADDER))
    ref = _pending_case(app)
    app.clock.advance(timedelta(days=1))
    feed(app, mail(frm="nina@kunde.example", subject=f"Re: [#{ref}] Scanner",
                   body="It is a Canon LiDE 300."))
    actions = _run(app, 6)
    assert [a.action for a in actions] == []
    with app.db.transaction() as s:
        assert s.scalar(select(Case.status)) == CaseStatus.OPEN
