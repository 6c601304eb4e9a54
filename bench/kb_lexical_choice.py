"""Which lexical index: mailproc's BM25F against SQLite FTS5 and bm25s, on the same articles.

Per FAQ set: Recall@1, Recall@3, MRR@10 of each index alone (no semantic stage); then, with
10,000 synthesised articles, build time and query latency p50/p95. Every candidate gets its
best plain set-up: FTS5 with the porter stemmer, diacritics removed and the title weighted
3:1 in bm25(); bm25s with the same Snowball stemmer and English stop words as ours.

    .venv/bin/python bench/kb_lexical_choice.py [--articles 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_quality import CORPUS, SETS, load_set, metrics  # noqa: E402
from kb_speed import percentiles, synthesise  # noqa: E402

from mailproc.kb.index import index_articles  # noqa: E402
from mailproc.kb.loader import Article  # noqa: E402

Ranker = Callable[[str], list[str]]
_TOKEN = re.compile(r"\w+", re.UNICODE)


def ours(articles: Sequence[Article]) -> Ranker:
    index = index_articles(articles, semantic=False)

    def rank(query: str) -> list[str]:
        total = index.fuse(index.components(query), "lexical")
        order = np.argsort(-total, kind="stable")[:10]
        return [index.articles[i].id for i in order if total[i] > 0]
    return rank


def fts5(articles: Sequence[Article]) -> Ranker:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE VIRTUAL TABLE kb USING fts5(id UNINDEXED, title, body, "
               "tokenize = 'porter unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO kb (id, title, body) VALUES (?, ?, ?)",
                   [(a.id, " ".join([a.title, *a.applies_when]), a.body) for a in articles])

    def rank(query: str) -> list[str]:
        terms = {t.lower() for t in _TOKEN.findall(query)}
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in sorted(terms))
        rows = db.execute("SELECT id FROM kb WHERE kb MATCH ? ORDER BY bm25(kb, 0, 3.0, 1.0) "
                          "LIMIT 10", (match,)).fetchall()
        return [r[0] for r in rows]
    return rank


def bm25s_index(articles: Sequence[Article]) -> Ranker:
    import bm25s
    import snowballstemmer

    stemmer = snowballstemmer.stemmer("english")
    corpus = [" ".join([a.title, *a.applies_when, a.body]) for a in articles]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)
    ids = [a.id for a in articles]

    def rank(query: str) -> list[str]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        docs, scores = retriever.retrieve(tokens, k=min(10, len(ids)), show_progress=False)
        return [ids[d] for d, s in zip(docs[0], scores[0]) if s > 0]
    return rank


CANDIDATES: dict[str, Callable[[Sequence[Article]], Ranker]] = {
    "mailproc BM25F": ours, "SQLite FTS5": fts5, "bm25s": bm25s_index}


def quality(emit) -> list[dict]:
    out = []
    for name in SETS:
        articles, questions = load_set(CORPUS / name / "articles.jsonl",
                                       CORPUS / name / "questions.jsonl",
                                       with_titles=name != "python-faq")
        for label, build in CANDIDATES.items():
            rank = build(articles)
            result = {"set": name, "index": label,
                      **metrics([rank(q) for q, _ in questions], questions)}
            emit(f"{name:11} {label:15} R@1 {result['recall@1']:.3f}  R@3 {result['recall@3']:.3f}"
                 f"  MRR@10 {result['mrr@10']:.3f}")
            out.append(result)
    return out


def speed(n: int, queries: int, emit) -> list[dict]:
    articles, questions = synthesise(n)
    sample = questions[:queries]
    out = []
    for label, build in CANDIDATES.items():
        t0 = time.perf_counter()
        rank = build(articles)
        built = time.perf_counter() - t0
        times = []
        for q in sample:
            t0 = time.perf_counter()
            rank(q)
            times.append(time.perf_counter() - t0)
        result = {"index": label, "articles": n, "build_s": round(built, 2), **percentiles(times)}
        emit(f"{n} articles  {label:15} build {built:6.2f} s  p50 {result['p50_ms']:6.2f} ms  "
             f"p95 {result['p95_ms']:6.2f} ms")
        out.append(result)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args(argv)
    emit = (lambda _line: None) if args.json else print
    rows = quality(emit) + speed(args.articles, args.queries, emit)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
