"""KB articles edited in the web console: kept in the database, versioned, checked like
`kb check`, and found by every process's KnowledgeBase without a restart."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from mailproc import config
from mailproc.app import App
from mailproc.cases.records import record_event
from mailproc.cli.kb import kb as kb_cli
from mailproc.errors import EditRefused, MailprocError
from mailproc.kb import semantic as semantic_mod
from mailproc.kb.search import KnowledgeBase
from mailproc.models import Event, KbVersion
from mailproc.store import kb_edits
from tests.helpers import MONDAY, make_app

STARTER_KB = Path(__file__).resolve().parents[1] / "kb"
ESPRESSO = """---
id: espresso
title: Espresso machine leaks water
tags: [kitchen, coffee]
audience: customer
related: [wifi]
---

The espresso machine on floor 2 leaks when the drip tray is full. Empty the tray; if it
still leaks, call facilities on extension 555.
"""


@pytest.fixture
def kb_dir(tmp_path) -> Path:
    path = tmp_path / "kb"
    shutil.copytree(STARTER_KB, path)
    return path


@pytest.fixture
def web(db, tmp_path, kb_dir) -> App:
    return make_app(db, tmp_path, kb={"dir": str(kb_dir), "semantic": False})


@pytest.fixture
def worker(db, tmp_path, kb_dir) -> App:
    """Another process's App on the same database, its KB index built before any save."""
    app = make_app(db.fresh(), tmp_path, kb={"dir": str(kb_dir), "semantic": False})
    app.prepare()
    yield app
    app.db.dispose()


def save(app: App, article_id: str, text: str, **kw):
    with app.db.transaction() as session:
        return kb_edits.save_article(app, session, article_id, text, kw.pop("author", "ada"),
                                     MONDAY, **kw)


def wait_for(check, seconds: float = 3.0):
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.05)
    return value


def ids(base: KnowledgeBase, query: str) -> list[str]:
    return [h.article.id for h in base.search(query, limit=3)]


def test_the_edited_hook_replaces_hides_and_adds_articles(kb_dir):
    """The KB package itself: no database, only the hook's (signature, texts)."""
    state = {"sig": 0, "texts": {}}
    base = KnowledgeBase(kb_dir, semantic=False, edited=lambda: (state["sig"], state["texts"]))
    assert base.get("espresso") is None and base.get("wifi").path == kb_dir / "wifi.md"
    state.update(sig=1, texts={"espresso": ESPRESSO, "wifi": None,
                               "vpn-connect": (kb_dir / "vpn-connect.md").read_text().replace(
                                   "title: ", "title: Edited: ", 1)})
    assert base.refresh() is True and base.refresh() is False
    assert base.get("espresso").title == "Espresso machine leaks water"
    assert base.get("espresso").path is None
    assert base.get("wifi") is None  # hidden, though its file is there
    assert base.get("vpn-connect").title.startswith("Edited: ")
    assert ids(base, "espresso machine leaks")[0] == "espresso"
    assert "wifi" in base.file_articles() and "espresso" not in base.file_articles()
    state.update(sig=2, texts={"espresso": "no front matter"})  # unusable: skipped
    assert base.get("espresso") is None and base.get("wifi") is not None


