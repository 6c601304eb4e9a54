"""KB files: front matter parsing, lint errors with file:line, the `kb` CLI group."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mailproc.cli.kb import kb
from mailproc.kb.lint import check_kb
from mailproc.kb.loader import load_article, parse_front_matter

STARTER_KB = Path(__file__).resolve().parents[1] / "kb"

GOOD = """---
id: vpn
title: "VPN: does not connect"
tags: [vpn, network]
applies_when:
  - vpn broken
  - VPN verbindet nicht
audience: customer
related: [other]
---

Restart the client. See [the other one](kb:other).
"""

OTHER = """---
id: other
title: Other
audience: internal
---
Body.
"""


def write(dir_: Path, name: str, text: str) -> Path:
    path = dir_ / name
    path.write_text(text, encoding="utf-8")
    return path


def test_front_matter_subset_parses_lists_and_quotes(tmp_path):
    article = load_article(write(tmp_path, "vpn.md", GOOD))
    assert article is not None
    assert article.id == "vpn"
    assert article.title == "VPN: does not connect"
    assert article.tags == ("vpn", "network")
    assert article.applies_when == ("vpn broken", "VPN verbindet nicht")
    assert article.body.startswith("Restart the client.")
    assert article.links() == ("other",)
    fm = parse_front_matter(GOOD)
    assert fm.body_line == 12  # first body line after the blank one


def test_starter_kb_is_clean_and_big_enough():
    assert check_kb(STARTER_KB) == []
    files = list(STARTER_KB.glob("*.md"))
    assert 12 <= len(files) <= 16
    audiences = {load_article(p).audience for p in files}
    assert audiences == {"customer", "internal"}


def test_lint_reports_file_and_line(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", OTHER)
    write(tmp_path, "dup.md", OTHER.replace("title: Other", "title: Dup\ncolour: blue"))
    write(tmp_path, "bad.md", "---\nid: bad\ntitle: Bad\naudience: everyone\nrelated: [nowhere]\n---\nSee [x](kb:missing).\n")
    write(tmp_path, "nofm.md", "just text\n")
    write(tmp_path, "missing.md", "---\nid: m\n---\nbody\n")
    lines = [str(e) for e in check_kb(tmp_path)]
    expected = [
        f"{tmp_path / 'bad.md'}:4: audience must be one of",
        f"{tmp_path / 'bad.md'}:5: link to unknown article 'nowhere'",
        f"{tmp_path / 'bad.md'}:7: link to unknown article 'missing'",
        f"{tmp_path / 'dup.md'}:2: duplicate id 'other' (also in {tmp_path / 'b.md'}:2)",
        f"{tmp_path / 'dup.md'}:4: unknown key 'colour'",
        f"{tmp_path / 'missing.md'}:1: missing required key 'title'",
        f"{tmp_path / 'nofm.md'}:1: missing front matter",
    ]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)
    assert not any(str(tmp_path / "a.md") in line for line in lines)


def test_cli_check_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(kb, ["check", "--kb-dir", str(STARTER_KB)])
    assert ok.exit_code == 0, ok.output
    write(tmp_path, "b.md", OTHER.replace("audience: internal\n", ""))
    bad = runner.invoke(kb, ["check", "--kb-dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert f"{tmp_path / 'b.md'}:1: missing required key 'audience'" in bad.output


def test_cli_search_table_and_json():
    runner = CliRunner()
    args = ["search", "process lock on my account", "--kb-dir", str(STARTER_KB), "--lexical-only", "--limit", "3"]
    table = runner.invoke(kb, args)
    assert table.exit_code == 0, table.output
    first = table.output.splitlines()[1]
    assert "account-locked" in first
    rows = json.loads(runner.invoke(kb, [*args, "--json"]).output)
    assert 1 <= len(rows) <= 3
    assert rows[0]["id"] == "account-locked"
    assert rows == sorted(rows, key=lambda r: -r["score"])
    assert 0 < rows[0]["score"] <= 1
