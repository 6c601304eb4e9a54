"""Templates edited in the web console: kept in the database, versioned, checked before they go
live, and rendered by every process on its next mail without a restart."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from mailproc import config
from mailproc.app import App
from mailproc.cases.records import get_contact, open_case, record_event
from mailproc.cli.templates import templates as templates_cli
from mailproc.db import Database
from mailproc.errors import EditRefused, TemplateError
from mailproc.models import Event, TemplateVersion
from mailproc.store import versions
from mailproc.templating import edits
from mailproc.templating.check import check_templates
from mailproc.templating.render import BUILTIN_DIR, renderer_for
from mailproc.templating.samples import sample_context
from tests.helpers import MONDAY, ROOT, make_app

ACK_SUBJECT = (BUILTIN_DIR / "ack.subject.j2").read_text(encoding="utf-8")
EDITED = "[#{{ case.ref }}] We have your message: {{ case.subject }}\n"


def subject(app: App, kind: str = "ack", language: str = "en") -> str:
    return renderer_for(app).render(kind, sample_context(kind, language)).subject


@pytest.fixture
def web(db, tmp_path) -> App:
    """The console's App: it saves; `worker` renders."""
    return make_app(db, tmp_path)


@pytest.fixture
def worker(db, tmp_path) -> App:
    """Another process's App on the same database: its own engine and connections."""
    app = make_app(db.fresh(), tmp_path)
    yield app
    app.db.dispose()


def save(app: App, name: str, source: str, **kw):
    with app.db.transaction() as session:
        return edits.save_template(app, session, name, source, kw.pop("author", "ada@example.com"),
                                   kw.pop("now", MONDAY), **kw)


