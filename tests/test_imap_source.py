"""ImapSource against a real Dovecot: batches, checkpoints, marking, crash safety, UIDVALIDITY, IDLE."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mailproc.credentials import resolve_secret
from mailproc.errors import ConfigError, SourceAuthError, SourceError
from mailproc.source.backoff import backoff_delay
from mailproc.source.base import Checkpoint, run_source
from mailproc.source.imap import UNREADABLE_ROUNDS, ImapSettings, ImapSource
from tests.servers import free_port

FLAG = "$MailprocProcessed"


class Crash(Exception):
    """Stands for the process dying right after the store committed."""


class MemorySink:
    """Test double for the database store: dedupes on (mailbox, source_key) and content hash."""

    def __init__(self) -> None:
        self.checkpoints: dict[tuple[str, str], Checkpoint] = {}
        self.by_key: dict[tuple[str, str], bytes] = {}
        self.hashes: set[str] = set()
        self.batches: list[list[str]] = []
        self.new_per_batch: list[int] = []
        self.attempts: list[tuple[str, str, bool, str | None]] = []
        self.crash_after_store = False

    def checkpoint(self, mailbox, folder):
        return self.checkpoints.get((mailbox, folder))

    def store_batch(self, mailbox, folder, checkpoint, messages):
        new = 0
        for m in messages:
            digest = hashlib.sha256(m.raw).hexdigest()
            if (mailbox, m.source_key) in self.by_key or digest in self.hashes:
                continue
            self.by_key[(mailbox, m.source_key)] = m.raw
            self.hashes.add(digest)
            new += 1
        if checkpoint is not None:
            self.checkpoints[(mailbox, folder)] = checkpoint
        self.batches.append([m.source_key for m in messages])
        self.new_per_batch.append(new)
        if self.crash_after_store:
            self.crash_after_store = False
            raise Crash("killed after commit")

    def record_attempt(self, mailbox, transport, ok, error):
        self.attempts.append((mailbox, transport, ok, error))


def mail(n: int, subject: str = "help") -> bytes:
    return (
        f"From: customer{n}@example.org\r\nTo: support@example.com\r\nSubject: {subject} {n}\r\n"
        f"Message-ID: <m{n}.{subject}@example.org>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
        f"Message number {n}.\r\n"
    ).encode()


def settings_for(account, **overrides) -> ImapSettings:
    base = ImapSettings(
        name="support", host=account.host, port=account.port, user=account.user,
        security="plain", password=account.password, timeout=10.0,
    )
    return replace(base, **overrides)


@pytest.fixture
def source_factory():
    made = []

    def make(account, **overrides) -> ImapSource:
        source = ImapSource(settings_for(account, **overrides))
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def test_batches_checkpoint_and_peek(imap_account, source_factory):
    when = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    raws = [mail(i) for i in range(5)]
    uids = [imap_account.append(raw, msg_time=when) for raw in raws]
    sink = MemorySink()
    source = source_factory(imap_account, batch_size=2)

    assert source.poll_once(sink) == 5
    assert [len(b) for b in sink.batches] == [2, 2, 1]
    uidvalidity = sink.checkpoints[("support", "INBOX")].uidvalidity
    assert sink.checkpoints[("support", "INBOX")] == Checkpoint(uidvalidity, max(uids))
    assert [sink.by_key[("support", f"INBOX/{uidvalidity}:{u}")] for u in uids] == raws
    flags = imap_account.flags()
    assert all(FLAG in flags[u] and "\\Seen" not in flags[u] for u in uids)
    assert sink.attempts[-1] == ("support", "imap", True, None)


def test_fetched_message_fields(imap_account, source_factory):
    when = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    uid = imap_account.append(mail(1), msg_time=when)
    seen = []

    class Spy(MemorySink):
        def store_batch(self, mailbox, folder, checkpoint, messages):
            seen.extend(messages)
            super().store_batch(mailbox, folder, checkpoint, messages)

    source_factory(imap_account).poll_once(Spy())
    (m,) = seen
    assert (m.mailbox, m.folder, m.uid, m.raw) == ("support", "INBOX", uid, mail(1))
    assert m.source_key == f"INBOX/{m.uidvalidity}:{uid}"
    assert m.internal_date_at == when and m.internal_date_at.utcoffset().total_seconds() == 0
    assert "Message number" not in repr(m)


def test_second_poll_takes_only_new_mail(imap_account, source_factory):
    imap_account.append(mail(1))
    sink = MemorySink()
    source = source_factory(imap_account)
    assert source.poll_once(sink) == 1
    assert source.poll_once(sink) == 0
    new_uid = imap_account.append(mail(2))
    assert source.poll_once(sink) == 1
    assert sink.batches[-1] == [f"INBOX/{sink.checkpoints[('support', 'INBOX')].uidvalidity}:{new_uid}"]
    assert sink.checkpoints[("support", "INBOX")].last_uid == new_uid


@pytest.mark.parametrize("force_copy_expunge", [False, True])
def test_move_mode_moves_to_created_folder(imap_account, source_factory, caplog, force_copy_expunge):
    for i in range(3):
        imap_account.append(mail(i))
    sink = MemorySink()
    source = source_factory(imap_account, processed_action="move", move_to="Done", force_copy_expunge=force_copy_expunge)
    with caplog.at_level(logging.DEBUG, logger="mailproc.source.imap"):
        assert source.poll_once(sink) == 3
    assert imap_account.uids("INBOX") == []
    assert len(imap_account.uids("Done")) == 3
    assert ("COPY + EXPUNGE" in caplog.text) is force_copy_expunge
    assert all("\\Seen" not in f and "\\Deleted" not in f for f in imap_account.flags("Done").values())
    assert source.poll_once(sink) == 0


@pytest.mark.parametrize("action", ["flag", "move"])
def test_crash_between_store_and_mark_is_finished_next_round(imap_account, source_factory, action):
    for i in range(3):
        imap_account.append(mail(i))
    sink = MemorySink()
    sink.crash_after_store = True
    with pytest.raises(Crash):
        source_factory(imap_account, processed_action=action).poll_once(sink)
    assert len(sink.by_key) == 3
    assert all(FLAG not in f for f in imap_account.flags().values())  # nothing marked yet

    restarted = source_factory(imap_account, processed_action=action)  # a new process
    assert restarted.poll_once(sink) == 3  # the leftovers are handed over again...
    assert sink.new_per_batch[-1] == 0  # ...and deduped: nothing new stored
    if action == "flag":
        assert all(FLAG in f for f in imap_account.flags().values())
    else:
        assert imap_account.uids("INBOX") == [] and len(imap_account.uids("Processed")) == 3
    assert restarted.poll_once(sink) == 0


def _file_of(account, needle: bytes):
    root = account.maildir()
    for sub in ("new", "cur"):
        for name in os.listdir(root / sub):
            if needle in (root / sub / name).read_bytes():
                return root / sub / name
    raise AssertionError(f"no file with {needle!r}")


def test_one_unreadable_message_does_not_stall_the_rest(imap_account, source_factory):
    uids = [imap_account.append(mail(i, "bad" if i == 1 else "ok")) for i in range(3)]
    bad = _file_of(imap_account, b"Subject: bad 1")
    os.chmod(bad, 0)  # Dovecot runs as the dovecot user: it can no longer read this one
    sink = MemorySink()
    source = source_factory(imap_account)
    try:
        assert source.poll_once(sink) == 2
        flags = imap_account.flags()
        assert FLAG in flags[uids[0]] and FLAG in flags[uids[2]] and FLAG not in flags[uids[1]]
        assert source.poll_once(sink) == 0  # still unreadable: skipped again, nothing else lost
    finally:
        os.chmod(_file_of(imap_account, b"Subject: bad 1"), 0o600)
    assert source.poll_once(sink) == 1  # retried next round
    assert FLAG in imap_account.flags()[uids[1]]
    assert len(sink.by_key) == 3


def test_a_message_the_server_never_hands_out_is_named_in_mail_health(imap_account, source_factory):
    uids = [imap_account.append(mail(i, "bad" if i == 1 else "ok")) for i in range(3)]
    os.chmod(_file_of(imap_account, b"Subject: bad 1"), 0)
    sink = MemorySink()
    source = source_factory(imap_account)
    try:
        for _ in range(UNREADABLE_ROUNDS - 1):
            source.poll_once(sink)
            assert sink.attempts[-1] == ("support", "imap", True, None)   # a hiccup, so far
        source.poll_once(sink)
        mailbox, transport, ok, note = sink.attempts[-1]
        assert ok is True    # the mailbox works: the breaker must not stop polling the rest
        assert f"UID {uids[1]}" in note and "INBOX" in note and "left on the server" in note
        imap_account.append(mail(7, "later"))
        assert source.poll_once(sink) == 1   # new mail still flows
    finally:
        os.chmod(_file_of(imap_account, b"Subject: bad 1"), 0o600)
    assert source.poll_once(sink) == 1
    assert sink.attempts[-1] == ("support", "imap", True, None) and len(sink.by_key) == 4


def test_uidvalidity_change_rescans_and_dedupes(imap_account, source_factory, caplog):
    imap_account.append(mail(1), folder="Support")
    imap_account.append(mail(2), folder="Support")
    sink = MemorySink()
    source = source_factory(imap_account, folder="Support")
    assert source.poll_once(sink) == 2
    old = sink.checkpoints[("support", "Support")]

    client = imap_account.client()
    client.delete_folder("Support")
    client.create_folder("Support")
    client.logout()
    imap_account.append(mail(2), folder="Support")  # the same mail again, new UID space
    imap_account.append(mail(3), folder="Support")

    with caplog.at_level(logging.WARNING, logger="mailproc.source.imap"):
        assert source.poll_once(sink) == 2
    new = sink.checkpoints[("support", "Support")]
    assert new.uidvalidity != old.uidvalidity and new.last_uid == 2
    assert "UIDVALIDITY changed" in caplog.text
    assert len(sink.hashes) == 3  # mail(2) was recognised by content
    assert all(FLAG in f for f in imap_account.flags("Support").values())


def test_idle_wakes_up_on_append_from_another_connection(imap_account, source_factory):
    sink = MemorySink()
    source = source_factory(imap_account)
    assert source.poll_once(sink) == 0
    appended_at = []

    def deliver():
        imap_account.append(mail(9))
        appended_at.append(time.monotonic())

    timer = threading.Timer(0.5, deliver)
    timer.start()
    started = time.monotonic()
    source.wait_for_mail(10.0)
    woke = time.monotonic()
    timer.join()
    assert woke - started < 5.0
    assert woke - appended_at[0] < 1.0
    assert source.poll_once(sink) == 1


def test_idle_is_renewed_and_still_wakes_up(imap_account, source_factory):
    source = source_factory(imap_account, idle_renew=0.2)
    source.poll_once(MemorySink())
    timer = threading.Timer(0.7, imap_account.append, args=(mail(8),))  # after a few renewals
    timer.start()
    started = time.monotonic()
    source.wait_for_mail(10.0)
    timer.join()
    assert 0.6 < time.monotonic() - started < 2.0
    assert source.poll_once(MemorySink()) == 1


@pytest.mark.parametrize("use_idle", [True, False])
def test_a_stop_ends_the_wait_within_a_second(imap_account, source_factory, use_idle):
    """SIGTERM sets the stop flag: a poller must not sit out a 25 s IDLE before exiting."""
    source = source_factory(imap_account, use_idle=use_idle)
    source.poll_once(MemorySink())
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    source.wait_for_mail(30.0, stop.is_set)
    assert 0.3 <= time.monotonic() - started < 1.8
    imap_account.append(mail(9))
    assert source.poll_once(MemorySink()) == 1       # the connection is fine afterwards


def test_wait_without_idle_just_waits(imap_account, source_factory):
    source = source_factory(imap_account, use_idle=False)
    source.poll_once(MemorySink())
    started = time.monotonic()
    source.wait_for_mail(0.3)
    assert 0.3 <= time.monotonic() - started < 2.0


def test_wrong_password_raises_auth_error_and_records_it(imap_account, source_factory):
    sink = MemorySink()
    source = source_factory(imap_account, password="not-the-password-42")
    with pytest.raises(SourceAuthError) as info:
        source.poll_once(sink)
    assert imap_account.user in str(info.value)
    assert "not-the-password-42" not in str(info.value)
    assert "not-the-password-42" not in repr(source.settings)
    (attempt,) = sink.attempts
    assert attempt[:3] == ("support", "imap", False) and "refused" in attempt[3]


def test_xoauth2_login_with_a_valid_token(imap_account, source_factory):
    imap_account.add_oauth2_token("tok-valid-123")
    imap_account.append(mail(1))
    sink = MemorySink()
    source = source_factory(imap_account, auth="xoauth2", password=None, oauth2_token="tok-valid-123")
    assert source.poll_once(sink) == 1
    assert sink.attempts[-1] == ("support", "imap", True, None)


def test_xoauth2_token_provider_is_asked_at_each_login(imap_account):
    imap_account.add_oauth2_token("tok-fresh")
    asked = []
    source = ImapSource(
        settings_for(imap_account, auth="xoauth2", password=None),
        token_provider=lambda: asked.append(1) or "tok-fresh",
    )
    try:
        source.poll_once(MemorySink())
        source.close()
        source.poll_once(MemorySink())
    finally:
        source.close()
    assert len(asked) == 2


def test_xoauth2_invalid_token_is_an_auth_error(imap_account, source_factory):
    sink = MemorySink()
    source = source_factory(imap_account, auth="xoauth2", password=None, oauth2_token="tok-unknown-123")
    with pytest.raises(SourceAuthError) as info:
        source.poll_once(sink)
    assert "tok-unknown-123" not in str(info.value)
    assert sink.attempts[-1][:3] == ("support", "imap", False)


def test_unreachable_server_is_a_source_error(imap_account):
    sink = MemorySink()
    source = ImapSource(settings_for(imap_account, port=free_port(), timeout=2.0))
    with pytest.raises(SourceError) as info:
        source.poll_once(sink)
    assert not isinstance(info.value, SourceAuthError)
    assert sink.attempts[-1][:3] == ("support", "imap", False)


def test_dropped_connection_is_reopened_on_next_poll(imap_account, source_factory):
    sink = MemorySink()
    source = source_factory(imap_account)
    source.poll_once(sink)
    imap_account.kick()
    imap_account.append(mail(5))
    assert source.poll_once(sink) == 1
    assert sink.attempts[-1][2] is True


def test_run_source_backs_off_while_the_server_is_down(imap_account):
    sink = MemorySink()
    source = ImapSource(settings_for(imap_account, port=free_port(), timeout=2.0))
    delays: list[float] = []
    run_source(source, sink, lambda: len(delays) >= 5, sleep=delays.append,
               backoff_base=1.0, backoff_cap=4.0, rand=lambda: 1.0)
    assert delays == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert [a[2] for a in sink.attempts] == [False] * 5


def test_run_source_polls_and_waits_until_stopped(imap_account, source_factory):
    imap_account.append(mail(1))
    sink = MemorySink()
    source = source_factory(imap_account, use_idle=False)
    rounds = iter(range(4))
    run_source(source, sink, lambda: next(rounds) >= 3, idle_timeout=0.05)
    assert len(sink.by_key) == 1 and sink.attempts[-1][2] is True


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [(0, 0.5, 0.0), (1, 0.0, 0.5), (1, 1.0, 1.0), (3, 0.0, 2.0), (3, 1.0, 4.0), (10, 1.0, 60.0), (5000, 0.0, 30.0)],
)
def test_backoff_delay(attempt, rand, expected):
    assert backoff_delay(attempt, base=1.0, cap=60.0, rand=rand) == expected


def test_backoff_delay_rejects_bad_rand():
    with pytest.raises(ValueError):
        backoff_delay(1, base=1.0, cap=60.0, rand=1.5)


def test_settings_validation():
    with pytest.raises(ConfigError, match="security"):
        ImapSettings(name="m", host="h", port=1, user="u", security="ssl")
    with pytest.raises(ConfigError, match="move_to"):
        ImapSettings(name="m", host="h", port=1, user="u", processed_action="move", move_to="INBOX")



def test_resolve_secret_from_environment_and_command():
    assert resolve_secret("MP_TEST_SECRET", None, environ={"MP_TEST_SECRET": "s3cret"}) == "s3cret"
    command = f"{sys.executable} -c \"print('from cmd')\""
    assert resolve_secret(None, command) == "from cmd"
    assert resolve_secret(None, None) is None


@pytest.mark.parametrize(
    ("env", "command", "message"),
    [
        ("MP_UNSET_SECRET", None, "MP_UNSET_SECRET is not set"),
        (None, f"{sys.executable} -c \"import sys; print('hunter2'); sys.exit(3)\"", "exited with status 3"),
        (None, "/nonexistent/secret-tool", "not found"),
        (None, f"{sys.executable} -c \"print(end='')\"", "printed nothing"),
        ("MP_X", "echo x", "not both"),
    ],
)
def test_resolve_secret_errors_name_the_setting_not_the_value(env, command, message):
    with pytest.raises(ConfigError, match=message) as info:
        resolve_secret(env, command, setting="imap_password", environ={})
    assert "imap_password" in str(info.value) and "hunter2" not in str(info.value)


def test_check_logs_in_and_counts_the_folder_without_touching_health(imap_account,
                                                                      source_factory):
    """What `mailproc doctor` asks of an IMAP mailbox (it called a check() that did not exist)."""
    imap_account.append(mail(1))
    imap_account.append(mail(2))
    assert source_factory(imap_account).check() == 2
    wrong = source_factory(imap_account, password="wrong")
    with pytest.raises(SourceAuthError, match="IMAP login refused"):
        wrong.check()
    with pytest.raises(SourceError, match="SELECT Nowhere"):
        source_factory(imap_account, folder="Nowhere").check()
