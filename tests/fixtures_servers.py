"""Pytest fixtures for the real loopback servers: dovecot, imap_account, smtp_sink, redis_url."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import Iterator

import pytest

from tests.servers import DovecotServer, ImapAccount, SmtpSink, free_port, make_dovecot_dir

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379

_user_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One private Dovecot for the whole session on a free loopback port."""
    tmpdir = make_dovecot_dir()
    server = DovecotServer(tmpdir, free_port())
    try:
        server.start()
    except Exception:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    yield server
    server.stop()
    shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> ImapAccount:
    """A fresh user with a random password, so no test sees another test's mail."""
    user = f"user{os.getpid()}x{next(_user_numbers)}"
    password = secrets.token_urlsafe(12)
    dovecot.add_user(user, password)
    return ImapAccount(server=dovecot, user=user, password=password)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A started SMTP sink on its own free port; stopped after the test."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def redis_db_number(pid: int | None = None) -> int:
    """DB 1..15 from the pid, so parallel test runs rarely share a database (0 is left alone)."""
    return (pid if pid is not None else os.getpid()) % 15 + 1


@pytest.fixture
def redis_url() -> Iterator[str]:
    """redis://127.0.0.1:6379/<n>, flushed before and after; fails when Redis does not answer."""
    import redis

    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db_number()}"
    conn = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        conn.ping()
    except redis.exceptions.RedisError as exc:
        conn.close()
        pytest.fail(
            f"Redis does not answer at {REDIS_HOST}:{REDIS_PORT} ({exc}); start it with `make services` "
            "or `redis-server --daemonize yes --bind 127.0.0.1 --port 6379`",
            pytrace=False,
        )
    conn.flushdb()
    yield url
    conn.flushdb()
    conn.close()
