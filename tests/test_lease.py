"""Redis leases on a real Redis: one holder, hot standby takeover after the TTL, fencing."""

from __future__ import annotations

import time

import pytest
import redis

from mailproc.runners.lease import Lease, LeaseKeeper, lease_key


@pytest.fixture
def conn(redis_url):
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def test_one_holder_and_a_standby(conn):
    first = Lease(conn, "poller:support", ttl=5, holder="a")
    second = Lease(conn, "poller:support", ttl=5, holder="b")
    assert first.acquire() is True
    assert second.acquire() is False
    assert first.acquire() is True          # re-acquiring our own lease renews it
    assert first.holder() == first.token
    first.release()
    assert conn.get(lease_key("poller:support")) is None
    assert second.acquire() is True


def test_standby_takes_over_within_the_ttl_when_the_holder_stops_renewing(conn):
    dead = Lease(conn, "scheduler", ttl=0.6, holder="dead")
    standby = Lease(conn, "scheduler", ttl=0.6, holder="standby")
    assert dead.acquire()
    started = time.monotonic()
    while not standby.acquire():
        assert time.monotonic() - started < 2.0, "standby never took over"
        time.sleep(0.05)
    took = time.monotonic() - started
    assert 0.3 < took < 1.5


def test_a_holder_that_lost_its_lease_cannot_renew_or_release_the_new_one(conn):
    old = Lease(conn, "poller:x", ttl=0.3, holder="old")
    new = Lease(conn, "poller:x", ttl=5, holder="new")
    assert old.acquire()
    time.sleep(0.45)
    assert new.acquire()
    assert old.renew() is False and old.held is False
    old._held = True                          # a confused old holder tries to let go anyway
    old.release()
    assert new.holder() == new.token          # ... and cannot free the new holder's lease


def test_keeper_renews_past_the_ttl_and_reports_loss(conn):
    lease = Lease(conn, "poller:long", ttl=0.6, holder="k")
    assert lease.acquire()
    keeper = LeaseKeeper(lease)
    keeper.start()
    try:
        time.sleep(1.5)                       # 2.5 TTLs of "long work"
        assert Lease(conn, "poller:long", ttl=5, holder="other").acquire() is False
        assert not keeper.lost.is_set()
        conn.delete(lease_key("poller:long"))  # e.g. Redis restarted without persistence
        Lease(conn, "poller:long", ttl=5, holder="other").acquire()
        assert keeper.lost.wait(1.0), "the keeper did not notice the lease was gone"
    finally:
        keeper.stop()


def test_ttl_must_be_positive(conn):
    with pytest.raises(ValueError):
        Lease(conn, "x", ttl=0)
