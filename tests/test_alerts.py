"""Outage alerts: webhook POST and command hook, once per outage, a recovery notice, retried if lost."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from types import MappingProxyType

import pytest

from mailproc.errors import ConfigError
from mailproc.fallback.alerts import check_alerts, load_alerts
from mailproc.fallback.health import record_attempt
from mailproc.models import Event
from tests.helpers import make_app
from tests.test_week import WebhookReceiver, webhook  # noqa: F401 - the fixture


def fail(app, n=3, target="smtp.example.com:587", transport="smtp"):
    for _ in range(n):
        with app.db.transaction() as s:
            record_attempt(s, target, transport, ok=False, error="connection refused",
                           now=app.clock.now())


def ok(app, target="smtp.example.com:587", transport="smtp"):
    with app.db.transaction() as s:
        record_attempt(s, target, transport, ok=True, error=None, now=app.clock.now())


def test_one_alert_per_outage_on_both_channels_and_a_recovery(db, tmp_path, webhook):  # noqa: F811
    log = tmp_path / "hook.jsonl"
    hook = f"{sys.executable} -c \"import sys; open({str(log)!r}, 'a').write(sys.stdin.read() + '\\n')\""
    app = make_app(db, tmp_path, alerts=MappingProxyType({"webhook_url": webhook.url,
                                                          "command": hook}))
    fail(app, 2)
    assert check_alerts(app, app.clock.now()) == []          # degraded is not an outage
    fail(app, 1)
    sent = check_alerts(app, app.clock.now())
    assert [s["event"] for s in sent] == ["outage"]
    from mailproc.ops.status import status_summary

    with app.db.transaction() as session:
        outages = status_summary(session)["outages"]
    assert [o["key"] for o in outages] == ["smtp:smtp.example.com:587"] and outages[0]["alerted_at"]
    for _ in range(5):
        app.clock.advance(timedelta(minutes=5))
        fail(app)
        assert check_alerts(app, app.clock.now()) == []
    ok(app)
    app.clock.advance(timedelta(minutes=1))
    assert [s["event"] for s in check_alerts(app, app.clock.now())] == ["recovery"]
    assert [w["event"] for w in webhook.received] == ["outage", "recovery"]
    assert webhook.received[0]["key"] == "smtp:smtp.example.com:587"
    lines = [json.loads(x) for x in log.read_text().splitlines() if x]
    assert [x["event"] for x in lines] == ["outage", "recovery"]
    fail(app, 3)   # a second outage is a new alert
    assert [s["event"] for s in check_alerts(app, app.clock.now())] == ["outage"]


def test_lost_alert_is_retried_not_dropped(db, tmp_path):
    receiver = WebhookReceiver()
    url = receiver.url
    receiver.close()       # nobody listens: the first attempt fails
    app = make_app(db, tmp_path, alerts=MappingProxyType({"webhook_url": url}))
    fail(app, 3, target="imap.example.com", transport="imap")
    assert check_alerts(app, app.clock.now()) == []
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    import http.server
    import threading

    got = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app.clock.advance(timedelta(minutes=1))
        assert [s["key"] for s in check_alerts(app, app.clock.now())] == ["imap:imap.example.com"]
        assert check_alerts(app, app.clock.now()) == []
        assert len(got) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_bounce_storm_is_an_outage(db, tmp_path, webhook):  # noqa: F811
    app = make_app(db, tmp_path, alerts=MappingProxyType({
        "webhook_url": webhook.url, "bounce_storm": 5, "bounce_window_minutes": 10}))
    with app.db.transaction() as s:
        for i in range(5):
            s.add(Event(case_id=None, at=app.clock.now() - timedelta(minutes=i), actor="mailproc",
                        kind="undeliverable", detail="550 no such user", data={}))
    assert [s["key"] for s in check_alerts(app, app.clock.now())] == ["bounce_storm"]
    app.clock.advance(timedelta(minutes=30))
    assert [s["event"] for s in check_alerts(app, app.clock.now())] == ["recovery"]


@pytest.mark.parametrize("raw,where", [
    ({"webhook_url": "ftp://x"}, "alerts.webhook_url"),
    ({"bounce_storm": 0}, "alerts.bounce_storm"),
    ({"pager": "x"}, "alerts.pager"),
])
def test_alert_config_errors_name_the_key(raw, where):
    with pytest.raises(ConfigError, match=where):
        load_alerts(raw)
