"""The whole loop with a real mail client: Debian's mutt replies to a notification (driven in
tmux), its mail goes through aiosmtpd and Dovecot into mailproc and out to the customer."""

from __future__ import annotations

import shutil
import subprocess
import time
from email import policy
from email.parser import BytesParser

import pytest

from mailproc.ops.export import export_cases
from tests.agent_helpers import SUPPORT, mail
from tests.test_relay import customer_mail, deliver, poll, smtp_app

REPLY = "Hi Maria,\n\nthe VPN profile was outdated. I pushed a new one; restart the client once.\n\nAlice\n"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: `apt-get install -y mutt tmux` (make services does)")
    return path


def mutt_reply(tmp_path, notification: bytes, smtp_port: int, text: str) -> None:
    """Open the notification in mutt, press r, let the 'editor' top-post `text`, press y."""
    _require("mutt")
    tmux = _require("tmux")
    box = tmp_path / "notifications.mbox"
    body = notification.replace(b"\r\n", b"\n")
    body = b"\n".join(b">" + line if line.startswith(b"From ") else line
                      for line in body.split(b"\n"))
    box.write_bytes(b"From support@example.com Mon Nov 23 09:00:00 2026\n" + body + b"\n\n")
    (tmp_path / "reply.txt").write_text(text + "\n")
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\ncat "{tmp_path}/reply.txt" "$1" > "$1.new" && mv "$1.new" "$1"\n')
    editor.chmod(0o755)
    rc = tmp_path / "muttrc"
    rc.write_text("\n".join([
        f'set folder="{tmp_path}"', f'set spoolfile="{box}"', 'set from="alice@example.com"', 'set realname="Alice Adams"', "set use_from=yes",
        f'set smtp_url="smtp://127.0.0.1:{smtp_port}/"', f'set editor="{editor}"',
        "set reply_to=yes", "set ssl_starttls=no", "set ssl_force_tls=no", "set fast_reply=yes", "set include=yes", "set edit_headers=no", "set askcc=no",
        "set askbcc=no", "set copy=no", 'set record=""', "set postpone=no", "set sig_dashes=no",
        'set signature="/dev/null"', "set hostname=example.com", "set sleep_time=0",
        "set wait_key=no", "set move=no", "set mark_old=no", "set confirmappend=no",
        "set mbox_type=mbox", "set charset=utf-8", "set send_charset=utf-8", ""]))
    session = f"mutt{time.monotonic_ns()}"
    env = {"TERM": "xterm", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                    f"mutt -n -F {rc} -f {box}"], check=True, env=env, timeout=20)
    def screen() -> str:
        return subprocess.run([tmux, "capture-pane", "-p", "-t", session], env=env,
                              capture_output=True, text=True, timeout=10).stdout

    def wait_screen(text: str) -> str:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            shown = screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"mutt never showed {text!r}:\n{shown}")

    def send(keys: str) -> None:
        subprocess.run([tmux, "send-keys", "-t", session, keys], check=True, env=env,
                       timeout=10)

    try:
        wait_screen("[#1001]")               # the index, with the message to answer
        send("r")
        try:
            wait_screen("Mutt: Compose")
        except AssertionError:
            # On a loaded machine mutt can draw its index before it reads keys: an "r" it
            # never saw leaves the index as it was (no prompt, no compose screen).
            if "q:Quit" not in screen() or "Compose" in screen():
                raise
            send("r")
            wait_screen("Mutt: Compose")
        send("y")
        shown = wait_screen("Mail sent.")
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], env=env, timeout=10)
    assert "rror" not in shown, shown


def _export(app):
    with app.db.transaction() as s:
        return export_cases(s)["cases"]


def test_mutt_reply_reaches_the_customer_and_note_and_forgery_do_not(db, tmp_path, smtp_sink,
                                                                      imap_account):
    app = smtp_app(db, tmp_path, smtp_sink)
    imap_account.append(customer_mail())
    poll(app, imap_account)
    sent = deliver(app, smtp_sink, 2)
    (notification,) = [m for m in sent if m.rcpt_tos == ("alice@example.com",)]

    mutt_reply(tmp_path, notification.raw, smtp_sink.port, REPLY)
    (from_mutt,) = smtp_sink.wait_for(len(sent) + 1, timeout=15)[len(sent):]
    assert from_mutt.rcpt_tos == (notification.message["Reply-To"],)
    assert "Mutt" in from_mutt.message.get("User-Agent", "Mutt")
    imap_account.append(from_mutt.raw)
    poll(app, imap_account)
    (relay,) = deliver(app, smtp_sink, 1)
    assert sorted(relay.rcpt_tos) == ["maria@kunde.example", "tom@kunde.example"]
    assert relay.message["In-Reply-To"] == "<cust-1@kunde.example>"
    assert relay.message["From"].addresses[0].display_name == "Alice Adams via Example Support"
    text = relay.message.get_body(("plain",)).get_content()
    assert "restart the client once" in " ".join(text.split())
    assert "My VPN drops" not in text and "\n>" not in text

    # An internal note from mutt: the team sees it, no customer does.
    mutt_reply(tmp_path, notification.raw, smtp_sink.port, "#note\nThe profile server was down.")
    before = len(smtp_sink.messages)
    (note_mail,) = smtp_sink.wait_for(before, timeout=15)[before - 1:]
    imap_account.append(note_mail.raw)
    # An outsider forges Alice's address and tries to close the case.
    imap_account.append(mail(frm="Alice Adams <alice@example.com>", to=SUPPORT,
                             subject="Re: [#1001] VPN keeps dropping",
                             in_reply_to="<cust-1@kunde.example>",
                             body="#status closed\n\nClosing this."))
    poll(app, imap_account)
    results = deliver(app, smtp_sink, 2)
    assert all("kunde.example" not in ",".join(m.rcpt_tos) for m in results)
    (case,) = _export(app)
    assert case["status"] == "open"
    kinds = [e["kind"] for e in case["events"]]
    assert kinds.count("security") == 1 and "note" in kinds and "first_response" in kinds
    notes = [m for m in case["messages"] if m.get("internal")]
    assert len(notes) == 1 and "profile server" in notes[0]["new_text"]
    parsed = BytesParser(policy=policy.default).parsebytes(from_mutt.raw)
    assert parsed["To"] == notification.message["Reply-To"]