def test_a_saved_article_is_found_by_a_knowledge_base_built_before_the_save(web, worker):
    base = worker.knowledge_base
    assert "espresso" not in ids(base, "espresso machine leaking water")
    version = save(web, "espresso", ESPRESSO)
    t0 = time.monotonic()
    wait_for(lambda: ids(base, "espresso machine leaking water")[:1] == ["espresso"])
    assert time.monotonic() - t0 < 2.5
    assert worker.knowledge_base is base  # the same index object, nothing restarted
    suggestion = base.suggest("Espresso machine", "the espresso machine leaks water", "customer")
    assert suggestion[0].article_id == "espresso" and suggestion[0].url_or_path == "espresso"
    with web.db.transaction() as session:
        event = session.scalar(select(Event).where(Event.kind == "kb_saved"))
    assert (event.case_id, event.actor, event.data) == (
        None, "ada", {"article": "espresso", "version": version.id, "removed": False})

    # An edit over a file wins over the file; hiding it takes it out of every answer.
    wifi = (web.knowledge_base.file_articles()["wifi"].path).read_text()
    save(web, "wifi", wifi.replace("title: Wi-Fi in the office and for guests",
                                   "title: Wireless network (edited)"))
    wait_for(lambda: base.get("wifi").title == "Wireless network (edited)")
    with web.db.transaction() as session:
        with pytest.raises(EditRefused) as refused:  # espresso links to it
            kb_edits.remove_article(web, session, "wifi", "ada", MONDAY)
        assert refused.value.problems == {"wifi": [
            (0, "article 'espresso' links to it: hiding it would break that link")]}
        kb_edits.remove_article(web, session, "espresso", "ada", MONDAY)
    wait_for(lambda: base.get("espresso") is None)
    assert "espresso" not in ids(base, "espresso machine leaking water")
    assert base.suggest("", "the espresso machine leaks water", "customer") == []


@pytest.mark.parametrize(("text", "problem"), [
    (ESPRESSO.replace("audience: customer", "audience: everyone"),
     (5, "audience must be one of customer, internal, not 'everyone'")),
    (ESPRESSO.replace("[wifi]", "[no-such-article]"), (6, "link to unknown article 'no-such-article'")),
    (ESPRESSO.replace("id: espresso", "id: coffee"),
     (2, "id 'coffee' does not match the article's id 'espresso'")),
    (ESPRESSO.replace("title: Espresso machine leaks water\n", ""), (1, "missing required key 'title'")),
    (ESPRESSO + "\nSee [the VPN](kb:vpn).\n", (12, "link to unknown article 'vpn'")),
    ("Just some text\n", (1, "missing front matter: the file must start with '---'")),
    (ESPRESSO.replace("tags:", "colour: blue\ntags:"), (4, "unknown key 'colour' (known: applies_when, "
                                                         "audience, id, related, tags, title)")),
])
def test_kb_check_errors_refuse_a_save(web, text, problem):
    assert problem in kb_edits.check_article_text(web, "espresso", text)
    with pytest.raises(EditRefused) as refused:
        save(web, "espresso", text)
    assert problem in refused.value.problems["espresso"]
    with web.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(KbVersion)) == 0
    assert web.knowledge_base.get("espresso") is None


@pytest.mark.parametrize("article_id", ["../wifi", "a/b", ".hidden", "", "x" * 201, "wifi\n"])
def test_ids_that_are_not_article_ids_are_refused(web, article_id):
    assert kb_edits.check_article_text(web, article_id, ESPRESSO)[0][0] == 0
    with pytest.raises(EditRefused):
        save(web, article_id, ESPRESSO)
    with pytest.raises(MailprocError, match="not an article id"):
        kb_edits.article_text(web, article_id)


def test_revert_history_and_diff(web, kb_dir):
    file_text = (kb_dir / "wifi.md").read_text()
    first = save(web, "wifi", file_text.replace("for guests", "for visitors"))
    second = save(web, "wifi", file_text.replace("for guests", "for everyone"), note="wider")
    assert save(web, "wifi", file_text.replace("for guests", "for everyone")) is None
    with web.db.transaction() as session:
        back = kb_edits.revert_article(web, session, "wifi", first.id, "bob", MONDAY)
        assert kb_edits.article_text(web, "wifi") is not None
    assert kb_edits.article_text(web, "wifi").text == first.text
    assert kb_edits.article_text(web, "wifi").origin == "edited"
    assert web.knowledge_base.get("wifi").title == "Wi-Fi in the office and for visitors"
    with web.db.transaction() as session:
        history = kb_edits.article_history(session, "wifi")
        assert [v.id for v in history] == [back.id, second.id, first.id]
        assert (history[0].note, history[1].note) == (f"revert to version {first.id}", "wider")
        diff = kb_edits.article_diff(web, session, back.id)
        assert "-title: Wi-Fi in the office and for everyone" in diff
        assert "+title: Wi-Fi in the office and for visitors" in diff
        assert "--- wifi.md (file)" in kb_edits.article_diff(web, session, first.id)
        to_file = kb_edits.revert_article(web, session, "wifi", None, "bob", MONDAY)
        assert not to_file.removed and to_file.text == file_text
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert kinds == ["kb_saved", "kb_saved", "kb_reverted", "kb_reverted"]
    assert web.knowledge_base.get("wifi").title == "Wi-Fi in the office and for guests"
    with web.db.transaction() as session:
        with pytest.raises(MailprocError, match="no version"):
            kb_edits.revert_article(web, session, "vpn-connect", first.id, "bob", MONDAY)


