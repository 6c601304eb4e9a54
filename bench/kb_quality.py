"""KB retrieval quality on the shared FAQ corpora: lexical, semantic and hybrid Recall@1/@3, MRR@10, no-suggestion rate."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mailproc.kb.index import DEFAULT_TUNING, Components, SearchIndex, index_articles
from mailproc.kb.lexical import LexicalIndex, weigh_fields
from mailproc.kb.loader import Article
from mailproc.kb.search import DEFAULT_THRESHOLD
from mailproc.kb.text import plain_terms

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "kb"
SETS = ("stackfaq", "covidfaq", "python-faq")


def load_set(articles_file: Path, questions_file: Path, with_titles: bool = True) -> tuple[list[Article], list[tuple[str, set[str]]]]:
    articles = []
    for line in articles_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            articles.append(Article(id=row["id"], title=row["title"] if with_titles else "", body=row["body"]))
    questions = []
    for line in questions_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions.append((row["q"], set(row.get("answer_ids") or [row["answer_id"]])))
    return articles, questions


def metrics(rankings: Sequence[Sequence[str]], questions: Sequence[tuple[str, set[str]]]) -> dict[str, float]:
    r1 = r3 = mrr = 0.0
    for ranked, (_, gold) in zip(rankings, questions):
        for pos, aid in enumerate(ranked[:10]):
            if aid in gold:
                r1 += pos == 0
                r3 += pos < 3
                mrr += 1.0 / (pos + 1)
                break
    n = max(len(questions), 1)
    return {"recall@1": round(r1 / n, 4), "recall@3": round(r3 / n, 4), "mrr@10": round(mrr / n, 4)}


def baseline_rankings(articles: Sequence[Article], questions: Sequence[tuple[str, set[str]]]) -> list[list[str]]:
    """Unweighted BM25 over title + body, lower-cased words, no stemming, no stop words."""
    docs = [weigh_fields({"title": a.title, "body": a.body}, {}, analyzer=plain_terms) for a in articles]
    index = LexicalIndex(docs)
    out = []
    for q, _ in questions:
        scores = index.scores(plain_terms(q))
        out.append([articles[i].id for i in np.argsort(-scores, kind="stable")[:10]])
    return out


class QueryVectors:
    """Memoised query embeddings: each question is encoded once, though every set's index scores it."""

    def __init__(self) -> None:
        self._cache: dict[str, np.ndarray | None] = {}

    def get(self, index: SearchIndex, query: str) -> np.ndarray | None:
        if query not in self._cache:
            self._cache[query] = index.query_vector(query)
        return self._cache[query]


def components(index: SearchIndex, queries: Sequence[str], vectors: QueryVectors) -> list[Components]:
    return [index.components(q, vectors.get(index, q)) for q in queries]


def evaluate_mode(
    index: SearchIndex,
    articles: Sequence[Article],
    questions: Sequence[tuple[str, set[str]]],
    comps: Sequence[Components],
    neg_comps: Sequence[Components],
    mode: str,
    threshold: float,
    lexical_boost: float | None = None,
) -> dict:
    """Ranking metrics of one mode, its no-suggestion rate, and wrong suggestions on other sets' questions."""
    rankings, tops = [], []
    for c in comps:
        total = index.fuse(c, mode, lexical_boost)
        order = np.argsort(-total, kind="stable")[:10]
        rankings.append([articles[i].id for i in order if total[i] > 0])
        tops.append(float(total.max()) if len(total) else 0.0)
    result = {"questions": len(questions), **metrics(rankings, questions)}
    result["no_suggestion"] = round(float(np.mean([s < threshold for s in tops])), 4) if tops else 0.0
    if neg_comps:
        wrong = [float(index.fuse(c, mode, lexical_boost).max()) >= threshold for c in neg_comps]
        result["wrong_suggestion_other_sets"] = round(float(np.mean(wrong)), 4)
    return result


