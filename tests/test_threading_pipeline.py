"""Real list threads through the real pipeline land in the cases their References say."""

from __future__ import annotations

import sys

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import threading_pipeline  # noqa: E402


def test_notmuch_threads_through_the_pipeline(tmp_path):
    # notmuch-threading (12 messages built to defeat threaders: fake In-Reply-To, ghost
    # roots) is reported by the bench, not asserted here.
    data = threading_pipeline.load({"notmuch-default"})
    together = predicted = truth = 0
    for group, rows in data.items():
        workdir = tmp_path / group
        workdir.mkdir()
        t, p, r, rules = threading_pipeline.run_group(rows, "kept", workdir)
        together, predicted, truth = together + t, predicted + p, truth + r
        assert rules["references"] > 0
    assert truth >= 30
    assert together / predicted >= 0.98, "precision"
    assert together / truth >= 0.98, "recall"


def test_stripping_references_loses_links_but_not_precision(tmp_path):
    rows = threading_pipeline.load({"notmuch-default"})["notmuch-default"]
    raw = next(r for r, _ in rows if b"\nIn-Reply-To:" in r)
    stripped = threading_pipeline.strip_refs(raw)
    assert b"References:" in raw or b"In-Reply-To:" in raw
    assert b"\nReferences:" not in stripped and b"\nIn-Reply-To:" not in stripped
    t, p, r, _ = threading_pipeline.run_group(rows, "stripped", tmp_path)
    assert p == 0 or t / p >= 0.9
