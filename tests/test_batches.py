"""The ordered step in batches (issue 18): many messages to a transaction; one bad message
fails alone (the rows before it are redone without it); a row a process died with goes alone; the
result is the same as one message at a time."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from mailproc.models import Event, OutboundMail, Quarantine, RawMessage, RawStatus
from mailproc.ops.export import export_cases
from mailproc.store.raw import load_raw
from mailproc.runners import inbound, prepare
from mailproc.runners.inbound import BATCH_SIZE, process_many, process_raw
from tests.agent_helpers import agent_app, mail
from tests.helpers import demo_raws, ingest


def conversation(n: int) -> list[bytes]:
    """n customers, each a request and a reply to it (References), and a bad one's marker."""
    raws = []
    for i in range(n):
        first = f"<req-{i}@kunde{i}.example>"
        raws.append(mail(frm=f"c{i}@kunde{i}.example", subject=f"Scanner {i} offline",
                         body=f"Scanner {i} is offline.", msgid=first))
        raws.append(mail(frm=f"c{i}@kunde{i}.example", subject=f"Re: Scanner {i} offline",
                         body="Still offline.", msgid=f"<re-{i}@kunde{i}.example>",
                         in_reply_to=first, references=first))
    return raws


BAD = mail(frm="bad@kunde.example", subject="BREAKS placement", body="x")


def break_placement(monkeypatch) -> None:
    """Placement raises on the BAD mail (and only on it)."""
    place = inbound.place

    def breaks(app, session, row, msg, *args):
        if msg.subject == "BREAKS placement":
            raise ValueError("placement broke on this one")
        return place(app, session, row, msg, *args)
    monkeypatch.setattr(inbound, "place", breaks)


def database_gone_at(monkeypatch, raw_id: int) -> None:
    """Placement of raw row `raw_id` (and only of it) meets a lost database connection."""
    place = inbound.place

    def db_gone(app, session, row, msg, *args):
        if row.id == raw_id:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return place(app, session, row, msg, *args)
    monkeypatch.setattr(inbound, "place", db_gone)


def commits(db) -> list[int]:
    seen = [0]
    event.listen(db.engine, "commit", lambda conn: seen.__setitem__(0, seen[0] + 1))
    return seen


def summary(app) -> list[tuple]:
    with app.db.transaction() as s:
        return sorted((c["subject"], c["ref"], tuple(m["rule"] for m in c["messages"]
                                                       if m["direction"] == "in"))
                      for c in export_cases(s)["cases"])


