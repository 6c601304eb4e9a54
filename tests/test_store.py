"""Raw storage: once per (mailbox, key), duplicates by content hash, blobs, checkpoints."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import select

from mailproc.clock import FixedClock
from mailproc.db import core
from mailproc.models import Checkpoint as CheckpointRow, Contact, RawMessage, RawStatus
from mailproc.source.base import Checkpoint, FetchedMessage, imap_source_key
from mailproc.store.raw import RawStore, header_message_id, load_raw

RAW = b"From: a@example.org\r\nMessage-ID: <m1@example.org>\r\nSubject: hi\r\n\r\nbody\r\n"


def fetched(key: str, raw: bytes = RAW, uid: int = 1, uidvalidity: int = 7) -> FetchedMessage:
    return FetchedMessage("box", "INBOX", key, uidvalidity, uid, raw, None)


def make_store(db, tmp_path, threshold=1_000_000) -> RawStore:
    return RawStore(db, FixedClock(), blob_dir=tmp_path / "blobs", blob_threshold=threshold)


def rows(db):
    with db.transaction() as s:
        return s.scalars(select(RawMessage).order_by(RawMessage.id)).all()


def test_batch_is_stored_once_with_checkpoint(db, tmp_path):
    store = make_store(db, tmp_path)
    batch = [fetched("7:1"), fetched("7:2", RAW.replace(b"body", b"other"), uid=2)]
    store.store_batch("box", "INBOX", Checkpoint(7, 2), batch)
    store.store_batch("box", "INBOX", Checkpoint(7, 2), batch)  # a retry after a crash
    stored = rows(db)
    assert [r.source_key for r in stored] == ["7:1", "7:2"]
    assert all(r.status == RawStatus.PENDING for r in stored)
    assert stored[0].sha256 == hashlib.sha256(RAW).hexdigest()
    assert stored[0].header_message_id == "m1@example.org"
    assert store.checkpoint("box", "INBOX") == Checkpoint(7, 2)


def test_same_bytes_under_new_uidvalidity_are_a_duplicate(db, tmp_path):
    store = make_store(db, tmp_path)
    store.store_batch("box", "INBOX", Checkpoint(7, 1), [fetched("7:1")])
    store.store_batch("box", "INBOX", Checkpoint(9, 1), [fetched("9:1", uidvalidity=9)])
    first, again = rows(db)
    assert again.duplicate_of_id == first.id and again.status == RawStatus.PROCESSED
    assert again.data is None
    assert store.checkpoint("box", "INBOX") == Checkpoint(9, 1)


def test_a_mailbox_moved_to_a_folder_with_the_same_uidvalidity_loses_nothing(db, tmp_path):
    # UID 1 of "Support" is not UID 1 of "INBOX", even when the server gave both folders the
    # same UIDVALIDITY: the key names the folder, so the second mail is not skipped as known.
    store = make_store(db, tmp_path)
    other = RAW.replace(b"body", b"the first mail of the new folder")
    store.store_batch("box", "INBOX", Checkpoint(7, 1), [fetched(imap_source_key("INBOX", 7, 1))])
    store.store_batch("box", "Support", Checkpoint(7, 1),
                      [fetched(imap_source_key("Support", 7, 1), other)])
    first, second = rows(db)
    assert (first.source_key, second.source_key) == ("INBOX/7:1", "Support/7:1")
    assert second.status == RawStatus.PENDING and second.duplicate_of_id is None
    long_name = "Support/" + "x" * 300
    assert len(imap_source_key(long_name, 7, 1)) < 500
    assert imap_source_key(long_name, 7, 1) != imap_source_key(long_name + "y", 7, 1)


def test_reused_message_id_with_other_content_is_still_stored(db, tmp_path):
    store = make_store(db, tmp_path)
    other = RAW.replace(b"body", b"a different mail, same Message-ID")
    store.store_batch("box", "INBOX", None, [fetched("7:1"), fetched("7:2", other, uid=2)])
    first, second = rows(db)
    assert first.header_message_id == second.header_message_id
    assert second.duplicate_of_id is None and second.status == RawStatus.PENDING


def test_large_message_goes_to_blob_dir(db, tmp_path):
    store = make_store(db, tmp_path, threshold=10)
    store.store_batch("box", "INBOX", None, [fetched("7:1")])
    (row,) = rows(db)
    assert row.data is None and row.blob_path
    assert load_raw(row) == RAW


def test_checkpoint_never_moves_backwards(db, tmp_path):
    store = make_store(db, tmp_path)
    store.store_batch("box", "INBOX", Checkpoint(7, 10), [])
    store.store_batch("box", "INBOX", Checkpoint(7, 4), [])
    assert store.checkpoint("box", "INBOX") == Checkpoint(7, 10)
    with db.transaction() as s:
        assert s.scalar(select(CheckpointRow.last_uid)) == 10


def test_header_message_id_reads_folded_headers():
    raw = b"Subject: x\r\nMessage-ID:\r\n <folded@example.org>\r\n\r\nMessage-ID: <body@x>\r\n"
    assert header_message_id(raw) == "folded@example.org"
    assert header_message_id(b"Subject: none\r\n\r\n") is None


def test_upgrade_from_the_first_schema_keeps_cases(db, tmp_path):
    """0002 adds cases.merged_into_id to a database made and used under 0001: cases with
    messages and events pointing at them (their foreign keys forbid rebuilding `cases`)."""
    from alembic import command
    from sqlalchemy import inspect, text

    from mailproc.db import alembic_config
    from tests.agent_helpers import agent_app, feed, mail

    command.downgrade(alembic_config(db.engine), "0001")
    assert "merged_into_id" not in {c["name"] for c in inspect(db.engine).get_columns("cases")}
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO cases (ref, status, priority, subject, normalized_subject, team, "
            "assignee, created_at, updated_at, kb_suggestions, resolved_by_kb) VALUES "
            "('1001', 'open', 'normal', 'Printer', 'printer', '', '', :t, :t, '[]', :f)"),
            {"t": datetime(2026, 11, 23, 8, 0), "f": False})
        case_id = conn.execute(text("SELECT id FROM cases")).scalar()
        conn.execute(text("INSERT INTO events (case_id, at, actor, kind, detail, data) "
                          "VALUES (:c, :t, 'test', 'note', 'before the upgrade', '{}')"),
                     {"c": case_id, "t": datetime(2026, 11, 23, 8, 0)})
    db.upgrade()
    assert "merged_into_id" in {c["name"] for c in inspect(db.engine).get_columns("cases")}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT ref, merged_into_id FROM cases")).all() == [
            ("1001", None)]
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
    app = agent_app(db, tmp_path)                  # and the upgraded schema works
    [out] = feed(app, mail(frm="ann@kunde.example", subject="[#1001] still broken",
                           body="The printer is still broken.", to="support@example.com"))
    assert out.result == "processed"


def test_a_nul_or_huge_message_id_cannot_stall_the_batch(db, tmp_path):
    """PostgreSQL refuses NUL in text and index rows over 2,704 bytes: the bookkeeping copy
    of the Message-ID is cleaned and capped, so the whole batch still commits."""
    store = make_store(db, tmp_path)
    nul = RAW.replace(b"<m1@example.org>", b"<m\x001@example.org>")
    huge = RAW.replace(b"<m1@example.org>", ("<" + "ü" * 900 + "@example.org>").encode())
    store.store_batch("box", "INBOX", Checkpoint(7, 3),
                      [fetched("7:1", nul), fetched("7:2", huge, uid=2),
                       fetched("7:3", RAW, uid=3)])
    stored = rows(db)
    assert [r.source_key for r in stored] == ["7:1", "7:2", "7:3"]
    assert stored[0].header_message_id == "m1@example.org"
    assert len(stored[1].header_message_id.encode()) <= 400
    assert [load_raw(r) for r in stored] == [nul, huge, RAW]      # the bytes are untouched


def test_the_same_bytes_from_two_pollers_at_once_are_one_first_copy(db, tmp_path):
    import threading

    barrier = threading.Barrier(2)
    errors = []

    def poll(box: str) -> None:
        try:
            store = make_store(db, tmp_path)
            barrier.wait()
            store.store_batch(box, "INBOX", None,
                              [FetchedMessage(box, "INBOX", "7:1", 7, 1, RAW, None)])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(name,)) for name in ("support", "billing")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = rows(db)
    assert len(stored) == 2
    assert sorted(r.duplicate_of_id is None for r in stored) == [False, True]


def test_postgresql_keeps_large_mail_in_the_database(db, tmp_path):
    """Workers and a standby poller run on other machines: no raw mail on one machine's disk."""
    from tests.helpers import make_app

    app = make_app(db, tmp_path)
    big = RAW + b"x" * (app.settings.storage.blob_threshold_bytes + 10)
    app.raw_store().store_batch("box", "INBOX", None, [fetched("7:1", big)])
    (row,) = rows(db)
    if db.engine.dialect.name == "postgresql":
        assert row.blob_path is None and row.data == big
    else:
        assert row.data is None and row.blob_path    # the embedded default: a file in var/
    assert load_raw(row) == big


