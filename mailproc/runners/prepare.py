"""Work on a message that depends only on its bytes, done ahead and in parallel (issue #18).

The parse, the classification rules' verdict (and a bounce's analysis) and the KB query
vector of a message need neither the database nor the order of its mailbox, so they can run
before the message's turn: in production as `prepare` jobs on any worker, the result kept in
Redis for an hour (runners/prepare_redis.py); in the embedded `mailproc run` in a small
process pool (runners/prepare_pool.py) while the main process runs the ordered step. The
ordered step (runners/inbound.py) uses a result only when it is provably what it would
compute itself: made by the same code (code_id), from the same bytes (sha256), under the same
parse settings and fallback date, and a `now` that chooses the same date; the verdict under
the same addresses; the vector is offered to the KB under the exact text the model reads.
A result that is missing, stale, corrupt or late is ignored and the step computes inline:
correctness never depends on this module, only speed. Only whether to compute a vector at
all reads the database (a guess: _continues_a_case).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import numpy as np
from sqlalchemy.engine import make_url

from mailproc.app import App
from mailproc.classify.bounce import Bounce, analyse_bounce
from mailproc.classify.rules import Classification, classify
from mailproc.db import Database
from mailproc.errors import ParseError
from mailproc.kb.index import query_text
from mailproc.kb.search import suggestion_query
from mailproc.kb.semantic import DIM, MODEL_PACKAGE, get_encoder
from mailproc.parse.dates import choose_date
from mailproc.parse.message import ParsedMessage, parse_message
from mailproc.thread.lookup import DbThreadLookup
from mailproc.thread.prints import fingerprints, history
from mailproc.thread.rules import window_start
from mailproc.thread.subjects import is_generic_subject, normalize_subject

log = logging.getLogger(__name__)

VERSION = 4
MAGIC = b"mailproc-prepared-%d\n" % VERSION
MAX_BYTES = 2_000_000     # larger mail is parsed in the ordered step only: payloads stay small


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
    # where a pool process reads the cases ('' in memory: none); its password stays out of logs
    database_url: str = field(default="", repr=False)
    subject_window: timedelta = timedelta(0)
    code: str = ""                 # code_id() where the recipe was made (before a pool forks)


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
    code: str = ""                             # code_id() of the code that made it
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


@functools.cache
def code_id() -> str:
    """A digest of mailproc's source: a result is used only by the code that made it, so
    after a deploy that changes parsing the drainer does not take what the old code made
    within the hour (it computes those again)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def recipe(app: App) -> Recipe:
    kb = app.knowledge_base
    semantic = kb is not None and kb.uses_semantic
    return Recipe(max_bytes=app.settings.storage.max_message_bytes,
                  query_tokens=kb.tuning.query_tokens if semantic else None,
                  model=model_id() if semantic else "",
                  own_addresses=app.own_addresses, own_message_id_domain=app.message_id_domain,
                  agent_addresses=frozenset(app.agents.addresses),
                  loop_token=app.settings.support.address,
                  database_url=_shared_url(app.db.url), subject_window=app.subject_window,
                  code=code_id())


def _shared_url(url: str) -> str:
    """`url`, unless it names an in-memory SQLite database another process cannot open."""
    parsed = make_url(url)
    memory = parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
    return "" if memory else url


def prepare_bytes(raw: bytes, received_fallback_at: datetime | None, now: datetime,
                  how: Recipe, db: Database | None = None) -> Prepared | None:
    """The parse (None when the bytes do not parse: the ordered step quarantines them), the
    classification rules' verdict (a bounce's analysis), and, for mail that may open a
    customer case, the KB query vector its triage will ask for. `db`: where to see whether
    the sender's case with this subject is there already."""
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
    if how.query_tokens is not None and _may_open_case(parsed, kind, db) \
            and not _continues_a_case(db, parsed, now, how.subject_window):
        key = query_text(suggestion_query(parsed.subject, parsed.new_text or parsed.text),
                         how.query_tokens, get_encoder())
        vector = get_encoder().encode([key])[0]
    own = fingerprints(parsed.new_text) if kind in ("human", "agent") else None
    return Prepared(hashlib.sha256(raw).hexdigest(), how.max_bytes, received_fallback_at, now,
                    parsed, key, vector, how.model, fingerprints(history(parsed)), own,
                    verdict, rules_key(how.own_addresses, how.own_message_id_domain,
                                       how.agent_addresses, how.loop_token), bounce, how.code)


@functools.lru_cache(maxsize=16)
def rules_key(own_addresses: frozenset[str], own_message_id_domain: str,
              agent_addresses: frozenset[str], loop_token: str) -> str:
    """What the classification rules read besides the message, as a digest the same in every
    process: a verdict made ahead stands only under the same."""
    return hashlib.sha256(repr((sorted(own_addresses), own_message_id_domain,
                                sorted(agent_addresses), loop_token)).encode()).hexdigest()


def _may_open_case(parsed: ParsedMessage, kind: str, db: Database | None) -> bool:
    """Only a new customer case asks the KB: human mail that names no earlier message, or
    only mail mailproc never received nor sent (a reply to a list post, to mail from before
    mailproc): the ordered step would otherwise compute the vector itself, tens of
    milliseconds. Mail received and not processed yet counts as known (a backlog)."""
    named = [*parsed.in_reply_to, *parsed.references]
    return kind == "human" and (not named or db is not None and not _asked(
        db, lambda lookup: lookup.names_known_mail(named), True))


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
    since = window_start(parsed.date_at, now, window)
    return _asked(db, lambda lookup: lookup.recent_case_for_subject(sender, subject, since), False)


def _asked(db: Database, question, failed: bool) -> bool:
    """Whether `question(lookup)` finds something (a case's id, True); `failed` when the
    database cannot tell (only a guess: the ordered step threads the message whatever it says)."""
    try:
        with db.reading() as session:
            return bool(question(DbThreadLookup(session)))
    except Exception:  # noqa: BLE001 - only a guess
        log.warning("prepare: the look-up of a case failed", exc_info=True)
        return failed


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
    if (prepared.sha256 != hashlib.sha256(raw).hexdigest() or prepared.code != code_id()
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


def asked_once(prepared):
    """`prepared`, asked once a row: what it gave stands for the row (a redo uses what the
    first run was given). `.look(raw_id, counted)`, a batch's first look at its rows, does
    not wait where `prepared` can tell a result not done yet (the pool's `ready`): what is
    not there then is asked for, waiting, when the row's turn comes. Elsewhere (results in
    Redis, where the drain claims the rows no job has reached) it is the same question."""
    given: dict[int, Prepared | None] = {}
    ready = getattr(prepared, "ready", None)

    def ask(raw_id: int, counted: Sequence[int] = ()) -> Prepared | None:
        if raw_id not in given:
            given[raw_id] = prepared(raw_id, counted)
        return given[raw_id]

    def look(raw_id: int, counted: Sequence[int] = ()) -> Prepared | None:
        if raw_id in given or ready is None:
            return ask(raw_id, counted)
        found = ready(raw_id)
        if found is not None:
            given[raw_id] = found
        return found
    ask.look = look
    return ask


def replied_to(ahead) -> list[str]:
    """The Message-ID each prepared message in `ahead` replies to (In-Reply-To, else the last
    of its References): their cases are read for a whole batch at once
    (thread.lookup.named_cases)."""
    return [mid for ready in ahead if isinstance(ready, Prepared)
            and isinstance(ready.parsed, ParsedMessage)
            for mid in (ready.parsed.in_reply_to or ready.parsed.references)[-1:]]


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
