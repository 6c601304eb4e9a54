"""Prepare ahead (issue #18): the parse and KB query vector computed off the ordered step are
exactly the inline ones, and a missing, stale or corrupt result is ignored."""

from __future__ import annotations

import hashlib
import mailbox
import time
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from mailproc.classify.bounce import analyse_bounce
from mailproc.classify.inbound import classify_inbound
from mailproc.db import Database
from mailproc.kb import semantic as semantic_mod
from mailproc.kb.search import suggestion_query
from mailproc.models import Case, Message, MessagePrint, OutboundMail, RawMessage
from mailproc.parse.message import parse_message
from mailproc.runners import prepare, prepare_pool, prepare_redis
from mailproc.runners.inbound import process_pending, process_raw
from mailproc.store.raw import load_raw
from mailproc.thread.prints import fingerprints, history
from tests.helpers import CORPORA, MONDAY, demo_raws, ingest, make_app

SEMANTIC = semantic_mod.semantic_available()


def corpus(limit: int = 150) -> list[bytes]:
    """The demo mailbox, then messages of the real corpus (mboxes split) and malformed mail."""
    raws = list(demo_raws().values())
    for folder in ("threads", "malformed"):
        for path in sorted((CORPORA / folder).rglob("*")):
            if path.suffix == ".mbox":
                box = mailbox.mbox(str(path))
                raws += [box.get_bytes(k) for k in list(box.keys())[:15]]
            elif path.is_file() and path.suffix not in (".jsonl", ".md"):
                raws.append(path.read_bytes())
    return raws[:limit]


@pytest.fixture
def app(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'prep.sqlite3'}")
    db.upgrade()
    return make_app(db, tmp_path)


def test_prepared_parse_and_vector_equal_the_inline_ones(app):
    how = prepare.recipe(app)
    kb = app.knowledge_base
    vectors = 0
    for raw in corpus():
        try:
            inline = parse_message(raw, max_bytes=how.max_bytes, received_fallback_at=MONDAY,
                                   now=MONDAY)
        except Exception:
            assert prepare.prepare_bytes(raw, MONDAY, MONDAY, how) is None
            continue
        # Through the serialised form, as Redis and the pool pass it.
        prepared = prepare.loads(prepare.dumps(prepare.prepare_bytes(raw, MONDAY, MONDAY, how)))
        assert prepare.use(app, prepared, raw, MONDAY, MONDAY).parsed == inline
        if prepared.vector is not None:
            vectors += 1
            query = suggestion_query(inline.subject, inline.new_text or inline.text)
            assert prepared.query_key == kb.query_key(query)
            expected = kb._current().query_vector(query)        # no cache: the model itself
            assert np.array_equal(prepared.vector, expected)
            assert np.array_equal(kb.query_vectors.get(prepared.query_key), expected)
    assert vectors or not SEMANTIC


def test_the_pool_prepares_what_the_ordered_step_would(app, monkeypatch):
    monkeypatch.setenv(prepare_pool.ENV, "1")
    ids = ingest(app, corpus(12))
    ahead = prepare_pool.Ahead.start(app)
    try:
        with app.db.transaction() as session:
            rows = {r.id: r for r in session.scalars(select(RawMessage))}
        got = without_own = bounces = 0
        for index, raw_id in enumerate(ids):
            ahead.feed(ids[index:])
            future = ahead._futures.get(raw_id)
            if future is not None:
                future.result(timeout=120)       # wait, so take() cannot fall back inline
            prepared = ahead.take(raw_id)
            if prepared is None:
                continue
            got += 1
            row = rows[raw_id]
            inline = parse_message(load_raw(row), max_bytes=prepared.max_bytes,
                                   received_fallback_at=row.received_at, now=prepared.now)
            assert prepare.use(app, prepared, load_raw(row), row.received_at,
                               prepared.now).parsed == inline
            assert prepared.quoted_prints == fingerprints(history(inline))
            assert prepared.own_prints in (None, fingerprints(inline.new_text))
            without_own += prepared.own_prints is None
            assert prepared.verdict == classify_inbound(app, inline, None)
            bounces += prepared.verdict.kind == "bounce"
            assert prepared.bounce == (analyse_bounce(inline, load_raw(row))
                                       if prepared.verdict.kind == "bounce" else None)
            if prepared.vector is not None:
                query = suggestion_query(inline.subject, inline.new_text or inline.text)
                assert np.array_equal(prepared.vector, app.knowledge_base._current()
                                      .query_vector(query))
        assert got == len(ids)
        assert 0 < without_own < got     # list mail and bounces: not computed
        assert bounces
    finally:
        ahead.close()


