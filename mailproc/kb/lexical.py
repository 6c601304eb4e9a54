"""Field-weighted BM25 (BM25F-style) over pre-analysed documents, scored with NumPy."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mailproc.kb.text import analyze


@dataclass(frozen=True)
class WeightedDoc:
    """A document's term frequencies after field weighting, and its weighted length."""

    tf: Mapping[str, float]
    length: float


def weigh_fields(fields: Mapping[str, str], weights: Mapping[str, float], analyzer: Callable[[str], list[str]] = analyze) -> WeightedDoc:
    """Analyse each field and merge term counts, a title hit counting `weights['title']` body hits."""
    tf: Counter[str] = Counter()
    length = 0.0
    for name, text in fields.items():
        w = weights.get(name, 1.0)
        if not text or w == 0:
            continue
        terms = analyzer(text)
        length += w * len(terms)
        for term, n in Counter(terms).items():
            tf[term] += w * n
    return WeightedDoc(dict(tf), length)


class LexicalIndex:
    """Immutable BM25 impact index: per term, the docs holding it and their precomputed score.

    BM25 contributions depend only on the document once N and avgdl are fixed, so
    they are computed at build time and a query is a gather + bincount. Changing a
    document means re-assembling the arrays from the cached WeightedDocs, which is
    cheap next to analysing text (the caller caches the analysis per content hash).
    """

    def __init__(self, docs: Sequence[WeightedDoc], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.n_docs = len(docs)
        avgdl = (sum(d.length for d in docs) / len(docs)) if docs else 1.0
        avgdl = avgdl or 1.0
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, doc in enumerate(docs):
            norm = k1 * (1.0 - b + b * doc.length / avgdl)
            for term, tf in doc.tf.items():
                ids, sat = postings.setdefault(term, ([], []))
                ids.append(i)
                sat.append(tf * (k1 + 1.0) / (tf + norm))
        self._ids: dict[str, np.ndarray] = {}
        self._impacts: dict[str, np.ndarray] = {}
        self._idf: dict[str, float] = {}
        for term, (ids, sat) in postings.items():
            idf = self.idf(len(ids))
            self._idf[term] = idf
            self._ids[term] = np.asarray(ids, dtype=np.int32)
            self._impacts[term] = np.asarray(sat, dtype=np.float32) * np.float32(idf)

    def idf(self, df: int) -> float:
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def term_idf(self, term: str) -> float:
        """idf of a term; an unseen term gets the idf of a term in no document."""
        return self._idf.get(term, self.idf(0))

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the analysed query terms (repeats count)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        if not self.n_docs:
            return out
        ids, weights = [], []
        for term, qtf in Counter(terms).items():
            if term in self._ids:
                ids.append(self._ids[term])
                weights.append(self._impacts[term] * np.float32(qtf) if qtf != 1 else self._impacts[term])
        if not ids:
            return out
        if len(ids) == 1:
            out[ids[0]] += weights[0]
            return out
        return np.bincount(np.concatenate(ids), np.concatenate(weights), minlength=self.n_docs).astype(np.float32)

    def ideal_score(self, terms: Sequence[str]) -> float:
        """Score of a perfect match: every query term, saturated. Normalises scores into [0, 1]."""
        return sum(qtf * self.term_idf(t) * (self.k1 + 1.0) for t, qtf in Counter(terms).items())

    def matched_terms(self, terms: Sequence[str], doc: int) -> set[str]:
        """Which query terms a document contains (for excerpts and explanations)."""
        return {t for t in set(terms) if t in self._ids and doc in set(self._ids[t].tolist())}
