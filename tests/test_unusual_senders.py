"""Mail that real senders produce and that must neither stall the pipeline nor lose an answer:
internationalised addresses (RFC 2047 words inside the addr-spec, raw UTF-8) and NUL bytes."""

from __future__ import annotations

from sqlalchemy import select

from mailproc.models import Event, Message, Quarantine
from tests.agent_helpers import agent_app, feed, mail, outbox


def _events(app, kind):
    with app.db.transaction() as s:
        return [e.detail for e in s.scalars(select(Event).where(Event.kind == kind))]


def test_idn_domain_is_acknowledged_in_its_idna_form(db, tmp_path):
    app = agent_app(db, tmp_path)
    [out] = feed(app, mail(frm="Jörg <joerg@mächine.example>", subject="Drucker kaputt",
                           body="Der Drucker im 2. Stock druckt nicht."))
    assert out.result == "processed"
    [ack] = outbox(app, "ack")
    assert ack.to_addrs == ["joerg@xn--mchine-bua.example"]
    assert b"To: joerg@xn--mchine-bua.example" in ack.raw


def test_non_ascii_local_part_skips_the_ack_with_an_event_not_a_quarantine(db, tmp_path):
    app = agent_app(db, tmp_path)
    [out] = feed(app, mail(frm="Jörg Döe <jdöe@mächine.example>", subject="VPN",
                           body="Das VPN bricht ab."))
    assert out.result == "processed" and out.case_ref
    assert outbox(app, "ack") == []
    [detail] = _events(app, "ack_decision")
    assert detail.startswith("unsendable_address:") and "jdöe@mächine.example" in detail
    assert [o.kind for o in outbox(app)] == ["agent_notify"]   # the agents still hear of it
    with app.db.transaction() as s:
        assert s.scalars(select(Quarantine)).all() == []


def test_nul_bytes_in_the_body_are_removed_on_every_database(db, tmp_path):
    app = agent_app(db, tmp_path)
    [out] = feed(app, mail(frm="ann@kunde.example", subject="Null\x00byte",
                           body="Hello\x00 the printer is broken.\x00"))
    assert out.result == "processed"
    with app.db.transaction() as s:
        message = s.scalars(select(Message)).one()
        assert "\x00" not in message.body_text + message.new_text + message.subject
        assert "the printer is broken." in message.new_text