def wait_for(check, seconds: float = 3.0):
    """The value of check() once it is truthy; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.05)
    return value


def test_a_saved_template_reaches_a_renderer_built_before_the_save(web, worker):
    renderer = renderer_for(worker)
    assert subject(worker) == "[#1042] VPN drops every few minutes since the update"
    version = save(web, "ack.subject.j2", EDITED)
    assert version is not None and version.name == "ack.subject.j2"
    t0 = time.monotonic()
    wait_for(lambda: subject(worker).startswith("[#1042] We have your message:"))
    assert time.monotonic() - t0 < 2.5  # polled once a second, not at a restart
    assert renderer_for(worker) is renderer  # the same renderer, nothing rebuilt
    # The process that saved renders it at once (its cache is dropped at commit).
    assert subject(web).startswith("[#1042] We have your message:")
    with web.db.transaction() as session:
        event = session.scalar(select(Event).where(Event.kind == "template_saved"))
    assert event.case_id is None and event.actor == "ada@example.com"
    assert event.data == {"name": "ack.subject.j2", "version": version.id, "removed": False}


def test_another_os_process_renders_the_new_version_without_restart(tmp_path):
    # SQLite: the child process reaches the database by its URL alone.
    db = Database(f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    db.upgrade()
    web = make_app(db, tmp_path)
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from mailproc.db import Database
        from mailproc.templating.render import renderer_for
        from mailproc.templating.samples import sample_context
        from tests.helpers import make_app
        app = make_app(Database({db.url!r}), Path({str(tmp_path)!r}))
        render = lambda: renderer_for(app).render("ack", sample_context("ack", "en")).subject
        print(render(), flush=True)
        sys.stdin.readline()
        deadline = time.monotonic() + 5
        while "saved" not in render() and time.monotonic() < deadline:
            time.sleep(0.05)
        print(render(), flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        before = child.stdout.readline().strip()
        save(web, "ack.subject.j2", "[#{{ case.ref }}] saved in the console\n")
        child.stdin.write("go\n")
        child.stdin.flush()
        after = child.stdout.readline().strip()
    finally:
        child.communicate(timeout=30)
    assert before == "[#1042] VPN drops every few minutes since the update"
    assert after == "[#1042] saved in the console"


def test_rendering_inside_a_transaction_that_holds_the_write_lock(web):
    """Workers render in the deciding transaction; on SQLite it holds the write lock, so the
    edits must be read without taking it (else the render waits for itself)."""
    save(web, "ack.subject.j2", EDITED)
    web.edited_templates.invalidate()
    t0 = time.monotonic()
    with web.db.transaction() as session:
        record_event(session, None, actor="test", kind="test", detail="a write", now=MONDAY)
        session.flush()
        web.edited_templates.invalidate()
        assert subject(web).startswith("[#1042] We have your message:")
    assert time.monotonic() - t0 < 5


def test_a_failing_template_is_refused_with_its_line_number(web):
    with pytest.raises(EditRefused) as refused:
        save(web, "ack.txt.j2", "Hello {{ customer.name }},\n\ncase {{ case.ref }}\n{{ case.refx }}\n")
    assert refused.value.problems == {"ack.txt.j2": [(4, "'dict object' has no attribute 'refx'")]}
    with pytest.raises(EditRefused) as refused:
        save(web, "ack.txt.j2", "#{{ case.ref }}\nHello {{ customer.name }\n")
    assert refused.value.problems["ack.txt.j2"] == [(2, "unexpected '}'")]
    with pytest.raises(EditRefused) as refused:  # customer mail must carry the case tag
        save(web, "ack.subject.j2", "We have your message\n")
    assert refused.value.problems["ack.subject.j2"][0][0] == 1
    assert "case tag [#1042]" in refused.value.problems["ack.subject.j2"][0][1]
    assert edits.check_template_source(web, "relay.txt.j2", "{{ reply_text }}\n{{ nope }}\n#{{ case.ref }}") \
        == [(2, "unknown variable 'nope' (documented variables: templates/README.md)"),
            (2, "'nope' is undefined")]
    with web.db.transaction() as session:
        assert edits.template_history(session, "ack.txt.j2") == []
        assert session.scalar(select(func.count()).select_from(Event)) == 0
    assert subject(web) == "[#1042] VPN drops every few minutes since the update"


def test_a_new_language_needs_all_its_parts_and_saves_them_together(web):
    alone = edits.check_template_source(web, "ack.fr.subject.j2", "[#{{ case.ref }}] Bonjour\n")
    assert alone and alone[0][0] == 0 and alone[0][1].startswith("ack.fr.txt.j2:0: missing part")
    with web.db.transaction() as session:
        saved = edits.save_templates(web, session, {
            "ack.fr.subject.j2": "[#{{ case.ref }}] Bonjour\n",
            "ack.fr.txt.j2": "Bonjour {{ customer.name }}, dossier {{ case.ref }}.\n"}, "ada", MONDAY)
    assert [v.name for v in saved] == ["ack.fr.subject.j2", "ack.fr.txt.j2"]
    mail = renderer_for(web).render("ack", sample_context("ack", "fr"))
    assert mail.subject == "[#1042] Bonjour" and mail.text.startswith("Bonjour Maria Keller")


def test_revert_restores_the_old_text_and_history_and_diff_tell_it(web):
    first = save(web, "ack.subject.j2", EDITED)
    second = save(web, "ack.subject.j2", "[#{{ case.ref }}] Second try\n", note="shorter")
    assert save(web, "ack.subject.j2", "[#{{ case.ref }}] Second try\r\n") is None  # unchanged
    with web.db.transaction() as session:
        back = edits.revert_template(web, session, "ack.subject.j2", first.id, "bob", MONDAY)
    assert edits.current_source(web, "ack.subject.j2").source == EDITED
    assert subject(web).startswith("[#1042] We have your message:")
    with web.db.transaction() as session:
        history = edits.template_history(session, "ack.subject.j2")
        assert [v.id for v in history] == [back.id, second.id, first.id]
        assert history[0].note == f"revert to version {first.id}" and history[0].author == "bob"
        assert history[1].note == "shorter"
        diff = edits.template_diff(web, session, back.id)
        assert f"--- ack.subject.j2 (version {second.id})" in diff
        assert "-[#{{ case.ref }}] Second try" in diff and "+" + EDITED.strip() in diff
        assert f"+++ ack.subject.j2 (version {back.id})" in diff
        assert "-" + ACK_SUBJECT.strip() in edits.template_diff(web, session, first.id)
        to_file = edits.revert_template(web, session, "ack.subject.j2", None, "bob", MONDAY)
        assert to_file.removed
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert kinds == ["template_saved", "template_saved", "template_reverted", "template_reverted"]
    assert edits.current_source(web, "ack.subject.j2").origin == "builtin"
    assert subject(web) == "[#1042] VPN drops every few minutes since the update"
    with web.db.transaction() as session:  # already the file: nothing to do
        assert edits.revert_template(web, session, "ack.subject.j2", None, "bob", MONDAY) is None
        with pytest.raises(TemplateError, match="no version"):
            edits.revert_template(web, session, "ack.txt.j2", first.id, "bob", MONDAY)


def test_precedence_database_over_override_dir_over_builtin(db, tmp_path):
    override = tmp_path / "overrides"
    override.mkdir()
    (override / "ack.subject.j2").write_text("[#{{ case.ref }}] from the override dir\n")
    app = make_app(db, tmp_path, templates={"override_dir": str(override)})
    assert subject(app) == "[#1042] from the override dir"
    assert subject(app, "incident").startswith("[#1042]")  # builtin where nothing overrides
    save(app, "ack.subject.j2", "[#{{ case.ref }}] from the database\n")
    assert subject(app) == "[#1042] from the database"
    with app.db.transaction() as session:
        entries = {e.name: e for e in edits.list_templates(app, session)}
        assert entries["ack.subject.j2"].origin == "edited"
        assert entries["ack.subject.j2"].version.author == "ada@example.com"
        assert entries["ack.txt.j2"].origin == "builtin" and entries["ack.txt.j2"].version is None
        assert entries["_layout.html.j2"].kind == "_layout"
        assert entries["agent_notify.html.j2"].origin == "builtin"
        edits.revert_template(app, session, "ack.subject.j2", None, "ada", MONDAY)
    assert subject(app) == "[#1042] from the override dir"
    (override / "ack.subject.j2").unlink()
    assert subject(app) == "[#1042] VPN drops every few minutes since the update"


def test_templates_check_list_and_preview_see_the_database(db, tmp_path):
    app = make_app(db, tmp_path)
    save(app, "ack.subject.j2", EDITED)
    # A row that bypassed the check (written by hand): `templates check` reports it.
    with app.db.transaction() as session:
        versions.add_version(session, TemplateVersion, "relay.txt.j2", "{{ case.ref }} {{ oops }}\n",
                             removed=False, author="sql", now=MONDAY)
    app.edited_templates.invalidate()
    problems = check_templates(app)
    assert "edited:relay.txt.j2:1: unknown variable 'oops' (documented variables: templates/README.md)" \
        in problems
    with pytest.raises(TemplateError, match="edited:relay.txt.j2:1: 'oops' is undefined"):
        edits.preview(app, "relay")
    assert edits.preview(app, "ack").subject.startswith("[#1042] We have your message:")
    unsaved = edits.preview(app, "ack", "de", {"ack.de.subject.j2": "[#{{ case.ref }}] Vorschau\n"})
    assert unsaved.subject == "[#1042] Vorschau"
    assert edits.current_source(app, "ack.de.subject.j2").origin == "builtin"  # nothing saved


def test_preview_for_a_real_case(web):
    with web.db.transaction() as session:
        customer = get_contact(session, "erik@kunde.example", "Erik Sommer", MONDAY)
        ref = open_case(session, subject="Printer on floor 3", normalized_subject="printer on floor 3",
                        customer=customer, mailbox_id=None, priority="normal", team="",
                        ref_base=1000, now=MONDAY).ref
    mail = edits.preview(web, "ack", None, {"ack.txt.j2": "Dear {{ customer.name }}, #{{ case.ref }}\n"},
                         case_ref=ref)
    assert mail.subject.startswith(f"[#{ref}] Printer on floor 3")
    assert mail.text == f"Dear Erik Sommer, #{ref}\n"


@pytest.mark.parametrize("name", ["../ack.txt.j2", "/etc/passwd", "ack.txt.j2/../../x.txt.j2",
                                  "sub/ack.txt.j2", "ack.txt.j2\n", "nokind.txt.j2", "ack.txt",
                                  "_../x.txt.j2", "..", "", "ack.DE.txt.j2"])
def test_names_that_are_not_templates_are_refused(web, name):
    with pytest.raises(EditRefused) as refused:
        save(web, name, "#{{ case.ref }}\n")
    assert refused.value.problems == {name: [(0, f"not a template name: {name!r}")]}
    assert edits.check_template_source(web, name, "x")[0][0] == 0
    with pytest.raises(TemplateError, match="not a template name"):
        edits.current_source(web, name)
    with pytest.raises(TemplateError):
        edits.preview(web, "ack", None, {name: "x"})
    with web.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(TemplateVersion)) == 0


def test_export_import_round_trip(db_url_factory, tmp_path):
    source = make_app(db_url_factory(), tmp_path)
    save(source, "ack.subject.j2", EDITED)
    footer = "-- \nExample Support, case #{{ case.ref }}: call {{ support.fallback_phone }}\n"
    with pytest.raises(EditRefused) as refused:  # relay's body has the case number from it
        save(source, "_footer.txt.j2", footer.replace(", case #{{ case.ref }}", ""))
    assert refused.value.problems["relay.txt.j2"] == [
        (1, "txt body never mentions the case reference 1042")]
    save(source, "_footer.txt.j2", footer)
    out = tmp_path / "export"
    written = edits.export_templates(source, out)
    assert [t.name for t in written] == ["_footer.txt.j2", "ack.subject.j2"]
    assert (out / "ack.subject.j2").read_text() == EDITED
    everything = edits.export_templates(source, tmp_path / "all", everything=True)
    assert len(everything) == len(list(BUILTIN_DIR.glob("*.j2")))

    target = make_app(db_url_factory(), tmp_path)
    with target.db.transaction() as session:
        rows = edits.import_templates(target, session, out, "importer", MONDAY)
    assert [(n, s) for n, s, _ in rows] == [("_footer.txt.j2", "saved"), ("ack.subject.j2", "saved")]
    assert subject(target) == subject(source)
    assert renderer_for(target).render("ack", sample_context("ack", "en")).text.endswith(
        "Example Support, case #1042: call +49 30 1234 5678\n")
    with target.db.transaction() as session:  # again: nothing differs, nothing saved
        again = edits.import_templates(target, session, out, "importer", MONDAY)
        assert {s for _, s, _ in again} == {"unchanged"}
        assert session.scalar(select(func.count()).select_from(TemplateVersion)) == 2
    # One bad file refuses the lot, the good change in it included.
    (out / "ack.subject.j2").write_text("[#{{ case.ref }}] changed\n")
    (out / "ack.txt.j2").write_text("#{{ case.ref }}\n{% for %}\n")
    with pytest.raises(EditRefused) as refused, target.db.transaction() as session:
        edits.import_templates(target, session, out, "importer", MONDAY)
    assert refused.value.problems["ack.txt.j2"][0][0] == 2
    with target.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(TemplateVersion)) == 2


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config" / "mailproc.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text('[support]\naddress = "support@example.com"\nname = "Example Support"\n'
                   'fallback_phone = "+49 30 1234 5678"\n', encoding="utf-8")
    return cfg


def test_cli_export_and_import(tmp_path, monkeypatch):
    for name in ("MAILPROC_CONFIG", "MAILPROC_DATABASE_URL", "MAILPROC_NOW"):
        monkeypatch.delenv(name, raising=False)
    cfg = _config(tmp_path)
    app = App.create(config.load(cfg))
    app.db.upgrade()
    runner = CliRunner()
    obj = {"config": str(cfg)}
    files = tmp_path / "edited"
    files.mkdir()
    (files / "ack.subject.j2").write_text(EDITED)
    (files / "README.md").write_text("not a template\n")
    imported = runner.invoke(templates_cli, ["import", str(files), "--by", "ops"], obj=obj)
    assert imported.exit_code == 0, imported.output
    assert imported.output.splitlines()[2].split() == ["ack.subject.j2", "saved", "1"]
    listed = runner.invoke(templates_cli, ["list"], obj=obj)
    ack = next(line.split() for line in listed.output.splitlines() if line.startswith("ack "))
    assert ack == ["ack", "default", "edited", "builtin", "builtin"]
    checked = runner.invoke(templates_cli, ["check"], obj=obj)
    assert checked.exit_code == 0 and "1 edited in the database" in checked.output
    preview = runner.invoke(templates_cli, ["preview", "ack"], obj=obj)
    assert preview.output.startswith("Subject: [#1042] We have your message:")
    out = tmp_path / "out"
    exported = runner.invoke(templates_cli, ["export", str(out), "--json"], obj=obj)
    assert json.loads(exported.output) == [{"name": "ack.subject.j2", "origin": "edited"}]
    assert (out / "ack.subject.j2").read_text() == EDITED
    again = runner.invoke(templates_cli, ["import", str(out), "--json"], obj=obj)
    assert json.loads(again.output) == [{"name": "ack.subject.j2", "status": "unchanged",
                                         "version": None}]
    (out / "relay.txt.j2").write_text("{{ reply_text }}\n{{ nope }}\n")
    bad = runner.invoke(templates_cli, ["import", str(out)], obj=obj)
    assert bad.exit_code == 1
    assert "relay.txt.j2:2: unknown variable 'nope'" in bad.output
    with app.db.transaction() as session:
        rows = session.execute(select(TemplateVersion.name, TemplateVersion.author)).all()
    assert rows == [("ack.subject.j2", "ops")]


def test_an_unmigrated_database_means_nothing_edited(tmp_path):
    path = tmp_path / "absent.sqlite3"
    app = make_app(Database(f"sqlite:///{path}"), tmp_path)
    assert app.edited_templates.current() == {}
    assert not path.exists()  # asking made no empty database file
    empty = make_app(Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}"), tmp_path)
    empty.db.engine.connect().close()  # the file exists, the tables do not
    assert empty.edited_templates.current() == {}
    assert subject(empty) == "[#1042] VPN drops every few minutes since the update"


def _child_reads(app: App, send) -> None:
    send.send(dict(app.edited_templates.current()))
    os._exit(0)


def test_a_forked_child_reads_through_its_own_connections(web):
    save(web, "ack.subject.j2", EDITED)
    parent_db = web.edited_templates.db
    web.edited_templates.invalidate()
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_child_reads, args=(web, send))
    child.start()
    got = receive.recv()
    child.join(10)
    assert got == {"ack.subject.j2": EDITED}
    assert web.edited_templates.db is parent_db  # the parent's stays the parent's


def test_other_processes_see_a_save_within_the_poll_interval(web, worker):
    worker.edited_templates.poll_seconds = 60
    assert subject(worker).startswith("[#1042] VPN")
    save(web, "ack.subject.j2", EDITED)
    assert subject(worker).startswith("[#1042] VPN")  # trusted for the interval
    worker.edited_templates.poll_seconds = 0
    assert subject(worker).startswith("[#1042] We have your message:")


def test_rendering_asks_the_database_at_most_once_per_poll_interval(web, monkeypatch):
    asked = []
    read = versions.LiveVersions._read
    monkeypatch.setattr(versions.LiveVersions, "_read", lambda self: (asked.append(1), read(self)))
    web.edited_templates.invalidate()
    for _ in range(20):
        subject(web)
    assert len(asked) == 1  # a mail looks up about ten names; the first look-up asks
