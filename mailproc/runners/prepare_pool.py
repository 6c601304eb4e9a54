"""The embedded `mailproc run`'s prepare pool (issue #18): forked processes compute
runners/prepare.py's work for the next pending messages while the main process runs the
ordered step (runners/inbound.py), which takes their results in order."""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from sqlalchemy import select

from mailproc.app import App
from mailproc.db import Database
from mailproc.models import RawMessage
from mailproc.runners.prepare import (MAX_BYTES, Prepared, Recipe, dumps, loads, prepare_bytes,
                                      recipe)
from mailproc.store.raw import load_raw

log = logging.getLogger(__name__)

WAIT = 30.0               # seconds the ordered step waits for a pool result already started
ENV = "MAILPROC_PREPARE_PROCESSES"


def pool_size() -> int:
    """MAILPROC_PREPARE_PROCESSES, default one per core but one (at least 1); 0 = off."""
    value = os.environ.get(ENV, "").strip()
    if value.isdigit():
        return int(value)
    if value:
        log.warning("%s=%r is not a number of processes; using the default", ENV, value)
    return max(1, (os.cpu_count() or 1) - 1)


_POOL: tuple[int, ProcessPoolExecutor] | None = None


def _executor(size: int) -> ProcessPoolExecutor:
    """One pool per process, kept across rounds. Forked: the children share the loaded model
    and re-import nothing (`mailproc run` has no threads to fork); they parse, classify and
    encode, read the database only through connections of their own (`_database`: is the
    sender's case there already?), never write it, and leave when their parent dies."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        # The tokenizer's thread pool does not survive a fork: the children tokenize alone.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_child_start, initargs=(os.getpid(),))
        _POOL = (os.getpid(), pool)
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return _POOL[1]


def _child_start(parent: int) -> None:
    """The parent's signal handlers are not the child's: SIGTERM ends it, Ctrl-C is the
    parent's to handle; and a parent killed outright takes its children with it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _discard_pool() -> None:
    global _POOL
    if _POOL is not None:
        _POOL[1].shutdown(wait=False, cancel_futures=True)
        _POOL = None


_DATABASE: tuple[int, str, Database] | None = None


def _database(url: str) -> Database | None:
    """A pool process's own connections to `url`, opened on its first look-up and kept."""
    global _DATABASE
    if not url:
        return None
    if _DATABASE is None or _DATABASE[:2] != (os.getpid(), url):
        _DATABASE = (os.getpid(), url, Database(url))
    return _DATABASE[2]


def _child(raw: bytes, received_fallback_at, now, how: Recipe) -> bytes | None:
    try:
        prepared = prepare_bytes(raw, received_fallback_at, now, how,
                                 _database(how.database_url))
        return dumps(prepared) if prepared is not None else None
    except Exception:  # noqa: BLE001 - the ordered step meets the same error and handles it
        log.warning("prepare failed in the pool", exc_info=True)
        return None


class Ahead:
    """Keeps the pool busy on the next pending messages of `process_pending`'s list.

    While the ordered step waits for a result the pool is still computing (a KB vector takes
    tens of milliseconds), it takes results nobody has started off the pool's queue and
    computes them itself: its core would idle otherwise, and a pool process more would
    compete with it whenever the pool is not the bound. Only rows of the batch in hand
    (`counted`: their attempts are counted), so a message that kills the process while it
    is computed ahead is among the rows that process died with, as if its turn had come."""

    def __init__(self, app: App, size: int) -> None:
        self.app, self.size = app, size
        self.window = max(64, 16 * size)  # room to run ahead through a run of KB vectors
        self._futures: dict[int, Future] = {}
        self._inputs: dict[int, tuple] = {}         # what each future was given, to steal it
        self._stolen: dict[int, Prepared | None] = {}
        self._seen: set[int] = set()        # submitted, or too large to submit
        self._how: Recipe | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._off = False

    @classmethod
    def start(cls, app: App) -> Ahead | None:
        size = pool_size()
        return cls(app, size) if size else None

    def feed(self, upcoming: list[int]) -> None:
        """Submit the next of `upcoming` (in order) when fewer than half a window are out."""
        if self._off or len(self._futures) > self.window // 2:
            return
        todo = [i for i in upcoming if i not in self._seen][:self.window - len(self._futures)]
        if not todo:
            return
        self._seen.update(todo)
        try:
            if self._pool is None:
                self._how, self._pool = recipe(self.app), _executor(self.size)
            with self.app.db.reading() as session:   # inside the batch's transaction
                rows = list(session.scalars(select(RawMessage).where(
                    RawMessage.id.in_(todo), RawMessage.size <= MAX_BYTES)
                    .order_by(RawMessage.id)))
            now = self.app.clock.now()
            for row in rows:
                inputs = (load_raw(row), row.received_at, now)
                self._futures[row.id] = self._pool.submit(_child, *inputs, self._how)
                self._inputs[row.id] = inputs
        except Exception:  # noqa: BLE001 - the pool is an optimisation: inline from here on
            log.warning("prepare pool unavailable; processing inline", exc_info=True)
            self._broken()

    def taker(self, upcoming: list[int]):
        """`take` for rows in the order of `upcoming`, keeping the pool fed with the rows
        after each one taken."""
        position = {raw_id: i for i, raw_id in enumerate(upcoming)}

        def take(raw_id: int, counted: Sequence[int] = (), wait: bool = True) -> Prepared | None:
            start = position.get(raw_id, len(upcoming)) + 1
            self.feed(upcoming[start:start + self.window])
            return self.take(raw_id, counted, wait)
        take.ready = lambda raw_id: take(raw_id, wait=False)
        return take

    def take(self, raw_id: int, counted: Sequence[int] = (), wait: bool = True,
             ) -> Prepared | None:
        """The pool's result for `raw_id` (None: compute it inline); while it is still being
        computed, the rows of `counted` the pool has not started are computed here. Without
        `wait`, a result only when it is done (None, and nothing taken, when it is not): a
        batch's first look at its rows must not wait for the pool to finish them all."""
        if raw_id in self._stolen:
            return self._stolen.pop(raw_id)
        if not (wait or raw_id in self._futures and self._futures[raw_id].done()):
            return None
        future = self._futures.pop(raw_id, None)
        self._inputs.pop(raw_id, None)
        if future is None or future.cancel():
            return None      # never submitted, or not started: the ordered step is faster
        try:
            while not future.done() and self._steal(counted):
                pass
            return loads(future.result(timeout=WAIT))
        except Exception:  # noqa: BLE001 - a crashed or hung child: inline from here on
            log.warning("prepare of raw message %s failed in the pool", raw_id, exc_info=True)
            self._broken()
            return None

    def _steal(self, counted: Sequence[int]) -> bool:
        """Compute here the next result of `counted` no pool process has started; False when
        none is left."""
        for raw_id in counted:
            future = self._futures.get(raw_id)
            if future is not None and future.cancel():
                del self._futures[raw_id]
                raw, received_at, now = self._inputs.pop(raw_id)
                try:
                    self._stolen[raw_id] = prepare_bytes(raw, received_at, now, self._how,
                                                         self.app.db)
                except Exception:  # noqa: BLE001 - the ordered step meets it again inline
                    log.warning("prepare of raw message %s failed", raw_id, exc_info=True)
                    self._stolen[raw_id] = None
                return True
        return False

    def _broken(self) -> None:
        self.close()
        _discard_pool()
        self._off = True

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        self._inputs.clear()
        self._stolen.clear()