def test_a_batch_is_a_few_commits_and_the_same_as_one_at_a_time(db, db_url_factory, tmp_path):
    raws = conversation(20) + list(demo_raws().values())
    one = agent_app(db, tmp_path / "one")
    ids = ingest(one, raws)
    assert [process_raw(one, i).result for i in ids].count("processed") == len(ids)
    many = agent_app(db_url_factory(), tmp_path / "many")
    ids = ingest(many, raws)
    seen = commits(many.db)
    outcomes = process_many(many, ids)
    assert [o.result for o in outcomes] == ["processed"] * len(ids)
    batches = -(-len(ids) // BATCH_SIZE)
    assert seen[0] <= 2 * batches + 2          # a claim and a batch per BATCH_SIZE messages
    assert summary(many) == summary(one)
    with many.db.transaction() as s:
        assert set(s.scalars(select(RawMessage.attempts))) == {1}


def test_one_bad_message_rolls_back_alone(db, tmp_path, monkeypatch):
    """The middle message breaks in placement: it is quarantined with the reason, the others
    before and after it are processed, in order."""
    app = agent_app(db, tmp_path)
    raws = conversation(3)
    raws[2] = BAD
    ids = ingest(app, raws)
    break_placement(monkeypatch)
    outcomes = process_many(app, ids)
    assert [o.result for o in outcomes] == ["processed", "processed", "quarantined",
                                            "processed", "processed", "processed"]
    assert [o.raw_id for o in outcomes] == ids
    # (the reply to the request the bad one replaced has nothing to join: a case of its own)
    assert [o.rule for o in outcomes if o.result == "processed"] == [
        "new", "references", "new", "new", "references"]
    with app.db.transaction() as s:
        (q,) = s.scalars(select(Quarantine)).all()
        assert q.raw_id == ids[2] and "placement broke on this one" in q.reason
        # nothing of the bad one stayed: no case, no contact, no message row
        assert s.scalar(select(func.count()).select_from(RawMessage).where(
            RawMessage.status == RawStatus.PROCESSED)) == 5


def test_the_rows_before_a_failure_are_redone_once_in_effect(db, db_url_factory, tmp_path,
                                                              monkeypatch):
    """A failing row rolls its batch back; the rows before it are done again in a new
    transaction: their cases, mail and events are there once, the same as the good rows
    alone one at a time, and each row's prepared parse is asked for once (the redo keeps
    what it got)."""
    good = conversation(2)

    def trail(app) -> tuple:
        with app.db.transaction() as s:
            return (s.scalar(select(func.count()).select_from(OutboundMail)),
                    sorted(s.scalars(select(Event.kind).where(Event.case_id.is_not(None)))))
    one = agent_app(db_url_factory(), tmp_path / "one")
    assert [process_raw(one, i).result for i in ingest(one, good)] == ["processed"] * 4
    app = agent_app(db, tmp_path / "many")
    ids = ingest(app, good + [BAD])
    break_placement(monkeypatch)
    asked: list[int] = []
    outcomes = process_many(app, ids, lambda raw_id, counted=(): asked.append(raw_id))
    assert [o.result for o in outcomes] == ["processed"] * 4 + ["quarantined"]
    assert sorted(asked) == ids        # the first four were run twice, asked once
    # (refs aside: PostgreSQL's sequences do not roll back, the redo's cases have later ids)
    assert [(subject, rules) for subject, _, rules in summary(app)] == \
        [(subject, rules) for subject, _, rules in summary(one)]
    count, kinds = trail(app)
    assert (count, kinds) == trail(one) and count >= 2 and kinds.count("case_opened") == 2
    with app.db.transaction() as s:
        assert [s.get(RawMessage, i).attempts for i in ids] == [1] * 5


def test_a_change_that_fails_at_flush_is_blamed_on_its_own_row(db, tmp_path, monkeypatch):
    """A row whose last change is left for the flush (nothing after it read the database)
    is the row that fails, not the next one, whose first read would have flushed it."""
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(1)[:1] + [
        mail(frm="bad@kunde.example", subject="BAD FLUSH", body="x")] + conversation(2)[2:3])
    after = inbound.after_message

    def breaks_at_flush(app, session, *, case, message, **kwargs):
        after(app, session, case=case, message=message, **kwargs)
        if message.subject == "BAD FLUSH":
            case.subject = None          # NOT NULL: fails when flushed
    monkeypatch.setattr(inbound, "after_message", breaks_at_flush)
    outcomes = process_many(app, ids)
    assert [(o.raw_id, o.result) for o in outcomes] == [(ids[0], "processed"),
                                                        (ids[1], "retry")]
    assert "IntegrityError" in outcomes[1].reason and "subject" in outcomes[1].reason.lower()
    with app.db.transaction() as s:
        assert [s.get(RawMessage, i).attempts for i in ids] == [1, 1, 0]


def test_a_row_a_process_died_with_goes_alone(db, tmp_path, monkeypatch):
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(3))
    with app.db.transaction() as s:
        s.get(RawMessage, ids[2]).attempts = 1      # in hand when a process died
    alone = []
    careful = inbound.process_raw
    monkeypatch.setattr(inbound, "process_raw",
                        lambda app, raw_id, **kw: alone.append(raw_id) or careful(app, raw_id,
                                                                                    **kw))
    outcomes = process_many(app, ids)
    assert [o.result for o in outcomes] == ["processed"] * 6
    assert alone == [ids[2]]
    with app.db.transaction() as s:
        assert [s.get(RawMessage, i).attempts for i in ids] == [1, 1, 2, 1, 1, 1]


