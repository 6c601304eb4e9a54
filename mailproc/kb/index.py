"""One searchable index over a list of articles: BM25 plus optional MiniLM passages, hybrid scores in [0, 1]."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass

import numpy as np

from mailproc.kb import semantic as semantic_stage
from mailproc.kb.lexical import LexicalIndex, WeightedDoc, weigh_fields
from mailproc.kb.loader import Article
from mailproc.kb.text import analyze, looks_german

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tuning:
    """Knobs of ranking and calibration, fitted on the dev questions only (bench/kb_quality.py)."""

    title_weight: float = 4.0
    tags_weight: float = 2.0
    applies_when_weight: float = 3.0
    body_weight: float = 1.0
    k1: float = 2.0
    b: float = 0.75
    # The hybrid is the calibrated semantic score plus this share of the
    # normalised BM25 score (capped at 1). Chosen by leave-one-set-out
    # cross-validation on the three dev sets (bench/kb_quality.py --sweep): every
    # fold picked 0.2. Adding rather than mixing keeps the semantic scale, so a
    # lexical match lifts an article toward the threshold and never pulls a good
    # paraphrase below it.
    lexical_boost: float = 0.2
    semantic_floor: float = 0.15  # cosine that unrelated English text reaches by chance
    passage_words: int = 150
    lead_weight: float = 0.5
    trigger_score: float = 0.6  # a message containing a whole "applies when" phrase
    lexical_trust: float = 1.0  # German queries: a full lexical match alone may reach this score
    query_tokens: int = 128  # longer mail adds latency but little signal for the embedding


DEFAULT_TUNING = Tuning()


@dataclass(frozen=True)
class Scored:
    """Scores of one article for one query: hybrid `score`, and its parts."""

    index: int
    score: float
    lexical: float
    semantic: float | None
    passage: str


@dataclass(frozen=True)
class Components:
    """What one query's score is made of, per article: BM25 share of an ideal match, semantic similarity."""

    terms: list[str]
    lexical: np.ndarray
    semantic: np.ndarray | None
    cos: np.ndarray | None  # per passage, to pick the excerpt
    german: bool


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def split_passages(article: Article, words_per_passage: int) -> tuple[str, list[str]]:
    """The article's lead (title, applies-when, tags) and its title-prefixed body chunks.

    The model reads at most 256 word pieces, so a long body is cut into
    paragraph-aligned chunks; each keeps the title because a chunk alone loses
    the topic (body-only vectors cost 0.2 Recall@3 on the COVID dev set).
    """
    head = article.title
    extra = " ".join((*article.applies_when, *article.tags))
    lead = f"{head}. {extra}".strip(". ") if extra else head
    prefix = f"{head}. " if head else ""
    chunks: list[str] = []
    chunk: list[str] = []
    for para in re.split(r"\n\s*\n", article.body):
        para_words = para.split()
        if not para_words:
            continue
        if chunk and len(chunk) + len(para_words) > words_per_passage:
            chunks.append(prefix + " ".join(chunk))
            chunk = []
        while len(para_words) > words_per_passage:
            chunks.append(prefix + " ".join(para_words[:words_per_passage]))
            para_words = para_words[words_per_passage:]
        chunk.extend(para_words)
    if chunk:
        chunks.append(prefix + " ".join(chunk))
    if not lead:
        lead = chunks[0] if chunks else ""
    return lead, chunks or [lead]