def test_list_articles_with_origin_and_use(web):
    save(web, "espresso", ESPRESSO)
    save(web, "wifi", (web.knowledge_base.file_articles()["wifi"].path).read_text()
         .replace("for guests", "for visitors"))
    with web.db.transaction() as session:
        kb_edits.remove_article(web, session, "disk-full", "ada", MONDAY)
        for suggestions in ([{"id": "wifi"}, {"id": "espresso"}], [{"id": "wifi"}]):
            record_event(session, None, actor="mailproc", kind="kb_suggested", detail="",
                         now=MONDAY, data={"suggestions": suggestions})
        record_event(session, None, actor="c@x", kind="resolved_by_kb", detail="", now=MONDAY,
                     data={"suggestions": ["wifi", "espresso"]})
        record_event(session, None, actor="agent", kind="kb_sent", detail="", now=MONDAY,
                     data={"article": "espresso"})
    with web.db.transaction() as session:
        entries = {e.id: e for e in kb_edits.list_articles(web, session)}
    assert (entries["wifi"].origin, entries["espresso"].origin) == ("edited", "new")
    assert (entries["disk-full"].origin, entries["vpn-connect"].origin) == ("removed", "file")
    assert entries["wifi"].title == "Wi-Fi in the office and for visitors"
    assert entries["espresso"].path is None and entries["wifi"].path.name == "wifi.md"
    assert (entries["wifi"].suggested, entries["wifi"].resolved, entries["wifi"].sent) == (2, 1, 0)
    assert (entries["espresso"].suggested, entries["espresso"].resolved,
            entries["espresso"].sent) == (1, 0, 1)
    assert (entries["vpn-connect"].suggested, entries["vpn-connect"].version) == (0, None)
    assert entries["espresso"].version.author == "ada"


def test_try_question_lexical_only(web):
    rows = kb_edits.try_question(web, "process lock on my account", limit=3)
    assert rows[0].article_id == "account-locked"
    assert all(r.semantic is None and r.score >= r.lexical for r in rows)
    # The final score is the fused one: an "applies when" phrase lifts an internal article.
    unlock = next(r for r in rows if r.article_id == "agent-unlock-account")
    assert unlock.score == 0.6 > unlock.lexical and not unlock.suggested
    assert rows == sorted(rows, key=lambda r: -r.score)
    internal = kb_edits.try_question(web, "unlock an account for a customer", audience="customer")
    assert all(r.audience == "customer" for r in internal)


@pytest.mark.skipif(not semantic_mod.semantic_available(), reason="no sentence model installed")
def test_try_question_returns_the_three_scores(db, tmp_path, kb_dir):
    app = make_app(db, tmp_path, kb={"dir": str(kb_dir), "semantic": True})
    rows = kb_edits.try_question(app, "The VPN says gateway not responding from home", limit=5)
    assert rows[0].article_id == "vpn-connect" and rows[0].suggested
    assert all(isinstance(r.semantic, float) for r in rows)
    assert all(0 <= r.lexical <= 1 and 0 <= r.score <= 1 for r in rows)
    # The hybrid is not the lexical score alone: the model moves it.
    assert any(abs(r.score - r.lexical) > 0.01 for r in rows)


