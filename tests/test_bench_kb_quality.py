"""bench/kb_quality.py --json keeps its promised shape: the production mode's figures at the top."""

from __future__ import annotations

import importlib.util
import json

from tests.helpers import ROOT


def test_json_has_the_production_figures_at_the_top(tmp_path):
    spec = importlib.util.spec_from_file_location("kb_quality", ROOT / "bench" / "kb_quality.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    articles = tmp_path / "articles.jsonl"
    questions = tmp_path / "questions.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in [
        {"id": "pw", "title": "Reset a forgotten password", "body": "Use the reset link."},
        {"id": "vpn", "title": "Connect to the VPN", "body": "Start the VPN client."},
        {"id": "print", "title": "Printer offline", "body": "Restart the printer."}]))
    questions.write_text("".join(json.dumps(q) + "\n" for q in [
        {"q": "I forgot my password", "answer_id": "pw"},
        {"q": "the vpn does not connect", "answer_id": "vpn"}]))
    lines: list[str] = []
    assert bench.main(["--articles", str(articles), "--questions", str(questions), "--json",
                       "--lexical-only"], emit=lines.append) == 0
    (row,) = [json.loads(line) for line in lines]
    assert {"set", "questions", "recall@1", "recall@3", "mrr@10", "no_suggestion",
            "baseline"} <= set(row)
    assert row["questions"] == 2 and row["mode"] == "lexical" and row["semantic_stage"] is False
    assert row["recall@1"] == row["modes"]["lexical"]["recall@1"]
    assert isinstance(row["baseline"], dict) and "recall@1" in row["baseline"]
