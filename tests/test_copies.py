"""One mail that reaches us twice (To support@, Cc billing@): one case, nothing done twice."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy

from sqlalchemy import select

from mailproc.models import Case, Event, Message
from mailproc.runners.inbound import process_many, process_raw
from mailproc.source.base import FetchedMessage
from tests.agent_helpers import agent_app, feed, mail, outbox


def copy_of(raw: bytes, mailbox: str = "billing") -> bytes:
    # What the second mailbox's server adds: the bytes differ, the mail is the same.
    return f"Delivered-To: {mailbox}@example.com\r\n".encode() + raw


def messages(app) -> list[Message]:
    with app.db.transaction() as s:
        rows = s.scalars(select(Message).order_by(Message.id)).all()
        s.expunge_all()
        return rows


def case_with_notification(db, tmp_path):
    """An app with one customer case; the agent notification about it, parsed."""
    app = agent_app(db, tmp_path)
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="Printer jams",
                   msgid="<c1@kunde.example>", body="The printer on floor 3 jams."))
    (note,) = outbox(app, "agent_notify")
    return app, message_from_bytes(note.raw, policy=policy.default)


def test_a_customer_mail_to_two_of_our_addresses_is_one_case_acknowledged_once(db, tmp_path):
    app = agent_app(db, tmp_path)
    raw = mail(frm="Maria <maria@kunde.example>", subject="Help", cc="billing@example.com",
               msgid="<c1@kunde.example>", body="The invoice page shows an error.")
    feed(app, raw)
    feed(app, copy_of(raw), mailbox="billing")
    first, second = messages(app)
    assert second.case_id == first.case_id and second.thread_rule == "copy"
    assert len(outbox(app, "ack")) == 1
    notified = [r.to_addrs for r in outbox(app, "agent_notify")]
    assert len(notified) == len({tuple(t) for t in notified})   # each agent told once
    with app.db.transaction() as s:
        assert len(s.scalars(select(Case)).all()) == 1
        (event,) = s.scalars(select(Event).where(Event.kind == "copy_received")).all()
        assert "c1@kunde.example" in event.detail


def test_an_agent_reply_that_arrives_twice_is_relayed_once(db, tmp_path):
    app, note = case_with_notification(db, tmp_path)
    # (Bcc'd to billing@, say: the second copy comes through that mailbox.)
    reply = mail(frm="Alice Adams <alice@example.com>", to=note["Reply-To"],
                 subject="Re: " + note["Subject"],
                 body="#priority high\nPlease clear the tray and restart it.",
                 in_reply_to=note["Message-ID"])
    feed(app, reply)
    feed(app, copy_of(reply), mailbox="billing")
    (relay,) = outbox(app, "relay")
    assert relay.to_addrs == ["maria@kunde.example"]
    assert messages(app)[-1].thread_rule == "copy"


def test_an_agent_copy_that_passes_the_check_is_obeyed_when_the_first_did_not(db, tmp_path):
    # Two of our servers received the reply; only one of them could verify DKIM.
    app, note = case_with_notification(db, tmp_path)
    reply = mail(frm="Alice Adams <alice@example.com>", subject="Re: " + note["Subject"],
                 body="Please clear the tray and restart it.", in_reply_to=note["Message-ID"])
    feed(app, reply)                      # to the plain support address, no verdict: forged
    assert outbox(app, "relay") == []
    verified = b"Authentication-Results: mx.example.com; dkim=pass header.d=example.com\r\n"
    feed(app, copy_of(verified + reply), mailbox="billing")
    (relay,) = outbox(app, "relay")
    assert relay.to_addrs == ["maria@kunde.example"]
    feed(app, copy_of(verified + reply, "sales"), mailbox="sales")   # a third copy: nothing
    assert len(outbox(app, "relay")) == 1


def test_a_reused_message_id_with_another_subject_is_not_a_copy(db, tmp_path):
    # Broken clients reuse Message-IDs: a different mail under a known id is its own request.
    app = agent_app(db, tmp_path)
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="VPN drops every hour",
                   msgid="<same@kunde.example>", body="The VPN drops."))
    feed(app, mail(frm="Maria <maria@kunde.example>", subject="New laptop for Tom",
                   msgid="<same@kunde.example>", body="Tom starts on Monday."))
    first, second = messages(app)
    assert second.case_id != first.case_id and second.thread_rule == "new"
    assert len(outbox(app, "ack")) == 2


def test_two_workers_draining_both_copies_at_once_open_one_case(db, tmp_path):
    app = agent_app(db, tmp_path)
    store = app.raw_store()
    pairs = []
    for n in range(4):
        raw = mail(frm=f"user{n}@kunde.example", subject="Help", cc="billing@example.com",
                   msgid=f"<pair{n}@kunde.example>", body=f"Request number {n}.")
        pairs.append([store.store_one(box, FetchedMessage(box, "INBOX", f"p{n}", None, None,
                                                          body, None))
                      for box, body in (("demo", raw), ("billing", copy_of(raw)))])
    for ids in pairs:
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(raw_id: int) -> None:
            start.wait()
            try:
                process_raw(app, raw_id)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    with app.db.transaction() as s:
        assert len(s.scalars(select(Case)).all()) == 4
    assert len(outbox(app, "ack")) == 4
    assert sorted(m.thread_rule for m in messages(app)) == ["copy"] * 4 + ["new"] * 4


def test_two_batches_holding_each_other_s_copies_in_opposite_order_open_one_case_each(db,
                                                                                     tmp_path):
    """Two workers' batches (two mailboxes) hold copies of the same four mails, one batch in
    the opposite order of the other: each mail is one case, acknowledged once, every row
    processed in this round (a batch takes all its locks first, in one order: neither
    waits on the other mid-batch, so there is no deadlock and no "retry")."""
    app = agent_app(db, tmp_path)
    store = app.raw_store()
    raws = [mail(frm=f"user{n}@kunde.example", subject=f"Help {n}", cc="billing@example.com",
                 msgid=f"<both{n}@kunde.example>", body=f"Request number {n}.")
            for n in range(4)]
    demo = [store.store_one("demo", FetchedMessage("demo", "INBOX", f"d{n}", None, None, raw,
                                                   None)) for n, raw in enumerate(raws)]
    billing = [store.store_one("billing", FetchedMessage("billing", "INBOX", f"b{n}", None,
                                                         None, copy_of(raw), None))
               for n, raw in reversed(list(enumerate(raws)))]
    start = threading.Barrier(2)
    results: dict[str, list] = {}

    def work(name: str, ids: list[int]) -> None:
        start.wait()
        try:
            results[name] = process_many(app, ids)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[name] = [exc]

    threads = [threading.Thread(target=work, args=args)
               for args in (("demo", demo), ("billing", billing))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [o.result for o in results["demo"]] == ["processed"] * 4
    assert [o.result for o in results["billing"]] == ["processed"] * 4
    with app.db.transaction() as s:
        assert len(s.scalars(select(Case)).all()) == 4
    assert len(outbox(app, "ack")) == 4
    assert sorted(m.thread_rule for m in messages(app)) == ["copy"] * 4 + ["new"] * 4
