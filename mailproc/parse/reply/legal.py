"""Legal footers under a signature: confidentiality notices, registered offices, "think before
you print", several stacked as banks do; long lines that still belong to the signature."""

from __future__ import annotations

import re

from mailproc.parse.reply import patterns as P

DISCLAIMER_WORDS = (
    r"confidential|disclaimer|intended (?:solely )?for|intended recipient|privileged|virus|registered (?:office|in)"
    r"|vertraulich|empfänger|geschäftsführer|handelsregister|amtsgericht|confidentiel|destinataire"
    r"|confidencial|destinatario|riservat|vertrouwelijk|uitsluitend bestemd voor de geadresseerde"
    r"|niet de geadresseerde bent|poufn|конфиденциальн|please consider the environment"
    r"|think before you print|antes de imprimir este|antes de imprimir esta|pense no meio ambiente"
    r"|responsabilidade com o meio ambiente|piense en el medio ambiente|pensez à l'environnement"
    r"|avant d'imprimer ce|rispetta l'ambiente|prima di stampare questa|bevor sie diese e-mail ausdrucken"
    r"|gizlidir"
)
DISCLAIMER = re.compile(P.by_first_letter(DISCLAIMER_WORDS), re.IGNORECASE)


def is_legal(footer: list[str]) -> bool:
    """Boilerplate, not a sentence that mentions confidentiality: long, a footer's own words
    ("confidential", "intended recipient", "disclaimer", ...) and two of its terms, nothing but
    such paragraphs and rules down to the bottom."""
    text = " ".join(line.strip() for line in footer)
    terms = {m.group().lower() for m in DISCLAIMER.finditer(text)}
    if len(text) < 150 or len(terms) < 2 or not any(_STRONG.search(t) for t in terms):
        return False
    paragraphs = re.split(r"\n\s*\n", "\n".join(footer).strip())
    return all(DISCLAIMER.search(p) or P.RULE_LINE.match(p.strip()) for p in paragraphs)


_STRONG = re.compile(r"confidential|disclaimer|intended recipient|vertraulich|confidentiel|confidencial|riservat"
                     r"|vertrouwelijk|uitsluitend bestemd voor de geadresseerde|poufn|конфиденциальн",
                     re.IGNORECASE)


def disclaimer_start(lines: list[str], content: list[int]) -> int | None:
    """First line of the trailing paragraphs that read as a legal disclaimer (several, with the
    rules between them: banks stack two or three)."""
    start = None
    paragraph: list[int] = []
    for i in reversed(content[-25:]):
        paragraph.insert(0, i)
        if i > 0 and lines[i - 1].strip():
            continue                      # the paragraph goes on above
        legal = any(DISCLAIMER.search(lines[j]) for j in paragraph)
        ruled = all(P.RULE_LINE.match(lines[j].strip()) for j in paragraph)
        if legal:
            start = _legal_from(lines, paragraph)
        elif start is not None and not ruled:
            break                         # (below the footer, other lines may end the mail)
        if legal and start != paragraph[0]:
            break                         # the paragraph's first lines are not legal text
        paragraph = []
    return start


def _legal_from(lines: list[str], paragraph: list[int]) -> int:
    """The paragraph's first disclaimer line, moved up over the long lines of its sentence."""
    start = next(j for j in paragraph if DISCLAIMER.search(lines[j]))
    while start > paragraph[0] and len(lines[start - 1]) > 60:
        start -= 1
    return start
