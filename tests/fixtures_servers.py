"""Pytest fixtures for the real loopback servers: dovecot, imap_account, smtp_sink, redis_url, and
the OAuth2 trio oauth_server, oauth_dovecot, oauth_smtp_sink."""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
from collections.abc import Iterator

import pytest

from tests.oauth_server import RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET, OAuthServer
from tests.servers import DovecotServer, ImapAccount, SmtpSink, free_port, make_dovecot_dir

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379

_user_numbers = itertools.count(1)


@contextlib.contextmanager
def running_dovecot(**options) -> Iterator[DovecotServer]:
    """A started private Dovecot on a free loopback port, in a fresh directory removed afterwards."""
    tmpdir = make_dovecot_dir()
    server = DovecotServer(tmpdir, free_port(), **options)
    try:
        server.start()
    except Exception:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One private Dovecot for the whole session on a free loopback port."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    """A started local authorization server (tests.oauth_server) with default settings."""
    with OAuthServer() as server:
        yield server


@pytest.fixture
def oauth_dovecot(oauth_server: OAuthServer) -> Iterator[DovecotServer]:
    """A private Dovecot whose XOAUTH2/OAUTHBEARER logins are checked by `oauth_server`'s introspection.

    Log in with a token from oauth_server (issue_token or a flow) for any user name: no add_user needed.
    """
    with running_dovecot(introspection_url=oauth_server.introspection_url,
                         introspection_client=(RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET)) as server:
        yield server


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


@pytest.fixture
def oauth_smtp_sink(oauth_server: OAuthServer) -> Iterator[SmtpSink]:
    """A started SMTP sink wanting AUTH XOAUTH2/OAUTHBEARER, tokens checked by `oauth_server`."""
    sink = SmtpSink(oauth_introspection=(oauth_server.introspection_url, RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET))
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
