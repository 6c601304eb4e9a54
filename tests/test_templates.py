"""Mail templates: sandbox, strict variables, escaping, header-safe subjects, overrides, check, CLI."""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailproc import config
from mailproc.app import App
from mailproc.cli.templates import templates as templates_cli
from mailproc.errors import ConfigError, TemplateError
from mailproc.templating.check import check, check_templates
from mailproc.templating.render import (
    BUILTIN_DIR, CUSTOMER_KINDS, KINDS, PARTS, TemplateRenderer, excerpt, paragraphs, quote,
    renderer_for, wrap,
)
from mailproc.templating.samples import KIND_VARIABLES, SAMPLES, sample_context


@pytest.fixture
def builtin() -> TemplateRenderer:
    return TemplateRenderer(BUILTIN_DIR)


@pytest.fixture
def override(tmp_path) -> Path:
    path = tmp_path / "overrides"
    path.mkdir()
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- the built-in templates ----------------------------------------------------------------


def test_builtin_templates_pass_check(builtin):
    assert check(builtin, SAMPLES) == []


def test_every_kind_ships_all_parts_and_customer_kinds_ship_german():
    for kind in KINDS:
        for part in PARTS:
            assert (BUILTIN_DIR / f"{kind}.{part}.j2").is_file(), (kind, part)
            if kind in CUSTOMER_KINDS:
                assert (BUILTIN_DIR / f"{kind}.de.{part}.j2").is_file(), (kind, part)


def test_ack_says_everything_a_customer_needs(builtin):
    ctx = SAMPLES["ack"]
    mail = builtin.render("ack", ctx)
    assert mail.subject == f"[#{ctx['case']['ref']}] {ctx['case']['subject']}"
    for body in (mail.text, mail.html):
        flat = " ".join(body.split())
        for value in (ctx["sla"]["first_response_words"], ctx["sla"]["first_response_at"],
                      ctx["support"]["fallback_phone"], ctx["support"]["urgent_hint"],
                      ctx["support"]["hours"]):
            assert value in flat, value
        for article in ctx["kb_suggestions"]:
            assert article["title"] in flat and article["url"] in flat
    assert max(len(line) for line in mail.text.splitlines()) <= 72


def test_kb_block_only_when_there_are_suggestions(builtin):
    with_kb = builtin.render("ack", SAMPLES["ack"])
    without = builtin.render("ack", {**SAMPLES["ack"], "kb_suggestions": []})
    intro = "these articles may already solve the problem"
    assert intro in with_kb.text and intro in with_kb.html
    assert intro not in without.text and intro not in without.html
    assert "<ul" not in without.html.split("<hr")[0]


def test_german_ack_uses_german_files_and_falls_back_for_missing_parts(builtin):
    mail = builtin.render("ack", sample_context("ack", "de"))
    assert "Vorgang #1042" in mail.text and "innerhalb von 4 Geschäftsstunden" in mail.text
    assert "spätestens am Dienstag, 24. November, 10:00 MEZ" in " ".join(mail.text.split())
    assert 'lang="de"' in mail.html and "Ihr Vorgang online" in mail.html
    # No German agent_notify ships: the default (English) files render.
    notify = builtin.render("agent_notify", {**SAMPLES["agent_notify"], "language": "de"})
    assert notify.text.startswith("New case #1042")


