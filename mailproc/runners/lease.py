"""Redis leases: one active holder per name (poller per mailbox, scheduler), renewed while alive."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

log = logging.getLogger(__name__)

# Renew and release only our own lease: the token is the fence against a holder that was
# paused past its TTL and comes back after someone else took over.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def lease_key(name: str) -> str:
    return f"mailproc:lease:{name}"


class Lease:
    """A named lease with a TTL: `acquire()` takes it if free, `renew()` keeps it, death frees it.

    A second process asking for the same name is a hot standby: its `acquire()` succeeds within
    `ttl` seconds after the holder stops renewing (crash, SIGKILL, network partition).
    """

    def __init__(self, redis, name: str, ttl: float, *, holder: str | None = None) -> None:
        if ttl <= 0:
            raise ValueError("lease ttl must be positive")
        self.redis = redis
        self.name = name
        self.key = lease_key(name)
        self.ttl = ttl
        self.token = f"{holder or default_holder()}:{uuid.uuid4().hex[:8]}"
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._held = False

    @property
    def held(self) -> bool:
        """Whether we believe we hold it (as of the last acquire/renew)."""
        return self._held

    def acquire(self) -> bool:
        """Take the lease if nobody holds it, or keep it if we do; False means standby."""
        if self._held and self.renew():
            return True
        ok = bool(self.redis.set(self.key, self.token, nx=True, px=int(self.ttl * 1000)))
        if ok:
            log.info("lease %s acquired by %s", self.name, self.token)
        self._held = ok
        return ok

    def renew(self) -> bool:
        ok = bool(self._renew(keys=[self.key], args=[self.token, int(self.ttl * 1000)]))
        if self._held and not ok:
            log.warning("lease %s lost by %s", self.name, self.token)
        self._held = ok
        return ok

    def release(self) -> None:
        if self._held:
            self._release(keys=[self.key], args=[self.token])
            log.info("lease %s released by %s", self.name, self.token)
        self._held = False

    def holder(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


class LeaseKeeper:
    """Renews a held lease from a daemon thread every ttl/3, so long work cannot outlive it.

    `lost` is set when a renewal fails; the owner must stop acting as the holder at once.
    """

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.lost.clear()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.lease.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease.ttl)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.lease.ttl / 3):
            try:
                ok = self.lease.renew()
            except Exception as exc:  # noqa: BLE001 - any Redis error means we cannot vouch for it
                log.warning("lease %s: renewal failed: %s", self.lease.name, exc)
                ok = False
            if not ok:
                self.lost.set()
                return


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