def test_the_database_failing_mid_batch_holds_the_rest(db, tmp_path, monkeypatch):
    """An infrastructure error is not the message's fault: "retry", the mailbox waits, and
    the rows after it were never started (their attempts are not counted)."""
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(3))
    database_gone_at(monkeypatch, ids[3])
    outcomes = process_many(app, ids)
    assert [o.result for o in outcomes] == ["processed"] * 3 + ["retry"]
    with app.db.transaction() as s:
        rows = [s.get(RawMessage, i) for i in ids]
        assert [r.status for r in rows] == [RawStatus.PROCESSED] * 3 + [RawStatus.PENDING] * 3
        assert [r.attempts for r in rows] == [1, 1, 1, 0, 0, 0]
    monkeypatch.undo()
    assert [o.result for o in process_many(app, ids[3:])] == ["processed"] * 3


def test_a_batch_that_cannot_commit_is_done_one_at_a_time(db, tmp_path):
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(2))
    state = {"batch": False, "failed": 0}

    def flaky_commit(conn):
        # The second commit of process_many is its batch: make it fail once.
        if state["batch"] and not state["failed"]:
            state["failed"] += 1
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        state["batch"] = True
    event.listen(app.db.engine, "commit", flaky_commit)
    try:
        outcomes = process_many(app, ids)
    finally:
        event.remove(app.db.engine, "commit", flaky_commit)
    assert state["failed"] == 1
    assert [o.result for o in outcomes] == ["processed"] * 4
    with app.db.transaction() as s:
        assert [s.get(RawMessage, i).attempts for i in ids] == [2, 2, 2, 2]
        assert s.scalar(select(func.count()).select_from(Quarantine)) == 0


@pytest.mark.parametrize("size", [1, 2])
def test_batches_of_any_size_agree(db, tmp_path, monkeypatch, size):
    monkeypatch.setattr(inbound, "BATCH_SIZE", size)
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(3))
    assert [o.rule for o in process_many(app, ids)] == ["new", "references"] * 3


def test_a_reader_is_not_held_up_by_the_batch_s_write_transaction(db, tmp_path):
    """The prepare pool's feed reads the next rows while the batch's transaction is open in
    the same process: on SQLite a write transaction there would wait for the lock."""
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(1))
    with db.transaction() as writing:
        writing.get(RawMessage, ids[0]).attempts = 5
        writing.flush()
        started = time.monotonic()
        with db.reading() as session:
            row = session.get(RawMessage, ids[1])
        assert time.monotonic() - started < 1.0
    assert row.attempts == 0 and row.data      # readable after its transaction ended


def test_a_batch_writes_its_events_together_not_one_statement_each(db, tmp_path):
    """Events are held back: written together at the commit, or before a stage reads the
    trail (a new case's acknowledgement and its agents' notice show its history), not one
    statement each."""
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(5))
    inserts: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            inserts.append(len(parameters) if executemany else 1)
    event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        assert [o.result for o in process_many(app, ids)] == ["processed"] * len(ids)
    finally:
        event.remove(app.db.engine, "before_cursor_execute", count)
    with app.db.transaction() as s:
        kinds = list(s.scalars(select(Event.kind).order_by(Event.id)))
    assert kinds.count("case_opened") == 5 and sum(inserts) == len(kinds)
    assert len(inserts) <= 2 * 5 + 1 < len(kinds) // 2


def prepared_now(app, ids: list[int]) -> dict:
    """What a prepare job would leave for each of `ids`, computed here."""
    how, done = prepare.recipe(app), {}
    with app.db.transaction() as s:
        for row in s.scalars(select(RawMessage).where(RawMessage.id.in_(ids))):
            done[row.id] = prepare.prepare_bytes(load_raw(row), row.received_at,
                                                 app.clock.now(), how, app.db)
    return done


def test_a_batch_reads_the_cases_its_replies_name_together(db, tmp_path):
    """The cases a batch's prepared replies name (In-Reply-To, References) are read in one
    statement at its start: placing each reply then reads no case of its own."""
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(5))
    assert [o.result for o in process_many(app, ids[0::2])] == ["processed"] * 5
    ready = prepared_now(app, ids[1::2])
    reads: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT cases.id, cases.ref"):
            reads.append(statement)
    event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        outcomes = process_many(app, ids[1::2], lambda raw_id, counted=(): ready[raw_id])
    finally:
        event.remove(app.db.engine, "before_cursor_execute", count)
    assert [(o.result, o.rule) for o in outcomes] == [("processed", "references")] * 5
    assert len({o.case_ref for o in outcomes}) == 5
    assert len(reads) == 1 and " IN " in reads[0]