def test_postgresql_stores_large_values_with_lz4(pg_db, tmp_path):
    """Raw mail is compressed as PostgreSQL stores it: with lz4, faster than pglz, its
    default; the bytes read back are the bytes stored."""
    from sqlalchemy import text

    with pg_db.engine.connect() as conn:
        assert conn.execute(text("SHOW default_toast_compression")).scalar() == "lz4"
    raw = RAW + b"".join(b"line %d of a long mail body\r\n" % i for i in range(2000))
    make_store(pg_db, tmp_path).store_batch("box", "INBOX", None, [fetched("9:1", raw)])
    with pg_db.engine.connect() as conn:
        method = conn.execute(text("SELECT pg_column_compression(data) FROM raw_messages")).scalar()
    assert method == "lz4"
    assert load_raw(rows(pg_db)[0]) == raw


def test_core_reads_see_what_the_session_has_not_flushed_yet(db):
    """`core(session)` runs a read of columns on the session's connection: it flushes the
    pending objects first, as `session.execute` would, except inside `no_autoflush`."""
    now = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    emails = select(Contact.email).order_by(Contact.email)
    with db.transaction() as session:
        session.add(Contact(email="ana@example.org", name="Ana", phones=[], created_at=now))
        with session.no_autoflush:
            assert core(session).scalars(emails).all() == []
        assert core(session).scalars(emails).all() == ["ana@example.org"]
        session.add(Contact(email="bo@example.org", name="Bo", phones=[], created_at=now))
        assert core(session).scalars(emails).all() == ["ana@example.org", "bo@example.org"]