_POOL_CHILD = prepare_pool._child


def _slow_child(*args):
    time.sleep(1.5)
    return _POOL_CHILD(*args)


def test_the_ordered_step_computes_what_the_pool_has_not_started_while_it_waits(
        app, monkeypatch):
    monkeypatch.setenv(prepare_pool.ENV, "1")
    monkeypatch.setattr(prepare_pool, "_child", _slow_child)
    prepare_pool._discard_pool()          # a pool forked before the patch would not sleep
    ids = ingest(app, corpus(12))
    ahead = prepare_pool.Ahead.start(app)
    try:
        with app.db.transaction() as session:
            rows = {r.id: r for r in session.scalars(select(RawMessage))}
        ahead.feed(ids)
        # A row taken on its own (the careful way: no other row's attempt is counted)
        # computes nothing ahead for others: a message that killed the process then would
        # be blamed on this one.
        assert ahead.take(ids[0]) is not None and not ahead._stolen
        batch = ids[1:]
        started = time.perf_counter()
        assert ahead.take(batch[0], batch) is not None      # the pool's, after its 1.5 s
        waited = time.perf_counter() - started
        stolen = set(ahead._stolen)
        # The pool holds the first row (and what its queue took already); the rest of the
        # batch was computed here while the first was awaited, and is no longer the pool's.
        assert len(stolen) >= len(batch) - 3 and stolen <= set(batch[1:])
        assert not stolen & set(ahead._futures)
        assert waited < 1.5 * 3
        for raw_id in batch[1:]:
            prepared = ahead.take(raw_id)
            row = rows[raw_id]
            if prepared is None:
                assert raw_id not in stolen or parse_fails(row)
                continue
            inline = parse_message(load_raw(row), max_bytes=prepared.max_bytes,
                                   received_fallback_at=row.received_at, now=prepared.now)
            assert prepare.use(app, prepared, load_raw(row), row.received_at,
                               prepared.now).parsed == inline
            assert prepared.quoted_prints == fingerprints(history(inline))
        assert not ahead._stolen
    finally:
        ahead.close()
        prepare_pool._discard_pool()


def parse_fails(row) -> bool:
    try:
        parse_message(load_raw(row), max_bytes=10**8, received_fallback_at=row.received_at,
                      now=MONDAY)
    except Exception:
        return True
    return False


def test_stale_or_corrupt_results_are_ignored(app):
    raws = corpus(3)
    how = prepare.recipe(app)
    good = prepare.prepare_bytes(raws[0], MONDAY, MONDAY, how)
    assert prepare.use(app, good, raws[0], MONDAY, MONDAY) is not None
    # Other bytes (the row was replaced, or another database's raw id).
    assert prepare.use(app, good, raws[1], MONDAY, MONDAY) is None
    # Other parse settings, another fallback date.
    assert prepare.use(app, replace(good, max_bytes=good.max_bytes - 1), raws[0], MONDAY,
                       MONDAY) is None
    assert prepare.use(app, good, raws[0], MONDAY - timedelta(hours=1), MONDAY) is None
    assert prepare.use(app, replace(good, version=0), raws[0], MONDAY, MONDAY) is None
    # Made by other code (before a deploy): computed again.
    assert good.code == prepare.code_id()
    assert prepare.use(app, replace(good, code="0" * 16), raws[0], MONDAY, MONDAY) is None
    assert prepare.use(app, None, raws[0], MONDAY, MONDAY) is None
    # Fingerprints that are not a tuple of integers (threading would look them up).
    assert prepare.use(app, replace(good, quoted_prints=["1"]), raws[0], MONDAY, MONDAY) is None
    assert prepare.use(app, replace(good, own_prints=(1.5,)), raws[0], MONDAY, MONDAY) is None
    # Corrupt, truncated or foreign payloads.
    blob = prepare.dumps(good)
    for bad in (b"", b"garbage", blob[:-20], prepare.MAGIC + b"\x80\x05garbage",
                blob.replace(prepare.MAGIC, b"mailproc-prepared-0\n")):
        assert prepare.loads(bad) is None


