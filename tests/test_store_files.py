"""Attachments are stored once per content: the same bytes in one mail, in two mails of one
batch, and in a later batch are one blob, each file its own attachment row, in order."""

from __future__ import annotations

from sqlalchemy import func, select

from mailproc.models import Attachment, Blob, Message
from mailproc.store.messages import message_attachments
from tests.agent_helpers import agent_app, feed, mail

LOG = b"2026-12-06 10:00 VPN dropped\n" * 200
SHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def test_same_bytes_are_one_blob_and_every_file_keeps_its_row(db, tmp_path):
    app = agent_app(db, tmp_path)
    feed(app,
         mail(frm="ann@kunde.example", subject="VPN drops", body="Logs attached.",
              attachments=[("vpn.log", "text/plain", LOG), ("again.log", "text/plain", LOG),
                           ("screen.png", "image/png", SHOT)]),
         mail(frm="bob@kunde.example", subject="VPN drops too", body="Same here.",
              attachments=[("mine.log", "text/plain", LOG)]))
    feed(app, mail(frm="cem@kunde.example", subject="Screenshot", body="See the picture.",
                   attachments=[("screen.png", "image/png", SHOT)]))
    with app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Blob)) == 2
        assert sorted(s.scalars(select(Blob.size))) == sorted([len(LOG), len(SHOT)])
        files = {sender: [(name, data) for name, _, data in message_attachments(s, pk)]
                 for pk, sender in s.execute(select(Message.id, Message.from_addr))}
        assert s.scalar(select(func.count()).select_from(Attachment)) == 5
    assert files == {
        "ann@kunde.example": [("vpn.log", LOG), ("again.log", LOG), ("screen.png", SHOT)],
        "bob@kunde.example": [("mine.log", LOG)],
        "cem@kunde.example": [("screen.png", SHOT)],
    }
