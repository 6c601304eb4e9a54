"""Work on a message that depends only on its bytes, done ahead and in parallel (issue #18).

The parse, the classification rules' verdict (and a bounce's analysis) and the KB query
vector of a message need neither the database nor the order of
its mailbox, so they can run before the message's turn: in production as `prepare` jobs on
any worker, the result kept in Redis for an hour (runners/prepare_redis.py); in the embedded `mailproc run` in a small
process pool while the main process runs the ordered step. The ordered step
(runners/inbound.py) uses a result only when it is provably what it would compute itself:
the same bytes (sha256), the same parse settings and fallback date, and a `now` that chooses
the same date; the vector is offered to the KB under the exact text the model reads. A result
that is missing, stale, corrupt or late is ignored and the step computes inline: correctness
never depends on this module, only speed.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.metadata
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import make_url

from mailproc.app import App
from mailproc.classify.bounce import Bounce, analyse_bounce
from mailproc.classify.rules import Classification, classify
from mailproc.db import Database
from mailproc.errors import ParseError
from mailproc.kb.index import query_text
from mailproc.kb.search import suggestion_query
from mailproc.kb.semantic import DIM, MODEL_PACKAGE, get_encoder
from mailproc.models import RawMessage
from mailproc.parse.dates import choose_date
from mailproc.parse.message import ParsedMessage, parse_message
from mailproc.store.raw import load_raw
from mailproc.thread.lookup import DbThreadLookup
from mailproc.thread.prints import fingerprints, history
from mailproc.thread.subjects import is_generic_subject, normalize_subject

log = logging.getLogger(__name__)

VERSION = 3
MAGIC = b"mailproc-prepared-%d\n" % VERSION
MAX_BYTES = 2_000_000     # larger mail is parsed in the ordered step only: payloads stay small
WAIT = 30.0               # seconds the ordered step waits for a pool result already started
ENV = "MAILPROC_PREPARE_PROCESSES"


@dataclass(frozen=True)
class Recipe:
    """What preparing needs besides the bytes, from the App: small and picklable."""

    max_bytes: int
    query_tokens: int | None       # None: no query vector (KB off or without the model)
    model: str                     # the encoder's identity: a vector is used under the same only
    own_addresses: frozenset[str]
    own_message_id_domain: str
    agent_addresses: frozenset[str]
    loop_token: str
    database_url: str = ""         # where a pool process reads the cases ('' in memory: none)
    subject_window: timedelta = timedelta(0)


@dataclass(frozen=True)
class Prepared:
    """The parse of one raw message, the fingerprints of what it quotes and, for a person's
    mail (the only kind whose prints are stored), of its new text (thread.prints; None: not
    computed), and, when it may open a customer case, the KB query vector (`vector` = the
    encoder's output for `query_key`, the text the model reads)."""

    sha256: str
    max_bytes: int
    received_fallback_at: datetime | None
    now: datetime
    parsed: ParsedMessage
    query_key: str | None = None
    vector: np.ndarray | None = None
    model: str = ""
    quoted_prints: tuple[int, ...] = ()
    own_prints: tuple[int, ...] | None = ()
    verdict: Classification | None = None      # the rules' (classify), under rules_key
    rules_key: str = ""
    bounce: Bounce | None = None               # analyse_bounce, for what the rules call a bounce
    version: int = VERSION


@functools.cache
def model_id() -> str:
    """The model and how it runs (ONNX Runtime or NumPy: the same vectors within 1e-6, but a
    vector is offered to the KB only from the same computation)."""
    try:
        version = importlib.metadata.version(MODEL_PACKAGE.replace('_', '-'))
    except importlib.metadata.PackageNotFoundError:
        return ""
    return f"{MODEL_PACKAGE}=={version}/{get_encoder().backend}"


def recipe(app: App) -> Recipe:
    kb = app.knowledge_base
    semantic = kb is not None and kb.uses_semantic
    return Recipe(max_bytes=app.settings.storage.max_message_bytes,
                  query_tokens=kb.tuning.query_tokens if semantic else None,
                  model=model_id() if semantic else "",
                  own_addresses=app.own_addresses, own_message_id_domain=app.message_id_domain,
                  agent_addresses=frozenset(app.agents.addresses),
                  loop_token=app.settings.support.address,
                  database_url=_shared_url(app.db.url), subject_window=app.subject_window)


def _shared_url(url: str) -> str:
    """`url`, unless it names an in-memory SQLite database another process cannot open."""
    parsed = make_url(url)
    memory = parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
    return "" if memory else url


def prepare_bytes(raw: bytes, received_fallback_at: datetime | None, now: datetime,
                  how: Recipe, db: Database | None = None) -> Prepared | None:
    """The parse (None when the bytes do not parse: the ordered step quarantines them) and,
    for mail that may open a customer case, the KB query vector its triage will ask for.
    `db`: where to see whether the sender's case with this subject is there already."""
    try:
        parsed = parse_message(raw, max_bytes=how.max_bytes,
                               received_fallback_at=received_fallback_at, now=now)
    except ParseError:
        return None
    verdict = classify(parsed, own_addresses=how.own_addresses,
                       own_message_id_domain=how.own_message_id_domain,
                       agent_addresses=how.agent_addresses, loop_token=how.loop_token)
    kind = verdict.kind
    bounce = analyse_bounce(parsed, raw) if kind == "bounce" else None
    key = vector = None
    if how.query_tokens is not None and _may_open_case(parsed, kind) \
            and not _continues_a_case(db, parsed, now, how.subject_window):
        key = query_text(suggestion_query(parsed.subject, parsed.new_text or parsed.text),
                         how.query_tokens, get_encoder())
        vector = get_encoder().encode([key])[0]
    own = fingerprints(parsed.new_text) if kind in ("human", "agent") else None
    return Prepared(hashlib.sha256(raw).hexdigest(), how.max_bytes, received_fallback_at, now,
                    parsed, key, vector, how.model, fingerprints(history(parsed)), own,
                    verdict, rules_key(how.own_addresses, how.own_message_id_domain,
                                       how.agent_addresses, how.loop_token), bounce)


@functools.lru_cache(maxsize=16)
def rules_key(own_addresses: frozenset[str], own_message_id_domain: str,
              agent_addresses: frozenset[str], loop_token: str) -> str:
    """What the classification rules read besides the message, as a digest the same in every
    process: a verdict made ahead stands only under the same."""
    return hashlib.sha256(repr((sorted(own_addresses), own_message_id_domain,
                                sorted(agent_addresses), loop_token)).encode()).hexdigest()


def _may_open_case(parsed: ParsedMessage, kind: str) -> bool:
    """Only a new customer case asks the KB: human mail that names no earlier message."""
    return kind == "human" and not (parsed.in_reply_to or parsed.references)


def _continues_a_case(db: Database | None, parsed: ParsedMessage, now: datetime,
                      window: timedelta) -> bool:
    """The sender wrote this subject in a case within the threading window: the subject rule
    will most likely place the mail there, and no new case asks the KB. A customer's second
    mail without headers, or the same mail sent again: a vector (tens of milliseconds on a
    CPU without VNNI) costs more than this one indexed read."""
    subject = normalize_subject(parsed.subject)
    sender = parsed.from_addr.strip().lower()
    if db is None or not sender or is_generic_subject(subject):
        return False
    at = min(parsed.date_at, now) if parsed.date_at is not None else now
    try:
        with db.reading() as session:
            found = DbThreadLookup(session).recent_case_for_subject(sender, subject, at - window)
    except Exception:  # noqa: BLE001 - only a guess: without it the vector is computed
        log.warning("prepare: the look-up of the sender's cases failed", exc_info=True)
        return False
    return found is not None


# -- the ordered step's side ------------------------------------------------------------------

def use(app: App, prepared: Prepared | None, raw: bytes, received_fallback_at: datetime | None,
        now: datetime) -> Prepared | None:
    """`prepared` when its parse is exactly what parse_message would return now (its vector
    then goes to the KB); None otherwise: the caller parses inline."""
    if not isinstance(prepared, Prepared) or prepared.version != VERSION \
            or not isinstance(prepared.parsed, ParsedMessage) \
            or not isinstance(prepared.verdict, (Classification, type(None))) \
            or not isinstance(prepared.bounce, (Bounce, type(None))) \
            or not _are_prints(prepared.quoted_prints) \
            or not (prepared.own_prints is None or _are_prints(prepared.own_prints)):
        return None
    if (prepared.sha256 != hashlib.sha256(raw).hexdigest()
            or prepared.max_bytes != app.settings.storage.max_message_bytes
            or prepared.received_fallback_at != received_fallback_at
            or not _same_date(prepared.parsed, received_fallback_at, prepared.now, now)):
        return None
    _offer_vector(app, prepared)
    if prepared.verdict is not None and prepared.rules_key != rules_key(
            app.own_addresses, app.message_id_domain, app.agents.addresses,
            app.settings.support.address):
        prepared = replace(prepared, verdict=None, bounce=None)   # the addresses changed
    return prepared


def _are_prints(value) -> bool:
    return isinstance(value, tuple) and all(type(p) is int for p in value)


def _same_date(parsed: ParsedMessage, fallback: datetime | None, then: datetime,
               now: datetime) -> bool:
    """`now` reaches parse_message only through choose_date: the same choice and defects at
    both times means the same parse."""
    dates = list(parsed.headers.get("date", ()))
    received = list(parsed.headers.get("received", ()))

    def at(moment: datetime):
        defects: list[str] = []
        chosen = choose_date(dates, received, fallback_at=fallback if fallback is not None
                             else moment, now=moment, defects=defects)
        return chosen, defects

    return then == now or at(then) == at(now)


def _offer_vector(app: App, prepared: Prepared) -> None:
    kb = app.knowledge_base
    v = prepared.vector
    if kb is None or v is None or not prepared.query_key or not kb.uses_semantic \
            or prepared.model != model_id():
        return
    if isinstance(v, np.ndarray) and v.shape == (DIM,) and v.dtype == np.float32 \
            and np.isfinite(v).all():
        kb.remember_query_vector(prepared.query_key, v)


# -- serialised form (Redis, the pool's pipe) -------------------------------------------------

def dumps(prepared: Prepared) -> bytes:
    parsed = replace(prepared.parsed, headers=dict(prepared.parsed.headers))
    return MAGIC + pickle.dumps(replace(prepared, parsed=parsed), protocol=5)


def loads(blob: bytes | None) -> Prepared | None:
    """The Prepared in `blob`; None when it is missing, of another version, or corrupt."""
    if not blob or not blob.startswith(MAGIC):
        return None
    try:
        prepared = pickle.loads(blob[len(MAGIC):])
        if not isinstance(prepared, Prepared) or not isinstance(prepared.parsed, ParsedMessage):
            return None
        headers = MappingProxyType(dict(prepared.parsed.headers))
        return replace(prepared, parsed=replace(prepared.parsed, headers=headers))
    except Exception:  # noqa: BLE001 - anything unreadable is ignored: computed inline
        log.warning("ignoring an unreadable prepared result", exc_info=True)
        return None


# -- embedded: a process pool -----------------------------------------------------------------

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
    and re-import nothing (`mailproc run` has no threads to fork); they only parse and
    encode, never touch the database, and leave when their parent dies."""
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

        def take(raw_id: int, counted: Sequence[int] = ()) -> Prepared | None:
            start = position.get(raw_id, len(upcoming)) + 1
            self.feed(upcoming[start:start + self.window])
            return self.take(raw_id, counted)
        return take

    def take(self, raw_id: int, counted: Sequence[int] = ()) -> Prepared | None:
        """The pool's result for `raw_id` (None: compute it inline); while it is still being
        computed, the rows of `counted` the pool has not started are computed here."""
        if raw_id in self._stolen:
            return self._stolen.pop(raw_id)
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