def test_a_date_that_now_reads_differently_is_parsed_again(app):
    # Dated 30 hours after the moment it was prepared: implausible then, plausible a day on.
    then = MONDAY
    later = then + timedelta(days=1)
    raw = (b"From: a@example.org\r\nTo: support@example.com\r\nSubject: clocks\r\n"
           b"Message-ID: <clock@example.org>\r\nDate: "
           + (then + timedelta(hours=30)).strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
           + b"\r\n\r\nbody\r\n")
    prepared = prepare.prepare_bytes(raw, None, then, prepare.recipe(app))
    assert prepared.parsed.date_source == "fallback"
    assert prepare.use(app, prepared, raw, None, then + timedelta(seconds=5)) is None
    assert prepare.use(app, prepared, raw, None, then) is not None
    inline = parse_message(raw, received_fallback_at=None, now=later)
    assert inline.date_source == "date" and prepare.use(app, prepared, raw, None, later) is None


@pytest.mark.skipif(not SEMANTIC, reason="semantic KB stage not installed")
def test_a_foreign_vector_is_not_offered_to_the_kb(app):
    raw = demo_raws()[sorted(demo_raws())[0]]
    prepared = prepare.prepare_bytes(raw, MONDAY, MONDAY, prepare.recipe(app))
    assert prepared.vector is not None
    kb = app.knowledge_base
    wrong = np.ones(semantic_mod.DIM, dtype=np.float32)
    for stale in (replace(prepared, model="another-model==9"),
                  replace(prepared, vector=wrong[:10]),
                  replace(prepared, vector=wrong * np.nan)):
        kb.query_vectors = type(kb.query_vectors)()
        assert prepare.use(app, stale, raw, MONDAY, MONDAY) is not None   # the parse is fine
        assert kb.query_vectors.get(prepared.query_key) is None


def _mail(sender: str, subject: str, msgid: str, date: str = "Mon, 02 Mar 2026") -> bytes:
    return (f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{msgid}>\r\nDate: {date} 09:00:00 +0000\r\n\r\n"
            "The invoice export stops at 80 % with error E-41 since this morning.\r\n"
            ).encode()


@pytest.mark.skipif(not SEMANTIC, reason="semantic KB stage not installed")
def test_no_vector_for_mail_that_continues_the_senders_case(app, monkeypatch):
    """A customer's second mail about the same subject, without headers, joins their case
    (the subject rule) and asks the KB nothing: prepared ahead it gets no vector, from the
    database the pool process opens itself as well as from the app's; anyone else's mail,
    or any other subject, still gets one."""
    monkeypatch.setenv(prepare_pool.ENV, "0")
    ingest(app, [_mail("ann@customer.example", "Export stops at 80%", "first@customer.example")])
    assert [o.rule for o in process_pending(app)] == ["new"]
    how = prepare.recipe(app)
    assert how.database_url == app.db.url
    again = _mail("Ann@Customer.example", "Re: Export stops at 80%", "again@customer.example")
    for db in (app.db, prepare_pool._database(how.database_url)):
        assert prepare.prepare_bytes(again, MONDAY, MONDAY, how, db).vector is None
    assert prepare.loads(prepare_pool._child(again, MONDAY, MONDAY, how)).vector is None
    for other in (_mail("bob@elsewhere.example", "Export stops at 80%", "b@elsewhere.example"),
                  _mail("ann@customer.example", "Printer offline", "p@customer.example")):
        assert prepare.prepare_bytes(other, MONDAY, MONDAY, how, app.db).vector is not None
    assert prepare.prepare_bytes(again, MONDAY, MONDAY, how).vector is not None   # no db
    # Outside the threading window the subject rule no longer joins it: a vector again.
    late = _mail("ann@customer.example", "Re: Export stops at 80%", "late@customer.example",
                 date="Fri, 01 May 2026")
    assert prepare.prepare_bytes(late, MONDAY, MONDAY, how, app.db).vector is not None
    ingest(app, [again])
    assert [o.rule for o in process_pending(app)] == ["subject"]


