"""Recurring topics: group cases by what customers wrote, and say what each group asks of us.

Each case is its opening subject and new text as TF-IDF weighted, stemmed terms (the KB's
analyser). The case with the most close neighbours seeds a topic of all its unclaimed
neighbours; then the next densest, until no case has enough neighbours left. Dense seeds
first keep one broad word from chaining unrelated cases together, and the result does not
depend on the order the cases came in. Both periods are grouped together, so a topic's
trend compares like with like.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.kb.text import analyze, words
from mailproc.models import Case, Direction, Event, Message
from mailproc.reports.period import Period

SIMILAR = 0.35          # cosine of two cases about the same thing
MIN_CASES = 3           # a topic recurs: fewer is an anecdote
MAX_CASES = 2000        # per period; newer cases are kept when there are more (said in output)
VOCABULARY = 2000
BURST = timedelta(hours=24)


@dataclass
class CaseText:
    case_id: int
    ref: str
    subject: str
    text: str
    created_at: datetime
    current: bool
    customer: int | None
    in_incident: bool
    resolved_by_kb: bool
    top_suggestion: str | None
    kb_sent: list[str] = field(default_factory=list)
    agent_replies: list[str] = field(default_factory=list)


def load_cases(session: Session, period: Period, previous: Period,
               team: str | None) -> tuple[list[CaseText], bool]:
    """The opening text of each case of both periods; True when a period had to be sampled."""
    out, sampled = [], False
    for p, current in ((period, True), (previous, False)):
        where = [Case.created_at >= p.since_at, Case.created_at < p.until_at,
                 Case.merged_into_id.is_(None)]
        if team is not None:
            where.append(Case.team == team)
        rows = session.execute(
            select(Case.id, Case.ref, Case.subject, Case.created_at, Case.customer_id,
                   Case.incident_id, Case.resolved_by_kb, Case.kb_suggestions)
            .where(*where).order_by(Case.created_at.desc()).limit(MAX_CASES + 1)).all()
        sampled |= len(rows) > MAX_CASES
        for cid, ref, subject, at, customer, incident, by_kb, sugg in rows[:MAX_CASES]:
            top = sugg[0]["id"] if sugg else None
            out.append(CaseText(cid, ref or "", subject or "", "", at, current, customer,
                                incident is not None, bool(by_kb), top))
    by_id = {c.case_id: c for c in out}
    ids = list(by_id)
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for cid, direction, kind, text in session.execute(
                select(Message.case_id, Message.direction, Message.kind, Message.new_text)
                .where(Message.case_id.in_(chunk)).order_by(Message.id)):
            case = by_id[cid]
            if direction == Direction.IN and kind == "human" and not case.text:
                case.text = (text or "")[:2000]
            elif kind == "agent" and text:
                # the words the agent wrote, without the `#` command lines
                said = "\n".join(line for line in text.splitlines()
                                 if not line.lstrip().startswith("#")).strip()
                if said:
                    case.agent_replies.append(said[:600])
        for cid, data in session.execute(select(Event.case_id, Event.data).where(
                Event.case_id.in_(chunk), Event.kind == "kb_sent")):
            if (data or {}).get("article"):
                by_id[cid].kb_sent.append(data["article"])
    return out, sampled


def _vectors(cases: list[CaseText]) -> tuple[np.ndarray, list[str]]:
    docs = [Counter(analyze(f"{c.subject} {c.subject} {c.text}")) for c in cases]
    df = Counter(t for d in docs for t in d)
    n = len(docs)
    # Terms in more than half the cases say nothing about a topic ("hello", the product name).
    vocab = [t for t, k in df.most_common()
             if 2 <= k <= max(2, n // 2) and not t.isdigit()][:VOCABULARY]
    index = {t: i for i, t in enumerate(vocab)}
    x = np.zeros((n, len(vocab)), dtype=np.float32)
    for row, d in enumerate(docs):
        for t, tf in d.items():
            if t in index:
                x[row, index[t]] = (1 + math.log(tf)) * math.log(n / df[t])
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return x, vocab


def group(x: np.ndarray, similar: float = SIMILAR, min_cases: int = MIN_CASES) -> list[list[int]]:
    """Densest seed first: each topic is a seed and its unclaimed neighbours."""
    if len(x) == 0:
        return []
    close = (x @ x.T) >= similar
    np.fill_diagonal(close, True)
    free = np.ones(len(x), dtype=bool)
    counts = close.sum(axis=1).astype(np.int64)      # unclaimed neighbours of each case
    groups = []
    while True:
        seed = int(np.argmax(np.where(free, counts, -1)))
        if not free[seed] or counts[seed] < min_cases:
            return groups
        members = np.flatnonzero(close[seed] & free)
        free[members] = False
        counts -= close[:, members].sum(axis=1)
        groups.append([int(m) for m in members])


def _surface_words(cases: list[CaseText]) -> dict[str, str]:
    """The most common written form of each stem, for labels people can read."""
    forms: dict[str, Counter] = defaultdict(Counter)
    for c in cases:
        for w in words(f"{c.subject} {c.text}"):
            stems = analyze(w)
            if stems:
                forms[stems[0]][w] += 1
    return {stem: f.most_common(1)[0][0] for stem, f in forms.items()}


def kind_of(members: list[CaseText]) -> tuple[str, str, dict]:
    """(kind, why, detail): product problem, answered by the KB, article not found, no article."""
    n = len(members)
    times = sorted(c.created_at for c in members)
    burst = max((sum(1 for t in times if s <= t < s + BURST) for s in times), default=0)
    customers = len({c.customer for c in members if c.customer is not None})
    if sum(c.in_incident for c in members) * 2 >= n:
        return "product problem", "most of its cases belong to an incident", {}
    if burst >= max(MIN_CASES, math.ceil(n * 0.6)) and customers >= MIN_CASES:
        return ("product problem",
                f"{burst} customers wrote within {int(BURST.total_seconds() // 3600)} hours", {})
    if sum(c.resolved_by_kb for c in members) * 2 >= n:
        return "answered by the KB", "suggested articles resolved most of its cases", {}
    sent = Counter(a for c in members for a in dict.fromkeys(c.kb_sent))
    if sent:
        article, times_sent = sent.most_common(1)[0]
        missed = sum(1 for c in members if article in c.kb_sent and c.top_suggestion != article)
        if missed >= 2:
            return ("article exists but is not found",
                    f"agents sent {article} {times_sent} times; suggestions missed it in "
                    f"{missed} cases: retitle or extend it", {"article": article})
    by_hand = [c for c in members if c.agent_replies and not c.kb_sent]
    if len(by_hand) * 2 >= n and len(by_hand) >= 2:
        return ("no article", f"agents answered {len(by_hand)} cases by hand: write an article",
                {"seed_replies": list(dict.fromkeys(c.agent_replies[0] for c in by_hand))[:2]})
    return "other", "no clear pattern yet", {}


def recurring_topics(session: Session, period: Period, previous: Period,
                     team: str | None = None) -> dict:
    cases, sampled = load_cases(session, period, previous, team)
    x, vocab = _vectors(cases)
    surface = _surface_words(cases) if cases else {}
    topics = []
    for members_idx in group(x):
        members = [cases[i] for i in members_idx]
        centroid = x[members_idx].mean(axis=0)
        top_terms = [vocab[i] for i in np.argsort(-centroid)[:5] if centroid[i] > 0]
        rep = members[int(np.argmax(x[members_idx] @ centroid))]
        current = [c for c in members if c.current]
        kind, why, detail = kind_of(current or members)
        topics.append({
            "label": ", ".join(surface.get(t, t) for t in top_terms),
            "subject": rep.subject, "cases": len(current), "previous": len(members) - len(current),
            "trend": 2 * len(current) - len(members),
            "kind": kind, "why": why, **detail,
            "examples": [c.ref for c in sorted(current, key=lambda c: c.created_at)[:5]]})
    topics = [t for t in topics if t["cases"] > 0]
    topics.sort(key=lambda t: (-t["trend"], -t["cases"], t["label"]))
    return {"sampled": sampled, "cases_grouped": sum(c.current for c in cases), "topics": topics}
