"""A person's data by their mail address: `mailproc privacy export` holds every item, and
after `erase` no table, file, log line or Redis key holds a trace, while the case count and
the report's figures stay as they were (issue 19), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import replace
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from mailproc.models import Base, Case, Contact, Event, OutboundMail, OutboxStatus, Participant
from mailproc.ops.erase import erase_person, vacuum_sqlite
from mailproc.ops.privacy import address_hash, export_person
from mailproc.reports.period import Period
from mailproc.reports.report import build_report
from mailproc.runners.embedded import deliver_all
from tests.agent_helpers import agent_app, feed, mail, outbox
from tests.test_cli import embedded, invoke  # noqa: F401 - the fixture is used by name

MARIA = "maria.keller@kunde.example"
COLLEAGUE = "jonas.weber@kunde.example"
SENTENCE = "The purple giraffe router blinks twice before it drops."
PHONE = "+49 30 12345678"
SECRET_FILE = b"maria's vpn profile: secret-7f3a\n" * 100


def history(db, tmp_path):
    """Maria writes three mails (an attachment and a phone number in the signature; one
    copied to a colleague), an agent answers, an internal note is left."""
    app = agent_app(db, tmp_path)
    # mail over 4 kB goes to the blob store in var/, so erasing has to find it there too
    app.settings = replace(app.settings, storage=replace(app.settings.storage,
                                                         blob_threshold_bytes=4000))
    feed(app, mail(frm=f"Maria Keller <{MARIA}>", subject="VPN drops", msgid="<m1@kunde.example>",
                   body=f"{SENTENCE}\n\n--\nMaria Keller\nKunde GmbH\nTel. {PHONE}\n",
                   attachments=[("vpn.ovpn", "application/octet-stream", SECRET_FILE)]))
    (note,) = outbox(app, "agent_notify")
    note = message_from_bytes(note.raw, policy=policy.default)
    feed(app, mail(frm=f"Maria Keller <{MARIA}>", cc=f"Jonas Weber <{COLLEAGUE}>",
                   subject="Re: VPN drops", msgid="<m2@kunde.example>",
                   in_reply_to="<m1@kunde.example>", body="Jonas sees it too."))
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=note["Reply-To"],
                   subject="Re: " + note["Subject"], in_reply_to=note["Message-ID"],
                   body="Hello Maria, please update the client to 5.2."))
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=note["Reply-To"],
                   subject="Re: " + note["Subject"], in_reply_to=note["Message-ID"],
                   body="#note\nShe is on the old firmware."))
    feed(app, mail(frm=f"Maria Keller <{MARIA}>", subject="Printer on floor 3",
                   msgid="<m3@kunde.example>", body="The printer jams."))
    return app


def test_export_holds_every_item(db, tmp_path):
    app = history(db, tmp_path)
    out = tmp_path / "maria.zip"
    with app.db.transaction() as s:
        summary = export_person(app, s, [MARIA.upper()], out, actor="dpo")
    assert summary["cases"] == 2 and summary["mail"] == 3 and summary["contacts"] == 1
    assert summary["internal_notes_left_out"] == 1
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        readme = archive.read("README.txt").decode()
        person = json.loads(archive.read("person.json"))
        cases = json.loads(archive.read("cases.json"))
        received = [archive.read(n) for n in names if n.startswith("mail/")]
        sent = [archive.read(n) for n in names if n.startswith("outgoing/")]
    assert MARIA in readme and "internal notes (1 on these cases)" in readme
    (contact,) = person["contacts"]
    assert contact["email"] == MARIA and contact["name"] == "Maria Keller"
    (phone,) = contact["phones"]
    assert phone["number"].replace(" ", "").endswith("3012345678")
    assert [m["message_id"] for m in phone["learnt_from"]] == ["m1@kunde.example"]
    vpn, printer = cases
    assert (vpn["role"], printer["role"]) == ("customer", "customer")
    texts = [m["text"] for m in vpn["messages"]]
    assert any(SENTENCE in t for t in texts) and any("update the client" in t for t in texts)
    assert not any("old firmware" in t for t in texts)                  # the internal note
    assert vpn["messages"][0]["attachments"] == [
        {"filename": "vpn.ovpn", "type": "application/octet-stream", "size": len(SECRET_FILE)}]
    assert {o["kind"] for o in vpn["outgoing"]} >= {"ack", "relay", "agent_notify"}
    assert all(o["status"] for o in vpn["outgoing"]) and vpn["first_response_due_at"]
    assert any(e["kind"] == "status" or e["kind"].startswith("ack") for e in vpn["events"])
    assert not any(e["kind"] == "note" for e in vpn["events"])
    assert len(received) == 3
    files = [part.get_content() for r in received
             for part in message_from_bytes(r, policy=policy.default).iter_attachments()]
    assert files == [SECRET_FILE]
    assert any(SENTENCE.encode() in r and PHONE.encode() in r for r in received)
    to_maria = [message_from_bytes(r, policy=policy.default) for r in sent]
    assert to_maria and all(MARIA in m["To"] for m in to_maria)
    assert any("update the client" in m.get_body(("plain",)).get_content() for m in to_maria)


def test_a_copied_colleague_gets_only_what_concerns_them(db, tmp_path):
    app = history(db, tmp_path)
    with app.db.transaction() as s:
        summary = export_person(app, s, [COLLEAGUE], tmp_path / "jonas.zip", actor="dpo")
    with zipfile.ZipFile(tmp_path / "jonas.zip") as archive:
        (case,) = json.loads(archive.read("cases.json"))
    assert summary["cases"] == 1 and summary["mail"] == 1 and case["role"] == "copied"


def test_export_on_the_command_line(embedded, tmp_path):  # noqa: F811
    assert invoke(embedded, "run", "--once", "--now", "2026-11-23T14:30:00+01:00").exit_code == 0
    out = tmp_path / "alice.zip"
    result = invoke(embedded, "privacy", "export", "alice.martin@acme.example", "--out",
                    str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["cases"] >= 1 and summary["mail"] >= 2 and out.exists()
    bad = invoke(embedded, "privacy", "export", "not-an-address", "--out", str(out))
    assert bad.exit_code == 2 and "not a mail address: not-an-address" in bad.output
    assert "--out" in invoke(embedded, "privacy", "export", "--help").output


def traces(value) -> list[str]:
    """Which of the person's traces a stored value holds."""
    data = value if isinstance(value, bytes) else str(value).encode()
    data = data.lower()
    found = [t for t, needle in (("address", MARIA.encode()), ("name", b"maria keller"),
                                 ("phone", b"12345678"), ("file", b"secret-7f3a"),
                                 ("sentence", b"purple giraffe")) if needle in data]
    return found