def test_export_import_round_trip(db_url_factory, tmp_path, kb_dir):
    source = make_app(db_url_factory(), tmp_path, kb={"dir": str(kb_dir), "semantic": False})
    save(source, "espresso", ESPRESSO)
    wifi = (kb_dir / "wifi.md").read_text().replace("for guests", "for visitors")
    save(source, "wifi", wifi)
    out = tmp_path / "export"
    written = kb_edits.export_articles(source, out)
    assert [(a.id, a.origin) for a in written] == [("espresso", "new"), ("wifi", "edited")]
    assert (out / "espresso.md").read_text() == ESPRESSO
    assert len(kb_edits.export_articles(source, tmp_path / "all", everything=True)) == \
        len(list(STARTER_KB.glob("*.md"))) + 1

    target = make_app(db_url_factory(), tmp_path, kb={"dir": str(kb_dir), "semantic": False})
    with target.db.transaction() as session:
        rows = kb_edits.import_articles(target, session, out, "importer", MONDAY)
    assert [(i, s) for i, s, _ in rows] == [("espresso", "saved"), ("wifi", "saved")]
    assert target.knowledge_base.get("espresso").title == "Espresso machine leaks water"
    assert target.knowledge_base.get("wifi").title == "Wi-Fi in the office and for visitors"
    with target.db.transaction() as session:
        assert {s for _, s, _ in kb_edits.import_articles(target, session, out, "x", MONDAY)} \
            == {"unchanged"}
    (out / "bad.md").write_text(ESPRESSO.replace("id: espresso", "id: bad").replace("[wifi]", "[nowhere]"))
    (out / "espresso.md").write_text(ESPRESSO.replace("floor 2", "floor 3"))
    with pytest.raises(EditRefused) as refused, target.db.transaction() as session:
        kb_edits.import_articles(target, session, out, "importer", MONDAY)
    assert refused.value.problems == {"bad": [(6, "link to unknown article 'nowhere'")]}
    with target.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(KbVersion)) == 2


def test_cli_export_and_import(tmp_path, monkeypatch, kb_dir):
    for name in ("MAILPROC_CONFIG", "MAILPROC_DATABASE_URL", "MAILPROC_NOW"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "config" / "mailproc.toml"
    cfg.parent.mkdir()
    cfg.write_text('[support]\naddress = "support@example.com"\nname = "Example Support"\n'
                   f'fallback_phone = "+49 30 1234 5678"\n\n[kb]\ndir = "{kb_dir}"\nsemantic = false\n')
    App.create(config.load(cfg)).db.upgrade()
    runner = CliRunner()
    obj = {"config": str(cfg)}
    files = tmp_path / "articles"
    files.mkdir()
    (files / "any-name.md").write_text(ESPRESSO)
    (files / "README.md").write_text("# not an article\n")
    imported = runner.invoke(kb_cli, ["import", str(files), "--by", "ops"], obj=obj)
    assert imported.exit_code == 0, imported.output
    assert imported.output.splitlines()[2].split() == ["espresso", "saved", "1"]
    out = tmp_path / "out"
    exported = runner.invoke(kb_cli, ["export", str(out), "--json"], obj=obj)
    assert json.loads(exported.output) == [{"id": "espresso", "origin": "new"}]
    again = runner.invoke(kb_cli, ["import", str(out), "--json"], obj=obj)
    assert json.loads(again.output) == [{"id": "espresso", "status": "unchanged", "version": None}]
    (out / "espresso.md").write_text(ESPRESSO.replace("audience: customer", "audience: all"))
    bad = runner.invoke(kb_cli, ["import", str(out), "--json"], obj=obj)
    assert bad.exit_code == 1
    assert json.loads(bad.output) == {"refused": {"espresso": [
        {"line": 5, "message": "audience must be one of customer, internal, not 'all'"}]}}
