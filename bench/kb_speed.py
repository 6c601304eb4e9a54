"""KB speed with 10,000 articles synthesised from the FAQ corpora: build time, suggestion latency p50/p95."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from mailproc.kb.index import index_articles
from mailproc.kb.loader import Article
from mailproc.kb.search import DEFAULT_THRESHOLD

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_quality import CORPUS, SETS, load_set  # noqa: E402


def synthesise(n: int, seed: int = 7) -> tuple[list[Article], list[str]]:
    """n articles: each a corpus article under a new id, with "applies when" phrases
    borrowed from other articles' titles, so every article indexes differently.

    Body chunks repeat across variants of one source article, so their embeddings
    come from the cache; lead passages (title + phrases) are all distinct and are
    embedded for real. Query-time work is that of n distinct articles.
    """
    rng = random.Random(seed)
    base: list[Article] = []
    questions: list[str] = []
    for name in SETS:
        arts, qs = load_set(CORPUS / name / "articles.jsonl", CORPUS / name / "questions.jsonl")
        base.extend(arts)
        questions.extend(q for q, _ in qs)
    titles = [a.title for a in base]
    out = []
    for i in range(n):
        src = base[i % len(base)]
        phrases = tuple(rng.sample(titles, 2)) if i >= len(base) else ()
        out.append(replace(src, id=f"syn-{i:05d}", applies_when=phrases))
    return out, questions


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1000
    return {"p50_ms": round(float(np.percentile(arr, 50)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    articles, questions = synthesise(args.articles)
    rng = random.Random(11)
    subjects = ["Question", "Help needed", "Problem", "Re: your ticket", ""]
    messages = [(rng.choice(subjects), q) for q in rng.sample(questions, args.queries)]
    report: dict = {"articles": len(articles), "queries": len(messages)}

    from mailproc.kb.semantic import get_encoder, semantic_available

    for mode in ("lexical", "hybrid"):
        if mode == "hybrid" and not semantic_available():
            report[mode] = "semantic packages not installed"
            continue
        if mode == "hybrid":
            t0 = time.perf_counter()
            get_encoder()
            report["model_load_s"] = round(time.perf_counter() - t0, 2)
        cache: dict = {}
        t0 = time.perf_counter()
        index = index_articles(articles, semantic=mode == "hybrid", embedding_cache=cache)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        index_articles(articles[:-1], semantic=mode == "hybrid", embedding_cache=cache, analysis_cache=None)
        entry = {"build_s": round(build, 2), "rebuild_warm_s": round(time.perf_counter() - t0, 2)}
        if mode == "hybrid":
            entry["passages_embedded"] = len(cache)
            entry["passage_rows"] = int(len(index.passages) + len(index.leads))
        for subject, text in messages[:20]:  # warm-up
            index.score(f"{subject}\n{text}")
        times, suggested = [], 0
        for subject, text in messages:
            t0 = time.perf_counter()
            scored = index.score(f"{subject}\n{text}")
            times.append(time.perf_counter() - t0)
            suggested += bool(scored and scored[0].score >= DEFAULT_THRESHOLD)
        entry.update(percentiles(times))
        entry["suggested_rate"] = round(suggested / len(messages), 3)
        report[mode] = entry
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['articles']} articles, {report['queries']} messages")
        for mode in ("lexical", "hybrid"):
            e = report[mode]
            if isinstance(e, str):
                print(f"{mode:8} {e}")
                continue
            extra = f"  embedded {e['passages_embedded']} distinct passages for {e['passage_rows']} rows" if "passages_embedded" in e else ""
            print(
                f"{mode:8} build {e['build_s']:.2f}s (warm rebuild {e['rebuild_warm_s']:.2f}s)  "
                f"latency p50 {e['p50_ms']:.2f} ms  p95 {e['p95_ms']:.2f} ms{extra}"
            )
        if "model_load_s" in report:
            print(f"model load {report['model_load_s']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
