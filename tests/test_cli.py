"""The `mailproc` command end to end on the embedded default: run, export, status, doctor, db."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from mailproc.cli.main import cli
from mailproc.models import Base
from tests.helpers import ROOT


@pytest.fixture
def embedded(tmp_path, monkeypatch) -> Path:
    """The example config, with every path made absolute and var/ in a temp dir."""
    text = (ROOT / "config" / "mailproc.toml").read_text()
    text = text.replace('var_dir = "var"', f'var_dir = "{tmp_path / "var"}"')
    text = text.replace('seed_from = "examples/', f'seed_from = "{ROOT}/examples/')
    text = text.replace('path = "var/maildir"', f'path = "{tmp_path / "var" / "maildir"}"')
    text = text.replace('dir = "kb"', f'dir = "{ROOT / "kb"}"')
    cfg = tmp_path / "config" / "mailproc.toml"
    cfg.parent.mkdir()
    cfg.write_text(text)
    for name in ("MAILPROC_DATABASE_URL", "MAILPROC_IMAP_HOST", "MAILPROC_SMTP_HOST",
                 "MAILPROC_REDIS_URL", "MAILPROC_NOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAILPROC_SECRET_KEY", "cli-test-key-0123456789abcdef")
    return cfg


def invoke(cfg: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)


def test_run_once_turns_the_demo_mailbox_into_cases(embedded, tmp_path):
    result = invoke(embedded, "run", "--once", "--now", "2026-11-23T14:30:00+01:00")
    assert result.exit_code == 0, result.output
    assert "mailbox demo: 14 new message(s) stored" in result.output
    assert "#1001" in result.output and "subject_tag" in result.output
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 8
    again = invoke(embedded, "run", "--once")
    assert "mailbox demo: 0 new message(s) stored" in again.output
    assert "nothing new to process" in again.output
    export = json.loads(invoke(embedded, "export", "--json").output)
    assert len(export["cases"]) == 9
    vpn = next(c for c in export["cases"] if c["ref"] == "1001")
    assert vpn["customer"] == "alice.martin@acme.example"
    assert {m["rule"] for m in vpn["messages"]} == {"new", "subject_tag", "outbox"}
    first = vpn["messages"][0]
    assert {"message_id", "direction", "kind", "from", "to", "date", "rule"} <= set(first)
    # 14:30 Monday + 4 business hours: 2.5 h until 17:00, then 1.5 h from Tuesday 08:00.
    assert vpn["deadlines"]["first_response_due_at"] == "2026-11-24T08:30:00+00:00"
    status = json.loads(invoke(embedded, "status", "--json").output)
    assert status["raw_messages"] == {"processed": 14}
    assert status["outbox"] == {"sent": 8}
    readable = invoke(embedded, "status")
    assert "raw messages: processed 14" in readable.output


def test_doctor_passes_on_the_embedded_default_and_names_what_fails(embedded, monkeypatch):
    assert invoke(embedded, "db", "upgrade").exit_code == 0
    ok = invoke(embedded, "doctor")
    assert ok.exit_code == 0, ok.output
    assert "database" in ok.output and "templates" in ok.output
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MAILPROC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MAILPROC_SMTP_PORT", str(port))
    bad = invoke(embedded, "doctor")
    assert bad.exit_code == 1
    assert f"outgoing: smtp 127.0.0.1:{port}" in bad.output


def test_doctor_reports_a_schema_that_needs_upgrading(embedded, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILPROC_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    result = invoke(embedded, "doctor")
    assert result.exit_code == 1
    assert "run `mailproc db upgrade`" in result.output
    assert "already" not in invoke(embedded, "db", "upgrade").output
    assert "up to date" in invoke(embedded, "db", "upgrade").output


def test_migration_matches_the_models(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_json_logs_are_one_object_per_line(embedded, tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "MAILPROC_SECRET_KEY": "k" * 32, "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "mailproc.cli.main", "--config", str(embedded),
                           "--log-level", "json", "run", "--once"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert lines and all({"at", "level", "logger", "msg"} <= set(e) for e in lines)
    assert any(e["logger"] == "mailproc.runners.inbound" for e in lines)
    assert "cli-test-key" not in proc.stderr and "k" * 32 not in proc.stderr


def test_doctor_warns_when_a_mailbox_routes_to_no_team_while_agents_exist(embedded):
    text = embedded.read_text().replace('team = "helpdesk"\n', "")
    text += ('\n[[agents]]\nname = "Alice Adams"\nkey = "alice"\naddresses = ["alice@example.com"]'
             '\nteam = "helpdesk"\n')
    embedded.write_text(text)
    assert invoke(embedded, "db", "upgrade").exit_code == 0
    result = invoke(embedded, "doctor")
    assert result.exit_code == 0, result.output          # a warning, not a failure
    assert "warn" in result.output and "mailbox demo team" in result.output
    warnings = {c["name"]: c for c in json.loads(invoke(embedded, "doctor", "--json").output)
                if c["warn"]}
    assert set(warnings) == {"mailbox demo team", "retention"}
    warning = warnings["mailbox demo team"]
    assert "no team" in warning["detail"] and warning["ok"] is True
