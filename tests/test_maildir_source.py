"""MaildirSource on a real directory tree, fed with real mail from the notmuch corpus."""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailproc.errors import SourceError
from mailproc.source.maildir import MaildirSource, unique_name
from tests.test_imap_source import Crash, MemorySink

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "threads" / "notmuch-default"


def corpus_messages(n: int) -> list[bytes]:
    files = sorted(p for p in (CORPUS / "cur").iterdir() if p.is_file())
    assert len(files) >= n, f"corpus missing at {CORPUS}"
    return [p.read_bytes() for p in files[:n]]


def deliver(maildir: Path, name: str, raw: bytes, sub: str = "new", mtime: float | None = None) -> Path:
    """Deliver like an MTA: write in tmp/, then rename into place."""
    tmp = maildir / "tmp" / name.split(":")[0]
    tmp.write_bytes(raw)
    final = maildir / sub / name
    os.rename(tmp, final)
    if mtime is not None:
        os.utime(final, (mtime, mtime))
    return final


@pytest.fixture
def maildir(tmp_path) -> Path:
    path = tmp_path / "Maildir"
    MaildirSource("embedded", path).ensure()
    return path


def test_creates_a_missing_maildir(tmp_path):
    path = tmp_path / "fresh" / "Maildir"
    assert MaildirSource("embedded", path).poll_once(MemorySink()) == 0
    assert all((path / sub).is_dir() for sub in ("new", "cur", "tmp"))
    assert (path / ".Processed" / "cur").is_dir()


def test_stores_new_and_unprocessed_cur_in_batches_then_moves_them(maildir):
    raws = corpus_messages(5)
    for i, raw in enumerate(raws[:3]):
        deliver(maildir, f"100{i}.M1P1.host", raw, mtime=1_700_000_000 + i)
    deliver(maildir, "1003.M1P1.host:2,S", raws[3], sub="cur", mtime=1_700_000_003)  # read by a client
    deliver(maildir, "1004.M1P1.host:2,", raws[4], sub="cur", mtime=1_700_000_004)
    sink = MemorySink()
    source = MaildirSource("embedded", maildir, batch_size=2)

    assert source.poll_once(sink) == 5
    assert [len(b) for b in sink.batches] == [2, 2, 1]
    assert sink.batches[0] == ["1000.M1P1.host", "1001.M1P1.host"]  # oldest first, no info suffix
    assert [sink.by_key[("embedded", f"100{i}.M1P1.host")] for i in range(5)] == raws
    assert sink.checkpoints == {}
    assert os.listdir(maildir / "new") == [] and os.listdir(maildir / "cur") == []
    assert sorted(os.listdir(maildir / ".Processed" / "cur")) == [
        "1000.M1P1.host:2,", "1001.M1P1.host:2,", "1002.M1P1.host:2,", "1003.M1P1.host:2,S", "1004.M1P1.host:2,",
    ]
    assert source.poll_once(sink) == 0
    assert sink.attempts[-1] == ("embedded", "maildir", True, None)


def test_fetched_message_fields(maildir):
    raw = corpus_messages(1)[0]
    deliver(maildir, "2000.M1P1.host", raw, mtime=1_700_000_000)
    seen = []

    class Spy(MemorySink):
        def store_batch(self, mailbox, folder, checkpoint, messages):
            seen.extend(messages)
            super().store_batch(mailbox, folder, checkpoint, messages)

    MaildirSource("embedded", maildir).poll_once(Spy())
    (m,) = seen
    assert (m.mailbox, m.source_key, m.uid, m.uidvalidity, m.raw) == ("embedded", "2000.M1P1.host", None, None, raw)
    assert m.internal_date_at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_tmp_is_ignored_until_delivered(maildir):
    (maildir / "tmp" / "3000.M1P1.host").write_bytes(b"Subject: half written\r\n")
    assert MaildirSource("embedded", maildir).poll_once(MemorySink()) == 0
    assert os.listdir(maildir / "tmp") == ["3000.M1P1.host"]


def test_crash_between_store_and_mark(maildir):
    raws = corpus_messages(3)
    for i, raw in enumerate(raws):
        deliver(maildir, f"400{i}.M1P1.host", raw)
    sink = MemorySink()
    sink.crash_after_store = True
    with pytest.raises(Crash):
        MaildirSource("embedded", maildir).poll_once(sink)
    assert len(sink.by_key) == 3 and len(os.listdir(maildir / "new")) == 3

    # a client renamed one to cur/ meanwhile: the unique name keeps it the same message
    os.rename(maildir / "new" / "4001.M1P1.host", maildir / "cur" / "4001.M1P1.host:2,S")
    assert MaildirSource("embedded", maildir).poll_once(sink) == 3
    assert sink.new_per_batch[-1] == 0
    assert len(os.listdir(maildir / ".Processed" / "cur")) == 3


def test_directory_in_place_of_a_message_does_not_stall_the_rest(maildir):
    raws = corpus_messages(2)
    deliver(maildir, "5000.M1P1.host", raws[0])
    (maildir / "new" / "5001.M1P1.host").mkdir()  # not a regular file: never read
    deliver(maildir, "5002.M1P1.host", raws[1])
    sink = MemorySink()
    source = MaildirSource("embedded", maildir)
    assert source.poll_once(sink) == 2
    assert os.listdir(maildir / "new") == ["5001.M1P1.host"]
    started = time.monotonic()
    source.wait_for_mail(0.3)  # the stuck entry must not turn the wait into a busy loop
    assert time.monotonic() - started >= 0.3


def test_unusable_path_is_a_source_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    sink = MemorySink()
    with pytest.raises(SourceError, match="not usable"):
        MaildirSource("embedded", blocker / "Maildir").poll_once(sink)
    assert sink.attempts[-1][:3] == ("embedded", "maildir", False)


def test_wait_for_mail_wakes_on_delivery(maildir):
    source = MaildirSource("embedded", maildir)
    source.poll_once(MemorySink())
    raw = corpus_messages(1)[0]
    delivered = []

    def later():
        deliver(maildir, "6000.M1P1.host", raw)
        delivered.append(time.monotonic())

    timer = threading.Timer(0.3, later)
    timer.start()
    started = time.monotonic()
    source.wait_for_mail(10.0)
    woke = time.monotonic()
    timer.join()
    assert woke - started < 5.0 and woke - delivered[0] < 1.0


def test_wait_for_mail_times_out_without_mail(maildir):
    source = MaildirSource("embedded", maildir)
    started = time.monotonic()
    source.wait_for_mail(0.3)
    assert 0.3 <= time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("1.M2P3.host", "1.M2P3.host"), ("1.M2P3.host:2,S", "1.M2P3.host"), ("1.M2P3.host:2,", "1.M2P3.host"),
     ("1.M2P3.host!2,FS", "1.M2P3.host"), ("odd:name", "odd:name")],
)
def test_unique_name(filename, expected):
    assert unique_name(filename) == expected


def test_corpus_maildir_copy_is_ingested_completely(tmp_path):
    path = tmp_path / "Maildir"
    shutil.copytree(CORPUS / "cur", path / "cur")
    shutil.copytree(CORPUS / "new", path / "new")
    expected = len(os.listdir(path / "cur")) + len(os.listdir(path / "new"))
    sink = MemorySink()
    assert MaildirSource("embedded", path, batch_size=10).poll_once(sink) == expected
    assert len(sink.by_key) == expected