@pytest.mark.skipif(not SEMANTIC, reason="semantic KB stage not installed")
def test_a_vector_for_a_reply_to_mail_no_case_holds(app, monkeypatch):
    """A person's reply to mail mailproc never saw (a list post, mail from before it ran)
    opens a case that asks the KB: prepared ahead it has its vector, and the ordered step
    computes none; a reply to a stored message, to our acknowledgement or to mail received
    and not processed yet (a backlog) gets none."""
    monkeypatch.setenv(prepare_pool.ENV, "0")
    ingest(app, [_mail("ann@customer.example", "Export stops at 80%", "first@customer.example")])
    assert [o.rule for o in process_pending(app)] == ["new"]
    how = prepare.recipe(app)

    def reply(msgid: str, named: str) -> bytes:
        return _mail("bob@other.example", "Re: Printer offline", msgid).replace(
            b"\r\n\r\n", f"\r\nIn-Reply-To: <{named}>\r\nReferences: <{named}>\r\n\r\n".encode(), 1)

    known = reply("r1@other.example", "first@customer.example")
    unknown = reply("r2@other.example", "never-seen@lists.example.org")
    assert prepare.prepare_bytes(known, MONDAY, MONDAY, how, app.db).vector is None
    with app.db.transaction() as session:
        [ack] = session.scalars(select(OutboundMail.message_id)).all()
    assert prepare.prepare_bytes(reply("r3@other.example", ack.strip("<>")), MONDAY, MONDAY, how,
                                 app.db).vector is None
    ingest(app, [_mail("cy@third.example", "Login fails", "pending@third.example")])   # not processed
    assert prepare.prepare_bytes(reply("r4@other.example", "pending@third.example"), MONDAY, MONDAY,
                                 how, app.db).vector is None
    ahead = prepare.prepare_bytes(unknown, MONDAY, MONDAY, how, app.db)
    assert ahead.vector is not None
    process_pending(app)
    [raw_id] = ingest(app, [unknown])
    encoded = []
    monkeypatch.setattr(semantic_mod.MiniLMEncoder, "encode",
                        lambda self, texts, *a, **k: encoded.append(texts) or pytest.fail("encoded"))
    assert process_raw(app, raw_id, prepared=ahead).rule == "new"
    assert encoded == []


def test_prints_of_a_persons_mail_are_stored_when_the_pool_left_them_out(app):
    """The pool computes a mail's own prints only when it takes it for a person's; where its
    guess was wrong (None), the ordered step computes the prints the message stores."""
    raw = _mail("ann@customer.example", "Export stops at 80%", "first@customer.example")
    prepared = prepare.prepare_bytes(raw, MONDAY, MONDAY, prepare.recipe(app))
    assert prepared.own_prints == fingerprints(prepared.parsed.new_text) != ()
    [raw_id] = ingest(app, [raw])
    assert process_raw(app, raw_id, prepared=replace(prepared, own_prints=None)).rule == "new"
    with app.db.transaction() as session:
        stored = session.scalars(select(MessagePrint.print)).all()
    assert sorted(stored) == sorted(prepared.own_prints)
    listed = (b"From: list@lists.example.org\r\nTo: support@example.com\r\nSubject: digest\r\n"
              b"List-Id: <news.lists.example.org>\r\nPrecedence: list\r\n"
              b"Message-ID: <d1@lists.example.org>\r\n\r\nThis week's news and more news.\r\n")
    assert prepare.prepare_bytes(listed, MONDAY, MONDAY, prepare.recipe(app)).own_prints is None


def test_a_verdict_made_ahead_stands_only_under_the_same_addresses(app):
    """The rules' verdict (and a bounce's analysis) made ahead is used while the addresses
    the rules read are the app's; an agent added since (a reloaded directory) drops it, and
    the ordered step classifies again."""
    raw = _mail("ann@customer.example", "Export stops at 80%", "first@customer.example")
    prepared = prepare.prepare_bytes(raw, MONDAY, MONDAY, prepare.recipe(app))
    assert prepared.verdict.kind == "human"
    assert prepare.use(app, prepared, raw, MONDAY, MONDAY).verdict == prepared.verdict
    other = prepare.recipe(app)
    other = replace(other, agent_addresses=other.agent_addresses | {"ann@customer.example"})
    ahead = prepare.prepare_bytes(raw, MONDAY, MONDAY, other)
    assert ahead.verdict.kind == "agent"
    used = prepare.use(app, ahead, raw, MONDAY, MONDAY)
    assert used.parsed == prepared.parsed and used.verdict is None and used.bounce is None
    [raw_id] = ingest(app, [raw])
    assert process_raw(app, raw_id, prepared=ahead).kind == "human"