def test_samples_use_only_documented_variables():
    readme = (BUILTIN_DIR / "README.md").read_text(encoding="utf-8")

    def leaves(prefix, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                yield from leaves(f"{prefix}.{key}" if prefix else key, sub)
        else:
            yield prefix

    for kind, ctx in SAMPLES.items():
        assert sorted(ctx) == sorted(KIND_VARIABLES[kind])
        for name in leaves("", ctx):
            assert f"`{name}`" in readme, f"{name} ({kind}) is not documented in README.md"


# --- sandbox, strict variables, escaping, subjects -----------------------------------------


@pytest.mark.parametrize("expression", [
    "''.__class__.__mro__[1].__subclasses__()",
    "cycler.__init__.__globals__.os.popen('echo pwned').read()",
    "case.update({'ref': 'x'})",
    "'x' * 100000000",
])
def test_sandbox_refuses_internals_mutation_and_huge_output(override, expression):
    _write(override / "ack.txt.j2", "Case #{{ case.ref }}\n{{ " + expression + " }}\n")
    renderer = TemplateRenderer(BUILTIN_DIR, override)
    ctx = sample_context("ack")
    with pytest.raises(TemplateError) as err:
        renderer.render("ack", ctx)
    assert str(err.value).startswith(f"{override / 'ack.txt.j2'}:2: ")
    assert ctx["case"]["ref"] == "1042"  # the data passed in is unchanged


def test_undefined_variable_is_an_error_with_file_and_line(override):
    _write(override / "ack.txt.j2", "Hello,\n\ncase #{{ case.ref }}\n{{ custmer.name }}\n")
    with pytest.raises(TemplateError) as err:
        TemplateRenderer(BUILTIN_DIR, override).render("ack", SAMPLES["ack"])
    assert str(err.value) == f"{override / 'ack.txt.j2'}:4: 'custmer' is undefined"


def test_error_in_an_included_partial_names_the_partial(override):
    _write(override / "_footer.txt.j2", "-- \n{{ support.name }}\n{{ support.nope }}\n")
    with pytest.raises(TemplateError) as err:
        TemplateRenderer(BUILTIN_DIR, override).render("ack", SAMPLES["ack"])
    assert re.match(rf"{re.escape(str(override / '_footer.txt.j2'))}:3: .*'nope'", str(err.value))


def test_customer_text_is_escaped_in_html_only(builtin):
    ctx = {**SAMPLES["agent_notify"],
           "message": {**SAMPLES["agent_notify"]["message"],
                       "new_text": "It fails: <script>alert(1)</script> & more"}}
    ctx["case"] = {**ctx["case"], "subject": "Broken <b>login</b>"}
    mail = builtin.render("agent_notify", ctx)
    assert "<script>alert(1)</script> & more" in mail.text
    assert "<script>" not in mail.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in mail.html
    assert "Broken &lt;b&gt;login&lt;/b&gt;" in mail.html
    assert mail.subject.endswith("Broken <b>login</b>")  # a subject is text, not HTML


def test_subject_is_one_header_safe_line(builtin):
    ctx = {**SAMPLES["ack"], "case": {**SAMPLES["ack"]["case"],
                                      "subject": "Help\r\nBcc: victim@example.org\n\x00\x1b[31m  now\u2028"}}
    subject = builtin.render("ack", ctx).subject
    assert subject == "[#1042] Help Bcc: victim@example.org [31m now"
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject
    msg["To"] = "maria.keller@kunde.example"
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["Subject"] == subject


# --- overrides and live reload -------------------------------------------------------------


def test_override_wins_and_edits_are_live_without_a_new_renderer(override):
    renderer = TemplateRenderer(BUILTIN_DIR, override)
    assert "thank you for contacting" in renderer.render("ack", SAMPLES["ack"]).text
    path = _write(override / "ack.txt.j2", "Case #{{ case.ref }}: version one\n")
    assert renderer.render("ack", SAMPLES["ack"]).text == "Case #1042: version one\n"
    _write(path, "Case #{{ case.ref }}: version two\n")  # same size, right after the last read
    assert renderer.render("ack", SAMPLES["ack"]).text == "Case #1042: version two\n"
    path.unlink()
    assert "thank you for contacting" in renderer.render("ack", SAMPLES["ack"]).text


def test_edit_within_one_timestamp_tick_is_seen(override):
    # A coarse filesystem clock (or a copy keeping mtime) can give an edit the same mtime
    # and size as the version already loaded; the renderer must not keep the old one.
    renderer = TemplateRenderer(BUILTIN_DIR, override)
    path = _write(override / "ack.txt.j2", "Case #{{ case.ref }}: version one\n")
    stamp = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
    assert renderer.render("ack", SAMPLES["ack"]).text == "Case #1042: version one\n"
    _write(path, "Case #{{ case.ref }}: version two\n")
    os.utime(path, ns=(stamp, stamp))
    assert renderer.render("ack", SAMPLES["ack"]).text == "Case #1042: version two\n"


def test_missing_template_and_missing_html(tmp_path):
    own = tmp_path / "builtin"
    own.mkdir()
    _write(own / "ack.subject.j2", "[#{{ case.ref }}] hi")
    _write(own / "ack.txt.j2", "#{{ case.ref }}")
    renderer = TemplateRenderer(own)
    assert renderer.render("ack", SAMPLES["ack"]).html is None
    with pytest.raises(TemplateError, match=r"reminder\.subject\.j2:0: no subject template"):
        renderer.render("reminder", SAMPLES["reminder"])


# --- check ---------------------------------------------------------------------------------


def test_check_reports_syntax_error_with_its_line(builtin, override):
    _write(override / "ack.txt.j2", "Case #{{ case.ref }}\n\n{% if kb_suggestions %}\nArticles\n")
    problems = check(TemplateRenderer(BUILTIN_DIR, override), SAMPLES)
    assert len(problems) == 1
    assert problems[0].startswith(f"{override / 'ack.txt.j2'}:4: Unexpected end of template")


def test_check_reports_customer_mail_without_case_reference(override):
    _write(override / "reminder.subject.j2", "Waiting for your reply: {{ case.subject }}")
    _write(override / "auto_resolved.txt.j2", "We closed your case. Thanks!")
    # Agent mail may leave the tag out: it is not a customer's thread.
    _write(override / "agent_error.subject.j2", "Your command failed")
    problems = check(TemplateRenderer(BUILTIN_DIR, override), SAMPLES)
    assert problems == [
        f"{override / 'reminder.subject.j2'}:1: subject lacks the case tag [#1042] "
        "(the customer's reply would not find the case)",
        f"{override / 'auto_resolved.txt.j2'}:1: txt body never mentions the case reference 1042",
    ]


def test_check_reports_unknown_file_names_and_variables(override):
    _write(override / "ack.subjet.j2", "[#{{ case.ref }}]")
    _write(override / "notes.md", "ignored: admins may keep notes here")
    _write(override / "relay.txt.j2",
           "{{ reply_text }}\n{% if false %}\n{{ agnet.name }}\n{% endif %}\n#{{ case.ref }}\n")
    problems = check(TemplateRenderer(BUILTIN_DIR, override), SAMPLES)
    assert len(problems) == 2
    assert problems[0].startswith(f"{override / 'ack.subjet.j2'}:0: unknown template file name "
                                  "(did you mean ack.subject.j2?)")
    assert problems[1].startswith(f"{override / 'relay.txt.j2'}:3: unknown variable 'agnet'")


def test_check_tries_empty_lists_and_missing_language_parts(override):
    _write(override / "ack.txt.j2", "#{{ case.ref }}\nTop article: {{ kb_suggestions[0].title }}\n")
    _write(override / "agent_notify.de.subject.j2", "[#{{ case.ref }}] Neuer Vorgang")
    problems = check(TemplateRenderer(BUILTIN_DIR, override), SAMPLES)
    assert problems[0].startswith(f"{override / 'ack.txt.j2'}:2: ")
    assert problems[1].startswith(f"{override / 'agent_notify.de.txt.j2'}:0: missing part")
    assert len(problems) == 2


def test_check_uses_variables_of_the_kind_only(override):
    # reply_text exists for relay, not for ack: using it there fails in production.
    _write(override / "ack.txt.j2", "#{{ case.ref }} {{ reply_text }}\n")
    problems = check(TemplateRenderer(BUILTIN_DIR, override), SAMPLES)
    assert problems == [f"{override / 'ack.txt.j2'}:1: 'reply_text' is undefined"]


# --- filters -------------------------------------------------------------------------------


def test_filters():
    long = "word " * 30 + "https://help.example.com/" + "x" * 80
    wrapped = wrap("- " + long, 40).split("\n")
    assert all(len(line) <= 40 for line in wrapped[:-1]) and wrapped[0].startswith("- word")
    assert all(line.startswith("  ") for line in wrapped[1:])
    assert wrapped[-1].strip().startswith("https://")  # a URL is never broken
    assert wrap("> " + "quoted text " * 10, 30).split("\n")[1].startswith("> ")
    assert excerpt("The VPN drops every few minutes since the update", 25) == "The VPN drops every few…"
    assert excerpt("short\n text", 25) == "short text"
    assert excerpt("cut by the KB …", 25) == "cut by the KB…"
    assert quote("a\n\nb\n") == "> a\n>\n> b"
    assert str(paragraphs("x < y\nz\n\nnext")) == "<p>x &lt; y<br>\nz</p>\n<p>next</p>"


# --- configuration and CLI -----------------------------------------------------------------


def _config(tmp_path: Path, templates_section: str) -> Path:
    cfg = tmp_path / "config" / "mailproc.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text('[support]\naddress = "support@example.com"\nname = "Example Support"\n'
                   'fallback_phone = "+49 30 1234 5678"\n\n[templates]\n' + templates_section,
                   encoding="utf-8")
    return cfg


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("MAILPROC_CONFIG", "MAILPROC_DATABASE_URL", "MAILPROC_SUPPORT_ADDRESS",
                 "MAILPROC_IMAP_HOST", "MAILPROC_SMTP_HOST", "MAILPROC_NOW"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("section, key", [
    ('overide_dir = "config/templates"\n', "templates.overide_dir"),
    ("override_dir = 5\n", "templates.override_dir"),
])
def test_template_settings_are_validated(tmp_path, clean_env, section, key):
    app = App.create(config.load(_config(tmp_path, section)))
    with pytest.raises(ConfigError, match=re.escape(key)):
        check_templates(app)


def test_renderer_for_resolves_override_dir_and_is_shared(tmp_path, clean_env):
    app = App.create(config.load(_config(tmp_path, 'override_dir = "config/templates"\n')))
    renderer = renderer_for(app)
    assert renderer.override_dir == tmp_path / "config" / "templates"
    assert renderer.builtin_dir == BUILTIN_DIR and renderer_for(app) is renderer
    assert check_templates(app) == [f"{tmp_path / 'config' / 'templates'}:0: "
                                    "template directory does not exist"]


def test_cli_check_exit_codes(tmp_path, clean_env):
    cfg = _config(tmp_path, 'override_dir = "config/templates"\n')
    over = tmp_path / "config" / "templates"
    over.mkdir()
    runner = CliRunner()
    ok = runner.invoke(templates_cli, ["check"], obj={"config": str(cfg)})
    assert ok.exit_code == 0, ok.output
    count = len(list(BUILTIN_DIR.glob("*.j2")))
    assert ok.output.strip() == f"{count} templates OK"
    _write(over / "ack.txt.j2", "Hello {{ customer.name }\n")
    bad = runner.invoke(templates_cli, ["check"], obj={"config": str(cfg)})
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == [f"{over / 'ack.txt.j2'}:1: unexpected '}}'"]


def test_cli_list_and_preview(tmp_path, clean_env):
    cfg = _config(tmp_path, 'override_dir = "config/templates"\n')
    over = tmp_path / "config" / "templates"
    over.mkdir()
    _write(over / "ack.html.j2", "<p>Case #{{ case.ref }} for {{ customer.name }}</p>\n")
    runner = CliRunner()
    listed = runner.invoke(templates_cli, ["list"], obj={"config": str(cfg)})
    assert listed.exit_code == 0, listed.output
    ack = next(line.split() for line in listed.output.splitlines() if line.startswith("ack "))
    assert ack == ["ack", "default", "builtin", "builtin", "override"]

    text = runner.invoke(templates_cli, ["preview", "ack"], obj={"config": str(cfg)})
    assert text.exit_code == 0, text.output
    assert text.output.startswith("Subject: [#1042] VPN drops every few minutes since the update\n")
    assert "within 4 business hours" in text.output and "<p>" not in text.output
    html = runner.invoke(templates_cli, ["preview", "ack", "--format", "html"],
                         obj={"config": str(cfg)})
    assert html.output.splitlines()[2] == "<p>Case #1042 for Maria Keller</p>"
    both = runner.invoke(templates_cli, ["preview", "incident", "--format", "all",
                                         "--language", "de"], obj={"config": str(cfg)})
    assert "Störung" in both.output and "<!DOCTYPE html>" in both.output


def test_cli_preview_for_a_real_case(tmp_path, clean_env):
    from mailproc.cases.records import get_contact, open_case

    cfg = _config(tmp_path, "")
    app = App.create(config.load(cfg))
    app.var  # creates var/ for the SQLite file
    app.db.upgrade()
    now = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    with app.db.transaction() as session:
        customer = get_contact(session, "erik@kunde.example", "Erik Sommer", now)
        case = open_case(session, subject="Printer on floor 3 <offline>",
                         normalized_subject="printer on floor 3 <offline>", customer=customer,
                         mailbox_id=None, priority="normal", team="", ref_base=1000, now=now)
        ref = case.ref
    app.db.dispose()
    runner = CliRunner()
    result = runner.invoke(templates_cli, ["preview", "ack", "--case", ref, "--format", "all"],
                           obj={"config": str(cfg)})
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Subject: [#{ref}] Printer on floor 3 <offline>\n")
    assert "Hello Erik Sommer," in result.output and "Printer on floor 3 &lt;offline&gt;" in result.output
    missing = runner.invoke(templates_cli, ["preview", "ack", "--case", "999999"],
                            obj={"config": str(cfg)})
    assert missing.exit_code == 1 and "no case with reference #999999" in missing.output
