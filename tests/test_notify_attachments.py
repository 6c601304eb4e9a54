"""Agents' notifications carry the customer's files up to [outgoing] notify_attachments_bytes;
a bigger file is listed with the command that saves it, and `mailproc attachments REF` gives
every file back byte for byte."""

from __future__ import annotations

import email
import email.policy
import json
import os
from dataclasses import replace

from mailproc.store.messages import forwardable
from tests.agent_helpers import agent_app, feed, mail, outbox
from tests.test_cli import embedded, invoke  # noqa: F401 - the fixture is used by name

LOG = b"vpn client log\n" * 200
VIDEO = os.urandom(3_000_000)
SHOT = os.urandom(200_000)
FILES = [("vpnclient.log", "text/plain", LOG), ("recording.mp4", "video/mp4", VIDEO),
         ("screenshot.png", "image/png", SHOT)]


def test_each_file_that_still_fits_goes_along():
    assert forwardable([5, 20, 4, 1], 10) == [True, False, True, True]
    assert forwardable([5, 20], None) == [True, True]
    assert forwardable([], 0) == []
    assert forwardable([0, 1], 0) == [True, False]


def test_a_file_over_the_budget_is_listed_not_attached(db, tmp_path):
    app = agent_app(db, tmp_path)
    app.settings = replace(app.settings, outgoing=replace(app.settings.outgoing,
                                                          notify_attachments_bytes=1_000_000))
    (outcome,) = feed(app, mail(frm="maria@kunde.example", subject="VPN drops",
                                body="Log and a screen recording attached.", attachments=FILES))
    notes = outbox(app, "agent_notify")
    assert notes
    for note in notes:
        msg = email.message_from_bytes(note.raw, policy=email.policy.default)
        sent = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
        assert sent == {"vpnclient.log": LOG.decode(), "screenshot.png": SHOT}
        lines = msg.get_body(("plain",)).get_content().splitlines()
        files = [line for line in lines if line.startswith("- ")]
        assert files[0] == "- vpnclient.log (3.0 kB)" and files[2] == "- screenshot.png (200.0 kB)"
        assert " ".join(" ".join(lines).split()).count(
            f"- recording.mp4 (3.0 MB): too big to send on by mail, kept with the case "
            f"(mailproc attachments {outcome.case_ref} --save DIR) - screenshot.png") == 1
        html = msg.get_body(("html",)).get_content()
        assert "too big to send on by mail" in html


def test_the_default_budget_forwards_ordinary_files(db, tmp_path):
    app = agent_app(db, tmp_path)
    feed(app, mail(frm="maria@kunde.example", subject="VPN drops", body="Files attached.",
                   attachments=FILES))
    for note in outbox(app, "agent_notify"):
        msg = email.message_from_bytes(note.raw, policy=email.policy.default)
        assert len(list(msg.iter_attachments())) == 3
        assert "too big" not in msg.get_body(("plain",)).get_content()


def test_attachments_lists_and_saves_a_cases_files(embedded, tmp_path):  # noqa: F811
    maildir = tmp_path / "var" / "maildir"
    assert invoke(embedded, "run", "--once", "--now", "2026-11-23T14:30:00+01:00").exit_code == 0
    raw = mail(frm="maria@kunde.example", subject="Recording of the VPN drop",
               body="See the recording.", attachments=FILES)
    (maildir / "new" / "1700000000.big.host").write_bytes(raw)
    assert invoke(embedded, "run", "--once", "--now", "2026-11-23T15:00:00+01:00").exit_code == 0
    cases = json.loads(invoke(embedded, "export", "--json").output)["cases"]
    ref = next(c["ref"] for c in cases if c["subject"] == "Recording of the VPN drop")
    folder = tmp_path / "saved"
    (folder / "vpnclient.log").parent.mkdir()
    (folder / "vpnclient.log").write_bytes(b"an agent's own file")
    result = invoke(embedded, "attachments", ref, "--save", str(folder), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["filename"], r["size"]) for r in rows] == [(n, len(d)) for n, _, d in FILES]
    assert (folder / "vpnclient.log").read_bytes() == b"an agent's own file"   # not overwritten
    saved = {r["filename"]: (tmp_path / r["saved_as"]).read_bytes() for r in rows}
    assert saved == {n: d for n, _, d in FILES}
    assert rows[0]["saved_as"].endswith("vpnclient-2.log")
    table = invoke(embedded, "attachments", f"#{ref}").output
    assert "recording.mp4" in table and "video/mp4" in table and "3000000" in table
    missing = invoke(embedded, "attachments", "99999")
    assert missing.exit_code != 0 and "no case with reference #99999" in missing.output
    assert invoke(embedded, "attachments", "1001").output.strip() == \
        "case #1001 has no attachments"
