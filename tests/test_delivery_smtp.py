"""Delivery through a real aiosmtpd sink: headers on the wire, retries, refusals, outages, holds."""

from __future__ import annotations

import socket
from datetime import timedelta
from email.utils import parseaddr

import pytest
from sqlalchemy import func, select

from mailproc.cases.records import get_contact, open_case
from mailproc.config import OutgoingSettings
from mailproc.delivery.files import file_name
from mailproc.errors import ConfigError
from mailproc.models import Contact, Event, Health, Message, OutboundMail, OutboxStatus
from mailproc.outbox.mime import build_message, make_message_id
from mailproc.outbox.table import enqueue, pending_recipients
from mailproc.runners.outbound import deliver_due
from tests.agent_helpers import feed
from tests.helpers import make_app
from tests.servers import DROP

SUPPORT = "support@example.com"


def smtp_app(db, tmp_path, sink, **outgoing):
    settings = dict(transport="smtp", host=sink.host, port=sink.port, tls="none",
                    timeout_seconds=5.0, retry_base="30s", retry_cap="10m", max_attempts=5)
    settings.update(outgoing)
    return make_app(db, tmp_path, outgoing=OutgoingSettings(**settings))


def queue(app, key: str, *, to=("kim@customer.example",), subject="Your request",
          raw: bool = True) -> tuple[int, int, str]:
    """One outbox row on a fresh case: (outbox id, case id, Message-ID)."""
    now = app.clock.now()
    mid = make_message_id(app.message_id_domain, "ack", key)
    with app.db.transaction() as s:
        case = open_case(s, subject=subject, normalized_subject=subject.lower(),
                         customer=get_contact(s, to[0], "Kim", now), mailbox_id=None,
                         priority="normal", team="", ref_base=1000, now=now)
        body = build_message(
            from_addr=SUPPORT, from_name="Example Support", to=list(to), subject=subject,
            text=f"Case {case.ref}", html=f"<p>Case {case.ref}</p>", message_id=mid,
            in_reply_to="<first@customer.example>", references=["<first@customer.example>"],
            reply_to=f"support+{case.ref}.sig@example.com", loop_token=SUPPORT, date_at=now)
        row = enqueue(s, case_id=case.id, kind="ack", dedupe_key=key, to=list(to),
                      from_addr=SUPPORT, subject=subject, raw=body if raw else None,
                      message_id=mid, now=now)
        return row.id, case.id, mid


def row(app, outbox_id: int) -> OutboundMail:
    with app.db.transaction() as s:
        return s.get(OutboundMail, outbox_id)


def events(app, kind: str) -> list[Event]:
    with app.db.transaction() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def health(app, sink) -> Health | None:
    with app.db.transaction() as s:
        return s.scalar(select(Health).where(Health.target == f"{sink.host}:{sink.port}"))


def catch_up(app) -> None:
    """Move the clock to the moment every pending row is due again."""
    with app.db.transaction() as s:
        due = s.scalar(select(func.max(OutboundMail.next_attempt_at)).where(
            OutboundMail.status == OutboxStatus.PENDING))
    app.clock.at = max(app.clock.at, due or app.clock.at)


