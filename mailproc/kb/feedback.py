"""Recognise a customer's "that fixed it" reply (en + de), so a KB-resolved case can be closed."""

from __future__ import annotations

import re

from mailproc.kb.text import fold_accents

# Checked on accent-folded, lower-cased text. A negation or "still" anywhere in
# the first lines wins over any positive phrase: "thanks, but it still doesn't
# work" must keep the case open, and a wrong close costs more than a missed one.
_POSITIVE = re.compile(
    r"\b("
    r"(that|this|it|your (tip|article|suggestion|link))( has| really| actually)? (fixed|solved|resolved|did|helped)"
    r"|(problem|issue) (is )?(solved|resolved|fixed|gone)"
    r"|(it'?s|its|it is|everything'?s?|all) (working|fine|ok|good)( (now|again))?"
    r"|works? (now|again|fine|perfectly|great)|working (now|again)"
    r"|(all|problem) sorted|sorted,? thanks|you can close|please close|can be closed"
    r"|(es |das |alles )?(funktioniert|klappt|geht) (jetzt|nun|wieder|doch)\b"
    r"|(problem|fehler) (ist )?(geloest|behoben|erledigt)|hat (geholfen|geklappt|funktioniert)"
    r"|(ticket|fall|anfrage) kann geschlossen|kann geschlossen werden|ist erledigt"
    r")"
)
_NEGATIVE = re.compile(
    r"\b("
    r"still|not|n't|no longer|doesnt|didnt|isnt|wont|cant|again (fails|broken)|but now|however"
    r"|noch immer|immer noch|nicht|kein|keine|weiterhin|trotzdem|leider|aber jetzt"
    r")\b|n't"
)
_QUOTE_START = re.compile(r"^(>|on .+ wrote:|am .+ schrieb|-----original message|von: |from: )", re.IGNORECASE)


def _new_text(text: str, max_lines: int = 6) -> str:
    lines = []
    for line in text.splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        if line.strip():
            lines.append(line.strip())
        if len(lines) >= max_lines:
            break
    return " ".join(lines)


def is_thanks_resolution(text: str) -> bool:
    """True when the reply says the problem is solved ("that fixed it", "Danke, es funktioniert wieder")."""
    body = fold_accents(_new_text(text))
    if not body or _NEGATIVE.search(body):
        return False
    return bool(_POSITIVE.search(body))