class SearchIndex:
    """Immutable index of a set of articles; build a new one when articles change."""

    def __init__(
        self,
        articles: list[Article],
        tuning: Tuning,
        encoder=None,
        analysis_cache: MutableMapping[str, WeightedDoc] | None = None,
        embedding_cache: MutableMapping[str, np.ndarray] | None = None,
    ) -> None:
        self.articles = articles
        self.tuning = tuning
        self.encoder = encoder
        analysis_cache = {} if analysis_cache is None else analysis_cache
        weights = {
            "title": tuning.title_weight,
            "tags": tuning.tags_weight,
            "applies_when": tuning.applies_when_weight,
            "body": tuning.body_weight,
        }
        docs = []
        for a in articles:
            key = f"{a.content_hash}:{tuning.title_weight}:{tuning.tags_weight}:{tuning.applies_when_weight}:{tuning.body_weight}"
            doc = analysis_cache.get(key)
            if doc is None:
                fields = {"title": a.title, "tags": " ".join(a.tags), "applies_when": " ".join(a.applies_when), "body": a.body}
                doc = analysis_cache[key] = weigh_fields(fields, weights)
            docs.append(doc)
        self.lexical = LexicalIndex(docs, k1=tuning.k1, b=tuning.b)
        # "applies when" phrases are the admins' explicit triggers: a message that
        # contains every word of one (two words or more) fits that article.
        self.triggers: dict[str, list[tuple[frozenset[str], int]]] = {}
        for i, a in enumerate(articles):
            for phrase in a.applies_when:
                terms = frozenset(analyze(phrase))
                if len(terms) >= 2:
                    self.triggers.setdefault(min(terms), []).append((terms, i))
        self.passages: list[str] = []
        self.leads: list[str] = []
        self.passage_owner = np.zeros(0, dtype=np.int32)
        self.vectors = np.zeros((0, 384), dtype=np.float32)
        if encoder is not None:
            self._embed(embedding_cache if embedding_cache is not None else {})

    def _embed(self, cache: MutableMapping[str, np.ndarray]) -> None:
        owners = []
        leads = []
        for i, a in enumerate(self.articles):
            lead, chunks = split_passages(a, self.tuning.passage_words)
            leads.append(lead)
            for p in chunks:
                self.passages.append(p)
                owners.append(i)
        self.leads = leads
        self.lead_vectors = self._vectors(leads, cache)
        self.passage_owner = np.asarray(owners, dtype=np.int32)
        counts = np.bincount(self.passage_owner, minlength=len(self.articles))
        self.passage_ends = np.cumsum(counts)
        self.passage_starts = self.passage_ends - counts
        self.vectors = self._vectors(self.passages, cache)

    def _vectors(self, texts: list[str], cache: MutableMapping[str, np.ndarray]) -> np.ndarray:
        keys = [_hash(p) for p in texts]
        missing = sorted({k: p for k, p in zip(keys, texts) if k not in cache}.items())
        if missing:
            log.info("embedding %d new kb passages", len(missing))
            vecs = self.encoder.encode([p for _, p in missing])
            for (k, _), v in zip(missing, vecs):
                cache[k] = v
        return np.stack([cache[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)

    @property
    def semantic(self) -> bool:
        return self.encoder is not None

    def query_key(self, query: str) -> str | None:
        """The text the model reads for a query (long mail is cut first); None without the
        semantic stage. Its vector is `encoder.encode([key])[0]`, whoever computes it."""
        if self.encoder is None or not len(self.passages):
            return None
        return query_text(query, self.tuning.query_tokens, self.encoder)

    def query_vector(self, query: str, known: QueryVectors | None = None) -> np.ndarray | None:
        """The query's embedding (None without the semantic stage); `known`: vectors computed
        already (ahead of time, or for an earlier query with the same text), by model text."""
        key = self.query_key(query)
        if key is None:
            return None
        vector = known.get(key) if known is not None else None
        if vector is None:
            vector = self.encoder.encode([key])[0]
            if known is not None:
                known.put(key, vector)
        return vector

    def components(self, query: str, qv: np.ndarray | None = None) -> Components:
        """Per-article normalised BM25 and raw semantic similarity for a query (`qv`: its cached embedding)."""
        t = self.tuning
        n = len(self.articles)
        terms = analyze(query)
        raw = self.lexical.scores(terms)
        ideal = self.lexical.ideal_score(terms)
        lex = np.clip(raw / ideal, 0.0, 1.0) if ideal > 0 else np.zeros(n, dtype=np.float32)
        if qv is None:
            qv = self.query_vector(query)
        if qv is None:
            return Components(terms, lex, None, None, False)
        cos = self.vectors @ qv
        # Passages are stored grouped by article, so a segment max gives each
        # article its best chunk without a Python loop or ufunc.at.
        sem = np.maximum.reduceat(cos, self.passage_starts)
        # Lead (question-like title) and best chunk vote together: titles
        # carry paraphrase matches (StackFAQ), chunks the details (COVID).
        sem = t.lead_weight * (self.lead_vectors @ qv) + (1.0 - t.lead_weight) * sem
        return Components(terms, lex, sem, cos, looks_german(query))

    def fuse(self, c: Components, mode: str = "hybrid", lexical_boost: float | None = None) -> np.ndarray:
        """Scores in [0, 1] from a query's components: `mode` hybrid, semantic (no BM25) or lexical (no model).

        `lexical_boost` overrides the tuning's, for the benchmark's cross-validation.
        """
        t = self.tuning
        if c.semantic is None or mode == "lexical":
            total = c.lexical.copy()
        else:
            sem_cal = np.clip((c.semantic - t.semantic_floor) / (1.0 - t.semantic_floor), 0.0, 1.0)
            boost = 0.0 if mode != "hybrid" else t.lexical_boost if lexical_boost is None else lexical_boost
            total = np.minimum(sem_cal + boost * c.lexical, 1.0)
            # MiniLM knows English only: a German query that matches an article's
            # German keywords word for word must not be voted down by the model.
            if c.german and mode == "hybrid":
                total = np.maximum(total, t.lexical_trust * c.lexical)
        if self.triggers:
            present = set(c.terms)
            for term in present & self.triggers.keys():
                for phrase, i in self.triggers[term]:
                    if phrase <= present:
                        total[i] = max(total[i], t.trigger_score)
        return total

    def score(self, query: str, allowed: np.ndarray | None = None,
              known: QueryVectors | None = None) -> list[Scored]:
        """Every article with a non-zero score, best first; `allowed` masks articles out;
        `known`: query vectors computed already (see query_vector)."""
        if not self.articles or not query.strip():
            return []
        c = self.components(query, self.query_vector(query, known))
        total = self.fuse(c)
        lex, sem, cos = c.lexical, c.semantic, c.cos
        if allowed is not None:
            total = np.where(allowed, total, 0.0)
        order = np.argsort(-total, kind="stable")
        out = []
        for i in order[:50]:
            if total[i] <= 0:
                break
            bp = -1
            if cos is not None:
                lo, hi = self.passage_starts[i], self.passage_ends[i]
                bp = int(lo + np.argmax(cos[lo:hi]))
            out.append(
                Scored(
                    index=int(i),
                    score=float(total[i]),
                    lexical=float(lex[i]),
                    semantic=None if sem is None else float(sem[i]),
                    passage=self.passages[bp] if bp >= 0 else "",
                )
            )
        return out


class QueryVectors:
    """Query embeddings by the text the model read (SearchIndex.query_key), the newest `size`:
    a vector computed ahead of time (runners/prepare.py) or for the same mail a moment ago
    (a new case's customer and agent suggestions ask the same query). Thread-safe."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            return self._vectors.get(key)

    def put(self, key: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def __len__(self) -> int:
        return len(self._vectors)


def query_text(query: str, max_tokens: int, encoder: semantic_stage.MiniLMEncoder) -> str:
    """What the model reads of a query: long mail is cut at a word's end to `max_tokens` word
    pieces (code, links and other languages take many more pieces per word than English)."""
    return encoder.prefix(_truncate_words(query, max_tokens), max_tokens)


def _truncate_words(text: str, max_tokens: int) -> str:
    # Word pieces run ~1.3 per word in English prose; cutting words first keeps tokenisation
    # cheap on long mail.
    words = text.split()
    limit = int(max_tokens / 1.3)
    return " ".join(words[:limit]) if len(words) > limit else text


def index_articles(
    articles: Iterable[Article],
    *,
    semantic: bool | None = None,
    tuning: Tuning = DEFAULT_TUNING,
    analysis_cache: MutableMapping[str, WeightedDoc] | None = None,
    embedding_cache: MutableMapping[str, np.ndarray] | None = None,
) -> SearchIndex:
    """Build the index the KB and the benchmarks both search (None = semantic when installed)."""
    want = semantic_stage.semantic_available() if semantic is None else semantic
    encoder = semantic_stage.get_encoder() if want else None
    return SearchIndex(list(articles), tuning, encoder, analysis_cache, embedding_cache)
