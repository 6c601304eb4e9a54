"""A simulated week: the ladder fires in order, SMTP goes down and comes back, alerts go out once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType

import pytest
from sqlalchemy import select

from mailproc.config import OutgoingSettings
from mailproc.fallback.phone_list import build_phone_list, record_call
from mailproc.models import Case, Health, OutboundMail, OutboxStatus
from mailproc.runners.outbound import deliver_due
from mailproc.runners.periodic import sweep
from tests.agent_helpers import feed, mail
from tests.test_escalation import esc_app


class WebhookReceiver:
    """A loopback HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def week_app(db, tmp_path, sink, webhook):
    out = OutgoingSettings(transport="smtp", host=sink.host, port=sink.port, tls="none",
                           timeout_seconds=5.0, retry_base="30s", retry_cap="10m",
                           max_attempts=20)
    return esc_app(db, tmp_path, outgoing=out,
                   alerts=MappingProxyType({"webhook_url": webhook.url}))


def tick(app, step=timedelta(minutes=30)):
    app.clock.advance(step)
    delivered = deliver_due(app)
    return delivered, sweep(app)


def customer(n: int, subject: str) -> bytes:
    return mail(frm=f"Customer {n} <c{n}@kunde{n}.example>", subject=subject,
                body=f"{subject}, please help.\n\n-- \nCustomer {n}\nTel.: +49 30 4444 00{n:02d}")


def test_week_with_smtp_outage(db, tmp_path, smtp_sink, webhook):
    app = week_app(db, tmp_path, smtp_sink, webhook)
    feed(app, customer(1, "VPN client crashes"))
    delivered, _ = tick(app, timedelta(minutes=1))
    assert {d.kind: d.result for d in delivered}["ack"] == "sent"
    assert {d.result for d in delivered} == {"sent"}
    smtp_sink.stop()
    feed(app, customer(2, "Printer queue stuck"), customer(3, "Invoice PDF is empty"))
    results = []
    for _ in range(4):
        delivered, _ = tick(app, timedelta(minutes=10))
        results += [d.result for d in delivered]
    assert "sent" not in results and "retry" in results
    with app.db.transaction() as s:
        health = s.scalar(select(Health).where(Health.transport == "smtp"))
        assert health.state == "down"
        entries = build_phone_list(app, s, app.clock.now())
    assert len(webhook.received) == 1 and webhook.received[0]["event"] == "outage"
    assert webhook.received[0]["customers_to_call"] == 2
    to_call = {e.email: e for e in entries if e.status == "to call"}
    assert set(to_call) == {"c2@kunde2.example", "c3@kunde3.example"}
    assert to_call["c2@kunde2.example"].phones == ("+4930444400" + "02",)
    assert "#1002" in to_call["c2@kunde2.example"].tell or "1002" in to_call["c2@kunde2.example"].tell
    record_call(app, to_call["c3@kunde3.example"].case_ref, note="told him", actor="tester",
                now=app.clock.now())
    # The outage goes on through the afternoon: the ladder keeps firing (queued), one alert only.
    for _ in range(4):
        tick(app)
    assert len(webhook.received) == 1
    with app.db.transaction() as s:
        called = {e.email: e.status for e in build_phone_list(app, s, app.clock.now())}
        assert called["c3@kunde3.example"] == "called"
        queued = s.scalars(select(OutboundMail).where(OutboundMail.status != OutboxStatus.SENT)
                           .order_by(OutboundMail.id)).all()
        waiting_ids = [r.message_id.strip("<>") for r in queued]
    assert len(waiting_ids) >= 4
    smtp_sink.start()
    for _ in range(3):
        tick(app, timedelta(minutes=15))
    got = [m.message["Message-ID"].strip("<>") for m in smtp_sink.messages]
    assert set(waiting_ids) <= set(got)
    with app.db.transaction() as s:
        assert s.scalar(select(Health.state).where(Health.transport == "smtp")) == "up"
        after = {e.email: e.status for e in build_phone_list(app, s, app.clock.now())}
    assert after["c2@kunde2.example"] == "reached by mail"
    assert [w["event"] for w in webhook.received] == ["outage", "recovery"]
    # The rest of the week: every first-response step fires once per case, in order.
    for _ in range(4 * 48):
        tick(app)
    with app.db.transaction() as s:
        refs = s.scalars(select(Case.ref).order_by(Case.id)).all()
        rows = s.scalars(select(OutboundMail).where(OutboundMail.kind == "escalation")
                         .order_by(OutboundMail.id)).all()
        assert all(r.status == OutboxStatus.SENT for r in rows)
    for ref in refs:
        case_id = int(ref) - 1000
        # one mail per step and recipient (the vendor step reaches two people)
        steps = list(dict.fromkeys(r.dedupe_key.split(":")[2] for r in rows
                                   if r.case_id == case_id))
        assert steps == ["warning", "overdue", "team-lead", "manager", "vendor"], (ref, steps)
    assert len(webhook.received) == 2