def test_delivery_puts_loop_safe_threaded_headers_on_the_wire(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    oid, case_id, mid = queue(app, "ack:case:1")
    [result] = deliver_due(app)
    assert (result.outbox_id, result.result, result.to) == (oid, "sent", "kim@customer.example")
    [got] = smtp_sink.wait_for(1)
    assert got.mail_from == SUPPORT and got.rcpt_tos == ("kim@customer.example",)
    msg = got.message
    assert msg["Message-ID"] == mid
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Loop"] == SUPPORT
    assert msg["In-Reply-To"] == "<first@customer.example>"
    assert msg["References"] == "<first@customer.example>"
    assert parseaddr(msg["Reply-To"])[1] == "support+1001.sig@example.com"
    assert msg["Bcc"] is None and msg["Precedence"] is None
    sent = row(app, oid)
    assert sent.status == OutboxStatus.SENT and sent.sent_at == app.clock.now()
    assert sent.attempts == 1 and sent.lease_until is None
    [event] = events(app, "mail_sent")
    assert event.case_id == case_id and mid in event.detail
    assert health(app, smtp_sink).state == "up"
    assert deliver_due(app) == [] and len(smtp_sink.messages) == 1


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_451_then_250_is_retried_and_sent_once(db, tmp_path, smtp_sink, stage):
    app = smtp_app(db, tmp_path, smtp_sink)
    oid, _, mid = queue(app, "ack:case:1")
    smtp_sink.script(stage, "451 4.3.0 greylisted, try later")
    [first] = deliver_due(app)
    assert first.result == "retry" and "451 4.3.0 greylisted" in first.detail
    pending = row(app, oid)
    assert pending.status == OutboxStatus.PENDING and pending.attempts == 1
    assert app.clock.now() + timedelta(seconds=15) <= pending.next_attempt_at
    assert pending.next_attempt_at <= app.clock.now() + timedelta(seconds=30)
    assert deliver_due(app) == []  # not due yet
    catch_up(app)
    [second] = deliver_due(app)
    assert second.result == "sent"
    assert [m.message["Message-ID"] for m in smtp_sink.wait_for(1)] == [mid]
    assert row(app, oid).attempts == 2 and len(events(app, "delivery_retry")) == 1


def test_550_fails_with_the_reason_and_an_event(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    oid, case_id, _ = queue(app, "ack:case:1")
    smtp_sink.script("rcpt", "550 5.1.1 <kim@customer.example>: no such user")
    [result] = deliver_due(app)
    assert result.result == "failed" and result.refused == ("kim@customer.example",)
    failed = row(app, oid)
    assert failed.status == OutboxStatus.FAILED
    assert "550 5.1.1 <kim@customer.example>: no such user" in failed.last_error
    [event] = events(app, "delivery_failed")
    assert event.case_id == case_id and "no such user" in event.detail
    app.clock.advance(timedelta(days=1))
    assert deliver_due(app) == [] and smtp_sink.messages == []
    assert health(app, smtp_sink).state == "up"  # a 5xx is a working server's answer


def test_554_on_data_fails(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    oid, _, _ = queue(app, "ack:case:1")
    smtp_sink.script("data", "554 5.7.1 message rejected as spam")
    [result] = deliver_due(app)
    assert result.result == "failed" and "554 5.7.1 message rejected as spam" in result.detail


def test_one_refused_recipient_of_two_is_reported_and_the_rest_sent(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    to = ("kim@customer.example", "gone@customer.example")
    oid, _, _ = queue(app, "ack:case:1", to=to)
    smtp_sink.script("rcpt", "250 OK", "550 5.1.1 mailbox gone")
    [result] = deliver_due(app)
    assert result.result == "sent" and result.refused == ("gone@customer.example",)
    [got] = smtp_sink.wait_for(1)
    assert got.rcpt_tos == ("kim@customer.example",)
    [event] = events(app, "mail_sent")
    assert event.data["refused"] == {"gone@customer.example": "550 5.1.1 mailbox gone"}
    assert row(app, oid).status == OutboxStatus.SENT


def test_a_recipient_deferred_while_another_accepted_is_retried_alone(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    to = ("kim@customer.example", "lee@greylist.example")
    oid, case_id, mid = queue(app, "ack:case:1", to=to)
    smtp_sink.script("rcpt", "250 OK", "451 4.7.1 greylisted, come back later")
    [first] = deliver_due(app)
    assert first.result == "retry" and "lee@greylist.example" in first.detail
    [got] = smtp_sink.wait_for(1)
    assert got.rcpt_tos == ("kim@customer.example",)
    waiting = row(app, oid)
    assert waiting.status == OutboxStatus.PENDING and "greylisted" in waiting.last_error
    assert waiting.to_addrs == list(to)                  # what was sent, for bounces and export
    assert pending_recipients(waiting) == ["lee@greylist.example"]
    [partial] = events(app, "mail_sent")
    assert partial.case_id == case_id and partial.data["accepted"] == ["kim@customer.example"]
    assert "greylisted" in partial.data["deferred"]["lee@greylist.example"]
    catch_up(app)
    [second] = deliver_due(app)
    assert second.result == "sent"
    again = smtp_sink.wait_for(2)[1]
    assert again.rcpt_tos == ("lee@greylist.example",)   # kim gets no second copy
    assert again.message["Message-ID"] == mid and again.message["To"] == got.message["To"]
    assert row(app, oid).status == OutboxStatus.SENT and len(events(app, "mail_sent")) == 2
    catch_up(app)
    assert deliver_due(app) == [] and len(smtp_sink.messages) == 2
    # Kim's server bounces it later: kim was written to, so the bounce is believed.
    feed(app, dsn_for("kim@customer.example", mid))
    with app.db.transaction() as s:
        kim = s.scalar(select(Contact).where(Contact.email == "kim@customer.example"))
        assert kim.undeliverable_until is not None
        dsn = s.scalar(select(Message).where(Message.message_id.contains("dsn-1@mx.customer")))
        assert (dsn.case_id, dsn.thread_rule) == (case_id, "bounce")   # through our Message-ID


def dsn_for(address: str, message_id: str) -> bytes:
    return (b"From: MAILER-DAEMON@mx.customer.example\r\nTo: support@example.com\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\n"
            b"Message-ID: <dsn-1@mx.customer.example>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\n"
            b"MIME-Version: 1.0\r\n"
            b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
            b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
            b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            b"Reporting-MTA: dns; mx.customer.example\r\n\r\n"
            + f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n".encode()
            + b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            + f"Message-ID: {message_id}\r\nSubject: Your request\r\n\r\n".encode()
            + b"--b--\r\n")


def test_dropped_connection_is_retried_and_the_batch_reconnects(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    a, _, mid_a = queue(app, "ack:case:1")
    b, _, mid_b = queue(app, "ack:case:2", to=("lee@customer.example",))
    smtp_sink.script("data", DROP)
    results = {r.outbox_id: r for r in deliver_due(app)}
    assert results[a].result == "retry" and results[b].result == "sent"
    assert [m.message["Message-ID"] for m in smtp_sink.wait_for(1)] == [mid_b]
    catch_up(app)
    assert [r.result for r in deliver_due(app)] == ["sent"]
    assert sorted(m.message["Message-ID"] for m in smtp_sink.wait_for(2)) == sorted([mid_a, mid_b])


def test_outage_retries_with_backoff_then_drains_each_row_once(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    rows = [queue(app, f"ack:case:{i}", to=(f"c{i}@customer.example",)) for i in range(3)]
    smtp_sink.stop()
    waits = []
    for round_ in range(1, 4):
        before = app.clock.now()
        results = deliver_due(app)
        assert [r.result for r in results] == ["retry"] * 3
        assert all("Connect" in r.detail or "refused" in r.detail.lower() for r in results)
        assert {row(app, oid).attempts for oid, _, _ in rows} == {round_}
        catch_up(app)
        waits.append(app.clock.now() - before)
    assert waits[0] < waits[1] < waits[2]  # backing off
    down = health(app, smtp_sink)
    assert down.state == "down" and down.consecutive_failures == 3
    smtp_sink.start()
    app.clock.advance(timedelta(hours=1))
    assert [r.result for r in deliver_due(app)] == ["sent"] * 3
    got = smtp_sink.wait_for(3)
    assert sorted(m.message["Message-ID"] for m in got) == sorted(mid for _, _, mid in rows)
    assert deliver_due(app) == [] and len(smtp_sink.messages) == 3
    assert health(app, smtp_sink).state == "up"


def test_attempts_run_out_into_failed(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink, max_attempts=2)
    oid, case_id, _ = queue(app, "ack:case:1")
    smtp_sink.script("rcpt", "451 4.3.0 later", "452 4.2.2 still full")
    assert deliver_due(app)[0].result == "retry"
    catch_up(app)
    [last] = deliver_due(app)
    assert last.result == "failed" and "gave up after 2 attempts" in last.detail
    assert "452 4.2.2 still full" in row(app, oid).last_error
    assert [e.case_id for e in events(app, "delivery_failed")] == [case_id]


def test_a_server_that_never_answers_times_out_as_transient(db, tmp_path):
    with socket.socket() as silent:  # accepts connections (backlog), never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)

        class Silent:
            host, port = silent.getsockname()

        app = smtp_app(db, tmp_path, Silent, timeout_seconds=0.5)
        oid, _, _ = queue(app, "ack:case:1")
        [result] = deliver_due(app)
    assert result.result == "retry" and "time" in result.detail.lower()
    assert row(app, oid).status == OutboxStatus.PENDING


def test_undeliverable_recipient_is_held_not_sent(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    oid, case_id, _ = queue(app, "ack:case:1")
    with app.db.transaction() as s:
        contact = get_contact(s, "kim@customer.example", "", app.clock.now())
        contact.undeliverable_until = app.clock.now() + timedelta(days=7)
        contact.undeliverable_reason = "550 5.1.1 user unknown"
    [result] = deliver_due(app)
    assert result.result == "held" and "user unknown" in result.detail
    assert row(app, oid).status == OutboxStatus.HELD
    [event] = events(app, "delivery_held")
    assert event.case_id == case_id
    assert smtp_sink.messages == []


def test_a_held_row_goes_out_when_the_hold_is_over(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    oid, _, _ = queue(app, "ack:case:1")
    with app.db.transaction() as s:
        contact = get_contact(s, "kim@customer.example", "", app.clock.now())
        contact.undeliverable_until = app.clock.now() + timedelta(days=7)
    [result] = deliver_due(app)
    assert result.result == "held"
    app.clock.advance(timedelta(days=3))
    assert deliver_due(app) == []                     # still held
    app.clock.advance(timedelta(days=5))
    [result] = deliver_due(app)
    assert result.result == "sent" and row(app, oid).status == OutboxStatus.SENT
    assert len(events(app, "delivery_released")) == 1
    smtp_sink.wait_for(1)


def test_a_row_without_raw_bytes_fails_as_nothing_to_send(db, tmp_path, smtp_sink):
    app = smtp_app(db, tmp_path, smtp_sink)
    oid, _, _ = queue(app, "ack:case:1", raw=False)
    [result] = deliver_due(app)
    assert result.result == "failed" and result.detail == "nothing to send"
    assert row(app, oid).status == OutboxStatus.FAILED and smtp_sink.messages == []


def test_smtp_user_without_password_is_a_config_error_before_any_claim(db, tmp_path, smtp_sink,
                                                                       monkeypatch):
    monkeypatch.delenv("MAILPROC_TEST_SMTP_PW", raising=False)
    app = smtp_app(db, tmp_path, smtp_sink, user="mailer", password_env="MAILPROC_TEST_SMTP_PW")
    oid, _, _ = queue(app, "ack:case:1")
    with pytest.raises(ConfigError, match="MAILPROC_TEST_SMTP_PW"):
        deliver_due(app)
    assert row(app, oid).status == OutboxStatus.PENDING


def test_file_transport_writes_one_file_per_row_and_rewrites_it_on_redelivery(db, tmp_path):
    app = make_app(db, tmp_path, outgoing=OutgoingSettings(transport="file", file_dir="outbox"))
    made = [queue(app, f"ack:case:{i}", to=(f"c{i}@customer.example",)) for i in range(3)]
    assert [r.result for r in deliver_due(app)] == ["sent"] * 3
    folder = app.var / "outbox"
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(file_name(mid) for _, _, mid in made)
    first = folder / file_name(made[0][2])
    assert first.read_bytes() == row(app, made[0][0]).raw
    # A crash before the commit means the row is delivered again: same file, no second one.
    with app.db.transaction() as s:
        s.get(OutboundMail, made[0][0]).status = OutboxStatus.PENDING
    assert [r.result for r in deliver_due(app)] == ["sent"]
    assert sorted(p.name for p in folder.iterdir()) == files


def test_a_relay_refusing_us_is_retried_and_blames_no_customer(db, tmp_path, smtp_sink):
    """554 5.7.1 Relay access denied is our configuration, not the customer's address."""
    from mailproc.models import Contact

    app = smtp_app(db, tmp_path, smtp_sink)
    oid, _, _ = queue(app, "ack:case:1")
    smtp_sink.script("rcpt", "554 5.7.1 <kim@customer.example>: Relay access denied")
    [result] = deliver_due(app)
    assert result.result == "retry" and "Relay access denied" in result.detail
    assert row(app, oid).status == OutboxStatus.PENDING
    with app.db.transaction() as s:
        kim = s.scalar(select(Contact).where(Contact.email == "kim@customer.example"))
        assert kim.undeliverable_until is None
