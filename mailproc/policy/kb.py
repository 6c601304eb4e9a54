"""KB articles to offer on a new case, and "that fixed it" answers that resolve by KB."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Mapping

from mailproc.config_schema import build
from mailproc.errors import ConfigError
from mailproc.kb.feedback import is_thanks_resolution

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KbSettings:
    dir: str = "kb"
    enabled: bool = True
    semantic: bool = True            # use the sentence model when installed
    threshold: float | None = None   # None: the index's calibrated default
    customer_limit: int = 3
    agent_limit: int = 5
    on_thanks: Literal["resolve", "flag"] = "resolve"
    url: str = ""                    # e.g. "https://help.example.com/kb/{id}"
    cache_dir: str = ""              # article embeddings by content hash; default var/kb-cache


def kb_settings(raw: Mapping[str, object], config_path: str) -> KbSettings:
    return build(KbSettings, dict(raw), file=config_path, key="kb")


def suggestion_dicts(suggestions, url: str) -> list[dict]:
    return [{"id": s.article_id, "title": s.title, "score": round(float(s.score), 4),
             "excerpt": s.excerpt, "url": url.format(id=s.article_id) if url else ""}
            for s in suggestions]


def suggest_for_case(app, subject: str, text: str, audience: str) -> list[dict]:
    """Articles above the threshold for this mail; [] when nothing fits or the KB is off."""
    cfg = app.kb_settings
    kb = app.knowledge_base
    if kb is None:
        return []
    kwargs = {} if cfg.threshold is None else {"threshold": cfg.threshold}
    limit = cfg.customer_limit if audience == "customer" else cfg.agent_limit
    return suggestion_dicts(kb.suggest(subject, text, audience=audience, limit=limit, **kwargs),
                            cfg.url)


def thanks_resolves(app, case, text: str) -> bool:
    """A customer's "thanks, that fixed it" after we suggested articles."""
    if not case.kb_suggestions or not text:
        return False
    return is_thanks_resolution(text)


def check_settings(cfg: KbSettings) -> None:
    if cfg.customer_limit < 0 or cfg.agent_limit < 0:
        raise ConfigError("kb.customer_limit/agent_limit: expected a number >= 0")
