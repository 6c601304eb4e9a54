"""The phone list: who could not be mailed or waits past a deadline, by urgency, in four formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from click.testing import CliRunner

from mailproc.cli.main import cli
from mailproc.config import OutgoingSettings
from mailproc.fallback.phone_list import build_phone_list, mail_text
from mailproc.runners.outbound import deliver_due
from tests.agent_helpers import feed, mail
from tests.test_escalation import DIRECTORY, esc_app


def phone_app(db, tmp_path, sink):
    out = OutgoingSettings(transport="smtp", host=sink.host, port=sink.port, tls="none",
                           timeout_seconds=5.0, max_attempts=3)
    return esc_app(db, tmp_path, outgoing=out)


def test_list_sorted_by_urgency_with_numbers_and_text(db, tmp_path, smtp_sink):
    app = phone_app(db, tmp_path, smtp_sink)
    smtp_sink.script("rcpt", "550 5.1.1 mailbox unavailable")
    feed(app, mail(frm="Lena Vogel <lena@kunde.example>", subject="Laptop slow",
                   body="My laptop is slow.\n\n-- \nLena Vogel\nMobil: 0171 5550199"))
    deliver_due(app)                          # her ack is refused for good: failed
    feed(app, mail(frm="Tom Berg <tom@kunde.example>", subject="URGENT: cannot log in",
                   body="I cannot log in at all.\n\nTom Berg\nPhone +44 20 7946 0958"))
    deliver_due(app)                          # delivered: he is on the list only when overdue
    with app.db.transaction() as s:
        now = app.clock.now()
        first = build_phone_list(app, s, now)
        assert [e.email for e in first] == ["lena@kunde.example"]
        lena = first[0]
        assert lena.phones == ("+491715550199",) and lena.priority == "normal"
        assert "mailbox unavailable" in lena.reason and lena.tell.startswith("Hello Lena")
        later = build_phone_list(app, s, now + timedelta(days=2))
    # Two days on, Tom (urgent, overdue) comes first, then Lena.
    assert [e.email for e in later] == ["tom@kunde.example", "lena@kunde.example"]
    assert later[0].phones == ("+442079460958",) and "overdue" in later[0].reason
    assert later[0].waited > timedelta(days=2) - timedelta(minutes=1)


def test_mail_text_is_shortened_on_a_word():
    raw = b"Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + b"word " * 200
    text = mail_text(raw, limit=50)
    assert text.endswith(" …") and len(text) <= 52 and "  " not in text


def test_cli_formats_and_done(db, tmp_path, smtp_sink, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        return  # a fresh CLI process opens the database by URL: the SQLite file
    app = phone_app(db, tmp_path, smtp_sink)
    smtp_sink.script("rcpt", "550 5.1.1 mailbox unavailable")
    feed(app, mail(frm="Lena <lena@kunde.example>", subject="<b>Laptop</b> & dock",
                   body="Dock broken.\n\n-- \nLena\nTel 030 98765432"))
    deliver_due(app)
    ref = build_ref(app)
    monkeypatch.setenv("MAILPROC_DATABASE_URL", db.url)
    monkeypatch.setenv("MAILPROC_SECRET_KEY", "test-key-" + "x" * 24)
    monkeypatch.setenv("MAILPROC_NOW", app.clock.now().isoformat())
    var = tmp_path / "clivar"
    monkeypatch.setenv("MAILPROC_CONFIG", str(write_config(tmp_path, var)))
    runner = CliRunner()
    table = runner.invoke(cli, ["phone-list"])
    assert table.exit_code == 0, table.output
    assert "+493098765432" in table.output and f"#{ref}" in table.output
    assert "NetCarrier NOC" in table.output and "on call now" in table.output
    rows = list(csv.DictReader(io.StringIO(runner.invoke(cli, ["phone-list", "--format",
                                                                 "csv"]).output)))
    assert rows[0]["phones"] == "+493098765432" and rows[0]["status"] == "to call"
    data = json.loads(runner.invoke(cli, ["phone-list", "--format", "json"]).output)
    assert data["entries"][0]["case_ref"] == ref
    html = runner.invoke(cli, ["phone-list", "--format", "html"])
    assert html.exit_code == 0 and "wrote" in html.output
    page = (var / "phone-list.html").read_text()
    assert "&lt;b&gt;Laptop&lt;/b&gt; &amp; dock" in page and "<b>Laptop" not in page
    assert 'href="tel:+493098765432"' in page
    done = runner.invoke(cli, ["phone-list", "done", ref, "--note", "told her about the dock",
                               "--by", "tester"])
    assert done.exit_code == 0, done.output
    data = json.loads(runner.invoke(cli, ["phone-list", "--format", "json"]).output)
    assert data["entries"][0]["status"] == "called"
    assert data["entries"][0]["note"] == "told her about the dock"
    missing = runner.invoke(cli, ["phone-list", "done", "99999"])
    assert missing.exit_code == 1 and "no case" in missing.output


def build_ref(app) -> str:
    with app.db.transaction() as s:
        return build_phone_list(app, s, app.clock.now())[0].case_ref


def write_config(tmp_path, var):
    """The example config with var/ in tmp and the test directory appended, as TOML."""
    from tests.helpers import ROOT

    text = (ROOT / "config" / "mailproc.toml").read_text().replace(
        'var_dir = "var"', f'var_dir = "{var}"')
    lines = [text, "[directory]"]
    for table, rows in DIRECTORY.items():
        for row in rows:
            lines.append(f"[[directory.{table}]]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in row.items()]
    path = tmp_path / "cfg" / "mailproc.toml"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    return path
