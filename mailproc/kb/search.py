"""Public KB API: a KnowledgeBase over the kb/ directory and the articles edited in the web
console, reloaded on change; hits and suggestions."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Iterator, Mapping

import numpy as np

from mailproc.kb.index import (
    DEFAULT_TUNING, QueryVectors, SearchIndex, Tuning, _hash, index_articles,
)
from mailproc.kb.lexical import WeightedDoc
from mailproc.kb.loader import (
    Article, article_from_front_matter, dir_signature, load_article, parse_front_matter,
)
from mailproc.kb.text import analyze

log = logging.getLogger(__name__)

# A suggestion below this score is worse than none. Scores are in [0, 1]; on the
# dev questions of the shared FAQ sets, right answers score above it and
# questions from the other sets (which nothing fits) score below it.
DEFAULT_THRESHOLD = 0.45
EXCERPT_CHARS = 200
AUDIENCES = ("customer", "agent")
# () -> (signature, {article id: Markdown with front matter, or None: hidden}): the edited
# articles, asked on every query, so cheap; the signature changes whenever the texts do.
EditedArticles = Callable[[], tuple[Hashable, Mapping[str, str | None]]]


@dataclass(frozen=True)
class Hit:
    """A ranked search result: the article and its hybrid score with its parts."""

    article: Article
    score: float
    lexical: float
    semantic: float | None


@dataclass(frozen=True)
class Suggestion:
    """An article offered in an acknowledgement or a notification."""

    article_id: str
    title: str
    score: float
    excerpt: str
    url_or_path: str


class KnowledgeBase:
    """Articles from `kb_dir`, re-indexed when files change (checked cheaply on every query).

    `edited`: the articles edited in the web console; an edited article replaces the file of
    the same id, None hides it (whether or not a file has it). `semantic`: None = use the
    MiniLM stage when its packages are installed, False = BM25 only, True = require it.
    Passage embeddings are cached per content hash in memory and, with `cache_dir`, in
    `kb-embeddings.npz` there.
    """

    def __init__(self, kb_dir: Path, cache_dir: Path | None = None, semantic: bool | None = None, tuning: Tuning = DEFAULT_TUNING,
                 edited: EditedArticles | None = None) -> None:
        self.kb_dir = Path(kb_dir)
        self.edited = edited
        self._edited_articles: dict[str, tuple[str, Article | None]] = {}
        self._files_by_id: dict[str, Article] = {}
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.semantic = semantic
        self.tuning = tuning
        self._lock = threading.Lock()
        self._steady = threading.local()
        self._signature: tuple | None = None
        self._file_articles: dict[str, tuple[tuple[int, int], Article | None]] = {}
        self._analysis: dict[str, WeightedDoc] = {}
        self._embeddings: dict[str, np.ndarray] = self._load_embeddings()
        self._index: SearchIndex | None = None
        self._by_id: dict[str, Article] = {}
        # Query embeddings by model text: computed ahead (remember_query_vector) or a moment ago.
        self.query_vectors = QueryVectors()

    # -- loading -------------------------------------------------------------

    def _cache_file(self) -> Path | None:
        return self.cache_dir / "kb-embeddings.npz" if self.cache_dir else None

    def _load_embeddings(self) -> dict[str, np.ndarray]:
        path = self._cache_file()
        if path is None or not path.exists():
            return {}
        try:
            with np.load(path) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"]))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable kb embedding cache %s: %s", path, exc)
            return {}

    def _save_embeddings(self, index: SearchIndex) -> None:
        path = self._cache_file()
        if path is None or not index.semantic:
            return
        # Keep only vectors still in use so the cache does not grow with every edit.
        live = {_hash(p) for p in index.passages} | {_hash(p) for p in index.leads}
        keys = sorted(k for k in self._embeddings if k in live)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.asarray(keys), vectors=np.stack([self._embeddings[k] for k in keys]) if keys else np.zeros((0, 384), np.float32))
        tmp.replace(path)

    def refresh(self) -> bool:
        """Re-index when a file was added, removed or changed, or an edit saved; True when it did."""
        edited_sig, edited = self.edited() if self.edited is not None else (None, {})
        sig = (dir_signature(self.kb_dir), edited_sig)
        if sig == self._signature and self._index is not None:
            return False
        with self._lock:
            if sig == self._signature and self._index is not None:
                return False
            seen = {}
            for name, mtime, size in sig[0]:
                old = self._file_articles.get(name)
                if old is not None and old[0] == (mtime, size):
                    seen[name] = old
                else:
                    seen[name] = ((mtime, size), load_article(self.kb_dir / name))
            self._file_articles = seen
            by_id: dict[str, Article] = {}
            for name in sorted(seen):
                article = seen[name][1]
                if article is None:
                    continue
                if article.id in by_id:
                    log.warning("kb article id %r in %s already used by %s; skipped", article.id, name, by_id[article.id].path)
                    continue
                by_id[article.id] = article
            self._files_by_id = dict(by_id)
            for article_id, text in sorted(edited.items()):
                article = self._edited_article(article_id, text)
                if text is None:
                    by_id.pop(article_id, None)
                elif article is not None:
                    by_id[article_id] = article  # in the file's place when there is one
            articles = list(by_id.values())
            before = len(self._embeddings)
            index = index_articles(
                articles, semantic=self.semantic, tuning=self.tuning, analysis_cache=self._analysis, embedding_cache=self._embeddings
            )
            if len(self._embeddings) != before:
                self._save_embeddings(index)
            self._index, self._by_id, self._signature = index, by_id, sig
            log.info("kb indexed: %d articles from %s and %d edited (semantic=%s)", len(articles), self.kb_dir, len(edited), index.semantic)
            return True

    def _edited_article(self, article_id: str, text: str | None) -> Article | None:
        """The Article of an edited text (parsed once per text); None when it is unusable."""
        if text is None:
            return None
        known = self._edited_articles.get(article_id)
        if known is not None and known[0] == text:
            return known[1]
        article = article_from_front_matter(parse_front_matter(text))
        if article is None or article.id != article_id:
            log.warning("edited kb article %r skipped: its front matter is unusable", article_id)
            article = None
        self._edited_articles[article_id] = (text, article)
        return article

    def file_articles(self) -> dict[str, Article]:
        """The articles of the files in `kb_dir` by id, edits aside."""
        self._current()
        return dict(self._files_by_id)

    def _current(self) -> SearchIndex:
        # In a steady() block, only the first query looks at the files and edits.
        state = getattr(self._steady, "state", None)
        if state != "looked" or self._index is None:
            self.refresh()
            if state is not None:
                self._steady.state = "looked"
        assert self._index is not None
        return self._index

    @contextlib.contextmanager
    def steady(self) -> Iterator[None]:
        """Within the block, only this thread's first query looks at the files and edits for
        changes (a batch of messages asks the KB several times per new case): a change made
        meanwhile counts from the next block, or from another thread's query."""
        if getattr(self._steady, "state", None) is not None:
            yield
            return
        self._steady.state = "not yet"
        try:
            yield
        finally:
            self._steady.state = None

    # -- queries -------------------------------------------------------------

    def articles(self) -> list[Article]:
        return list(self._current().articles)

    def get(self, article_id: str) -> Article | None:
        self._current()
        return self._by_id.get(article_id)

    @property
    def uses_semantic(self) -> bool:
        return self._current().semantic

    def query_key(self, query: str) -> str | None:
        """The text the model reads for `query`; None when no query is embedded."""
        return self._current().query_key(query)

    def remember_query_vector(self, key: str, vector: np.ndarray) -> None:
        """A query vector computed ahead (runners/prepare.py): `encoder.encode([key])[0]`."""
        self.query_vectors.put(key, vector)

    def search(self, query: str, limit: int = 10, audience: str = "agent") -> list[Hit]:
        """Ranked articles for a free-text query; `audience='customer'` hides internal articles."""
        index = self._current()
        scored = index.score(query, _allowed(index, audience), self.query_vectors)
        return [Hit(index.articles[s.index], round(s.score, 4), round(s.lexical, 4), s.semantic) for s in scored[:limit]]

    def suggest(self, subject: str, text: str, audience: str, limit: int = 3, threshold: float = DEFAULT_THRESHOLD) -> list[Suggestion]:
        """Articles that fit a message well enough to offer, best first; [] when none does."""
        if audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
        index = self._current()
        query = suggestion_query(subject, text)
        out = []
        for s in index.score(query, _allowed(index, audience), self.query_vectors)[:limit]:
            if s.score < threshold:
                break
            a = index.articles[s.index]
            out.append(Suggestion(a.id, a.title, round(s.score, 4), excerpt(a, query, s.passage), str(a.path) if a.path else a.id))
        return out


def suggestion_query(subject: str, text: str) -> str:
    """The query `suggest` searches for a message's subject and text."""
    return f"{subject}\n{text}".strip()


def _allowed(index: SearchIndex, audience: str) -> np.ndarray | None:
    if audience == "agent":
        return None
    return np.asarray([a.audience == "customer" for a in index.articles], dtype=bool)


def excerpt(article: Article, query: str, passage: str = "", limit: int = EXCERPT_CHARS) -> str:
    """About `limit` characters from the passage that best matches the query, cut at a word."""
    if not passage:
        terms = set(analyze(query))
        paras = [p.strip() for p in article.body.split("\n\n") if p.strip()] or [article.title]
        passage = max(paras, key=lambda p: len(terms & set(analyze(p))))
    elif article.title and passage.startswith(article.title + ". "):
        passage = passage[len(article.title) + 2 :]
    flat = " ".join(passage.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"