def cross_validate(per_set: dict[str, tuple], grid: Sequence[float], threshold: float, emit: Callable[[str], None]) -> None:
    """Leave-one-set-out choice of the lexical boost: pick by mean MRR@10 on two sets, report the third."""
    table: dict[float, dict[str, dict]] = {}
    for boost in grid:
        for name, (index, articles, questions, comps, neg) in per_set.items():
            table.setdefault(boost, {})[name] = evaluate_mode(index, articles, questions, comps, neg, "hybrid", threshold, boost)
    for boost in grid:
        row = "  ".join(f"{n} {r['recall@1']:.3f}/{r['recall@3']:.3f}/{r['mrr@10']:.3f}" for n, r in table[boost].items())
        emit(f"boost {boost:5.3f}  R@1/R@3/MRR  {row}")
    names = list(per_set)
    for held in names:
        train = [n for n in names if n != held]
        best = max(grid, key=lambda b: float(np.mean([table[b][n]["mrr@10"] for n in train])))
        r = table[best][held]
        emit(f"held out {held:11} chosen boost {best:.3f}  R@1 {r['recall@1']:.3f}  R@3 {r['recall@3']:.3f}  MRR@10 {r['mrr@10']:.3f}")


def main(argv: Sequence[str] | None = None, emit: Callable[[str], None] = print) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=Path)
    ap.add_argument("--questions", type=Path)
    ap.add_argument("--json", action="store_true",
                    help='one object per set and line: {"set", "questions", "recall@1", "recall@3", '
                         '"mrr@10", "no_suggestion", "baseline"} for the mode production uses, '
                         'with every mode under "modes"')
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--lexical-only", action="store_true", help="disable the semantic stage")
    ap.add_argument("--sweep", action="store_true", help="leave-one-set-out cross-validation of the lexical boost")
    args = ap.parse_args(argv)
    semantic = False if args.lexical_only else None
    if args.articles or args.questions:
        if not (args.articles and args.questions):
            ap.error("--articles and --questions go together")
        sets = [(args.articles.parent.name, args.articles, args.questions)]
    else:
        sets = [(name, CORPUS / name / "articles.jsonl", CORPUS / name / "questions.jsonl") for name in SETS]
    loaded = {name: load_set(a, q, with_titles=name != "python-faq") for name, a, q in sets}
    vectors = QueryVectors()
    per_set = {}
    for name, (articles, questions) in loaded.items():
        index = index_articles(articles, semantic=semantic, tuning=DEFAULT_TUNING)
        negatives = [q for other, (_, qs) in loaded.items() if other != name for q, _ in qs]
        comps = components(index, [q for q, _ in questions], vectors)
        per_set[name] = (index, articles, questions, comps, components(index, negatives, vectors))
        modes = ("lexical", "semantic", "hybrid") if index.semantic else ("lexical",)
        # Latency is bench/kb_speed.py's job: query vectors are shared across sets here.
        per_mode = {mode: evaluate_mode(index, articles, questions, comps, per_set[name][4], mode, args.threshold)
                    for mode in modes}
        production = modes[-1]   # what suggestions use: hybrid with the semantic stage, else lexical
        result = {"set": name, **per_mode[production], "mode": production,
                  "baseline": metrics(baseline_rankings(articles, questions), questions),
                  "semantic_stage": bool(index.semantic), "modes": per_mode}
        if args.json:
            emit(json.dumps(result))
            continue
        b = result["baseline"]
        emit(f"{name} (n={len(questions)})")
        emit(f"  {'plain BM25':10}  R@1 {b['recall@1']:.3f}  R@3 {b['recall@3']:.3f}  MRR@10 {b['mrr@10']:.3f}")
        for mode in modes:
            r = per_mode[mode]
            emit(
                f"  {mode:10}  R@1 {r['recall@1']:.3f}  R@3 {r['recall@3']:.3f}  MRR@10 {r['mrr@10']:.3f}  "
                f"no-suggestion {r['no_suggestion']:.3f}  wrong-on-other-sets {r.get('wrong_suggestion_other_sets', float('nan')):.3f}"
            )
    if args.sweep and len(per_set) > 1:
        cross_validate(per_set, (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4), args.threshold, emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