def test_a_database_in_memory_is_not_handed_to_pool_processes():
    assert prepare._shared_url("sqlite://") == prepare._shared_url("sqlite:///:memory:") == ""
    assert prepare._shared_url("sqlite:///var/m.db") == "sqlite:///var/m.db"
    assert prepare_pool._database("") is None


def test_processing_with_prepared_results_decides_the_same(tmp_path, monkeypatch):
    """The demo mailbox processed with every message prepared ahead (some corrupted, some for
    other bytes) ends in the same cases, rules and KB suggestions as without."""
    def run(name: str, prepared_for) -> list:
        db = Database(f"sqlite:///{tmp_path / name}.sqlite3")
        db.upgrade()
        app = make_app(db, tmp_path / name)
        ids = ingest(app, list(demo_raws().values()))
        with db.transaction() as session:
            rows = {r.id: r for r in session.scalars(select(RawMessage))}
        out = [process_raw(app, i, prepared=prepared_for(app, rows[i], index))
               for index, i in enumerate(ids)]
        with db.transaction() as session:
            cases = [(c.ref, c.subject, c.kb_suggestions) for c in
                     session.scalars(select(Case).order_by(Case.id))]
            messages = [(m.case_id, m.thread_rule, m.kind, m.date_at, m.new_text) for m in
                        session.scalars(select(Message).order_by(Message.id))]
        return [(o.result, o.case_ref, o.rule, o.kind) for o in out], cases, messages

    def ahead(app, row, index):
        raw = load_raw(row)
        p = prepare.prepare_bytes(raw, row.received_at, app.clock.now(), prepare.recipe(app))
        if index % 4 == 1:
            return prepare.loads(prepare.dumps(p)[:-7])                # corrupt
        if index % 4 == 2:
            return replace(p, sha256=hashlib.sha256(b"other").hexdigest())   # stale
        return prepare.loads(prepare.dumps(p))

    monkeypatch.setenv(prepare_pool.ENV, "0")
    assert run("inline", lambda app, row, index: None) == run("ahead", ahead)


def test_process_pending_with_the_pool_matches_inline(tmp_path, monkeypatch):
    def run(name: str, processes: str):
        monkeypatch.setenv(prepare_pool.ENV, processes)
        db = Database(f"sqlite:///{tmp_path / name}.sqlite3")
        db.upgrade()
        app = make_app(db, tmp_path / name)
        ingest(app, list(demo_raws().values()))
        outcomes = [(o.result, o.case_ref, o.rule, o.kind) for o in process_pending(app)]
        with db.transaction() as session:
            cases = [(c.ref, c.subject, c.kb_suggestions, c.priority, c.team) for c in
                     session.scalars(select(Case).order_by(Case.id))]
        return outcomes, cases

    assert run("inline", "0") == run("pool", "1")


