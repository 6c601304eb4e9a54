"""Attachments encoded and messages written at C speed (mailproc.outbox.wire) give the very
bytes the stdlib gives, and a 40 MB file goes out intact."""

from __future__ import annotations

import email
import email.policy
import hashlib
import os

import pytest

from mailproc.outbox.mime import POLICY
from mailproc.outbox.wire import add_attachment, as_bytes

FILES = [b"", b"x", b"ab", b"abc", os.urandom(57), os.urandom(58), os.urandom(10_000),
         "Grüße\r\nzweite Zeile\rdritte\n".encode()]


def message(files, add) -> email.message.EmailMessage:
    msg = email.message.EmailMessage(policy=POLICY)
    msg["Subject"], msg["From"], msg["To"] = "Files", "a@example.com", "b@example.com"
    msg.set_content("Text with\r\nmixed\rline\nendings.\n")
    msg.add_alternative("<p>Hello</p>\n", subtype="html")
    for n, data in enumerate(files):
        add(msg, data, maintype="application", subtype="octet-stream",
            filename=f"Bericht {n} – März.bin")
    return msg


def stdlib_add(msg, data, **kw):
    msg.add_attachment(data, **kw)


def fix_boundaries(msg) -> None:
    for n, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"boundary-{n}")


@pytest.mark.parametrize("policy", [POLICY, POLICY.clone(utf8=True)], ids=["7bit", "utf8"])
def test_the_same_bytes_as_the_stdlib(policy):
    ours, theirs = message(FILES, add_attachment), message(FILES, stdlib_add)
    fix_boundaries(ours)
    fix_boundaries(theirs)
    assert as_bytes(ours, policy) == theirs.as_bytes(policy=policy)


def test_boundaries_are_made_up_when_missing_and_the_files_come_back():
    msg = message(FILES, add_attachment)
    raw = as_bytes(msg, POLICY)
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert [p.get_content() for p in back.iter_attachments()] == FILES
    boundaries = {p.get_boundary() for p in back.walk() if p.is_multipart()}
    assert len(boundaries) == 2 and all(b.startswith("=_") for b in boundaries)


def test_forty_megabytes_go_out_intact_in_short_crlf_lines():
    data = os.urandom(40_000_000)
    msg = message([data], add_attachment)
    raw = as_bytes(msg, POLICY)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert b"\n" not in raw.replace(b"\r\n", b"")
    [back] = email.message_from_bytes(raw, policy=email.policy.default).iter_attachments()
    assert hashlib.sha256(back.get_content()).digest() == hashlib.sha256(data).digest()