def scan_database(db) -> list[tuple[str, str, list[str]]]:
    hits = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in zip(table.columns, row):
                    if value is not None and (found := traces(value)):
                        hits.append((table.name, column.name, found))
    return hits


def test_erase_leaves_no_trace_and_the_figures_unchanged(db, tmp_path, redis_url, caplog):
    caplog.set_level(logging.DEBUG)
    app = history(db, tmp_path)
    app.settings = replace(app.settings, redis_url=redis_url)
    deliver_all(app)                                   # the file transport writes .eml files
    conn = redis.Redis.from_url(redis_url)
    conn.set(f"plugin-cache:{MARIA}", "x")
    conn.set("plugin-cache:someone-else@kunde.example", "y")
    period = Period(date(2026, 11, 16), date(2026, 11, 29), "Europe/Berlin")
    with app.db.transaction() as s:
        before = build_report(app, s, period, topics=False)
        jonas = s.scalar(select(Contact).where(Contact.email == COLLEAGUE))
        colleague = (jonas.name, s.scalar(select(func.count()).select_from(Participant)
                                          .where(Participant.contact_id == jonas.id)))
        cases = s.scalar(select(func.count()).select_from(Case))
    assert scan_database(db) and any(traces(p.read_bytes()) for p in outbox_files(app))
    if db.engine.dialect.name == "sqlite":         # PostgreSQL keeps every message in itself
        blobs = [p for p in (app.settings.var_path / "blobs").rglob("*") if p.is_file()]
        assert any("sentence" in traces(p.read_bytes()) for p in blobs)

    with app.db.transaction() as s:
        dry = erase_person(app, s, [MARIA], actor="dpo", dry_run=True)
    assert dry.messages >= 5 and dry.files and scan_database(db)      # a dry run changes nothing
    with app.db.transaction() as s:
        done = erase_person(app, s, [MARIA], actor="dpo")
    vacuum_sqlite(app.db)
    assert len(done.cases_blanked) == 2 and done.contacts == 1 and done.attachments == 1
    assert scan_database(db) == []
    assert not any(traces(p.read_bytes()) for p in outbox_files(app))
    assert not any(traces(p.read_bytes()) for p in (app.settings.var_path).rglob("*")
                   if p.is_file())
    assert not traces(caplog.text)
    assert conn.get(f"plugin-cache:{MARIA}") is None
    assert conn.get("plugin-cache:someone-else@kunde.example") == b"y"
    if db.engine.dialect.name == "sqlite":
        files = [Path(db.engine.url.database), Path(db.engine.url.database + "-wal")]
        assert not any(traces(p.read_bytes()) for p in files if p.exists())
    with app.db.transaction() as s:
        assert build_report(app, s, period, topics=False) == before
        jonas = s.scalar(select(Contact).where(Contact.email == COLLEAGUE))
        assert (jonas.name, s.scalar(select(func.count()).select_from(Participant)
                                     .where(Participant.contact_id == jonas.id))) == colleague
        assert s.scalar(select(func.count()).select_from(Case)) == cases
        event = s.scalar(select(Event).where(Event.kind == "privacy_erased"))
        assert event.actor == "dpo" and event.data["address_hashes"] == [
            address_hash(app, MARIA)]
        assert s.scalar(select(func.count()).select_from(OutboundMail).where(
            OutboundMail.status == OutboxStatus.PENDING)) == 0


def test_agents_and_the_support_address_are_refused(db, tmp_path):
    app = history(db, tmp_path)
    for address in ("alice@example.com", "support@example.com"):
        with app.db.transaction() as s, pytest.raises(ValueError, match="not erased"):
            erase_person(app, s, [address], actor="dpo")


def outbox_files(app) -> list[Path]:
    return list((app.settings.var_path / app.settings.outgoing.file_dir).glob("*.eml"))