def test_prepare_jobs_leave_results_in_redis_that_the_drain_uses(tmp_path, redis_url,
                                                                   monkeypatch):
    import redis

    from mailproc.runners import inbound, jobs

    conn = redis.Redis.from_url(redis_url)
    db = Database(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    db.upgrade()
    app = make_app(db, tmp_path, redis_url=redis_url)
    ids = ingest(app, list(demo_raws().values()))
    jobs.set_app(app)
    try:
        assert jobs.prepare(ids)["prepared"] == len(ids)
        conn.set(prepare_redis.redis_key(app, ids[1]), b"corrupt")              # ignored
        conn.set(prepare_redis.redis_key(app, ids[2]), conn.get(prepare_redis.redis_key(app, ids[3])))
        used = []

        def spy(app_, prepared, raw, *rest):
            parsed = prepare.use(app_, prepared, raw, *rest)
            used.append(parsed is not None)
            return parsed

        monkeypatch.setattr(inbound, "use", spy)
        jobs.process_raw(ids[0])
    finally:
        jobs.set_app(None)
    # Every message processed; each used its own prepared result but the corrupt one and
    # the one holding another message's result (stale: other bytes).
    assert used == [i not in (1, 2) for i in range(len(ids))]
    with db.transaction() as session:
        assert all(r.status.value == "processed" for r in session.scalars(select(RawMessage)))
    assert not conn.keys("mailproc:prepared:*")                           # taken, not left
    conn.close()


def test_a_row_is_computed_once_by_whoever_claims_it(tmp_path, redis_url, monkeypatch):
    """The drain waits for a row a prepare job is computing instead of computing it again;
    a job skips a row the drain computes itself; a job that died or found nothing frees
    the row, so the drain does not wait for a result that will not come."""
    import threading

    import redis

    conn = redis.Redis.from_url(redis_url)
    db = Database(f"sqlite:///{tmp_path / 'claims.sqlite3'}")
    db.upgrade()
    app = make_app(db, tmp_path, redis_url=redis_url)
    ids = ingest(app, list(demo_raws().values())[:4])
    with db.transaction() as session:
        rows = {r.id: r for r in session.scalars(select(RawMessage))}
    how = prepare.recipe(app)

    def result(raw_id):
        row = rows[raw_id]
        return prepare.prepare_bytes(load_raw(row), row.received_at, app.clock.now(), how)

    # A job has the first row: the drain gets the job's result when it comes.
    assert prepare_redis._claim(app, conn, ids[0], b"job")
    def job_done():
        conn.set(prepare_redis.redis_key(app, ids[0]), prepare.dumps(result(ids[0])))
        prepare_redis._signal(app, conn, ids[0])
    threading.Timer(0.4, job_done).start()
    started = time.perf_counter()
    got = prepare_redis.fetch(app, conn, ids[0])
    assert got is not None and got.sha256 == result(ids[0]).sha256
    assert 0.3 < time.perf_counter() - started < 1.5     # woken by the job, not the lapse
    # Nobody has the second: the drain takes it (inline), and a job skips it.
    assert prepare_redis.fetch(app, conn, ids[1]) is None
    assert prepare_redis.prepare_rows(app, [ids[1]], conn) == {"prepared": 0, "skipped": 1,
                                                         "failed": 0}
    assert conn.get(prepare_redis.redis_key(app, ids[1])) is None
    # A job that died with the third: its claim lapses and the drain goes on inline.
    monkeypatch.setattr(prepare_redis, "CLAIM", 1)
    assert prepare_redis._claim(app, conn, ids[2], b"job")
    started = time.perf_counter()
    assert prepare_redis.fetch(app, conn, ids[2]) is None
    assert 0.5 < time.perf_counter() - started < 3
    # A job that finds nothing to keep (the bytes do not parse) frees the row at once.
    monkeypatch.setattr(prepare_redis, "prepare_bytes", lambda *args: None)
    assert prepare_redis.prepare_rows(app, [ids[3]], conn)["prepared"] == 0
    assert conn.get(prepare_redis.redis_key(app, ids[3], "preparing")) is None
    conn.close()


def test_a_look_without_waiting_takes_only_what_the_pool_has_finished(app, monkeypatch):
    """A batch's first look at its rows (for the cases their replies answer) does not wait
    for the pool: a result not done is neither awaited nor taken from the pool; a done one
    is taken, once."""
    monkeypatch.setenv(prepare_pool.ENV, "1")
    monkeypatch.setattr(prepare_pool, "_child", _slow_child)
    prepare_pool._discard_pool()
    ids = ingest(app, corpus(3))
    ahead = prepare_pool.Ahead.start(app)
    try:
        ahead.feed(ids)
        started = time.perf_counter()
        assert ahead.take(ids[0], ids, wait=False) is None
        assert time.perf_counter() - started < 0.5 and ids[0] in ahead._futures
        ahead._futures[ids[0]].result(timeout=30)
        done = ahead.take(ids[0], ids, wait=False)
        assert isinstance(done, prepare.Prepared) and ids[0] not in ahead._futures
        assert ahead.take(ids[0]) is None          # taken: the caller keeps what it got
    finally:
        ahead.close()
        prepare_pool._discard_pool()