def test_a_batch_looks_at_its_rows_without_waiting_where_the_source_can_tell(db, tmp_path):
    """A source that tells what it has finished (the pool's `ready`) is looked at, without
    waiting, at a batch's start: a result there is used and not asked for again; one not
    there yet is asked for, waiting, at its row's turn."""
    app = agent_app(db, tmp_path)
    ids = ingest(app, conversation(5))
    done = prepared_now(app, ids[0::2])
    asked: list[int] = []
    looked: list[int] = []

    def prepared(raw_id, counted=()):
        asked.append(raw_id)
        return None

    def ready(raw_id):
        looked.append(raw_id)
        return done.get(raw_id)
    prepared.ready = ready
    assert [o.result for o in process_many(app, ids, prepared)] == ["processed"] * len(ids)
    assert sorted(looked) == ids and sorted(asked) == ids[1::2]


def test_a_reader_of_the_trail_sees_the_events_its_transaction_holds(db, tmp_path):
    """The two readers in the inbound batch: a case's history (acknowledgement, notices) and
    the earlier copies of an agent's mail."""
    from types import SimpleNamespace

    from mailproc.actions.after_message import _only_forged_copies
    from mailproc.cases.records import hold_events, record_event
    from mailproc.models import Case
    from mailproc.templating.context import history

    app = agent_app(db, tmp_path)
    process_many(app, ingest(app, conversation(1)[:1]))
    now = app.clock.now()
    copy = SimpleNamespace(message_id="agent-1@example.com")
    with app.db.transaction() as s:
        hold_events(s)
        case = s.scalars(select(Case)).one()
        assert not _only_forged_copies(s, case, copy)
        for i in range(3):
            record_event(s, case.id, actor="mailproc", kind="note", detail=f"note {i}", now=now)
        assert [h["detail"] for h in history(s, case)][-3:] == ["note 0", "note 1", "note 2"]
        record_event(s, case.id, actor="mailproc", kind="security", detail="refused", now=now,
                     data={"message_id": copy.message_id})
        assert _only_forged_copies(s, case, copy)
    with app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(
            Event.kind.in_(("note", "security")))) == 4


def test_events_held_by_a_transaction_that_rolls_back_are_not_written(db, tmp_path):
    from mailproc.cases.records import hold_events, record_event

    app = agent_app(db, tmp_path)
    with pytest.raises(RuntimeError):
        with app.db.transaction() as s:
            hold_events(s)
            record_event(s, None, actor="mailproc", kind="note", detail="lost", now=app.clock.now())
            raise RuntimeError("the transaction fails")
    with app.db.transaction() as s:
        record_event(s, None, actor="mailproc", kind="note", detail="kept", now=app.clock.now())
    with app.db.transaction() as s:
        assert list(s.scalars(select(Event.detail).where(Event.kind == "note"))) == ["kept"]


def test_a_mailbox_held_by_a_retry_does_not_hold_the_mail_of_others_behind_it(
        db, tmp_path, monkeypatch):
    """process_pending reads the pending ids a batch and its look-ahead at a time: when all
    it read belong to a mailbox a retry stopped, it reads on, and the other mailbox's mail
    behind them is processed in the same round; the stopped mailbox's waits, unstarted."""
    app = agent_app(db, tmp_path)
    monkeypatch.setenv("MAILPROC_PREPARE_PROCESSES", "0")
    held = ingest(app, conversation(2 * BATCH_SIZE + 8), mailbox="held")   # past a read
    other = ingest(app, [mail(frm=f"o{i}@other.example", subject=f"Printer {i} jams",
                              body="It jams on every page.", msgid=f"<o{i}@other.example>")
                         for i in range(2)], mailbox="other")
    database_gone_at(monkeypatch, held[0])
    outcomes = inbound.process_pending(app)
    assert [(o.raw_id, o.result) for o in outcomes] == \
        [(held[0], "retry")] + [(i, "processed") for i in other]
    with app.db.transaction() as s:
        assert {s.get(RawMessage, i).status for i in held} == {RawStatus.PENDING}
